// What every command shares: error reporting, opening a snapshot, and the
// formatting of modes, sizes, times and errnos.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <string>

#include "format/archive.h"
#include "replay/replay.h"

namespace procsnap {

// Prints "procsnap: <message>" to stderr; returns the exit status for it.
int Fail(const Status& s);
int Fail(const std::string& message);

std::string HumanBytes(uint64_t n);
// "512K", "2M", "1G", "1T" (powers of 1024) or a number of bytes.
Result<uint64_t> ParseSize(std::string_view text);
std::string ModeString(const Node& n);
std::string ErrnoText(int err);
// "16:02:05.205": the time of day of WallTime(ns), where the date is said once (top, events).
std::string TimeOfDay(int64_t wallNs);         // "EACCES (Permission denied)"
bool StderrIsTerminal();
// From now on SIGINT and SIGTERM set the flag returned instead of killing:
// a long command (record, tables) then ends cleanly with what it has.
std::atomic<bool>* StopOnSignals();

// Text safe for a terminal: control characters (C0, DEL, C1), and bytes
// that are not UTF-8, are written as \xNN, so a hostile process name or
// argument cannot move the cursor or retitle the window. Text output of
// ls, info and diff goes through it; `cat` gives the exact bytes.
std::string Printable(std::string_view s);
// printf to standard output with every argument's text made Printable.
// The format must end in "\n", which stays.
void PrintLine(const char* format, ...) __attribute__((format(printf, 1, 2)));

// JSON text of j. Bytes that are not UTF-8 (a process may put any bytes in
// its name, arguments or environment) become U+FFFD, so the output is
// always valid JSON; `cat` gives the exact bytes.
// indent -1: one line (record --json writes a line per snapshot).
// The redaction key of --key-file FILE, --new-key (empty: random, kept
// nowhere) or the machine's default key.
Result<std::string> RedactionKeyFromOptions(const std::string& keyFile, bool newKey);

std::string JsonText(const nlohmann::json& j, int indent = 2);

// --from and --to of a command over a timeline (log, top, events, report):
// the indexes they name, first <= last; an error naming the option.
Result<std::pair<size_t, size_t>> SnapshotRange(const ArchiveReader& archive, const std::string& from,
                                                const std::string& to);
// The same options on a subcommand, with the help every command gives them.
void AddRangeOptions(CLI::App& sub, std::string& from, std::string& to);
nlohmann::json MetadataJson(const Metadata& m);
nlohmann::json ExecutableJson(const Executable& e);
nlohmann::json NodeJson(const View& view, NodeId id);


}  // namespace procsnap
