// The small helpers of archive.h that every library shares.
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "format/archive.h"

namespace procsnap {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") out.push_back(part);
    start = slash + 1;
  }
  return out;
}

bool PtraceGuarded(std::string_view name, std::string_view parent) {
  static constexpr std::string_view kGuarded[] = {"maps", "smaps", "smaps_rollup", "numa_maps", "wchan",
                                                  "cwd",  "root",  "exe"};
  if (parent == "ns") return true;  // PID/ns/* (and task/TID/ns/*)
  if (!IsNumberName(parent)) return false;
  for (auto g : kGuarded)
    if (g == name) return true;
  return false;
}

uint32_t ReplayPermissions(const Node& n, std::string_view name, std::string_view parent) {
  uint32_t perms = n.mode & 0777u;
  if (n.kind == NodeKind::File && PtraceGuarded(name, parent)) perms &= 0700u;
  return perms;
}

void OwnedFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Status WriteAll(int fd, std::string_view bytes, const std::string& what) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      Status s = Status::FromErrno(what + ": cannot write", err);
      errno = err;  // callers may record the errno itself
      return s;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

void RaiseFileLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::string HexOf(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

constexpr int64_t kNsPerSecond = 1000000000;

std::string WallTime(int64_t ns) {
  // Floor division: a hostile archive may hold times before 1970.
  int64_t secs = ns / kNsPerSecond, rem = ns % kNsPerSecond;
  if (rem < 0) --secs, rem += kNsPerSecond;
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  if (!::gmtime_r(&t, &tm)) return "(time out of range)";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(rem / 1000000));
  return out;
}

}  // namespace procsnap
