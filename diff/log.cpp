// Log: a line per snapshot of a timeline, rates against the one before.
#include <set>

#include "diff/diff.h"
#include "model.h"
#include "timeline.h"
#include "procfs/procfs.h"

namespace procsnap {

namespace {

// What one snapshot says, in counters; rates come from two of these.
struct Sample {
  int64_t wallNs = 0, bootNs = 0;  // bootNs: CLOCK_BOOTTIME, 0 when not recorded
  std::string bootId;
  std::set<std::string> pids;
  std::optional<LoadAvg> load;
  std::optional<CpuTimes> cpu;
  std::map<unsigned, CpuTimes> cpus;
  std::optional<Pressure> psi[3];  // cpu, memory, io
  std::optional<uint64_t> ctxt, forks, oomKills;
  std::optional<uint64_t> memUsed, swapUsed;
  std::optional<uint64_t> rx, tx, diskRead, diskWritten;
};


Result<Sample> Take(const View& v) {
  Sample s;
  const Snapshot& snap = v.snapshot();
  s.wallNs = snap.metadata().startWallNs;
  s.bootNs = snap.metadata().startBootNs;
  s.bootId = snap.metadata().bootId;
  auto [b, e] = snap.children(0);
  for (NodeId i = b; i < e; ++i)
    if (IsNumberName(snap.name(i))) s.pids.emplace(snap.name(i));
  std::string text[9];
  const char* paths[9] = {"loadavg", "stat", "meminfo", "net/dev", "diskstats", "vmstat",
                          "pressure/cpu", "pressure/memory", "pressure/io"};
  for (int k = 0; k < 9; ++k) {
    auto t = ReadCaptured(v, paths[k]);
    if (!t.ok()) return t.status();
    text[k] = std::move(*t);
  }
  s.load = ParseLoadAvg(text[0]);
  s.cpu = ParseCpuTimes(text[1]);
  s.cpus = ParsePerCpuTimes(text[1]);
  auto stat = ParseProcStat(text[1]);
  if (stat.count("ctxt")) s.ctxt = stat["ctxt"];
  if (stat.count("processes")) s.forks = stat["processes"];
  auto vm = ParseKeyValue(text[5], ' ');
  if (vm.count("oom_kill")) s.oomKills = std::strtoull(vm["oom_kill"].c_str(), nullptr, 10);
  for (int k = 0; k < 3; ++k) s.psi[k] = ParsePressure(text[6 + k]);
  auto mem = ParseKeyValue(text[2], ':');
  auto total = KiBValue(mem, "MemTotal"), avail = KiBValue(mem, "MemAvailable");
  if (total && avail && *total >= *avail) s.memUsed = *total - *avail;
  auto swapTotal = KiBValue(mem, "SwapTotal"), swapFree = KiBValue(mem, "SwapFree");
  if (swapTotal && swapFree && *swapTotal >= *swapFree) s.swapUsed = *swapTotal - *swapFree;
  if (!text[3].empty()) {
    uint64_t rx = 0, tx = 0;
    for (const auto& d : ParseNetDev(text[3]))
      if (d.name != "lo") rx += d.rxBytes, tx += d.txBytes;
    s.rx = rx, s.tx = tx;
  }
  if (!text[4].empty()) {
    uint64_t rd = 0, wr = 0;
    for (const auto& d : ParseDiskStats(text[4])) rd += d.readBytes, wr += d.writtenBytes;
    s.diskRead = rd, s.diskWritten = wr;
  }
  return s;
}

// Per second between two readings of a counter; unset when one is missing
// or it went back (an interface or disk that went away, a counter reset).
std::optional<double> Rate(const std::optional<uint64_t>& a, const std::optional<uint64_t>& b, double seconds) {
  if (!a || !b || *b < *a || seconds <= 0) return std::nullopt;
  return (*b - *a) / seconds;
}

// Each mode's share of the ticks between two readings; unset where a counter went back.
CpuModes Modes(const CpuTimes& a, const CpuTimes& b) {
  CpuModes m;
  if (b.total() <= a.total()) return m;
  const double all = double(b.total() - a.total());
  auto pct = [&](uint64_t CpuTimes::*f) -> std::optional<double> {
    if (b.*f < a.*f) return std::nullopt;
    return 100.0 * (b.*f - a.*f) / all;
  };
  m.userPct = pct(&CpuTimes::user);
  m.nicePct = pct(&CpuTimes::nice);
  m.systemPct = pct(&CpuTimes::system);
  if (auto irq = pct(&CpuTimes::irq), soft = pct(&CpuTimes::softirq); irq && soft) m.irqPct = *irq + *soft;
  m.iowaitPct = pct(&CpuTimes::iowait);
  m.stealPct = pct(&CpuTimes::steal);
  return m;
}

LogRow Row(size_t index, const Sample* prev, const Sample& cur) {
  LogRow r;
  r.index = index;
  r.startWallNs = cur.wallNs;
  r.processes = cur.pids.size();
  if (cur.load) r.running = cur.load->running, r.load1 = cur.load->load1;
  r.memUsedBytes = cur.memUsed;
  r.swapUsedBytes = cur.swapUsed;
  std::optional<double>* psi[3] = {&r.cpuPressure, &r.memoryPressure, &r.ioPressure};
  for (int k = 0; k < 3; ++k)
    if (cur.psi[k]) *psi[k] = cur.psi[k]->someAvg10;
  // Counters restart at boot: nothing is a rate across one.
  if (!prev || prev->bootId != cur.bootId) return r;
  // Within a boot the boot clock measures the interval: the wall clock may step.
  const double seconds =
      cur.bootNs && prev->bootNs ? SecondsBetween(prev->bootNs, cur.bootNs) : SecondsBetween(prev->wallNs, cur.wallNs);
  if (prev->cpu && cur.cpu) {
    CpuModes all = Modes(*prev->cpu, *cur.cpu);
    r.userPct = all.userPct, r.nicePct = all.nicePct, r.systemPct = all.systemPct, r.irqPct = all.irqPct;
    r.iowaitPct = all.iowaitPct, r.stealPct = all.stealPct;
  }
  for (const auto& [n, t] : cur.cpus)
    if (auto it = prev->cpus.find(n); it != prev->cpus.end()) r.cpus[n] = Modes(it->second, t);
  r.contextSwitchesPerSec = Rate(prev->ctxt, cur.ctxt, seconds);
  r.forksPerSec = Rate(prev->forks, cur.forks, seconds);
  if (prev->oomKills && cur.oomKills && *cur.oomKills >= *prev->oomKills) r.oomKills = *cur.oomKills - *prev->oomKills;
  r.rxPerSec = Rate(prev->rx, cur.rx, seconds);
  r.txPerSec = Rate(prev->tx, cur.tx, seconds);
  r.readPerSec = Rate(prev->diskRead, cur.diskRead, seconds);
  r.writePerSec = Rate(prev->diskWritten, cur.diskWritten, seconds);
  uint64_t started = 0, exited = 0;
  for (const auto& p : cur.pids) started += !prev->pids.count(p);
  for (const auto& p : prev->pids) exited += !cur.pids.count(p);
  r.started = started;
  r.exited = exited;
  return r;
}

}  // namespace

struct LogSteps::State {
  std::optional<Sample> prev;
};

LogSteps::LogSteps() : s_(std::make_unique<State>()) {}
LogSteps::~LogSteps() = default;

Result<LogRow> LogSteps::add(const View& v) {
  auto sample = Take(v);
  if (!sample.ok()) return sample.status();
  LogRow row = Row(v.index(), s_->prev ? &*s_->prev : nullptr, *sample);
  s_->prev = std::move(*sample);
  return row;
}

Result<std::vector<LogRow>> Log(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                const std::function<void(const LogRow&)>& row) {
  std::vector<LogRow> rows;
  if (archive->snapshotCount() == 0 || first > last || last >= archive->snapshotCount()) return rows;
  LogSteps steps;
  for (size_t i = first > 0 ? first - 1 : 0; i <= last; ++i) {
    auto snap = archive->snapshot(i);
    if (!snap.ok()) return snap.status();
    auto r = steps.add(View(archive, *snap, i));
    if (!r.ok()) return r.status();
    if (i >= first) {
      rows.push_back(std::move(*r));
      if (row) row(rows.back());
    }
  }
  return rows;
}

}  // namespace procsnap
