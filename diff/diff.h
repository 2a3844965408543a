// procsnap diff: what changed between two snapshots, in the terms of what
// changed (a tunable, a process, a listener), not as text diffs of files;
// and the log of a timeline: state and rates, a line per snapshot.
// Parsers tolerate unknown fields and report malformed text as problems;
// nothing in a snapshot makes Diff crash. Processes are paired by (pid,
// start time) within one boot, so a reused pid is an exit plus a start.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "view/view.h"

namespace procsnap {

enum class Section { System, Sysctls, Processes, Sockets, Files };

// One entry per section, in output order: the one list that --only, help
// texts and the diff itself read. A new section is one entry in diff.cpp.
struct SectionInfo {
  Section section;
  const char* name;     // "system", "sysctls", ... as --only and --json spell it
  const char* summary;  // what it compares, for help texts
};
const std::vector<SectionInfo>& Sections();
const char* SectionName(Section s);
// The section named `name`; InvalidArgument listing the names otherwise.
Result<Section> ParseSection(std::string_view name);

enum class ChangeKind { Changed, Added, Removed, Started, Exited, Opened, Closed, Loaded, Unloaded, Mapped, Unmapped, Rate, Busy };
const char* ChangeKindName(ChangeKind k);  // "changed", "added", ... as printed

struct Change {
  Section section;
  ChangeKind kind;
  std::string subject;  // what changed: "vm.swappiness", "pid 812 (nc)", "tcp 127.0.0.1:4444"
  std::string before, after;  // values where there are two
  std::string detail;   // owner of a socket, command line of a process...
};

struct DiffOptions {
  bool all = false;                  // also counters that always move
  std::vector<Section> only;         // empty: every section
};

struct DiffResult {
  std::vector<Change> changes;
  std::vector<std::string> problems;  // malformed text met while parsing, with the path
};

// Fails when either archive cannot be read (damage is never taken for a
// change); files the capture could not read are compared as absent.
Result<DiffResult> Diff(const View& before, const View& after, const DiffOptions& opts = {});

// ---- log: a timeline, a line per snapshot ------------------------------------

// What `procsnap log` prints for one snapshot: the state it shows and the
// rates since the snapshot before it (unset for the first, across a reboot,
// or where a file was not captured).
// CPU time by mode, % of all the CPU time between two snapshots.
struct CpuModes {
  std::optional<double> userPct, nicePct, systemPct, irqPct, iowaitPct, stealPct;
};

struct LogRow {
  size_t index = 0;
  int64_t startWallNs = 0;
  uint64_t processes = 0, running = 0;   // pid directories; tasks running (loadavg)
  double load1 = 0;
  // Of all CPU time between the two: user without nice (a nice-19 hog is
  // its own column), nice, system, irq (hard and soft), iowait, steal.
  std::optional<double> userPct, nicePct, systemPct, irqPct, iowaitPct, stealPct;
  std::map<unsigned, CpuModes> cpus;  // the same per CPU (cpuN of /proc/stat), 100% = that CPU
  std::optional<double> cpuPressure, memoryPressure, ioPressure;  // PSI "some avg10", %
  std::optional<double> contextSwitchesPerSec, forksPerSec;        // /proc/stat ctxt, processes
  std::optional<uint64_t> oomKills;                               // vmstat oom_kill since the snapshot before
  std::optional<uint64_t> memUsedBytes, swapUsedBytes;            // MemTotal - MemAvailable; SwapTotal - SwapFree
  std::optional<double> rxPerSec, txPerSec;                       // bytes, all interfaces but lo
  std::optional<double> readPerSec, writePerSec;                  // bytes, whole disks
  std::optional<uint64_t> started, exited;                        // pids that appeared, disappeared
};

// Rows for snapshots [first, last] of `archive` (last included), each
// against the one before it (snapshot first - 1 when there is one). Fails
// on archive damage, never on odd /proc text (that gives unset fields).
// `progress` is called after each row.
Result<std::vector<LogRow>> Log(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                const std::function<void(const LogRow&)>& row = {});

// ---- top: the busiest processes of each interval ----------------------------

enum class TopOrder { Cpu, Rss, Io, Faults };
// "cpu", "rss", "io", "faults"; InvalidArgument listing them otherwise.
Result<TopOrder> ParseTopOrder(std::string_view name);

// One process over one interval. Counters are what its snapshots show: a
// process that started inside the interval counts all it used since its
// start; one that exited counts up to the last snapshot that held it.
struct TopProcess {
  long pid = 0, ppid = 0, nice = 0, threads = 0;
  uint32_t uid = 0;
  std::string command;
  int64_t startWallNs = 0;          // from stat's start time; 0 when the boot clock was not recorded
  uint64_t startTicks = 0;          // stat's start time: with pid, the process's identity within a boot
  double cpuPct = 0, userPct = 0, systemPct = 0;  // % of one CPU over the interval
  uint64_t rssBytes = 0;            // largest seen in the interval
  std::optional<double> readPerSec, writePerSec;  // bytes (io: root's captures only)
  double faultsPerSec = 0, majorFaultsPerSec = 0;
  bool started = false, exited = false;  // first seen in the interval; gone by its end
};

struct TopInterval {
  size_t firstIndex = 0, lastIndex = 0;  // the snapshots that bound it
  int64_t startWallNs = 0, endWallNs = 0;
  double seconds = 0;
  size_t processCount = 0;               // processes seen in it, before -n
  std::vector<TopProcess> processes;     // the top N, by the order asked
};

struct TopOptions {
  TopOrder by = TopOrder::Cpu;
  size_t count = 10;
  int64_t bucketNs = 0;  // 0: each pair of consecutive snapshots; else buckets of this length
};

// Intervals of snapshots [first, last] (each against the one before it;
// none across a reboot). `interval` is called as each is complete.
Result<std::vector<TopInterval>> Top(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                     const TopOptions& opts,
                                     const std::function<void(const TopInterval&)>& interval = {});

// ---- events: what happened, in time order ---------------------------------------

enum class EventKind {
  Started, Exited,                 // processes
  Listening, StoppedListening,     // listeners (tcp LISTEN, unbound udp), by namespace
  Connected, Disconnected,         // established tcp connections
  SysctlChanged, Mounted, Unmounted, ModuleLoaded, ModuleUnloaded, InterfaceAdded, InterfaceRemoved,
  OomKill,                         // vmstat's oom_kill went up
  PressureHigh, PressureNormal,    // PSI "some avg10" crossed the threshold, up or down
  Rebooted,                        // the boot id changed
};
const char* EventKindName(EventKind k);  // "started", "exited", "listening"... as printed

struct Event {
  EventKind kind = EventKind::Started;
  size_t index = 0;                     // the snapshot that shows it
  int64_t wallNs = 0;
  size_t firstIndex = 0, lastIndex = 0;  // the snapshots the thing was first and last seen in
  int64_t firstWallNs = 0, lastWallNs = 0;
  std::string subject;                  // "pid 812", "tcp 0.0.0.0:4444", "vm.swappiness", "memory"
  std::string before, after;            // a sysctl's values, a pressure's avg10
  std::string detail;                   // human words: the process, its owner...
  // Processes (and the owner of a socket: pid, command).
  long pid = 0, ppid = 0;
  uint32_t uid = 0;
  std::string command;
  int64_t startWallNs = 0;               // the process's start, from stat
  std::optional<double> lifetimeSeconds;  // exited: from its start to the last snapshot that held it
  uint64_t peakRssBytes = 0;             // largest RSS while seen
  double cpuSeconds = 0;                 // CPU used while seen (all since its start when it started in view)
  std::string netns;                     // sockets, interfaces: "net:[4026531840]"
};

struct EventOptions {
  bool kernelThreads = false;   // kernel threads starting and exiting (kworkers: noise)
  double pressurePct = 10;      // PSI threshold for PressureHigh/Normal
};

// Events among snapshots [first, last], each against the one before it.
// The last snapshot ends the view: a process alive in it has no exit.
Result<std::vector<Event>> Events(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                  const EventOptions& opts = {},
                                  const std::function<void(size_t done, size_t total)>& progress = {});

// ---- one pass for several readers -------------------------------------------

// Log, Top and Events of snapshots [first, last] from one reading of each
// snapshot (the report's way: each of them alone reads them all again).
struct TimelinePass {
  std::vector<LogRow> rows;
  std::vector<Event> events;
};
Result<TimelinePass> ReadTimeline(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                  const TopOptions& top, const EventOptions& events,
                                  const std::function<void(const TopInterval&)>& interval,
                                  const std::function<void(size_t done, size_t total)>& progress = {});

}  // namespace procsnap
