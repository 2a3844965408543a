// What the diff compares: one snapshot read through the parsers.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "procfs/procfs.h"
#include "view/view.h"

namespace procsnap {

struct ProcessInfo {
  PidStat stat;
  std::string cmdline;  // arguments joined by spaces; [comm] for kernel threads
  std::string uid;      // real uid from status
  size_t fds = 0;
  std::string cwd, exe, cgroup;
  std::map<std::string, std::string> limits;  // "Max open files" -> "1024 4096 files"
  uint64_t ioBytes = 0;                        // read_bytes + write_bytes from io
  std::vector<std::string> mapped;             // files in maps
  std::map<std::string, std::string> environ;  // NAME -> value
};

struct Model {
  std::string bootId, kernelRelease, kernelVersion, hostname;
  int64_t monoNs = 0;       // capture start, CLOCK_MONOTONIC
  unsigned clockTicks = 100;
  std::map<std::string, std::string> system;   // "cpus", "MemTotal", "cmdline"...
  std::set<std::string> modules;
  std::map<std::string, std::string> mounts;   // "target (fstype)" -> options
  std::map<std::string, std::string> sysctls;  // "vm.swappiness" -> "60"
  std::map<long, ProcessInfo> processes;       // by pid
  long capturer = 0;                           // procsnap's own pid, left out
  std::vector<NetSocket> sockets;
  std::vector<UnixListener> unixListeners;
  std::map<uint64_t, long> socketOwner;        // inode -> pid
  std::set<std::string> interfaces;
  std::map<std::string, double> counters;  // ever-growing system counters, by their name in output
  std::string loadavg;
  std::map<std::string, NodeId> files;         // paths outside pid dirs and sys/
  std::set<std::string> swaps;                 // "/dev/vda2 (partition)"
  std::vector<std::string> problems;
  Status damage;  // the first read the archive itself failed (corruption, I/O)
};

// The bytes of `path`, "" when the capture holds none (not captured, read
// failed, absent); an error only for archive damage.
Result<std::string> ReadCaptured(const View& v, const std::string& path);

Model BuildModel(const View& view);

// Tunables that move by themselves (counters, random values): shown by
// diff only with --all, not events of `events`.
bool VolatileSysctl(const std::string& name);

// Every sysctl file the snapshot holds a value of, by name: sys/ as
// "vm.swappiness", and other network namespaces' (kNetnsSysctlsDir) as
// "net.ipv4.ip_forward in net:[4026532280]".
void ForEachSysctl(const Snapshot& s, const std::function<void(const std::string& name, NodeId file)>& f);

}  // namespace procsnap
