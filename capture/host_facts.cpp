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
#include <sstream>

namespace procsnap {

namespace {

std::string ReadSmall(int dirFd, const char* rel) {
  int fd = ::openat(dirFd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return "";
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string ProcMountOptions(const std::string& root) {
  char real[PATH_MAX];
  if (!::realpath(root.c_str(), real)) return "";
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    std::istringstream ls(line);
    std::string id, parent, dev, mroot, mpoint, opts;
    ls >> id >> parent >> dev >> mroot >> mpoint >> opts;
    if (mpoint != real) continue;
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string fstype, source, super;
    rest >> fstype >> source >> super;
    if (fstype == "proc") return opts + " " + super;
  }
  return "";
}

}  // namespace

int64_t ClockNs(int clock) {
  struct timespec ts;
  ::clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool IsProcfs(int fd) {
  struct statfs sf;
  return ::fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

void FillHostFacts(const std::string& root, int rootFd, Metadata* meta) {
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
  meta->procMountOptions = ProcMountOptions(root);
  meta->clockTicks = static_cast<uint32_t>(::sysconf(_SC_CLK_TCK));
  meta->pageSize = static_cast<uint32_t>(::sysconf(_SC_PAGESIZE));
  meta->toolVersion = PROCSNAP_VERSION;
  meta->formatVersion = kFormatVersion;
}

}  // namespace procsnap
