// procsnap report: one self-contained HTML page of a recording or a
// snapshot that any browser opens with no network: no external script,
// style or font; charts are inline SVG drawn here, and a small embedded
// script only adds tooltips (the page reads the same without it). Text
// from the snapshot is escaped (a hostile process name cannot inject
// markup) and bytes that are not UTF-8 become U+FFFD.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "view/view.h"

namespace procsnap {

struct ReportOptions {
  size_t first = 0, last = 0;  // the snapshots charted (a timeline of two or more)
  size_t detailed = 0;         // the snapshot whose process tree, listeners and findings are shown
  size_t topProcesses = 5;     // lines in the top processes' CPU and RSS charts
  size_t maxPoints = 1200;     // a chart of more snapshots shows, per bucket, the snapshot of the highest total
  size_t maxEvents = 5000;     // rows of the events table (the rest is counted)
};

struct ReportSummary {
  size_t snapshots = 0, points = 0, events = 0, processes = 0;
  uint64_t bytes = 0;
};

// The page for `archive`. `progress` gets a word for the pass ("log",
// "events", "top") and how far it is. Fails on archive damage only.
Result<ReportSummary> BuildReport(std::shared_ptr<ArchiveReader> archive, const ReportOptions& opts,
                                  std::string& html,
                                  const std::function<void(const char* pass, size_t done, size_t total)>& progress = {});

}  // namespace procsnap
