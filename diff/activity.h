// What top, events and the report read from each snapshot of a timeline:
// processes with the counters that make rates, read cheaply (a file whose
// blob did not change since the snapshot before is not read again).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "procfs/procfs.h"
#include "view/view.h"

namespace procsnap {

struct ProcessSeen {
  long pid = 0, ppid = 0, nice = 0, threads = 0;
  uint64_t startTicks = 0;  // stat's starttime: clock ticks after boot
  uint32_t uid = 0;         // the owner of its directory
  bool kernel = false;
  std::string command;      // arguments joined by spaces; [comm] when there are none
  uint64_t utime = 0, stime = 0, minflt = 0, majflt = 0, rssBytes = 0;
  std::optional<uint64_t> readBytes, writeBytes;  // io's read_bytes, write_bytes (root's captures only)
};

struct Moment {
  size_t index = 0;
  int64_t wallNs = 0, bootNs = 0;  // bootNs: CLOCK_BOOTTIME at the start, 0 when not recorded
  std::string bootId;
  uint32_t clockTicks = 100;
  std::map<long, ProcessSeen> processes;  // by pid, without pids that exited while captured
  // Wall time of a boot-relative tick count (a process's start).
  // In doubles, clamped: a hostile archive's clocks may be anything.
  int64_t wallOfTicks(uint64_t ticks) const {
    if (!bootNs) return 0;
    const double t = double(wallNs) - double(bootNs) + double(ticks) * (1e9 / clockTicks);
    return t > -9.2e18 && t < 9.2e18 ? int64_t(t) : 0;
  }
};

// Parsed files of the snapshot before, by blob: a file of a recording that
// did not change is a blob the snapshot before already named.
class BlobMemo {
 public:
  // Call once per snapshot, in order: forgets what the one before the
  // previous read, so memory stays that of two snapshots.
  void next(const Snapshot& s);
  // The bytes of node `id` of the current snapshot; nullopt when the
  // capture holds none (an error for archive damage).
  Result<std::optional<std::string>> text(const Snapshot& s, NodeId id);

 private:
  struct Key {
    uint32_t chunk;
    uint32_t offset;
    uint64_t size;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()((uint64_t(k.chunk) << 32 | k.offset) ^ k.size * 31); }
  };
  const void* space_ = nullptr;
  std::unordered_map<Key, std::shared_ptr<const std::string>, KeyHash> previous_, current_;
};

// Reads the processes of snapshot after snapshot.
class ProcessReader {
 public:
  explicit ProcessReader(std::shared_ptr<ArchiveReader> archive) : archive_(std::move(archive)) {}
  // Snapshot i as a Moment. Fails only on archive damage.
  Result<Moment> read(size_t i);
  // The snapshot the last read loaded (null before the first).
  const std::shared_ptr<const Snapshot>& snapshot() const { return snap_; }
  BlobMemo& memo() { return memo_; }

 private:
  std::shared_ptr<ArchiveReader> archive_;
  std::shared_ptr<const Snapshot> snap_;
  BlobMemo memo_;
};

}  // namespace procsnap
