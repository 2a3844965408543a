// Inside format/ only: what reader and writer of a recording agree on —
// the lock its one writer holds, the order of its segments, and what a
// segment that does not open means.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/archive.h"

namespace procsnap {

// The writer's lock (DIR/.lock, an open file description lock held for the
// writer's whole life). Fails, naming the directory, when another holds it.
Result<OwnedFd> LockRecording(const std::string& dir);
// Whether a writer holds the lock now (tested without taking it, so that a
// reader never keeps a writer out).
bool RecordingBeingWritten(const std::string& dir);

// A segment's name: "s<sequence, 9 digits>-<UTC start>.psnap". The
// sequence, which the writer owns, orders the recording; the clock, which
// may step back, only names the moment. Names from before the sequence
// ("<UTC start>.psnap") sort first, by time as they always did.
std::string SegmentName(uint64_t sequence, int64_t startWallNs);
// The sequence of a name (0 for one from before the sequence).
uint64_t SegmentSequence(const std::string& name);

struct SegmentFile {
  std::string name;  // "....psnap" or "....psnap.torn"
  uint64_t bytes = 0;
  bool torn = false;  // set aside: it never held a committed snapshot
};
// The segment files of a recording (*.psnap and *.psnap.torn, not hidden)
// in recording order.
Result<std::vector<SegmentFile>> ListSegments(const std::string& dir);

// What a segment that does not open with a sound trailer is. The newest
// segment of a recording being written holds the snapshot in progress; the
// newest of one not being written that never committed was cut short (a
// crash in its first snapshot) and is set aside by the next writer (renamed
// .torn) and skipped by readers. Anything else is damage.
enum class UnopenedSegment { InProgress, NeverCommitted, Damaged };
UnopenedSegment ClassifyUnopened(const Status& openError, bool newest, bool beingWritten);

}  // namespace procsnap
