// procsnap tables: snapshots as typed tables that query engines read.
// Each snapshot gives rows of a fixed set of tables (processes, threads,
// sockets, sysctls, mounts, modules, interfaces, system); every row starts
// with host, boot_id, time and snapshot. Values are typed (numbers stay
// numbers) and a value the snapshot lacks is null. WriteTables streams
// any number of archives and recordings, one snapshot at a time per
// worker, into DIR/<table>/host=<host>/<archive>.jsonl (or .csv).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "view/view.h"

namespace procsnap {

enum class TableKind { Processes, Threads, Sockets, Sysctls, Mounts, Modules, Interfaces, System };
inline constexpr TableKind kAllTables[] = {TableKind::Processes, TableKind::Threads,  TableKind::Sockets,
                                           TableKind::Sysctls,   TableKind::Mounts,   TableKind::Modules,
                                           TableKind::Interfaces, TableKind::System};

const char* TableName(TableKind t);
std::optional<TableKind> TableByName(std::string_view name);
// Column names, the four common ones (host, boot_id, time, snapshot) first.
const std::vector<std::string>& TableColumns(TableKind t);

// null, an integer, a real, or text.
using Value = std::variant<std::monostate, int64_t, double, std::string>;
using Row = std::vector<Value>;  // in TableColumns order

// The rows of `tables` of the snapshot `v` shows, table by table, passed
// to `sink`. Files the snapshot lacks or that do not parse give nulls and a
// line in `warnings` ("PATH: what"); an error only for damage to the archive.
Status SnapshotRows(const View& v, const std::vector<TableKind>& tables,
                    const std::function<void(TableKind, Row&&)>& sink, std::vector<std::string>* warnings);

enum class TableFormat { Jsonl, Csv };
// One row as a JSON object on one line (with '\n'); invalid UTF-8 becomes U+FFFD.
std::string JsonLine(TableKind t, const Row& row);
// RFC 4180: the header line, and one row (null is an empty field).
std::string CsvHeader(TableKind t);
std::string CsvLine(const Row& row);

struct TablesOptions {
  std::vector<std::string> inputs;  // archives and recordings
  std::string outDir;               // "-": standard output (one table)
  std::vector<TableKind> tables;    // empty: all
  std::optional<int64_t> fromNs, toNs;  // snapshots starting in [from, to)
  TableFormat format = TableFormat::Jsonl;
  unsigned jobs = 0;  // archives read in parallel; 0: one per CPU
  std::atomic<bool>* stop = nullptr;
};

struct TablesProgress {
  size_t archivesDone = 0, archives = 0, snapshots = 0;
  uint64_t rows = 0;
};

struct TablesReport {
  size_t archives = 0, snapshots = 0, files = 0;
  uint64_t rows = 0;
  std::vector<std::string> warnings;  // odd files, each naming archive, snapshot and path
  std::vector<std::string> errors;    // archives or snapshots that could not be read
};

// Writes every table of every selected snapshot. A file is written under a
// hidden temporary name and renamed when its archive is done, so readers
// never see half a file. Host and archive names are made safe for a path:
// nothing is written outside outDir.
Result<TablesReport> WriteTables(const TablesOptions& options,
                                 const std::function<void(const TablesProgress&)>& progress = {});

}  // namespace procsnap
