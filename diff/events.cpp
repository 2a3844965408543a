// Events: what happened between consecutive snapshots of a timeline, in
// time order, each thing with the snapshots it was first and last seen in.
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "activity.h"
#include "model.h"
#include "diff/diff.h"
#include "timeline.h"

namespace procsnap {

const char* EventKindName(EventKind k) {
  switch (k) {
    case EventKind::Started: return "started";
    case EventKind::Exited: return "exited";
    case EventKind::Listening: return "listening";
    case EventKind::StoppedListening: return "stopped listening";
    case EventKind::Connected: return "connected";
    case EventKind::Disconnected: return "disconnected";
    case EventKind::SysctlChanged: return "sysctl changed";
    case EventKind::Mounted: return "mounted";
    case EventKind::Unmounted: return "unmounted";
    case EventKind::ModuleLoaded: return "module loaded";
    case EventKind::ModuleUnloaded: return "module unloaded";
    case EventKind::InterfaceAdded: return "interface added";
    case EventKind::InterfaceRemoved: return "interface removed";
    case EventKind::OomKill: return "oom kill";
    case EventKind::PressureHigh: return "pressure high";
    case EventKind::PressureNormal: return "pressure normal";
    case EventKind::Rebooted: return "rebooted";
  }
  return "?";
}

namespace {

struct SocketSeen {
  bool listener = false;
  std::string netns;
  uint64_t inode = 0;
};

// What one snapshot shows, for events.
struct Scene {
  Moment m;
  std::shared_ptr<const Snapshot> snap;
  std::map<std::string, SocketSeen> sockets;       // "tcp 0.0.0.0:22", "tcp 10.0.0.1:22 -> 10.0.0.9:5123" (+ " in net:[N]")
  std::map<std::string, std::string> sysctls;      // "vm.swappiness" -> "60"
  std::map<std::string, std::string> mounts;       // "/mnt (ext4)" -> "/dev/sda1 rw,relatime"
  std::set<std::string> modules;
  std::map<std::string, std::string> interfaces;   // "eth0" (+ " in net:[N]") -> netns
  std::optional<uint64_t> oomKills;
  std::map<std::string, double> pressure;          // "memory", "io", "cpu" -> some avg10
  std::unordered_map<uint64_t, long> owners;       // socket inode -> pid, built when first asked
  bool ownersBuilt = false;

  long owner(uint64_t inode) {
    if (!ownersBuilt) {
      ownersBuilt = true;
      const Snapshot& s = *snap;
      for (const auto& [pid, p] : m.processes) {
        NodeId dir = s.child(0, std::to_string(pid));
        NodeId fd = dir == kNoNode ? kNoNode : s.child(dir, "fd");
        if (fd == kNoNode || s.node(fd).kind != NodeKind::Directory) continue;
        auto [lo, hi] = s.children(fd);
        for (NodeId l = lo; l < hi; ++l)
          if (auto i = LinkInode(s.linkTarget(l), "socket")) owners.emplace(*i, pid);
      }
    }
    auto it = owners.find(inode);
    return inode && it != owners.end() ? it->second : 0;
  }
};

std::string Trimmed(std::string v) {
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  for (char& c : v)
    if (c == '\n' || c == '\t') c = ' ';
  return v;
}

class SceneReader {
 public:
  explicit SceneReader(std::shared_ptr<ArchiveReader> a) : reader_(std::move(a)) {}

  Result<Scene> read(size_t i) {
    auto m = reader_.read(i);
    if (!m.ok()) return m.status();
    Scene sc;
    sc.m = std::move(*m);
    sc.snap = reader_.snapshot();
    const Snapshot& s = *sc.snap;
    View v(nullptr, sc.snap, i);
    auto text = [&](NodeId id) -> std::optional<std::string> {
      if (id == kNoNode) return std::nullopt;
      auto t = reader_.memo().text(s, id);
      if (!t.ok()) {
        if (damage_.ok()) damage_ = t.status();
        return std::nullopt;
      }
      return std::move(*t);
    };
    auto at = [&](const std::string& path) -> std::optional<std::string> {
      auto id = v.resolve(path, true);
      return id.ok() ? text(*id) : std::nullopt;
    };
    // Network namespaces: each net/ directory once, named by a process's ns/net link.
    std::map<NodeId, std::string> nets;
    auto addNet = [&](const std::string& dir) {
      auto id = v.resolve(dir + "/net", true);
      if (!id.ok()) return;
      NodeId net = s.resolveAlias(*id);
      if (s.node(net).kind != NodeKind::Directory) return;
      auto link = v.resolve(dir + "/ns/net", false);
      std::string label = link.ok() ? std::string(s.linkTarget(*link)) : "";
      auto& e = nets[net];
      if (e.empty()) e = label;
    };
    addNet("self");
    for (const auto& [pid, p] : sc.m.processes) addNet(std::to_string(pid));
    const std::string rootNet = nets.empty() ? "" : [&] {
      auto id = v.resolve("net", true);
      return id.ok() && nets.count(s.resolveAlias(*id)) ? nets[s.resolveAlias(*id)] : std::string();
    }();
    for (const auto& [net, label] : nets) {
      const std::string where = label == rootNet ? "" : " in " + (label.empty() ? std::string("another namespace") : label);
      for (const char* proto : {"tcp", "tcp6", "udp", "udp6"}) {
        auto t = text(s.child(net, proto));
        if (!t) continue;
        for (const auto& sock : ParseNetTable(*t, proto, nullptr)) {
          const bool listener = sock.listening();
          if (!listener && !(proto[0] == 't' && sock.state == 1)) continue;  // established tcp only
          std::string key = std::string(proto) + " " + sock.local + (listener ? "" : " -> " + sock.remote) + where;
          sc.sockets[key] = SocketSeen{listener, label, sock.inode};
        }
      }
      if (auto dev = text(s.child(net, "dev")))
        for (const auto& d : ParseNetDev(*dev)) sc.interfaces[d.name + where] = label;
    }
    if (auto mods = at("modules"))
      for (const auto& mod : ParseModules(*mods, nullptr)) sc.modules.insert(mod.name);
    if (auto mi = at("self/mountinfo"))
      for (const auto& mnt : ParseMountInfo(*mi, nullptr))
        sc.mounts[mnt.target + " (" + mnt.fstype + ")"] = mnt.source + " " + mnt.options;
    if (auto vm = at("vmstat")) {
      auto kv = ParseKeyValue(*vm, ' ');
      if (auto it = kv.find("oom_kill"); it != kv.end()) sc.oomKills = std::strtoull(it->second.c_str(), nullptr, 10);
    }
    for (const char* res : {"cpu", "memory", "io"})
      if (auto t = at(std::string("pressure/") + res))
        if (auto p = ParsePressure(*t)) sc.pressure[res] = p->someAvg10;
    readSysctls(s, sc, text);
    return sc;
  }
  const Status& damage() const { return damage_; }

 private:
  template <class Text>
  void readSysctls(const Snapshot& s, Scene& sc, Text& text) {
    ForEachSysctl(s, [&](const std::string& name, NodeId c) {
      if (auto t = text(c)) sc.sysctls.emplace(name, Trimmed(std::move(*t)));
    });
  }

  ProcessReader reader_;
  Status damage_;
};

// A process from its first snapshot in view to its last.
struct Span {
  size_t firstIndex = 0;
  int64_t firstWallNs = 0;
  bool startedInView = false;
  uint64_t cpuAtFirst = 0;  // ticks when first seen (not counted unless it started in view)
  uint64_t peakRss = 0;
  ProcessSeen last;
  size_t lastIndex = 0;
  int64_t lastWallNs = 0;
  int64_t startWallNs = 0;
  uint32_t clockTicks = 100;
  std::optional<size_t> startEvent;  // its Started event, updated as it is seen again
};

using ProcessKey = std::pair<long, uint64_t>;  // pid, start ticks

class Builder {
 public:
  explicit Builder(const EventOptions& o) : opts_(o) {}

  void baseline(Scene& sc) {
    for (const auto& [pid, p] : sc.m.processes) see(sc.m, p, false);
    for (const auto& [key, sock] : sc.sockets) sockets_[key] = {sc.m.index, sc.m.wallNs, 0, std::string()};
    for (const auto& [key, v] : sc.mounts) seen_["mount " + key] = {sc.m.index, sc.m.wallNs};
    for (const auto& key : sc.modules) seen_["module " + key] = {sc.m.index, sc.m.wallNs};
    for (const auto& [key, ns] : sc.interfaces) seen_["interface " + key] = {sc.m.index, sc.m.wallNs};
  }

  void pair(Scene& prev, Scene& cur) {
    const Moment& a = prev.m;
    const Moment& b = cur.m;
    if (a.bootId != b.bootId) {
      Event e = at(b, EventKind::Rebooted, "boot " + b.bootId);
      e.before = a.bootId, e.after = b.bootId;
      push(std::move(e));
    }
    // Processes gone, then come (an exit frees what a start may take).
    std::vector<const ProcessSeen*> gone;
    for (const auto& [pid, p] : a.processes) {
      auto it = b.processes.find(pid);
      if (it != b.processes.end() && it->second.startTicks == p.startTicks && a.bootId == b.bootId) continue;
      gone.push_back(&p);
      auto span = spans_.find({p.pid, p.startTicks});
      if (span == spans_.end()) continue;
      if (opts_.kernelThreads || !p.kernel) {
        Event e = processEvent(b, EventKind::Exited, span->second);
        push(std::move(e));
      }
      spans_.erase(span);
    }
    for (const auto& [pid, p] : b.processes) {
      auto it = a.processes.find(pid);
      const bool fresh = it == a.processes.end() || it->second.startTicks != p.startTicks || a.bootId != b.bootId;
      see(b, p, fresh);
    }
    // Sockets: new ones with their owner now, closed ones with the owner they had.
    for (auto& [key, sock] : cur.sockets) {
      if (prev.sockets.count(key)) continue;
      long pid = cur.owner(sock.inode);
      Event e = at(b, sock.listener ? EventKind::Listening : EventKind::Connected, key);
      e.netns = sock.netns;
      owned(e, b, pid);
      sockets_[key] = {b.index, b.wallNs, pid, e.command};
      push(std::move(e));
    }
    for (auto& [key, sock] : prev.sockets) {
      if (cur.sockets.count(key)) continue;
      auto known = sockets_[key];
      long pid = known.pid ? known.pid : prev.owner(sock.inode);
      Event e = at(b, sock.listener ? EventKind::StoppedListening : EventKind::Disconnected, key);
      e.netns = sock.netns;
      owned(e, a, pid);
      if (e.command.empty()) e.command = known.command;
      e.firstIndex = known.firstIndex, e.firstWallNs = known.firstWallNs;
      e.lastIndex = a.index, e.lastWallNs = a.wallNs;
      sockets_.erase(key);
      push(std::move(e));
    }
    for (const auto& [name, value] : cur.sysctls) {
      auto it = prev.sysctls.find(name);
      if (it == prev.sysctls.end() || it->second == value || VolatileSysctl(name)) continue;
      Event e = at(b, EventKind::SysctlChanged, name);
      e.before = it->second, e.after = value;
      push(std::move(e));
    }
    setEvents("mount ", prev.mounts, cur.mounts, a, b, EventKind::Mounted, EventKind::Unmounted);
    std::map<std::string, std::string> modsA, modsB;
    for (auto& m : prev.modules) modsA[m];
    for (auto& m : cur.modules) modsB[m];
    setEvents("module ", modsA, modsB, a, b, EventKind::ModuleLoaded, EventKind::ModuleUnloaded);
    setEvents("interface ", prev.interfaces, cur.interfaces, a, b, EventKind::InterfaceAdded,
              EventKind::InterfaceRemoved);
    if (prev.oomKills && cur.oomKills && *cur.oomKills > *prev.oomKills && a.bootId == b.bootId) {
      Event e = at(b, EventKind::OomKill, std::to_string(*cur.oomKills - *prev.oomKills) + " process(es) killed");
      e.before = std::to_string(*prev.oomKills), e.after = std::to_string(*cur.oomKills);
      // The likely victim: the largest process that went in the interval.
      const ProcessSeen* victim = nullptr;
      for (auto* p : gone)
        if (!victim || p->rssBytes > victim->rssBytes) victim = p;
      if (victim) {
        e.pid = victim->pid, e.ppid = victim->ppid, e.uid = victim->uid, e.command = victim->command;
        e.peakRssBytes = victim->rssBytes;
        e.detail = "largest process gone in the interval";
      }
      push(std::move(e));
    }
    for (const auto& [res, avg] : cur.pressure) {
      auto it = prev.pressure.find(res);
      if (it == prev.pressure.end()) continue;
      const bool wasHigh = it->second >= opts_.pressurePct, isHigh = avg >= opts_.pressurePct;
      if (wasHigh == isHigh) continue;
      Event e = at(b, isHigh ? EventKind::PressureHigh : EventKind::PressureNormal, res);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f", it->second);
      e.before = buf;
      std::snprintf(buf, sizeof buf, "%.2f", avg);
      e.after = buf;
      push(std::move(e));
    }
  }

  std::vector<Event> finish() {
    for (auto& [key, span] : spans_) update(span);
    return std::move(events_);
  }

 private:
  struct Seen {
    size_t index = 0;
    int64_t wallNs = 0;
  };
  struct SocketSpan {
    size_t firstIndex = 0;
    int64_t firstWallNs = 0;
    long pid = 0;
    std::string command;
  };

  Event at(const Moment& m, EventKind kind, std::string subject) {
    Event e;
    e.kind = kind;
    e.index = e.firstIndex = e.lastIndex = m.index;
    e.wallNs = e.firstWallNs = e.lastWallNs = m.wallNs;
    e.subject = std::move(subject);
    return e;
  }
  void push(Event e) { events_.push_back(std::move(e)); }

  void owned(Event& e, const Moment& m, long pid) {
    if (!pid) return;
    auto it = m.processes.find(pid);
    if (it == m.processes.end()) return;
    e.pid = pid, e.ppid = it->second.ppid, e.uid = it->second.uid, e.command = it->second.command;
  }

  void see(const Moment& m, const ProcessSeen& p, bool fresh) {
    auto [it, added] = spans_.try_emplace({p.pid, p.startTicks});
    Span& s = it->second;
    if (added) {
      s.firstIndex = m.index, s.firstWallNs = m.wallNs;
      s.startedInView = fresh;
      s.cpuAtFirst = p.utime + p.stime;
      s.startWallNs = m.wallOfTicks(p.startTicks);
      s.clockTicks = m.clockTicks;
      if (fresh && (opts_.kernelThreads || !p.kernel)) {
        s.last = p;
        s.lastIndex = m.index, s.lastWallNs = m.wallNs;
        s.startEvent = events_.size();
        push(processEvent(m, EventKind::Started, s));
      }
    }
    s.last = p;
    s.lastIndex = m.index, s.lastWallNs = m.wallNs;
    s.peakRss = std::max(s.peakRss, p.rssBytes);
    if (s.startEvent) update(s);
  }

  Event processEvent(const Moment& m, EventKind kind, const Span& s) {
    Event e = at(m, kind, "pid " + std::to_string(s.last.pid));
    fill(e, s);
    return e;
  }
  void fill(Event& e, const Span& s) {
    const ProcessSeen& p = s.last;
    e.pid = p.pid, e.ppid = p.ppid, e.uid = p.uid, e.command = p.command;
    e.firstIndex = s.firstIndex, e.firstWallNs = s.firstWallNs;
    e.lastIndex = s.lastIndex, e.lastWallNs = s.lastWallNs;
    e.startWallNs = s.startWallNs;
    e.peakRssBytes = std::max(s.peakRss, p.rssBytes);
    const uint64_t cpu = p.utime + p.stime;
    e.cpuSeconds = double(s.startedInView ? cpu : (cpu >= s.cpuAtFirst ? cpu - s.cpuAtFirst : 0)) / s.clockTicks;
    if (e.kind == EventKind::Exited && s.startWallNs) e.lifetimeSeconds = SecondsBetween(s.startWallNs, s.lastWallNs);
  }
  void update(Span& s) {
    if (s.startEvent) fill(events_[*s.startEvent], s);
  }

  void setEvents(const std::string& what, const std::map<std::string, std::string>& before,
                 const std::map<std::string, std::string>& after, const Moment& a, const Moment& b, EventKind added,
                 EventKind removed) {
    for (const auto& [key, v] : after) {
      if (before.count(key)) continue;
      Event e = at(b, added, key);
      e.detail = v;
      seen_[what + key] = {b.index, b.wallNs};
      push(std::move(e));
    }
    for (const auto& [key, v] : before) {
      if (after.count(key)) continue;
      Event e = at(b, removed, key);
      e.detail = v;
      auto it = seen_.find(what + key);
      if (it != seen_.end()) e.firstIndex = it->second.index, e.firstWallNs = it->second.wallNs, seen_.erase(it);
      e.lastIndex = a.index, e.lastWallNs = a.wallNs;
      push(std::move(e));
    }
  }

  EventOptions opts_;
  std::vector<Event> events_;
  std::map<ProcessKey, Span> spans_;
  std::map<std::string, SocketSpan> sockets_;
  std::map<std::string, Seen> seen_;
};

}  // namespace

struct EventSteps::State {
  State(std::shared_ptr<ArchiveReader> a, const EventOptions& o) : reader(std::move(a)), builder(o) {}
  SceneReader reader;
  Builder builder;
  std::optional<Scene> prev;
};

EventSteps::EventSteps(std::shared_ptr<ArchiveReader> archive, const EventOptions& opts)
    : s_(std::make_unique<State>(std::move(archive), opts)) {}
EventSteps::~EventSteps() = default;

Status EventSteps::add(size_t i) {
  auto sc = s_->reader.read(i);
  if (!sc.ok()) return sc.status();
  if (!s_->reader.damage().ok()) return s_->reader.damage();
  if (!s_->prev) s_->builder.baseline(*sc);
  else s_->builder.pair(*s_->prev, *sc);
  s_->prev = std::move(*sc);
  return Status::Ok();
}

const Moment& EventSteps::moment() const { return s_->prev->m; }
const std::shared_ptr<const Snapshot>& EventSteps::snapshot() const { return s_->prev->snap; }
std::vector<Event> EventSteps::finish() { return s_->builder.finish(); }

Result<std::vector<Event>> Events(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                  const EventOptions& opts, const std::function<void(size_t, size_t)>& progress) {
  if (archive->snapshotCount() == 0 || first > last || last >= archive->snapshotCount()) return std::vector<Event>();
  EventSteps steps(archive, opts);
  const size_t from = first > 0 ? first - 1 : 0;
  for (size_t i = from; i <= last; ++i) {
    if (Status s = steps.add(i); !s.ok()) return s;
    if (progress) progress(i - from + 1, last - from + 1);
  }
  return steps.finish();
}

}  // namespace procsnap
