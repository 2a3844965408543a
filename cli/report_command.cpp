// procsnap report: one self-contained HTML file of a recording or a snapshot.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "exit_codes.h"
#include "report/report.h"

namespace procsnap {

namespace {

struct ReportArgs {
  std::string archive, output, from = "0", to = "-1", at;
  size_t top = 5;
  bool json = false;
};

// Writes `bytes` to `path` through a temporary beside it, renamed when
// whole: a reader never opens half a report.
Status WriteWhole(const std::string& path, const std::string& bytes) {
  if (path == "-") {
    std::cout << bytes;
    std::cout.flush();
    return std::cout ? Status() : Status::IoError("standard output: write failed");
  }
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(tmp + ": " + std::strerror(errno));
  Status s = WriteAll(fd, bytes, tmp);
  if (::close(fd) != 0 && s.ok()) s = Status::IoError(tmp + ": " + std::strerror(errno));
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Status::IoError(path + ": " + std::strerror(errno));
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

int Run(const ReportArgs& a) {
  if (a.json && a.output == "-") return Fail("--json prints on standard output: give -o FILE for the page");
  auto archive = ArchiveReader::Open(a.archive);
  if (!archive.ok()) return Fail(archive.status());
  if ((*archive)->snapshotCount() == 0) return Fail(a.archive + ": holds no snapshot");
  auto range = SnapshotRange(**archive, a.from, a.to);
  if (!range.ok()) return Fail(range.status());
  ReportOptions opts;
  opts.first = range->first, opts.last = range->second, opts.topProcesses = a.top;
  opts.detailed = range->second;
  if (!a.at.empty()) {
    auto at = FindSnapshot(**archive, a.at);
    if (!at.ok()) return Fail("--at: " + at.status().message());
    opts.detailed = *at;
  }
  const bool progress = StderrIsTerminal();
  std::string html;
  auto summary = BuildReport(*archive, opts, html, [&](const char* pass, size_t done, size_t total) {
    if (progress && (done % 50 == 0 || done == total))
      std::fprintf(stderr, "\rreport: %-6s %zu of %zu snapshots%s", pass, done, total, done == total ? "\n" : "");
  });
  if (!summary.ok()) return Fail(summary.status());
  Status written = WriteWhole(a.output, html);
  if (!written.ok()) return Fail(written);
  if (a.json) {
    std::cout << JsonText({{"output", a.output},
                           {"bytes", summary->bytes},
                           {"snapshots", summary->snapshots},
                           {"points", summary->points},
                           {"events", summary->events},
                           {"processes", summary->processes}})
              << "\n";
  } else if (a.output != "-") {
    std::cerr << "report: " << a.output << " (" << HumanBytes(summary->bytes) << "): " << summary->snapshots
              << " snapshots, " << summary->events << " events, " << summary->processes << " processes\n";
  }
  return kExitOk;
}

}  // namespace

void SetupReport(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<ReportArgs>();
  sub.add_option("ARCHIVE", a->archive, "recording or archive")->required();
  sub.add_option("-o,--output", a->output, "the HTML file to write ('-': standard output)")->required();
  AddRangeOptions(sub, a->from, a->to);
  sub.add_option("--at", a->at, "the snapshot whose process tree, listeners and findings are shown (default: --to)");
  sub.add_option("--top", a->top, "processes in the top CPU and RSS charts")->capture_default_str()->check(CLI::Range(1, 10));
  sub.add_flag("--json", a->json, "print what was written (file, bytes, snapshots, events, processes) as JSON");
  sub.footer(
      "One self-contained HTML file (no network: no external script, style or font) that any browser opens.\n"
      "For a recording: CPU by mode, memory, load, pressure (PSI), disk, network and processes over time with\n"
      "events marked (hover a chart: each point names its snapshot and time), the busiest processes' CPU and\n"
      "the largest processes' RSS, and every event in a table. For every archive: a snapshot's (--at) system\n"
      "facts, process tree with CPU time, RSS and threads, listeners with their processes, and findings.\n"
      "Charts of more than 1,200 snapshots show, for each stretch, the snapshot with the highest total.\n"
      "Works on redacted archives (the header says so). Text from the snapshot is escaped.");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
