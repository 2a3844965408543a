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

std::string ProcMountOptions(const std::string& root, const std::vector<MountEntry>& mounts) {
  std::string real = RealPath(root);
  for (const MountEntry& m : mounts)
    if (m.mountPoint == real && m.fsType == "proc") return m.options + " " + m.superOptions;
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

int64_t ClockNs(int clock) {
  struct timespec ts;
  ::clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool IsProcfs(int fd) {
  struct statfs sf;
  return ::fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

std::vector<MountEntry> ReadMountInfo() {
  std::vector<MountEntry> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    std::istringstream ls(line);
    std::string id, parent, dev, mroot;
    MountEntry m;
    ls >> id >> parent >> dev >> mroot >> m.mountPoint >> m.options;
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string source;
    rest >> m.fsType >> source >> m.superOptions;
    out.push_back(std::move(m));
  }
  return out;
}

std::set<std::string> UnmountedAutofs(const std::string& root, const std::vector<MountEntry>& mounts) {
  std::set<std::string> out;
  std::string real = RealPath(root);
  if (real.empty()) return out;
  std::string prefix = real + "/";
  std::map<std::string, bool> autofsOnly;  // mount point -> only autofs seen there
  for (const MountEntry& m : mounts) {
    if (m.mountPoint.rfind(prefix, 0) != 0) continue;
    auto [it, inserted] = autofsOnly.emplace(m.mountPoint.substr(prefix.size()), true);
    it->second = it->second && m.fsType == "autofs";
  }
  for (auto& [rel, only] : autofsOnly)
    if (only) out.insert(rel);
  return out;
}

void FillHostFacts(const std::string& root, int rootFd, const std::vector<MountEntry>& mounts, Metadata* meta) {
  struct utsname u;
  ::uname(&u);
  meta->hostname = ReadSmall(rootFd, "sys/kernel/hostname");
  if (meta->hostname.empty()) meta->hostname = u.nodename;
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
