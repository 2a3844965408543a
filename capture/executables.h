// The programs a snapshot's processes run: each distinct file behind
// /proc/PID/exe (by device and inode) is hashed once, and kept whole when
// it is no longer on disk, since after an incident it may be nowhere else.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "format/archive.h"

namespace procsnap {

struct ExecutableLimits {
  uint64_t hashMax = 0;         // a larger file is not hashed (noted)
  uint64_t keepMax = 0;         // bytes of a file no longer on disk kept at most; 0: none kept
  std::string keepOff;          // why nothing is kept, when keepMax is 0 ("the bugreport profile")
  int64_t deadlineMonoNs = 0;   // files not done by then are noted as not hashed
  double seconds = 0;           // the time allowed, for the note
};

// The executables of the processes in `tree` (captured from rootFd, a
// procfs), sorted by path. An entry of `carried` (the previous snapshot of
// the same archive) with the same device, inode, size and mtime is taken as
// it is, kept bytes included. Reads run on kept threads, each bounded by the
// deadline; `notes` gets what a reader should know. The pids in
// `overmounted` (a mount over root/PID hides their files: a rootkit's
// trick) are read through `freshFd`, a procfs mount no one mounted over.
std::vector<Executable> RecordExecutables(int rootFd, const Tree& tree, ArchiveWriter& writer,
                                          const ExecutableLimits& limits, const std::vector<Executable>* carried,
                                          const std::set<std::string>& overmounted, int freshFd,
                                          std::vector<std::string>* notes);

// A descriptor of a new procfs mount, made in a private mount namespace of
// a short-lived thread (mounts over the capturer's /proc/PID are not on
// it); -errno when it cannot be made (not root, no procfs).
int FreshProcfs();

}  // namespace procsnap
