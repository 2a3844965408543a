#include "host_facts.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

namespace procsnap {

namespace {

std::string RealPath(const std::string& path) {
  char real[PATH_MAX];
  return ::realpath(path.c_str(), real) ? real : "";
}

std::string ProcMountOptions(const std::string& root, const std::vector<MountInfo>& mounts) {
  std::string real = RealPath(root);
  for (const MountInfo& m : mounts)
    if (m.target == real && m.fstype == "proc") return m.options + " " + m.superOptions;
  return "";
}

}  // namespace

std::string ReadSmall(int dirFd, const std::string& rel) {
  int fd = ::openat(dirFd, rel.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return "";
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string ReadOneShow(int dirFd, const std::string& rel) {
  OwnedFd fd(::openat(dirFd, rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) return "";
  char buf[4096];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf);
  return n > 0 && size_t(n) < sizeof buf ? std::string(buf, size_t(n)) : "";
}

std::string ReadWhole(int dirFd, const std::string& rel, size_t max) {
  int fd = ::openat(dirFd, rel.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  std::string s;
  char buf[16384];
  for (ssize_t n; s.size() < max && (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
  ::close(fd);
  return s;
}

int64_t ClockNs(int clock) {
  struct timespec ts;
  ::clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool IsProcfs(int fd) {
  struct statfs sf;
  return ::fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

std::vector<MountInfo> ReadMountInfo() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  return ParseMountInfo(text.str(), nullptr);
}

std::set<std::string> UnmountedAutofs(const std::string& root, const std::vector<MountInfo>& mounts) {
  std::set<std::string> out;
  std::string real = RealPath(root);
  if (real.empty()) return out;
  std::string prefix = real + "/";
  std::map<std::string, bool> autofsOnly;  // mount point -> only autofs seen there
  for (const MountInfo& m : mounts) {
    if (m.target.rfind(prefix, 0) != 0) continue;
    auto [it, inserted] = autofsOnly.emplace(m.target.substr(prefix.size()), true);
    it->second = it->second && m.fstype == "autofs";
  }
  for (auto& [rel, only] : autofsOnly)
    if (only) out.insert(rel);
  return out;
}

std::string HostnameOf(int rootFd) {
  std::string name = rootFd >= 0 ? ReadSmall(rootFd, "sys/kernel/hostname") : "";
  if (name.empty()) {
    struct utsname u;
    ::uname(&u);
    name = u.nodename;
  }
  return name;
}

void FillHostFacts(const std::string& root, int rootFd, const std::vector<MountInfo>& mounts, Metadata* meta) {
  struct utsname u;
  ::uname(&u);
  meta->hostname = HostnameOf(rootFd);
  meta->kernelRelease = ReadSmall(rootFd, "sys/kernel/osrelease");
  if (meta->kernelRelease.empty()) meta->kernelRelease = u.release;
  meta->kernelVersion = ReadSmall(rootFd, "sys/kernel/version");
  if (meta->kernelVersion.empty()) meta->kernelVersion = u.version;
  meta->bootId = ReadSmall(rootFd, "sys/kernel/random/boot_id");
  meta->machineId = ReadSmall(AT_FDCWD, "/etc/machine-id");
  meta->root = root;
  meta->capturerUid = ::geteuid();
  meta->capturerGid = ::getegid();
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("CapEff:", 0) == 0) meta->capEffective = std::stoull(line.substr(7), nullptr, 16);
  meta->procMountOptions = ProcMountOptions(root, mounts);
  meta->clockTicks = static_cast<uint32_t>(::sysconf(_SC_CLK_TCK));
  meta->pageSize = static_cast<uint32_t>(::sysconf(_SC_PAGESIZE));
  meta->toolVersion = PROCSNAP_VERSION;
  meta->formatVersion = kFormatVersion;
}

}  // namespace procsnap
