// procsnap findings: what in a snapshot deserves an incident responder's
// look, each finding with its kind, the process, the evidence (paths, link
// targets, mounts) and why it matters. Read from the snapshot only: the
// same archive gives the same findings on any machine.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "view/view.h"

namespace procsnap {

struct Finding {
  std::string kind;     // "deleted-executable", "memory-executable", "hidden-pid", "proc-overmount",
                        // "kernel-name-mismatch", "suspicious-listener", "same-executable-two-names"
  long pid = -1;        // -1 when about no one process
  std::string process;  // comm, when known
  std::string user;     // real uid, when known
  std::vector<std::pair<std::string, std::string>> evidence;  // ordered (name, value)
  std::string why;
};

// Every finding of the snapshot `v` shows, sorted by kind then pid. Files
// the snapshot lacks are skipped and said in `warnings`; an error only for
// damage to the archive.
Result<std::vector<Finding>> FindingsOf(const View& v, std::vector<std::string>* warnings);

}  // namespace procsnap
