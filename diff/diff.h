// procsnap diff: what changed between two snapshots, in the terms of what
// changed (a tunable, a process, a listener), not as text diffs of files;
// and the log of a timeline: state and rates, a line per snapshot.
// Parsers tolerate unknown fields and report malformed text as problems;
// nothing in a snapshot makes Diff crash. Processes are paired by (pid,
// start time) within one boot, so a reused pid is an exit plus a start.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "view/view.h"

namespace procsnap {

enum class Section { System, Sysctls, Processes, Sockets, Files };

// One entry per section, in output order: the one list that --only, help
// texts and the diff itself read. A new section is one entry in diff.cpp.
struct SectionInfo {
  Section section;
  const char* name;     // "system", "sysctls", ... as --only and --json spell it
  const char* summary;  // what it compares, for help texts
};
const std::vector<SectionInfo>& Sections();
const char* SectionName(Section s);
// The section named `name`; InvalidArgument listing the names otherwise.
Result<Section> ParseSection(std::string_view name);

enum class ChangeKind { Changed, Added, Removed, Started, Exited, Opened, Closed, Loaded, Unloaded, Mapped, Unmapped, Rate, Busy };
const char* ChangeKindName(ChangeKind k);  // "changed", "added", ... as printed

struct Change {
  Section section;
  ChangeKind kind;
  std::string subject;  // what changed: "vm.swappiness", "pid 812 (nc)", "tcp 127.0.0.1:4444"
  std::string before, after;  // values where there are two
  std::string detail;   // owner of a socket, command line of a process...
};

struct DiffOptions {
  bool all = false;                  // also counters that always move
  std::vector<Section> only;         // empty: every section
};

struct DiffResult {
  std::vector<Change> changes;
  std::vector<std::string> problems;  // malformed text met while parsing, with the path
};

// Fails when either archive cannot be read (damage is never taken for a
// change); files the capture could not read are compared as absent.
Result<DiffResult> Diff(const View& before, const View& after, const DiffOptions& opts = {});

// ---- log: a timeline, a line per snapshot ------------------------------------

// What `procsnap log` prints for one snapshot: the state it shows and the
// rates since the snapshot before it (unset for the first, across a reboot,
// or where a file was not captured).
struct LogRow {
  size_t index = 0;
  int64_t startWallNs = 0;
  uint64_t processes = 0, running = 0;   // pid directories; tasks running (loadavg)
  double load1 = 0;
  // Of all CPU time between the two: user without nice (a nice-19 hog is
  // its own column), nice, system, irq (hard and soft), iowait, steal.
  std::optional<double> userPct, nicePct, systemPct, irqPct, iowaitPct, stealPct;
  std::optional<uint64_t> memUsedBytes, swapUsedBytes;            // MemTotal - MemAvailable; SwapTotal - SwapFree
  std::optional<double> rxPerSec, txPerSec;                       // bytes, all interfaces but lo
  std::optional<double> readPerSec, writePerSec;                  // bytes, whole disks
  std::optional<uint64_t> started, exited;                        // pids that appeared, disappeared
};

// Rows for snapshots [first, last] of `archive` (last included), each
// against the one before it (snapshot first - 1 when there is one). Fails
// on archive damage, never on odd /proc text (that gives unset fields).
// `progress` is called after each row.
Result<std::vector<LogRow>> Log(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                const std::function<void(const LogRow&)>& row = {});

}  // namespace procsnap
