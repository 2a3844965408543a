// One snapshot: system facts, the process tree, listeners, findings.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "findings/findings.h"
#include "html.h"
#include "pages.h"
#include "tables/tables.h"

namespace procsnap {

namespace {

// A row of a table by column name.
class Columns {
 public:
  Columns(TableKind t, const Row& r) : names_(TableColumns(t)), row_(r) {}
  const Value& operator[](const char* name) const {
    static const Value none;
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) return i < row_.size() ? row_[i] : none;
    return none;
  }
  std::string text(const char* name) const {
    const Value& v = (*this)[name];
    if (auto s = std::get_if<std::string>(&v)) return *s;
    if (auto i = std::get_if<int64_t>(&v)) return std::to_string(*i);
    if (auto d = std::get_if<double>(&v)) {
      char b[32];
      std::snprintf(b, sizeof b, "%.2f", *d);
      return b;
    }
    return "";
  }
  double number(const char* name) const {
    const Value& v = (*this)[name];
    if (auto i = std::get_if<int64_t>(&v)) return double(*i);
    if (auto d = std::get_if<double>(&v)) return *d;
    return -1;
  }

 private:
  const std::vector<std::string>& names_;
  const Row& row_;
};

std::string Cell(const std::string& text, const char* cls = nullptr) {
  return std::string("<td") + (cls ? std::string(" class=\"") + cls + "\"" : "") + ">" + Escape(text) + "</td>";
}

// A process's command: its arguments, or [comm] as ps shows a kernel
// thread. (Built by appending: GCC 12 warns falsely on "[" + std::string&&.)
std::string Command(const Columns& c) {
  std::string cmd = c.text("cmdline");
  if (cmd.empty()) {
    std::string comm = c.text("comm");
    cmd.reserve(comm.size() + 2);
    cmd.push_back('[');
    cmd.append(comm);
    cmd.push_back(']');
  }
  return cmd;
}

std::string Seconds(double s) {
  if (s < 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f s", s);
  return b;
}

}  // namespace

Result<std::string> SnapshotBody(std::shared_ptr<ArchiveReader> archive, size_t index, ReportSummary&) {
  auto snap = archive->snapshot(index);
  if (!snap.ok()) return snap.status();
  View v(archive, *snap, index);
  std::vector<Row> processes, sockets, system;
  std::vector<std::string> warnings;
  Status s = SnapshotRows(v, {TableKind::Processes, TableKind::Sockets, TableKind::System},
                          [&](TableKind t, Row&& r) {
                            (t == TableKind::Processes ? processes : t == TableKind::Sockets ? sockets : system)
                                .push_back(std::move(r));
                          },
                          &warnings);
  if (!s.ok()) return s;
  const Metadata& m = (*snap)->metadata();
  std::string body = "<section id=\"snapshot\"><h2>Snapshot " + std::to_string(index) + ", " +
                     Escape(Clock(m.startWallNs)) + " UTC</h2><div class=\"facts\">";
  auto fact = [&](const std::string& name, const std::string& value) {
    if (!value.empty()) body += "<span>" + Escape(name) + " <b>" + Escape(value) + "</b></span>";
  };
  fact("host", m.hostname);
  fact("kernel", m.kernelRelease + " " + m.kernelVersion);
  fact("boot id", m.bootId);
  if (!system.empty()) {
    Columns c(TableKind::System, system.front());
    fact("CPUs", c.text("cpus"));
    if (c.number("mem_total_bytes") >= 0) fact("memory", Bytes(c.number("mem_total_bytes")));
    if (c.number("mem_available_bytes") >= 0) fact("available", Bytes(c.number("mem_available_bytes")));
    if (c.number("swap_total_bytes") > 0) fact("swap", Bytes(c.number("swap_total_bytes")));
    fact("load", c.text("load1") + " " + c.text("load5") + " " + c.text("load15"));
    fact("processes", c.text("processes"));
    if (c.number("uptime_seconds") >= 0) {
      char b[48];
      const double up = c.number("uptime_seconds");
      std::snprintf(b, sizeof b, "%.0fd %02.0f:%02.0f", std::floor(up / 86400), std::floor(std::fmod(up, 86400) / 3600),
                    std::floor(std::fmod(up, 3600) / 60));
      fact("up", b);
    }
  }
  fact("captured by", m.toolVersion.empty() ? "" : "procsnap " + m.toolVersion);
  fact("profile", m.profile);
  body += "</div></section>\n";

  // The process tree: children under their parent, by pid.
  std::map<long, std::vector<size_t>> children;
  std::map<long, size_t> byPid;
  for (size_t i = 0; i < processes.size(); ++i) byPid[long(Columns(TableKind::Processes, processes[i]).number("pid"))] = i;
  std::vector<size_t> roots;
  for (size_t i = 0; i < processes.size(); ++i) {
    Columns c(TableKind::Processes, processes[i]);
    long ppid = long(c.number("ppid")), pid = long(c.number("pid"));
    if (ppid != pid && byPid.count(ppid)) children[ppid].push_back(i);
    else roots.push_back(i);
  }
  body += "<section id=\"tree\"><h2>Process tree (" + std::to_string(processes.size()) +
          " processes)</h2><div class=\"scroll\"><table><thead><tr><th class=\"num\">PID</th><th class=\"num\">UID</th>"
          "<th class=\"num\">threads</th><th class=\"num\">CPU time</th><th class=\"num\">RSS</th><th>state</th>"
          "<th>command</th></tr></thead><tbody>";
  std::function<void(size_t, int)> emit = [&](size_t i, int depth) {
    Columns c(TableKind::Processes, processes[i]);
    const double cpu = c.number("cpu_user_seconds") >= 0 ? c.number("cpu_user_seconds") + c.number("cpu_system_seconds") : -1;
    const std::string cmd = Command(c);
    body += "<tr>" + Cell(c.text("pid"), "num") + Cell(c.text("uid"), "num") + Cell(c.text("threads"), "num") +
            Cell(Seconds(cpu), "num") + Cell(c.number("rss_bytes") >= 0 ? Bytes(c.number("rss_bytes")) : "-", "num") +
            Cell(c.text("state")) + "<td class=\"cmd\" style=\"padding-left:" + std::to_string(8 + 16 * std::min(depth, 30)) +
            "px\">" + Escape(cmd) + "</td></tr>";
    auto it = children.find(long(c.number("pid")));
    if (it != children.end())
      for (size_t k : it->second) emit(k, depth + 1);
  };
  for (size_t r : roots) emit(r, 0);
  body += "</tbody></table></div></section>\n";

  // Listeners with their processes.
  body += "<section id=\"listeners\"><h2>Listeners</h2><table><thead><tr><th>protocol</th><th>address</th>"
          "<th class=\"num\">port</th><th class=\"num\">PID</th><th>command</th><th>netns</th></tr></thead><tbody>";
  size_t listeners = 0;
  for (const auto& row : sockets) {
    Columns c(TableKind::Sockets, row);
    const std::string proto = c.text("protocol"), state = c.text("state");
    const bool listening = state == "LISTEN" || (proto.rfind("udp", 0) == 0 && state.empty());
    if (!listening || proto == "unix") continue;
    ++listeners;
    std::string command;
    if (auto it = byPid.find(long(c.number("pid"))); it != byPid.end()) {
      command = Command(Columns(TableKind::Processes, processes[it->second]));
    }
    body += "<tr>" + Cell(proto) + Cell(c.text("local_address")) + Cell(c.text("local_port"), "num") +
            Cell(c.text("pid"), "num") + Cell(command, "cmd") + Cell(c.text("netns")) + "</tr>";
  }
  body += "</tbody></table>";
  if (!listeners) body += "<p class=\"note\">No TCP or UDP listener.</p>";
  body += "</section>\n";

  // Findings.
  auto findings = FindingsOf(v, &warnings);
  if (!findings.ok()) return findings.status();
  body += "<section id=\"findings\"><h2>Findings</h2>";
  if (findings->empty()) body += "<p class=\"note\">Nothing that deserves a responder's look.</p>";
  else {
    body += "<table><thead><tr><th>kind</th><th class=\"num\">PID</th><th>process</th><th>why</th><th>evidence</th>"
            "</tr></thead><tbody>";
    for (const auto& f : *findings) {
      std::string evidence;
      for (const auto& [k, val] : f.evidence) evidence += k + ": " + val + "\n";
      body += "<tr>" + Cell(f.kind, "kind") + Cell(f.pid >= 0 ? std::to_string(f.pid) : "", "num") + Cell(f.process) +
              Cell(f.why) + "<td class=\"cmd\" style=\"white-space:pre-wrap\">" + Escape(evidence) + "</td></tr>";
    }
    body += "</tbody></table>";
  }
  body += "</section>\n";
  if (!warnings.empty())
    body += "<p class=\"note\">" + std::to_string(warnings.size()) +
            " files of this snapshot were missing or odd (procsnap tables lists them).</p>\n";
  return body;
}

}  // namespace procsnap
