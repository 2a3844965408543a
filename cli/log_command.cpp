// procsnap log: a line per snapshot of a recording, sar-style.
#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "diff/diff.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct LogArgs {
  std::string archive, from = "0", to = "-1";
  bool json = false, cpus = false;
};

std::string Pct(const std::optional<double>& v) {
  if (!v) return "-";
  char b[16];
  std::snprintf(b, sizeof b, "%.1f", *v);
  return b;
}

std::string Bytes(const std::optional<double>& v) { return v ? HumanBytes(uint64_t(*v)) : "-"; }
std::string Count(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "-"; }

nlohmann::json RowJson(const LogRow& r) {
  auto opt = [](const auto& v) -> nlohmann::json { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"index", r.index},
          {"start", WallTime(r.startWallNs)},
          {"processes", r.processes},
          {"running", r.running},
          {"load1", r.load1},
          {"user_pct", opt(r.userPct)},
          {"nice_pct", opt(r.nicePct)},
          {"system_pct", opt(r.systemPct)},
          {"irq_pct", opt(r.irqPct)},
          {"iowait_pct", opt(r.iowaitPct)},
          {"steal_pct", opt(r.stealPct)},
          {"mem_used_bytes", opt(r.memUsedBytes)},
          {"swap_used_bytes", opt(r.swapUsedBytes)},
          {"net_rx_bytes_per_s", opt(r.rxPerSec)},
          {"net_tx_bytes_per_s", opt(r.txPerSec)},
          {"disk_read_bytes_per_s", opt(r.readPerSec)},
          {"disk_write_bytes_per_s", opt(r.writePerSec)},
          {"started", opt(r.started)},
          {"exited", opt(r.exited)},
          {"context_switches_per_s", opt(r.contextSwitchesPerSec)},
          {"forks_per_s", opt(r.forksPerSec)},
          {"oom_kills", opt(r.oomKills)},
          {"psi_cpu_some_avg10", opt(r.cpuPressure)},
          {"psi_memory_some_avg10", opt(r.memoryPressure)},
          {"psi_io_some_avg10", opt(r.ioPressure)}};
}

nlohmann::json ModesJson(unsigned cpu, const CpuModes& m) {
  auto opt = [](const auto& v) -> nlohmann::json { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"cpu", cpu},
          {"user_pct", opt(m.userPct)},
          {"nice_pct", opt(m.nicePct)},
          {"system_pct", opt(m.systemPct)},
          {"irq_pct", opt(m.irqPct)},
          {"iowait_pct", opt(m.iowaitPct)},
          {"steal_pct", opt(m.stealPct)}};
}

std::string Rate(const std::optional<double>& v) {
  if (!v) return "-";
  char b[24];
  std::snprintf(b, sizeof b, *v >= 100000 ? "%.3g" : "%.0f", *v);
  return b;
}

int Run(const LogArgs& a) {
  auto archive = ArchiveReader::Open(a.archive);
  if (!archive.ok()) return Fail(archive.status());
  auto range = SnapshotRange(**archive, a.from, a.to);
  if (!range.ok()) return Fail(range.status());
  const size_t bounds[2] = {range->first, range->second};
  if (!a.json)
    PrintLine("%-24s %6s %4s %6s %5s %5s %5s %5s %5s %5s %10s %10s %10s %10s %10s %10s %5s %5s %7s %5s %5s %5s %3s\n",
              "time", "procs", "run", "load1", "usr%", "nice%", "sys%", "irq%", "iow%", "stl%", "mem used", "swap used",
              "net rx/s", "net tx/s", "disk rd/s", "disk wr/s", "+proc", "-proc", "cs/s", "psiC", "psiM", "psiI",
              "oom");
  nlohmann::json rows = nlohmann::json::array();
  auto print = [&](const LogRow& r) {
    if (a.json) {
      rows.push_back(RowJson(r));
      if (a.cpus) {
        rows.back()["cpus"] = nlohmann::json::array();
        for (const auto& [n, m] : r.cpus) rows.back()["cpus"].push_back(ModesJson(n, m));
      }
      return;
    }
    PrintLine("%-24s %6llu %4llu %6.2f %5s %5s %5s %5s %5s %5s %10s %10s %10s %10s %10s %10s %5s %5s %7s %5s %5s %5s %3s\n",
              WallTime(r.startWallNs).c_str(), (unsigned long long)r.processes, (unsigned long long)r.running, r.load1,
              Pct(r.userPct).c_str(), Pct(r.nicePct).c_str(), Pct(r.systemPct).c_str(), Pct(r.irqPct).c_str(),
              Pct(r.iowaitPct).c_str(), Pct(r.stealPct).c_str(),
              r.memUsedBytes ? HumanBytes(*r.memUsedBytes).c_str() : "-",
              r.swapUsedBytes ? HumanBytes(*r.swapUsedBytes).c_str() : "-", Bytes(r.rxPerSec).c_str(),
              Bytes(r.txPerSec).c_str(), Bytes(r.readPerSec).c_str(), Bytes(r.writePerSec).c_str(),
              Count(r.started).c_str(), Count(r.exited).c_str(), Rate(r.contextSwitchesPerSec).c_str(),
              Pct(r.cpuPressure).c_str(), Pct(r.memoryPressure).c_str(), Pct(r.ioPressure).c_str(),
              Count(r.oomKills).c_str());
    if (a.cpus)
      for (const auto& [n, m] : r.cpus)
        PrintLine("%-24s %6s %4s %6s %5s %5s %5s %5s %5s %5s\n", "", ("cpu" + std::to_string(n)).c_str(), "", "",
                  Pct(m.userPct).c_str(), Pct(m.nicePct).c_str(), Pct(m.systemPct).c_str(), Pct(m.irqPct).c_str(),
                  Pct(m.iowaitPct).c_str(), Pct(m.stealPct).c_str());
    std::fflush(stdout);  // a line as soon as it is known: long logs show progress
  };
  auto result = Log(*archive, bounds[0], bounds[1], print);
  if (!result.ok()) return Fail(result.status());
  if (a.json) std::cout << JsonText(rows) << "\n";
  return kExitOk;
}

}  // namespace

void SetupLog(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<LogArgs>();
  sub.add_option("ARCHIVE", a->archive, "recording or archive")->required();
  AddRangeOptions(sub, a->from, a->to);
  sub.add_flag("--cpus", a->cpus, "also each CPU's modes (a line per CPU under each row; JSON: \"cpus\")");
  sub.add_flag("--json", a->json, "an array of rows, rates in bytes per second, null where unknown");
  sub.footer(
      "A line per snapshot: processes, running tasks, 1-minute load, CPU user, nice, system, irq (hard and\n"
      "soft), iowait and steal % of all CPU time since the snapshot before (a nice-19 hog shows in nice%),\n"
      "memory used (MemTotal - MemAvailable), swap used,\n"
      "network (all interfaces but lo) and whole-disk rates per second, pids that appeared and went,\n"
      "context switches per second, pressure (PSI some avg10 % of cpu, memory, io) and OOM kills since the\n"
      "snapshot before. --cpus adds each CPU's modes (100% = that CPU).\n"
      "'-' where it cannot be known: the first line, across a reboot, or a file not captured.");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
