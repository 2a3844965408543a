#include "report/report.h"

#include "html.h"
#include "pages.h"

namespace procsnap {

Result<ReportSummary> BuildReport(std::shared_ptr<ArchiveReader> archive, const ReportOptions& opts, std::string& html,
                                  const std::function<void(const char*, size_t, size_t)>& progress) {
  ReportSummary summary;
  const size_t count = archive->snapshotCount();
  if (count == 0) return Status::InvalidArgument(archive->path() + ": holds no snapshot");
  if (opts.first > opts.last || opts.last >= count || opts.detailed >= count)
    return Status::InvalidArgument(archive->path() + ": no such snapshots (it holds " + std::to_string(count) + ")");
  auto detailed = archive->snapshot(opts.detailed);
  if (!detailed.ok()) return detailed.status();
  const Metadata& m = (*detailed)->metadata();
  std::string body = "<header><h1>" + Escape(m.hostname.empty() ? "(no host name)" : m.hostname) + "</h1>";
  body += "<div class=\"facts\"><span>kernel <b>" + Escape(m.kernelRelease) + "</b></span>";
  if (opts.last > opts.first)
    body += "<span>recorded <b>" + Escape(Clock(archive->summary(opts.first).startWallNs)) + "</b> to <b>" +
            Escape(Clock(archive->summary(opts.last).startWallNs)) + " UTC</b></span><span><b>" +
            std::to_string(opts.last - opts.first + 1) + "</b> snapshots</span>";
  else
    body += "<span>captured <b>" + Escape(Clock(m.startWallNs)) + " UTC</b></span>";
  body += "<span>archive <b>" + Escape(archive->path()) + "</b></span>";
  if (!m.redactionKinds.empty()) {
    uint64_t replaced = 0;
    for (const auto& [kind, n] : m.redactionKinds) replaced += n;
    body += "<span><b>redacted</b>: " + std::to_string(replaced) +
            " values replaced by keyed pseudonyms (host names, addresses, secrets)</span>";
  }
  body += "</div><nav>";
  if (opts.last > opts.first)
    body += "<a href=\"#system\">System over time</a><a href=\"#top\">Top processes</a><a href=\"#events\">Events</a>";
  body += "<a href=\"#snapshot\">Snapshot " + std::to_string(opts.detailed) +
          "</a><a href=\"#tree\">Process tree</a><a href=\"#listeners\">Listeners</a><a href=\"#findings\">Findings</a>"
          "</nav></header>\n<main>\n";
  if (opts.last > opts.first) {
    auto timeline = TimelineBody(archive, opts, summary, progress);
    if (!timeline.ok()) return timeline.status();
    body += *timeline;
  }
  auto snapshot = SnapshotBody(archive, opts.detailed, summary);
  if (!snapshot.ok()) return snapshot.status();
  body += *snapshot + "</main>\n";
  summary.snapshots = opts.last - opts.first + 1;
  html = Page("procsnap report: " + m.hostname + " " + Clock(m.startWallNs), body);
  summary.bytes = html.size();
  return summary;
}

}  // namespace procsnap
