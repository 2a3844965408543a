// Facts about the captured machine and the capturing process that go into
// the snapshot metadata.
#pragma once

#include <set>
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

// The whole of dirFd/rel, up to `max` bytes; "" when it cannot be read.
std::string ReadWhole(int dirFd, const std::string& rel, size_t max);

// True when fd is on a procfs (so pid-specific logic applies).
bool IsProcfs(int fd);

}  // namespace procsnap
