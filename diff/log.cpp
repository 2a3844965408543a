// Log: a line per snapshot of a timeline, rates against the one before.
#include <set>

#include "diff/diff.h"
#include "model.h"
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
  std::string text[5];
  const char* paths[5] = {"loadavg", "stat", "meminfo", "net/dev", "diskstats"};
  for (int k = 0; k < 5; ++k) {
    auto t = ReadCaptured(v, paths[k]);
    if (!t.ok()) return t.status();
    text[k] = std::move(*t);
  }
  s.load = ParseLoadAvg(text[0]);
  s.cpu = ParseCpuTimes(text[1]);
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

LogRow Row(size_t index, const Sample* prev, const Sample& cur) {
  LogRow r;
  r.index = index;
  r.startWallNs = cur.wallNs;
  r.processes = cur.pids.size();
  if (cur.load) r.running = cur.load->running, r.load1 = cur.load->load1;
  r.memUsedBytes = cur.memUsed;
  r.swapUsedBytes = cur.swapUsed;
  // Counters restart at boot: nothing is a rate across one.
  if (!prev || prev->bootId != cur.bootId) return r;
  // Within a boot the boot clock measures the interval: the wall clock may step.
  const double seconds =
      (cur.bootNs && prev->bootNs ? cur.bootNs - prev->bootNs : cur.wallNs - prev->wallNs) / 1e9;
  if (prev->cpu && cur.cpu && cur.cpu->total() > prev->cpu->total()) {
    const double all = double(cur.cpu->total() - prev->cpu->total());
    auto pct = [&](uint64_t CpuTimes::*f) -> std::optional<double> {
      if ((*cur.cpu).*f < (*prev->cpu).*f) return std::nullopt;
      return 100.0 * ((*cur.cpu).*f - (*prev->cpu).*f) / all;
    };
    r.userPct = pct(&CpuTimes::user);
    r.nicePct = pct(&CpuTimes::nice);
    r.systemPct = pct(&CpuTimes::system);
    if (auto irq = pct(&CpuTimes::irq), soft = pct(&CpuTimes::softirq); irq && soft) r.irqPct = *irq + *soft;
    r.iowaitPct = pct(&CpuTimes::iowait);
    r.stealPct = pct(&CpuTimes::steal);
  }
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

Result<std::vector<LogRow>> Log(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                const std::function<void(const LogRow&)>& row) {
  std::vector<LogRow> rows;
  if (archive->snapshotCount() == 0 || first > last || last >= archive->snapshotCount()) return rows;
  std::optional<Sample> prev;
  for (size_t i = first > 0 ? first - 1 : 0; i <= last; ++i) {
    auto snap = archive->snapshot(i);
    if (!snap.ok()) return snap.status();
    View v(archive, *snap, i);
    auto s = Take(v);
    if (!s.ok()) return s.status();
    if (i >= first) {
      rows.push_back(Row(i, prev ? &*prev : nullptr, *s));
      if (row) row(rows.back());
    }
    prev = std::move(*s);
  }
  return rows;
}

}  // namespace procsnap
