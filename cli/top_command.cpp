// procsnap top: the busiest processes of each interval of a recording.
#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "diff/diff.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct TopArgs {
  std::string archive, from = "0", to = "-1", by = "cpu", interval;
  size_t count = 10;
  bool json = false;
};

std::string Rate(const std::optional<double>& v) { return v ? HumanBytes(uint64_t(*v)) : "-"; }

nlohmann::json ProcessJson(const TopProcess& p) {
  auto opt = [](const auto& v) -> nlohmann::json { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"pid", p.pid},
          {"ppid", p.ppid},
          {"uid", p.uid},
          {"nice", p.nice},
          {"threads", p.threads},
          {"command", p.command},
          {"start", p.startWallNs ? nlohmann::json(WallTime(p.startWallNs)) : nlohmann::json(nullptr)},
          {"cpu_pct", p.cpuPct},
          {"user_pct", p.userPct},
          {"system_pct", p.systemPct},
          {"rss_bytes", p.rssBytes},
          {"read_bytes_per_s", opt(p.readPerSec)},
          {"write_bytes_per_s", opt(p.writePerSec)},
          {"faults_per_s", p.faultsPerSec},
          {"major_faults_per_s", p.majorFaultsPerSec},
          {"started", p.started},
          {"exited", p.exited}};
}

nlohmann::json IntervalJson(const TopInterval& t) {
  nlohmann::json procs = nlohmann::json::array();
  for (const auto& p : t.processes) procs.push_back(ProcessJson(p));
  return {{"first_index", t.firstIndex},  {"last_index", t.lastIndex},     {"start", WallTime(t.startWallNs)},
          {"end", WallTime(t.endWallNs)}, {"seconds", t.seconds},          {"process_count", t.processCount},
          {"processes", procs}};
}

void PrintInterval(const TopInterval& t) {
  PrintLine("%s .. %s (%.2f s, snapshots %zu..%zu), %zu processes\n", WallTime(t.startWallNs).c_str(),
            TimeOfDay(t.endWallNs).c_str(), t.seconds, t.firstIndex, t.lastIndex, t.processCount);
  PrintLine("  %7s %6s %6s %6s %6s %3s %10s %10s %10s %8s  %s\n", "PID", "UID", "CPU%", "usr%", "sys%", "NI", "RSS",
            "read/s", "write/s", "flt/s", "COMMAND");
  for (const auto& p : t.processes)
    PrintLine("%s %7ld %6u %6.1f %6.1f %6.1f %3ld %10s %10s %10s %8.0f  %s\n",
              p.started ? (p.exited ? "+-" : "+ ") : (p.exited ? " -" : "  "), p.pid, p.uid, p.cpuPct, p.userPct,
              p.systemPct, p.nice, HumanBytes(p.rssBytes).c_str(), Rate(p.readPerSec).c_str(),
              Rate(p.writePerSec).c_str(), p.faultsPerSec, p.command.c_str());
  PrintLine("\n");
  std::fflush(stdout);  // an interval as soon as it is known: long recordings show progress
}

int Run(const TopArgs& a) {
  auto by = ParseTopOrder(a.by);
  if (!by.ok()) return Fail(by.status());
  TopOptions opts;
  opts.by = *by;
  opts.count = a.count;
  if (!a.interval.empty()) {
    auto d = ParseDuration(a.interval);
    if (!d.ok()) return Fail("--interval: " + d.status().message());
    if (*d <= 0) return Fail("--interval: must be more than 0");
    opts.bucketNs = *d;
  }
  auto archive = ArchiveReader::Open(a.archive);
  if (!archive.ok()) return Fail(archive.status());
  auto range = SnapshotRange(**archive, a.from, a.to);
  if (!range.ok()) return Fail(range.status());
  nlohmann::json out = nlohmann::json::array();
  auto result = Top(*archive, range->first, range->second, opts, [&](const TopInterval& t) {
    if (a.json) out.push_back(IntervalJson(t));
    else PrintInterval(t);
  });
  if (!result.ok()) return Fail(result.status());
  if (a.json) std::cout << JsonText(out) << "\n";
  else if (result->empty())
    std::cerr << "procsnap: no interval: " << a.archive
              << " holds fewer than two snapshots of one boot between --from and --to\n";
  return kExitOk;
}

}  // namespace

void SetupTop(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<TopArgs>();
  sub.add_option("ARCHIVE", a->archive, "recording (or an archive of several snapshots)")->required();
  AddRangeOptions(sub, a->from, a->to);
  sub.add_option("--by", a->by, "order: cpu, rss, io (read + write bytes) or faults")->capture_default_str();
  sub.add_option("-n,--count", a->count, "processes per interval")->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--interval", a->interval,
                 "buckets of this length (10s, 1.5m, 1h) instead of each pair of consecutive snapshots");
  sub.add_flag("--json", a->json, "an array of intervals, each with its processes; rates per second");
  sub.footer(
      "For each interval between two consecutive snapshots (or each --interval bucket), the top processes:\n"
      "CPU % of one CPU (user and system apart; NI is the nice value, so a nice-19 hog shows), the largest RSS\n"
      "seen, disk read and write bytes per second (io: captures taken as root), page faults per second, pid,\n"
      "uid, command. A process that started inside an interval (+) counts all it used since its start; one\n"
      "that exited (-) counts up to the last snapshot that held it (what it used after is not recorded).\n"
      "No interval spans a reboot. The atopsar -O / -G / -D of procsnap.");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
