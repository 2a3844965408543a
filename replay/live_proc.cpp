#include "live_proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace procsnap {

namespace {
constexpr long kProcSuperMagic = 0x9fa0;
constexpr size_t kMaxPaths = 1u << 20;  // a bound on what callers can make us remember
}  // namespace

LiveProc::LiveProc() {
  int fd = ::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct statfs fs{};
  if (fd >= 0 && ::fstatfs(fd, &fs) == 0 && fs.f_type == kProcSuperMagic) {
    procFd_ = fd;
  } else if (fd >= 0) {
    ::close(fd);
  }
}

LiveProc::~LiveProc() {
  if (procFd_ >= 0) ::close(procFd_);
}

uint32_t LiveProc::intern(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ids_.find(path);
  if (it != ids_.end()) {
    ++entries_[it->second - 1].lookups;
    return it->second;
  }
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else if (entries_.size() < kMaxPaths) {
    entries_.emplace_back();
    id = static_cast<uint32_t>(entries_.size());
  } else {
    return 0;
  }
  entries_[id - 1] = {path, 1};
  ids_.emplace(path, id);
  return id;
}

void LiveProc::forget(uint32_t id, uint64_t lookups) {
  std::lock_guard<std::mutex> lock(mu_);
  if (id < 1 || id > entries_.size() || entries_[id - 1].path.empty()) return;
  Entry& e = entries_[id - 1];
  e.lookups -= std::min(e.lookups, lookups);
  if (e.lookups) return;
  ids_.erase(e.path);
  e.path.clear();
  free_.push_back(id);
}

std::string LiveProc::path(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return id >= 1 && id <= entries_.size() ? entries_[id - 1].path : std::string();
}

long LiveProc::tgid(long tid) const {
  std::string status(512, '\0');
  int fd = ::openat(procFd_, (std::to_string(tid) + "/status").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tid;
  ssize_t n = ::read(fd, status.data(), status.size());
  ::close(fd);
  status.resize(n > 0 ? size_t(n) : 0);
  size_t at = status.find("\nTgid:");
  return at == std::string::npos ? tid : std::strtol(status.c_str() + at + 6, nullptr, 10);
}

// Paths are relative to the live /proc; an empty or absolute one would
// resolve elsewhere, so it never reaches a syscall.
static bool Relative(const std::string& path) { return !path.empty() && path[0] != '/'; }

int LiveProc::stat(const std::string& path, struct stat& st) const {
  if (!Relative(path)) return ENOENT;
  return ::fstatat(procFd_, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

int LiveProc::readlink(const std::string& path, std::string& out) const {
  if (!Relative(path)) return ENOENT;
  char buf[4096];
  ssize_t n = ::readlinkat(procFd_, path.c_str(), buf, sizeof buf);
  if (n < 0) return errno;
  out.assign(buf, n);
  return 0;
}

int LiveProc::open(const std::string& path) const {
  if (!Relative(path)) return -ENOENT;
  int fd = ::openat(procFd_, path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  return fd >= 0 ? fd : -errno;
}

int LiveProc::list(const std::string& path, std::vector<std::pair<std::string, unsigned char>>& out) const {
  if (!Relative(path)) return ENOENT;
  int fd = ::openat(procFd_, path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    return err;
  }
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.emplace_back(e->d_name, e->d_type);
  ::closedir(d);
  return 0;
}

}  // namespace procsnap
