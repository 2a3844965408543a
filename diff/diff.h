// procsnap diff: what changed between two snapshots, in the terms of what
// changed (a tunable, a process, a listener), not as text diffs of files.
// Parsers tolerate unknown fields and report malformed text as problems;
// nothing in a snapshot makes Diff crash. Processes are paired by (pid,
// start time) within one boot, so a reused pid is an exit plus a start.
#pragma once

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

}  // namespace procsnap
