// The two parts of a report: a timeline's charts and events, and one
// snapshot's processes, listeners, findings and facts.
#pragma once

#include <string>

#include "report/report.h"

namespace procsnap {

// Charts of snapshots [opts.first, opts.last], top processes and events.
Result<std::string> TimelineBody(std::shared_ptr<ArchiveReader> archive, const ReportOptions& opts,
                                 ReportSummary& summary,
                                 const std::function<void(const char*, size_t, size_t)>& progress);
// Snapshot opts.detailed: system facts, the process tree, listeners, findings.
Result<std::string> SnapshotBody(std::shared_ptr<ArchiveReader> archive, size_t index, ReportSummary& summary);

}  // namespace procsnap
