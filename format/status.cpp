#include "format/archive.h"

#include <cstring>

namespace procsnap {

Status Status::FromErrno(std::string what, int err) {
  return IoError(std::move(what) + ": " + std::strerror(err));
}

std::string ErrnoName(int err) {
  if (const char* name = ::strerrorname_np(err)) return name;
  std::string s = "E";  // written out: gcc 12 warns (-Wrestrict) on "E" + to_string
  return s += std::to_string(err);
}

bool IsNumberName(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

const char* KindName(NodeKind k) {
  switch (k) {
    case NodeKind::Directory: return "directory";
    case NodeKind::File: return "file";
    case NodeKind::Symlink: return "symlink";
    case NodeKind::Alias: return "alias";
    case NodeKind::Other: return "other";
  }
  return "unknown";
}

const char* ReasonName(Reason r) {
  switch (r) {
    case Reason::None: return "none";
    case Reason::Skipped: return "skipped";
    case Reason::Truncated: return "truncated";
    case Reason::Excluded: return "excluded";
    case Reason::TimeLimit: return "time-limit";
    case Reason::Redacted: return "redacted";
    case Reason::Carried: return "carried";
  }
  return "unknown";
}

}  // namespace procsnap
