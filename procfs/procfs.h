// procsnap procfs: parsers of the /proc text formats, one per format for
// the whole project (capture, diff and what reads snapshots next). Each
// tolerates fields and lines it does not know (other kernel versions add
// them) and reports text it cannot read as a problem instead of failing.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace procsnap {

// "Key:\tvalue" lines (status, meminfo) or "key value" lines (vmstat):
// the value is the rest of the line without surrounding blanks.
std::map<std::string, std::string> ParseKeyValue(std::string_view text, char sep);

// /proc/PID/stat. The command may hold spaces and parentheses, so it runs
// from the first '(' to the last ')'.
// `s` without white space (space, tab, newline, CR...) at either end.
std::string_view Trim(std::string_view s);
// A "1234 kB" value of a key: value map (meminfo, status) in bytes; nullopt
// when the key is missing or its value is not a number.
std::optional<uint64_t> KiBValue(const std::map<std::string, std::string>& kv, std::string_view key);

struct PidStat {
  long pid = 0, ppid = 0, nice = 0, threads = 0;
  char state = '?';
  std::string comm;
  uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0;
  uint64_t minflt = 0, majflt = 0;  // fields 10 and 12: page faults without and with I/O
  int64_t rssPages = 0;
  int processor = -1;  // field 39, the CPU it last ran on; -1 when the line stops before it
  uint64_t flags = 0;  // field 9, PF_* (0x00200000 PF_KTHREAD: a kernel thread)
  bool kernelThread() const { return flags & 0x00200000u; }
};
std::optional<PidStat> ParsePidStat(std::string_view text, std::string* problem);

// net/tcp, tcp6, udp, udp6: one socket per line, addresses decoded.
struct NetSocket {
  std::string proto;          // "tcp", "tcp6", "udp", "udp6"
  std::string local, remote;  // "127.0.0.1:4444", "[::1]:22"
  unsigned state = 0;         // TCP state number; 10 = LISTEN
  uint64_t inode = 0;
  uint32_t uid = 0;
  bool listening() const;
};
std::vector<NetSocket> ParseNetTable(std::string_view text, std::string_view proto, std::vector<std::string>* problems);

// /proc/PID/limits: "Max open files  1024  4096  files" -> name -> "1024 4096 files".
// The name column ends where two blanks start the values.
std::map<std::string, std::string> ParseLimits(std::string_view text);

// /proc/PID/maps summarised: the files mapped (deleted ones keep their
// " (deleted)" mark), without anonymous and [special] mappings.
std::vector<std::string> ParseMappedFiles(std::string_view text);

// net/unix: paths of listening sockets (flag __SO_ACCEPTCON), "@name" for
// abstract ones; inode for the owner.
struct UnixListener {
  std::string path;
  uint64_t inode = 0;
};
std::vector<UnixListener> ParseUnixListeners(std::string_view text, std::vector<std::string>* problems);

// net/dev: per interface, what it received and sent since it came up.
struct NetDevCounters {
  std::string name;
  uint64_t rxBytes = 0, txBytes = 0;
  uint64_t rxPackets = 0, rxErrors = 0, rxDropped = 0, txPackets = 0, txErrors = 0, txDropped = 0;
};
std::vector<NetDevCounters> ParseNetDev(std::string_view text);

// /proc/stat's "cpu" line: time of all CPUs in each state, in clock ticks.
struct CpuTimes {
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  uint64_t total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
};
std::optional<CpuTimes> ParseCpuTimes(std::string_view procStat);
// The same for each "cpuN" line, by N (an offline CPU has no line).
std::map<unsigned, CpuTimes> ParsePerCpuTimes(std::string_view procStat);

// pressure/cpu, memory, io: "some avg10=0.12 avg60=0.05 avg300=0.01 total=1234"
// and the same for "full" (cpu's full is all zero before 5.13 or absent).
struct Pressure {
  double someAvg10 = 0, fullAvg10 = 0;
  uint64_t someTotalUs = 0, fullTotalUs = 0;  // stalled time since boot, microseconds
  bool hasFull = false;
};
std::optional<Pressure> ParsePressure(std::string_view text);

// diskstats: per whole disk, bytes read and written since boot. Partitions
// (sda1 beside sda, nvme0n1p1 beside nvme0n1) and the devices stacked on
// disks or in memory (dm-, md, loop, ram, zram) are left out, so that a
// byte is counted once, at the disk.
struct DiskCounters {
  std::string name;
  uint64_t readBytes = 0, writtenBytes = 0;
};
std::vector<DiskCounters> ParseDiskStats(std::string_view text);

// loadavg: "0.52 0.58 0.59 3/812 12345".
struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  uint64_t running = 0, tasks = 0;
};
std::optional<LoadAvg> ParseLoadAvg(std::string_view text);

// mountinfo: "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/sda rw,errors=continue".
struct MountInfo {
  long mountId = 0, parentId = 0;
  std::string source;          // as printed (a device, "none", a server:path)
  std::string target, fstype;  // target unescaped (\040 is a space)
  std::string options, superOptions;
  std::string propagation;                       // "shared:1", "master:2", "" for private
};
std::vector<MountInfo> ParseMountInfo(std::string_view text, std::vector<std::string>* problems);

// The inode in a link target procfs writes as "KIND:[INODE]": an fd link
// "socket:[4242]", a namespace link "net:[4026531840]". nullopt for
// another kind or shape.
std::optional<uint64_t> LinkInode(std::string_view target, std::string_view kind);

// /proc/modules: "ext4 1056768 2 - Live 0x0000000000000000".
struct ModuleInfo {
  std::string name, dependencies, state;  // dependencies as printed: "a,b," or "-"
  uint64_t size = 0;
  long instances = 0;
};
std::vector<ModuleInfo> ParseModules(std::string_view text, std::vector<std::string>* problems);

// net/snmp, net/netstat: "Tcp: Name1 Name2" then "Tcp: 1 2" ->
// "Tcp.Name1" -> 1. A value line that does not match its header is a problem.
std::map<std::string, int64_t> ParseSnmp(std::string_view text, std::vector<std::string>* problems);

// /proc/stat: "ctxt", "processes", "intr" (its total), "btime"... -> first number.
std::map<std::string, uint64_t> ParseProcStat(std::string_view text);

// environ: "A=1\0B=2\0" -> A -> 1, B -> 2.
std::map<std::string, std::string> ParseEnviron(std::string_view raw);

// cpuinfo: the number of "processor" entries.
unsigned CountCpus(std::string_view cpuinfo);

// swaps: "/dev/vda2 (partition)" for each line under the header.
std::vector<std::string> ParseSwaps(std::string_view text);

// loadavg: its three averages, "0.10 0.20 0.30".
std::string ParseLoadavg(std::string_view text);

// "a\0b\0" -> "a b".
std::string JoinCmdline(std::string_view raw);

}  // namespace procsnap
