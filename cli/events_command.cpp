// procsnap events: what happened in a recording, in time order.
#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "diff/diff.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct EventsArgs {
  std::string archive, from = "0", to = "-1";
  bool json = false, kernel = false;
  double pressure = 10;
};

std::string Seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, s < 10 ? "%.2f s" : "%.0f s", s);
  return b;
}

std::string Owner(const Event& e) {
  if (!e.pid) return "";
  return "  by pid " + std::to_string(e.pid) + " " + e.command;
}

std::string Words(const Event& e) {
  switch (e.kind) {
    case EventKind::Started:
    case EventKind::Exited: {
      std::string w = e.subject + "  " + e.command + "  (uid " + std::to_string(e.uid) + ", parent " +
                      std::to_string(e.ppid);
      if (e.kind == EventKind::Exited) {
        if (e.lifetimeSeconds) w += "; lived " + Seconds(*e.lifetimeSeconds);
        w += "; last seen " + TimeOfDay(e.lastWallNs);
      } else {
        w += "; seen to " + TimeOfDay(e.lastWallNs);
      }
      return w + "; peak RSS " + HumanBytes(e.peakRssBytes) + "; CPU " + Seconds(e.cpuSeconds) + ")";
    }
    case EventKind::Listening:
    case EventKind::Connected: return e.subject + Owner(e);
    case EventKind::StoppedListening:
    case EventKind::Disconnected: return e.subject + Owner(e) + "  (first seen " + TimeOfDay(e.firstWallNs) + ")";
    case EventKind::SysctlChanged: return e.subject + "  " + e.before + " -> " + e.after;
    case EventKind::Mounted:
    case EventKind::Unmounted:
    case EventKind::ModuleLoaded:
    case EventKind::ModuleUnloaded:
    case EventKind::InterfaceAdded:
    case EventKind::InterfaceRemoved: return e.subject + (e.detail.empty() ? "" : "  " + e.detail);
    case EventKind::OomKill:
      return e.subject + (e.pid ? "; largest process gone: pid " + std::to_string(e.pid) + " " + e.command +
                                      ", RSS " + HumanBytes(e.peakRssBytes)
                                : "");
    case EventKind::PressureHigh:
    case EventKind::PressureNormal: return e.subject + " some avg10 " + e.before + " -> " + e.after;
    case EventKind::Rebooted: return e.subject;
  }
  return e.subject;
}

nlohmann::json EventJson(const Event& e) {
  nlohmann::json j = {{"time", WallTime(e.wallNs)},
                      {"index", e.index},
                      {"kind", EventKindName(e.kind)},
                      {"subject", e.subject},
                      {"first_seen", WallTime(e.firstWallNs)},
                      {"first_index", e.firstIndex},
                      {"last_seen", WallTime(e.lastWallNs)},
                      {"last_index", e.lastIndex}};
  if (!e.before.empty() || !e.after.empty()) j["before"] = e.before, j["after"] = e.after;
  if (!e.detail.empty()) j["detail"] = e.detail;
  if (!e.netns.empty()) j["netns"] = e.netns;
  if (e.pid) {
    j["pid"] = e.pid, j["ppid"] = e.ppid, j["uid"] = e.uid, j["command"] = e.command;
    if (e.kind == EventKind::Started || e.kind == EventKind::Exited) {
      j["start"] = e.startWallNs ? nlohmann::json(WallTime(e.startWallNs)) : nlohmann::json(nullptr);
      j["lifetime_seconds"] = e.lifetimeSeconds ? nlohmann::json(*e.lifetimeSeconds) : nlohmann::json(nullptr);
      j["cpu_seconds"] = e.cpuSeconds;
    }
    j["peak_rss_bytes"] = e.peakRssBytes;
  }
  return j;
}

int Run(const EventsArgs& a) {
  auto archive = ArchiveReader::Open(a.archive);
  if (!archive.ok()) return Fail(archive.status());
  auto range = SnapshotRange(**archive, a.from, a.to);
  if (!range.ok()) return Fail(range.status());
  EventOptions opts;
  opts.kernelThreads = a.kernel;
  opts.pressurePct = a.pressure;
  const bool progress = StderrIsTerminal() && range->second - range->first > 100;
  auto events = Events(*archive, range->first, range->second, opts, [&](size_t done, size_t total) {
    if (progress && (done % 50 == 0 || done == total)) {
      std::fprintf(stderr, "\revents: snapshot %zu of %zu", done, total);
      if (done == total) std::fputc('\n', stderr);
    }
  });
  if (!events.ok()) return Fail(events.status());
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *events) out.push_back(EventJson(e));
    std::cout << JsonText(out) << "\n";
    return kExitOk;
  }
  for (const auto& e : *events)
    PrintLine("%-24s  %-17s  %s\n", WallTime(e.wallNs).c_str(), EventKindName(e.kind), Words(e).c_str());
  if (events->empty()) std::cerr << "procsnap: nothing happened between --from and --to\n";
  return kExitOk;
}

}  // namespace

void SetupEvents(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<EventsArgs>();
  sub.add_option("ARCHIVE", a->archive, "recording (or an archive of several snapshots)")->required();
  AddRangeOptions(sub, a->from, a->to);
  sub.add_flag("--kernel-threads", a->kernel, "also kernel threads starting and exiting (kworkers come and go)");
  sub.add_option("--pressure", a->pressure, "PSI threshold, % of some avg10 (cpu, memory, io)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  sub.add_flag("--json", a->json, "an array of events with every field; times in UTC");
  sub.footer(
      "Compares each snapshot with the one before and prints what happened, in time order, at the time of\n"
      "the snapshot that first shows it:\n"
      "  processes started and exited (command, uid, parent, lifetime from its start, peak RSS and CPU used\n"
      "    while seen; a started one says until when it was seen),\n"
      "  listeners (tcp LISTEN, unconnected udp) and established tcp connections opened and closed, with\n"
      "    the process holding them, in every network namespace (\"in net:[N]\" when not the capturer's),\n"
      "  sysctls changed, mounts, modules and network interfaces added and removed, OOM kills (vmstat's\n"
      "    oom_kill, with the largest process gone in that interval), pressure (PSI some avg10) crossing\n"
      "    --pressure up or down, reboots.\n"
      "What lived and died between two snapshots is not seen: record more often to see more.");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
