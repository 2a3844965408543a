// Facts about the captured machine and the capturing process that go into
// the snapshot metadata.
#pragma once

#include <dirent.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>
#include <string>
#include <vector>

#include "format/archive.h"
#include "procfs/procfs.h"

namespace procsnap {

// The capturing process's mounts (/proc/self/mountinfo).
std::vector<MountInfo> ReadMountInfo();

// The host name a capture of the root records: the tree's own
// sys/kernel/hostname, else this machine's.
std::string HostnameOf(int rootFd);

// Fills identity (hostname, kernel, boot and machine ids), the capturer's
// credentials and the procfs mount options of `root`. Values come from the
// tree under root where it has them, so a fixture describes itself.
void FillHostFacts(const std::string& root, int rootFd, const std::vector<MountInfo>& mounts, Metadata* meta);

// Paths under root that are autofs mount points with nothing mounted on them:
// opening one would trigger the mount, or hang.
std::set<std::string> UnmountedAutofs(const std::string& root, const std::vector<MountInfo>& mounts);

int64_t ClockNs(int clock);

// The first 4 KiB of dirFd/rel without trailing newlines or NULs; "" when
// it cannot be read.
std::string ReadSmall(int dirFd, const std::string& rel);
// A procfs file made by one show() (PID/stat...) as it is, with one
// read(); "" when it cannot be read or does not fit 4 KiB.
std::string ReadOneShow(int dirFd, const std::string& rel);

// Calls each(name, d_type) for every entry of the open directory `fd` but
// "." and "..", as getdents64 gives them: fdopendir and readdir cost an
// fstat, an fcntl and a 32 KiB buffer per directory (~180 directories a
// light tick idle). 0, or the errno of the read that failed (the entries
// before it were given).
template <class Each>
int ForEachEntry(int fd, Each&& each) {
  alignas(8) char buf[8192];
  for (;;) {
    ssize_t n = ::getdents64(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return 0;
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const struct dirent64*>(buf + at);
      at += e->d_reclen;
      const char* name = e->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      each(std::string_view(name, std::strlen(name)), e->d_type);
    }
  }
}

// The whole of dirFd/rel, up to `max` bytes; "" when it cannot be read.
std::string ReadWhole(int dirFd, const std::string& rel, size_t max);

// True when fd is on a procfs (so pid-specific logic applies).
bool IsProcfs(int fd);

}  // namespace procsnap
