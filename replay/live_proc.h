// The caller's own /proc/PID, served from the live procfs. Tools look
// themselves up by pid (procps reads /proc/<getpid()>/status, lsof tests
// /proc/<getpid()>/fdinfo on a descriptor it just opened); a snapshot cannot
// answer for a process that did not exist, so these paths pass through.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace procsnap {

class LiveProc {
 public:
  // Opens the live procfs now: RunInSnapshot mounts over /proc afterwards.
  LiveProc();
  ~LiveProc();
  bool available() const { return procFd_ >= 0; }

  // A number for a path under /proc ("123/fd/3"), counted as one kernel
  // lookup; 0 when the table is full. forget() gives back lookups as the
  // kernel forgets the inode, and a path no lookup holds frees its number.
  uint32_t intern(const std::string& path);
  void forget(uint32_t id, uint64_t lookups);
  std::string path(uint32_t id);
  // The thread group (process) of a thread id; the id itself if unknown.
  long tgid(long tid) const;

  int stat(const std::string& path, struct stat& st) const;       // 0 or errno
  int readlink(const std::string& path, std::string& out) const;  // 0 or errno
  int open(const std::string& path) const;                        // fd or -errno
  int list(const std::string& path, std::vector<std::pair<std::string, unsigned char>>& out) const;

 private:
  int procFd_ = -1;
  std::mutex mu_;
  struct Entry {
    std::string path;
    uint64_t lookups = 0;
  };
  std::vector<Entry> entries_;  // id - 1 -> entry; an empty path is free
  std::vector<uint32_t> free_;
  std::unordered_map<std::string, uint32_t> ids_;
};

}  // namespace procsnap
