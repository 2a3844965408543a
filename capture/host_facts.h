// Facts about the captured machine and the capturing process that go into
// the snapshot metadata.
#pragma once

#include <string>

#include "format/archive.h"

namespace procsnap {

// Fills identity (hostname, kernel, boot and machine ids), the capturer's
// credentials and the procfs mount options of `root`. Values come from the
// tree under root where it has them, so a fixture describes itself.
void FillHostFacts(const std::string& root, int rootFd, Metadata* meta);

int64_t ClockNs(int clock);

// True when fd is on a procfs (so pid-specific logic applies).
bool IsProcfs(int fd);

}  // namespace procsnap
