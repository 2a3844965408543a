// A timeline's charts (CPU, memory, load, pressure, disk, network,
// processes), its top processes' CPU and RSS, and its events.
#include <algorithm>
#include <map>
#include <set>

#include "diff/diff.h"
#include "html.h"
#include "pages.h"

namespace procsnap {

namespace {

const char* kColors[] = {"#3b6fd6", "#e3a21a", "#d2453b", "#8e5bc8", "#2a9d8f", "#7f8c8d",
                         "#c2185b", "#5d8a1e", "#1f7a8c", "#a0522d"};

// One process over the timeline, from top's intervals.
struct ProcessLine {
  long pid = 0;
  uint32_t uid = 0;
  std::string command;
  double cpuSeconds = 0;
  uint64_t peakRss = 0;
  int64_t firstNs = 0, lastNs = 0;
  std::vector<std::pair<size_t, std::pair<float, uint64_t>>> points;  // snapshot -> (CPU %, RSS)
};

std::string Seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, s < 10 ? "%.2f s" : s < 3600 ? "%.0f s" : "%.1f h", s < 3600 ? s : s / 3600);
  return b;
}

std::string EventWords(const Event& e) {
  std::string w;
  if (!e.command.empty()) {
    w = "pid " + std::to_string(e.pid) + " " + e.command;
    if (e.kind == EventKind::Started || e.kind == EventKind::Exited) {
      w += " (uid " + std::to_string(e.uid) + ", parent " + std::to_string(e.ppid);
      if (e.lifetimeSeconds) w += ", lived " + Seconds(*e.lifetimeSeconds);
      w += ", peak RSS " + Bytes(double(e.peakRssBytes)) + ", CPU " + Seconds(e.cpuSeconds) + ")";
    } else if (e.kind == EventKind::OomKill) {
      w = "largest process gone: " + w + ", RSS " + Bytes(double(e.peakRssBytes));
    }
  }
  if (!e.before.empty() || !e.after.empty()) w += (w.empty() ? "" : "; ") + e.before + " → " + e.after;
  if (!e.detail.empty() && e.kind != EventKind::OomKill) w += (w.empty() ? "" : "; ") + e.detail;
  return w;
}

// A chart of full-length series over the rows' times, thinned to maxPoints
// by each bucket's highest total.
std::string MakeChart(const std::string& id, const std::string& title, Unit unit, bool stacked,
                      std::optional<double> max, const std::vector<int64_t>& times, const std::vector<size_t>& snaps,
                      const std::vector<Series>& full, const std::vector<Mark>& marks, size_t maxPoints,
                      size_t& points) {
  std::vector<double> weight(times.size(), 0.0);
  for (const auto& s : full)
    for (size_t i = 0; i < s.values.size() && i < times.size(); ++i)
      if (s.values[i]) weight[i] += *s.values[i];
  const auto keep = PickPoints(times.size(), maxPoints, weight);
  ChartSpec c;
  c.id = id, c.title = title, c.unit = unit, c.stacked = stacked, c.max = max, c.marks = marks;
  for (size_t i : keep) c.times.push_back(times[i]), c.snapshots.push_back(snaps[i]);
  for (const auto& s : full) {
    Series t{s.name, s.color, {}};
    for (size_t i : keep) t.values.push_back(i < s.values.size() ? s.values[i] : std::nullopt);
    c.series.push_back(std::move(t));
  }
  points += c.times.size() * c.series.size();
  return Chart(c);
}

}  // namespace

Result<std::string> TimelineBody(std::shared_ptr<ArchiveReader> archive, const ReportOptions& opts,
                                 ReportSummary& summary,
                                 const std::function<void(const char*, size_t, size_t)>& progress) {
  // Every process of every interval, folded into one line per process.
  std::map<std::pair<long, uint64_t>, ProcessLine> lines;
  TopOptions topOpts;
  topOpts.count = SIZE_MAX;
  auto pass = ReadTimeline(
      archive, opts.first, opts.last, topOpts, EventOptions{},
      [&](const TopInterval& t) {
        for (const auto& p : t.processes) {
          if (p.exited && !p.started && p.cpuPct == 0) continue;  // seen only before the interval
          ProcessLine& l = lines[{p.pid, p.startTicks}];
          if (l.points.empty()) l.pid = p.pid, l.uid = p.uid, l.firstNs = t.endWallNs;
          l.command = p.command;
          l.cpuSeconds += p.cpuPct / 100 * t.seconds;
          l.peakRss = std::max(l.peakRss, p.rssBytes);
          l.lastNs = t.endWallNs;
          l.points.push_back({t.lastIndex, {float(p.cpuPct), p.rssBytes}});
        }
      },
      [&](size_t done, size_t all) {
        if (progress) progress("read", done, all);
      });
  if (!pass.ok()) return pass.status();
  const std::vector<LogRow>* rows = &pass->rows;
  const std::vector<Event>* events = &pass->events;
  summary.processes = lines.size();

  std::vector<int64_t> times;
  std::vector<size_t> snaps;
  std::map<size_t, size_t> rowOf;  // snapshot -> row
  for (const auto& r : *rows) rowOf[r.index] = times.size(), times.push_back(r.startWallNs), snaps.push_back(r.index);
  auto series = [&](const std::string& name, size_t color, auto value) {
    Series s{name, kColors[color % 10], {}};
    for (const auto& r : *rows) s.values.push_back(value(r));
    return s;
  };

  // The processes charted: the largest by CPU time and by peak RSS.
  std::vector<const ProcessLine*> byCpu, byRss;
  for (const auto& [k, l] : lines) byCpu.push_back(&l), byRss.push_back(&l);
  const size_t n = std::min(opts.topProcesses, lines.size());
  std::partial_sort(byCpu.begin(), byCpu.begin() + n, byCpu.end(),
                    [](auto* a, auto* b) { return a->cpuSeconds > b->cpuSeconds; });
  std::partial_sort(byRss.begin(), byRss.begin() + n, byRss.end(),
                    [](auto* a, auto* b) { return a->peakRss > b->peakRss; });
  byCpu.resize(n), byRss.resize(n);
  std::set<long> charted;
  for (auto* l : byCpu) charted.insert(l->pid);
  for (auto* l : byRss) charted.insert(l->pid);

  // Events drawn on the charts: all but processes that are not charted.
  std::vector<Mark> marks;
  for (const auto& e : *events) {
    if ((e.kind == EventKind::Started || e.kind == EventKind::Exited) && !charted.count(e.pid)) continue;
    if (marks.size() >= 400) break;
    std::string label = EventKindName(e.kind);
    label += " ";
    label += e.subject;
    if (!e.command.empty()) label += " ", label += e.command.substr(0, 80);
    marks.push_back({e.wallNs, std::move(label)});
  }

  size_t points = 0;
  std::string body = "<section id=\"system\"><h2>System over time</h2><div class=\"charts\">\n";
  body += MakeChart("cpu", "CPU by mode, % of all CPUs", Unit::Percent, true, 100.0, times, snaps,
                    {series("user", 0, [](const LogRow& r) { return r.userPct; }),
                     series("nice", 1, [](const LogRow& r) { return r.nicePct; }),
                     series("system", 2, [](const LogRow& r) { return r.systemPct; }),
                     series("irq", 3, [](const LogRow& r) { return r.irqPct; }),
                     series("iowait", 4, [](const LogRow& r) { return r.iowaitPct; }),
                     series("steal", 5, [](const LogRow& r) { return r.stealPct; })},
                    marks, opts.maxPoints, points);
  auto bytes = [](const std::optional<uint64_t>& v) { return v ? std::optional<double>(double(*v)) : std::nullopt; };
  body += MakeChart("memory", "Memory used (MemTotal − MemAvailable) and swap used", Unit::Bytes, false, std::nullopt,
                    times, snaps,
                    {series("memory used", 0, [&](const LogRow& r) { return bytes(r.memUsedBytes); }),
                     series("swap used", 2, [&](const LogRow& r) { return bytes(r.swapUsedBytes); })},
                    marks, opts.maxPoints, points);
  body += MakeChart("load", "Load average (1 min) and running tasks", Unit::Number, false, std::nullopt, times, snaps,
                    {series("load1", 0, [](const LogRow& r) { return std::optional<double>(r.load1); }),
                     series("running", 1, [](const LogRow& r) { return std::optional<double>(double(r.running)); })},
                    marks, opts.maxPoints, points);
  body += MakeChart("pressure", "Pressure stall (PSI some avg10), %", Unit::Percent, false, std::nullopt, times, snaps,
                    {series("cpu", 0, [](const LogRow& r) { return r.cpuPressure; }),
                     series("memory", 2, [](const LogRow& r) { return r.memoryPressure; }),
                     series("io", 4, [](const LogRow& r) { return r.ioPressure; })},
                    marks, opts.maxPoints, points);
  body += MakeChart("disk", "Disk read and written per second (whole disks)", Unit::BytesPerSecond, false,
                    std::nullopt, times, snaps,
                    {series("read", 0, [](const LogRow& r) { return r.readPerSec; }),
                     series("written", 1, [](const LogRow& r) { return r.writePerSec; })},
                    marks, opts.maxPoints, points);
  body += MakeChart("network", "Network received and sent per second (all interfaces but lo)", Unit::BytesPerSecond,
                    false, std::nullopt, times, snaps,
                    {series("received", 0, [](const LogRow& r) { return r.rxPerSec; }),
                     series("sent", 1, [](const LogRow& r) { return r.txPerSec; })},
                    marks, opts.maxPoints, points);
  body += MakeChart("processes", "Processes, and processes started per second", Unit::Number, false, std::nullopt,
                    times, snaps,
                    {series("processes", 0, [](const LogRow& r) { return std::optional<double>(double(r.processes)); }),
                     series("forks/s", 1, [](const LogRow& r) { return r.forksPerSec; })},
                    marks, opts.maxPoints, points);
  body += "</div></section>\n";

  // Top processes: CPU % of one CPU and RSS over time.
  auto processSeries = [&](const std::vector<const ProcessLine*>& chosen, bool cpu) {
    std::vector<Series> out;
    for (size_t k = 0; k < chosen.size(); ++k) {
      Series s{std::to_string(chosen[k]->pid) + " " + chosen[k]->command.substr(0, 60), kColors[k % 10],
               std::vector<std::optional<double>>(times.size())};
      for (const auto& [snap, v] : chosen[k]->points)
        if (auto it = rowOf.find(snap); it != rowOf.end())
          s.values[it->second] = cpu ? double(v.first) : double(v.second);
      out.push_back(std::move(s));
    }
    return out;
  };
  body += "<section id=\"top\"><h2>Top processes</h2><div class=\"charts\">\n";
  body += MakeChart("top-cpu", "CPU of the busiest processes, % of one CPU", Unit::Percent, false, std::nullopt, times,
                    snaps, processSeries(byCpu, true), marks, opts.maxPoints, points);
  body += MakeChart("top-rss", "RSS of the largest processes", Unit::Bytes, false, std::nullopt, times, snaps,
                    processSeries(byRss, false), marks, opts.maxPoints, points);
  body += "</div>\n";
  auto table = [&](const std::vector<const ProcessLine*>& chosen, const char* caption) {
    std::string t = std::string("<h3>") + caption +
                    "</h3><table><thead><tr><th class=\"num\">PID</th><th class=\"num\">UID</th><th class=\"num\">CPU "
                    "time</th><th class=\"num\">peak RSS</th><th>seen</th><th>command</th></tr></thead><tbody>";
    for (auto* l : chosen)
      t += "<tr><td class=\"num\">" + std::to_string(l->pid) + "</td><td class=\"num\">" + std::to_string(l->uid) +
           "</td><td class=\"num\">" + Seconds(l->cpuSeconds) + "</td><td class=\"num\">" +
           Bytes(double(l->peakRss)) + "</td><td class=\"num\">" + Escape(Clock(l->firstNs).substr(11)) + " – " +
           Escape(Clock(l->lastNs).substr(11)) + "</td><td class=\"cmd\">" + Escape(l->command) + "</td></tr>";
    return t + "</tbody></table>\n";
  };
  body += table(byCpu, "By CPU time") + table(byRss, "By peak RSS") + "</section>\n";

  // Events, in time order.
  body += "<section id=\"events\"><h2>Events</h2>";
  if (events->empty()) body += "<p class=\"note\">Nothing started, exited, opened, closed or changed.</p>";
  else {
    body += "<div class=\"scroll\"><table><thead><tr><th>time (UTC)</th><th class=\"num\">snapshot</th><th>what</th>"
            "<th>subject</th><th>details</th></tr></thead><tbody>";
    for (size_t i = 0; i < events->size() && i < opts.maxEvents; ++i) {
      const Event& e = (*events)[i];
      body += "<tr><td class=\"num\">" + Escape(Clock(e.wallNs)) + "</td><td class=\"num\">" +
              std::to_string(e.index) + "</td><td class=\"kind\">" + EventKindName(e.kind) + "</td><td>" +
              Escape(e.subject) + "</td><td class=\"cmd\">" + Escape(EventWords(e)) + "</td></tr>";
    }
    body += "</tbody></table></div>";
    if (events->size() > opts.maxEvents)
      body += "<p class=\"note\">" + std::to_string(events->size() - opts.maxEvents) +
              " more events are not shown here: <code>procsnap events</code> lists them all.</p>";
  }
  body += "</section>\n";
  summary.points = points;
  summary.events = events->size();
  return body;
}

}  // namespace procsnap
