// procsnap diff: what changed between two snapshots, in the terms of what
// changed (a tunable, a process, a listener), not as text diffs of files.
// Parsers tolerate unknown fields and report malformed text as problems;
// nothing in a snapshot makes Diff crash. Processes are paired by (pid,
// start time) within one boot, so a reused pid is an exit plus a start.
#pragma once

#include <string>
#include <vector>

#include "replay/replay.h"

namespace procsnap {

enum class Section { System, Sysctls, Processes, Sockets, Files };
const char* SectionName(Section s);  // "system", "sysctls", ...

struct Change {
  Section section;
  std::string kind;     // "changed", "added", "removed", "started", "exited", "opened", "closed"
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

Result<DiffResult> Diff(const View& before, const View& after, const DiffOptions& opts = {});

}  // namespace procsnap
