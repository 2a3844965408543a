// Top: the busiest processes of each interval of a timeline.
#include <algorithm>
#include <map>

#include "activity.h"
#include "diff/diff.h"
#include "timeline.h"

namespace procsnap {

Result<TopOrder> ParseTopOrder(std::string_view name) {
  if (name == "cpu") return TopOrder::Cpu;
  if (name == "rss") return TopOrder::Rss;
  if (name == "io") return TopOrder::Io;
  if (name == "faults") return TopOrder::Faults;
  return Status::InvalidArgument("--by: '" + std::string(name) + "' is none of cpu, rss, io, faults");
}

namespace {

// A process's use over an interval, in counter units (ticks, bytes, faults).
struct Use {
  ProcessSeen last;  // as the latest snapshot in the interval that held it shows it
  bool seen = false;
  uint64_t utime = 0, stime = 0, minflt = 0, majflt = 0, rss = 0;
  std::optional<uint64_t> read, written;
  bool started = false, exited = false;
};

// The growth of a counter from `before` (nullptr: the process started in
// between, so all of it) to `now`; 0 when it went back.
uint64_t Grew(uint64_t now, const uint64_t* before) { return before ? (now >= *before ? now - *before : 0) : now; }

struct Bucket {
  size_t firstIndex = 0, lastIndex = 0;
  int64_t startWallNs = 0, endWallNs = 0;
  double seconds = 0;
  uint32_t clockTicks = 100;
  std::map<std::pair<long, uint64_t>, Use> uses;  // by (pid, start ticks): the process's identity
};

std::pair<long, uint64_t> Identity(const ProcessSeen& p) { return {p.pid, p.startTicks}; }

// Adds the pair (prev, cur) to bucket b.
void Add(Bucket& b, const Moment& prev, const Moment& cur, double seconds) {
  if (b.seconds == 0) b.firstIndex = prev.index, b.startWallNs = prev.wallNs;
  b.lastIndex = cur.index;
  b.endWallNs = cur.wallNs;
  b.seconds += seconds;
  b.clockTicks = cur.clockTicks;
  for (const auto& [pid, p] : cur.processes) {
    auto it = prev.processes.find(pid);
    const ProcessSeen* before = it != prev.processes.end() && it->second.startTicks == p.startTicks ? &it->second : nullptr;
    Use& u = b.uses[Identity(p)];
    if (!before) u.started = true;
    u.last = p, u.seen = true;
    u.utime += Grew(p.utime, before ? &before->utime : nullptr);
    u.stime += Grew(p.stime, before ? &before->stime : nullptr);
    u.minflt += Grew(p.minflt, before ? &before->minflt : nullptr);
    u.majflt += Grew(p.majflt, before ? &before->majflt : nullptr);
    u.rss = std::max(u.rss, p.rssBytes);
    u.exited = false;
    auto io = [&](const std::optional<uint64_t>& now, const std::optional<uint64_t>* was, std::optional<uint64_t>& sum) {
      if (!now || (was && !*was)) return;
      sum = sum.value_or(0) + Grew(*now, was ? &**was : nullptr);
    };
    io(p.readBytes, before ? &before->readBytes : nullptr, u.read);
    io(p.writeBytes, before ? &before->writeBytes : nullptr, u.written);
  }
  for (const auto& [pid, p] : prev.processes) {
    auto it = cur.processes.find(pid);
    if (it != cur.processes.end() && it->second.startTicks == p.startTicks) continue;
    Use& u = b.uses[Identity(p)];  // gone: seen up to prev only
    if (!u.seen) u.last = p, u.seen = true, u.rss = std::max(u.rss, p.rssBytes);
    u.exited = true;
  }
}

TopInterval Finish(const Bucket& b, const Moment& cur, const TopOptions& opts) {
  TopInterval t;
  t.firstIndex = b.firstIndex;
  t.lastIndex = b.lastIndex;
  t.startWallNs = b.startWallNs;
  t.endWallNs = b.endWallNs;
  t.seconds = b.seconds;
  t.processCount = b.uses.size();
  std::vector<TopProcess> all;
  all.reserve(b.uses.size());
  const double perTick = b.seconds > 0 ? 100.0 / b.clockTicks / b.seconds : 0;
  for (const auto& [key, u] : b.uses) {
    const ProcessSeen& p = u.last;
    TopProcess r;
    r.pid = p.pid, r.ppid = p.ppid, r.nice = p.nice, r.threads = p.threads, r.uid = p.uid;
    r.command = p.command;
    r.startWallNs = cur.wallOfTicks(p.startTicks);
    r.startTicks = p.startTicks;
    r.userPct = u.utime * perTick;
    r.systemPct = u.stime * perTick;
    r.cpuPct = r.userPct + r.systemPct;
    r.rssBytes = u.rss;
    if (b.seconds > 0) {
      if (u.read) r.readPerSec = *u.read / b.seconds;
      if (u.written) r.writePerSec = *u.written / b.seconds;
      r.faultsPerSec = (u.minflt + u.majflt) / b.seconds;
      r.majorFaultsPerSec = u.majflt / b.seconds;
    }
    r.started = u.started, r.exited = u.exited;
    all.push_back(std::move(r));
  }
  auto value = [&](const TopProcess& r) -> double {
    switch (opts.by) {
      case TopOrder::Cpu: return r.cpuPct;
      case TopOrder::Rss: return double(r.rssBytes);
      case TopOrder::Io: return r.readPerSec.value_or(0) + r.writePerSec.value_or(0);
      case TopOrder::Faults: return r.faultsPerSec;
    }
    return 0;
  };
  const size_t n = std::min(opts.count, all.size());
  std::partial_sort(all.begin(), all.begin() + n, all.end(), [&](const TopProcess& a, const TopProcess& b) {
    double va = value(a), vb = value(b);
    if (va != vb) return va > vb;
    return a.pid < b.pid;
  });
  all.resize(n);
  t.processes = std::move(all);
  return t;
}

}  // namespace

struct TopSteps::State {
  TopOptions opts;
  std::function<void(TopInterval&&)> done;
  std::optional<Moment> prev;
  std::optional<Bucket> bucket;
  int64_t bucketStart = 0;

  void close(const Moment& cur) {
    if (!bucket || bucket->seconds == 0) return;
    done(Finish(*bucket, cur, opts));
    bucket.reset();
  }
};

TopSteps::TopSteps(const TopOptions& opts, std::function<void(TopInterval&&)> done)
    : s_(std::make_unique<State>()) {
  s_->opts = opts;
  s_->done = std::move(done);
}
TopSteps::~TopSteps() = default;

void TopSteps::add(const Moment& cur) {
  State& s = *s_;
  if (!s.prev || s.prev->bootId != cur.bootId) {  // nothing is a rate across a reboot
    if (s.prev) s.close(*s.prev);
    s.bucketStart = cur.wallNs;
    s.prev = cur;
    return;
  }
  const Moment& prev = *s.prev;
  const double seconds = cur.bootNs && prev.bootNs ? SecondsBetween(prev.bootNs, cur.bootNs) : SecondsBetween(prev.wallNs, cur.wallNs);
  if (seconds > 0) {
    if (s.opts.bucketNs > 0 && s.bucket && cur.wallNs > s.bucketStart + s.opts.bucketNs) {
      s.close(prev);
      while (cur.wallNs > s.bucketStart + s.opts.bucketNs) s.bucketStart += s.opts.bucketNs;
    }
    if (!s.bucket) s.bucket.emplace();
    Add(*s.bucket, prev, cur, seconds);
    if (s.opts.bucketNs == 0) s.close(cur);
  }
  s.prev = cur;
}

void TopSteps::finish() {
  if (s_->prev) s_->close(*s_->prev);
}

Result<std::vector<TopInterval>> Top(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                     const TopOptions& opts, const std::function<void(const TopInterval&)>& interval) {
  std::vector<TopInterval> out;
  if (archive->snapshotCount() == 0 || first > last || last >= archive->snapshotCount()) return out;
  ProcessReader reader(archive);
  TopSteps steps(opts, [&](TopInterval&& t) {
    out.push_back(std::move(t));
    if (interval) interval(out.back());
  });
  for (size_t i = first > 0 ? first - 1 : 0; i <= last; ++i) {
    auto m = reader.read(i);
    if (!m.ok()) return m.status();
    steps.add(*m);
  }
  steps.finish();
  return out;
}

}  // namespace procsnap
