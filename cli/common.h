// What every command shares: error reporting, opening a snapshot, and the
// formatting of modes, sizes, times and errnos.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "format/archive.h"
#include "replay/replay.h"

namespace procsnap {

// Prints "procsnap: <message>" to stderr; returns the exit status for it.
int Fail(const Status& s);
int Fail(const std::string& message);

std::string HumanBytes(uint64_t n);
std::string ModeString(const Node& n);
std::string ErrnoText(int err);         // "EACCES (Permission denied)"
std::string WallTime(int64_t ns);       // ISO 8601 UTC with milliseconds
bool StderrIsTerminal();

nlohmann::json MetadataJson(const Metadata& m);
nlohmann::json NodeJson(const View& view, NodeId id);


}  // namespace procsnap
