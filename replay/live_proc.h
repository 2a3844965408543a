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

  // A stable number for a path under /proc ("123/fd/3"); 0 when the table
  // is full.
  uint32_t intern(const std::string& path);
  std::string path(uint32_t id);

  int stat(const std::string& path, struct stat& st) const;       // 0 or errno
  int readlink(const std::string& path, std::string& out) const;  // 0 or errno
  int open(const std::string& path) const;                        // fd or -errno
  int list(const std::string& path, std::vector<std::pair<std::string, unsigned char>>& out) const;

 private:
  int procFd_ = -1;
  std::mutex mu_;
  std::vector<std::string> paths_;
  std::unordered_map<std::string, uint32_t> ids_;
};

}  // namespace procsnap
