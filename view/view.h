// procsnap view: a snapshot read as the tree it was captured from. A View
// resolves paths as they were written on the captured machine, through
// recorded symlinks (/proc/self, /proc/net) and namespace aliases, and
// answers with the recorded bytes or the error recorded at capture.
// Replay, diff and every command read snapshots through it.
// Thread safety: a View is immutable after Open and may be shared.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "format/archive.h"

namespace procsnap {

// ---- naming a moment -------------------------------------------------------

// "500ms", "10s", "5m", "1h", "7d" (a bare number is seconds) -> nanoseconds.
Result<int64_t> ParseDuration(std::string_view text);

// How a user names one snapshot (--at, ARCHIVE@X): an index (0 the first,
// -1 the newest); a time, ISO 8601 with a zone (Z, +01:00) or local
// without one, to any precision ("2026-11-23T07:11", "...07:11:05.250Z"),
// naming the newest snapshot taken at or before it at the precision written
// (07:11:05 names one taken at 07:11:05.250); or a time before the newest
// snapshot ("-5m", "-30s").
struct SnapshotSpec {
  enum class Kind { Index, Time, BeforeNewest };
  Kind kind = Kind::Index;
  long index = -1;
  int64_t timeNs = 0, precisionNs = 0;  // Time: start of the moment written, and its length
  int64_t agoNs = 0;                    // BeforeNewest
  std::string text;                     // as the user wrote it
};
Result<SnapshotSpec> ParseSnapshotSpec(std::string_view text);
// The index, among snapshots that started at `starts` (oldest first), that
// `spec` names; InvalidArgument naming `where` and the recorded span when
// it names none.
Result<size_t> PickSnapshot(const SnapshotSpec& spec, const std::vector<int64_t>& starts, const std::string& where);
// The start times of an archive's snapshots, from its index (no tree loaded).
std::vector<int64_t> SnapshotStarts(const ArchiveReader& archive);
// ParseSnapshotSpec then PickSnapshot over `archive`'s snapshots.
Result<size_t> FindSnapshot(const ArchiveReader& archive, std::string_view at);

// (b - a) nanoseconds in seconds, for any two int64 times: a hostile
// archive's times may be anything, and their int64 difference overflow.
inline double SecondsBetween(int64_t a, int64_t b) { return (double(b) - double(a)) / 1e9; }

// The shape of a timeline of snapshot start times (oldest first): its span,
// usual interval (the median gap) and gaps (intervals over 1.5x the usual).
struct TimelineShape {
  size_t count = 0;
  int64_t firstNs = 0, lastNs = 0;
  int64_t intervalNs = 0;  // median gap; 0 for fewer than two snapshots
  size_t gaps = 0;
  int64_t longestGapNs = 0;
  int64_t longestGapEndNs = 0;  // start of the snapshot that ends the longest gap
};
TimelineShape ShapeOf(const std::vector<int64_t>& starts);

// A read that failed because of the archive (corruption, I/O, a format it
// cannot read), not because of the capture.
bool ArchiveDamage(const Status& s);

class View;
// The bytes of `path` as View::read gives them; nullopt when the capture
// holds none (not captured, read failed at capture, absent); an error only
// for archive damage. Readers that build on many files (diff, tables,
// findings) keep going past what a capture lacks and stop at damage.
Result<std::optional<std::string>> ReadIfCaptured(const View& v, std::string_view path);

// ReadIfCaptured for a reader that builds on many files (diff, tables,
// findings): a file the capture lacks is nullopt, and the first archive
// damage met is kept for the reader to return once it is done.
class CapturedFiles {
 public:
  explicit CapturedFiles(const View& v) : v_(v) {}
  std::optional<std::string> text(std::string_view path);
  // Keeps `s` when it is the first damage (reads made some other way).
  void damaged(const Status& s) {
    if (damage_.ok() && !s.ok()) damage_ = s;
  }
  const Status& damage() const { return damage_; }

 private:
  const View& v_;
  Status damage_;
};

// A pid directory of the root whose process exited while it was captured:
// the directory, or its stat, failed with ENOENT or ESRCH. A replay does
// not show it as a process (ps skips it, but psutil's process_iter raises
// on a listed pid whose stat is missing); the archive keeps it, and
// ls/info show it.
bool ExitedDuringCapture(const Snapshot& s, NodeId id);

// A root entry /proc never has (kNetnsSysctlsDir): replays do not show it.
bool NotInProc(const Snapshot& s, NodeId id);

// Capture's record of the program each process ran (Metadata.executables),
// by pid: what findings and the processes table cite.
std::unordered_map<long, const Executable*> ExecutablesByPid(const Metadata& m);

class View {
 public:
  // `at` picks the snapshot as ParseSnapshotSpec reads it.
  static Result<View> Open(const std::string& archivePath, std::string_view at = "-1");
  View(std::shared_ptr<ArchiveReader> archive, std::shared_ptr<const Snapshot> snap, size_t index);

  const ArchiveReader& archive() const { return *archive_; }
  const Snapshot& snapshot() const { return *snap_; }
  size_t index() const { return index_; }

  // The path under the capture root: "/proc/1/status", "1/status" and
  // "/1/status" all become "1/status" for a capture of /proc.
  std::string relative(std::string_view path) const;
  // Resolves a path given as under the root. Symlinks recorded in the
  // snapshot are followed in every component but the last unless
  // followLast; a link leading outside the snapshot is an error.
  Result<NodeId> resolve(std::string_view path, bool followLast) const;
  // Bytes of a file (following links). NotCaptured when the archive holds
  // none: the read failed at capture (the message names the errno) or
  // capture did not read it (the message says why).
  Result<std::string> read(std::string_view path) const;
  Result<std::string> read(NodeId id) const;
  // Closest existing path to a missing one, "" if nothing is close.
  std::string suggest(std::string_view path) const;
  // Shown to users: the path as it was on the captured machine.
  std::string display(NodeId id) const;

 private:
  std::string root() const;  // the capture root without trailing slashes

  std::shared_ptr<ArchiveReader> archive_;
  std::shared_ptr<const Snapshot> snap_;
  size_t index_;
};

}  // namespace procsnap
