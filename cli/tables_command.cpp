// procsnap tables: snapshots as JSON Lines (or CSV) tables for query engines.
#include <atomic>
#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "exit_codes.h"
#include "tables/tables.h"

namespace procsnap {

namespace {

struct TablesArgs {
  std::vector<std::string> inputs, tables;
  std::string output, from, to, format = "jsonl";
  unsigned jobs = 0;
  bool json = false, quiet = false;
};

// --from/--to: a time as ISO 8601 (to any precision); --to includes the moment written.
Result<int64_t> ParseBound(const std::string& text, bool upper) {
  auto spec = ParseSnapshotSpec(text);
  if (!spec.ok()) return spec.status();
  if (spec->kind != SnapshotSpec::Kind::Time)
    return Status::InvalidArgument(text + ": give a time (2026-11-23T07:11, ...Z or with a zone)");
  return upper ? spec->timeNs + spec->precisionNs : spec->timeNs;
}

int Run(TablesArgs& a) {
  TablesOptions o;
  o.inputs = a.inputs;
  o.outDir = a.output;
  o.jobs = a.jobs;
  for (const auto& list : a.tables) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      auto t = TableByName(name);
      if (!t) {
        std::string known;
        for (TableKind k : kAllTables) known += std::string(known.empty() ? "" : ", ") + TableName(k);
        return Fail("--table: no table \"" + name + "\" (tables: " + known + ")");
      }
      o.tables.push_back(*t);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (a.format == "csv") o.format = TableFormat::Csv;
  if (!a.from.empty()) {
    auto b = ParseBound(a.from, false);
    if (!b.ok()) return Fail("--from: " + b.status().message());
    o.fromNs = *b;
  }
  if (!a.to.empty()) {
    auto b = ParseBound(a.to, true);
    if (!b.ok()) return Fail("--to: " + b.status().message());
    o.toNs = *b;
  }
  std::atomic<bool>* stop = StopOnSignals();  // ends the run; what is done is kept
  o.stop = stop;
  const bool progress = !a.quiet && !a.json && StderrIsTerminal();
  auto report = WriteTables(o, [&](const TablesProgress& p) {
    if (progress)
      std::fprintf(stderr, "\rtables: %zu of %zu archive(s), %zu snapshot(s), %llu row(s)   ", p.archivesDone,
                   p.archives, p.snapshots, (unsigned long long)p.rows);
  });
  if (progress) std::fprintf(stderr, "\n");
  if (!report.ok()) return Fail(report.status());
  // Odd files: a few named, all counted (they gave nulls, not lost rows).
  const size_t shown = a.quiet ? 0 : std::min<size_t>(report->warnings.size(), 10);
  for (size_t i = 0; i < shown; ++i) std::fprintf(stderr, "procsnap: warning: %s\n", report->warnings[i].c_str());
  if (report->warnings.size() > shown && !a.quiet)
    std::fprintf(stderr, "procsnap: warning: %zu more (--json lists every one)\n", report->warnings.size() - shown);
  for (const auto& e : report->errors) std::fprintf(stderr, "procsnap: error: %s\n", e.c_str());
  if (a.json) {
    nlohmann::json j = {{"archives", report->archives}, {"snapshots", report->snapshots},
                        {"rows", report->rows},         {"files", report->files},
                        {"warnings", report->warnings}, {"errors", report->errors}};
    std::cerr << JsonText(j) << "\n";
  } else if (!a.quiet && a.output != "-") {
    std::fprintf(stderr, "wrote %llu row(s) from %zu snapshot(s) of %zu archive(s) into %zu file(s) under %s\n",
                 (unsigned long long)report->rows, report->snapshots, report->archives, report->files,
                 a.output.c_str());
  }
  if (stop->load()) return kExitTrouble;
  return report->errors.empty() ? kExitOk : kExitTrouble;
}

}  // namespace

void SetupTables(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<TablesArgs>();
  sub.add_option("archives", a->inputs, "archives and recordings to read (every snapshot of each)")->required();
  sub.add_option("-o,--output", a->output,
                 "the folder to write DIR/<table>/host=<host>/<archive>.jsonl into, or - for standard output "
                 "(one --table)")
      ->required();
  sub.add_option("--table", a->tables,
                 "tables to write, comma-separated: processes, threads, sockets, sysctls, mounts, modules, "
                 "interfaces, system (default: all)")
      ->type_name("NAME,...")
      ->expected(1)
      ->allow_extra_args(false);  // repeatable, one value each: archives after it stay archives
  sub.add_option("--from", a->from, "only snapshots taken at or after this time (ISO 8601)")->type_name("TIME");
  sub.add_option("--to", a->to, "only snapshots taken up to this time, the moment written included")
      ->type_name("TIME");
  sub.add_option("--format", a->format, "jsonl (JSON Lines) or csv (with a header line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "csv"}));
  sub.add_option("-j,--jobs", a->jobs, "archives read in parallel (default: one per CPU)");
  sub.add_flag("--json", a->json, "a JSON summary on standard error: counts, every warning and error");
  sub.add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  sub.footer(
      "Every row starts with host, boot_id, time (the snapshot's start, UTC) and snapshot (its index).\n"
      "Numbers are JSON numbers (bytes in *_bytes, durations in *_seconds); a value the snapshot lacks is null.\n"
      "Example: procsnap tables hosts/*.psnap -o tables, then in DuckDB:\n"
      "  SELECT host, pid, comm, rss_bytes FROM read_json_auto('tables/processes/**/*.jsonl') ORDER BY rss_bytes DESC;\n"
      "Exit status: 0 all read, 2 an archive or snapshot could not be read (the others are still written).");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
