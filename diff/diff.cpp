#include "diff/diff.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "model.h"

namespace procsnap {

namespace {

std::string Kib(int64_t kib) {
  char buf[32];
  if (kib >= 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f GiB", kib / 1048576.0);
  else if (kib >= 1024) std::snprintf(buf, sizeof buf, "%.1f MiB", kib / 1024.0);
  else std::snprintf(buf, sizeof buf, "%lld KiB", (long long)kib);
  return buf;
}

// A memory size changed enough to matter: 10% and 1 MiB.
bool Significant(int64_t a, int64_t b) {
  int64_t d = a > b ? a - b : b - a;
  return d >= 1024 && d * 10 >= std::max<int64_t>(a, 1);
}

// Files the system section already reads.
bool SystemFile(const std::string& path) {
  for (const char* f : {"cmdline", "cpuinfo", "modules", "swaps", "version", "meminfo"})
    if (path == f) return true;
  return false;
}

// Kernel allocation lists that reorder with every process start.
bool VolatileFile(const std::string& path) {
  for (const char* f : {"vmallocinfo", "slabinfo", "sched_debug", "schedstat", "latency_stats", "timer_list"})
    if (path == f) return true;
  return false;
}

// A file whose text only differs in its numbers is a counter file
// (interrupts, vmstat, net/dev...): it moves by itself.
bool OnlyNumbersDiffer(const std::string& x, const std::string& y) {
  // Digit runs become '#', blank runs one space: right-aligned columns
  // shift when a number gains a digit.
  auto mask = [](const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
      char m = (c >= '0' && c <= '9') ? '#' : (c == ' ' || c == '\t') ? ' ' : c;
      if ((m == '#' || m == ' ') && !out.empty() && out.back() == m) continue;
      out += m;
    }
    return out;
  };
  return mask(x) == mask(y);
}

struct Differ {
  const View& va;
  const View& vb;
  const Model& a;
  const Model& b;
  const DiffOptions& opts;
  long pageKib;
  DiffResult out;
  Status damage;  // a read the archive failed: the diff fails

  // Seconds between the captures; 0 across boots, where clocks restart.
  double interval() const { return a.bootId == b.bootId ? SecondsBetween(a.monoNs, b.monoNs) : 0; }

  // What only one side has: `gone` for the first, `came` for the second.
  // Works on sets of names and on maps from name to socket inode (whose
  // owner becomes the detail).
  static const std::string& Name(const std::string& s) { return s; }
  static const std::string& Name(const std::pair<const std::string, uint64_t>& p) { return p.first; }
  static std::string Detail(const Model&, const std::string&) { return ""; }
  static std::string Detail(const Model& m, const std::pair<const std::string, uint64_t>& p) { return Owner(m, p.second); }
  template <class C>
  void oneSided(Section s, const C& x, const C& y, ChangeKind gone, ChangeKind came, const std::string& prefix) {
    for (auto& e : x)
      if (!y.count(Name(e))) add(s, gone, prefix + Name(e), "", "", Detail(a, e));
    for (auto& e : y)
      if (!x.count(Name(e))) add(s, came, prefix + Name(e), "", "", Detail(b, e));
  }

  void add(Section s, ChangeKind kind, std::string subject, std::string before = "", std::string after = "",
           std::string detail = "") {
    out.changes.push_back({s, kind, std::move(subject), std::move(before), std::move(after), std::move(detail)});
  }

  template <class Map, class Show>
  void compareMaps(Section s, const Map& x, const Map& y, Show show) {
    for (auto& [k, v] : x) {
      auto it = y.find(k);
      if (it == y.end()) {
        if (show(k)) add(s, ChangeKind::Removed, k, v, "");
      } else if (it->second != v && show(k)) {
        add(s, ChangeKind::Changed, k, v, it->second);
      }
    }
    for (auto& [k, v] : y)
      if (!x.count(k) && show(k)) add(s, ChangeKind::Added, k, "", v);
  }

  void sysctls() {
    compareMaps(Section::Sysctls, a.sysctls, b.sysctls, [&](const std::string& k) { return opts.all || !VolatileSysctl(k); });
  }

  void system() {
    auto one = [&](const char* what, const std::string& x, const std::string& y) {
      if (x != y) add(Section::System, ChangeKind::Changed, what, x, y);
    };
    one("hostname", a.hostname, b.hostname);
    one("kernel release", a.kernelRelease, b.kernelRelease);
    one("kernel version", a.kernelVersion, b.kernelVersion);
    one("boot id", a.bootId, b.bootId);
    compareMaps(Section::System, a.system, b.system, [](const std::string&) { return true; });
    oneSided(Section::System, a.modules, b.modules, ChangeKind::Unloaded, ChangeKind::Loaded, "module ");
    oneSided(Section::System, a.interfaces, b.interfaces, ChangeKind::Removed, ChangeKind::Added, "network interface ");
    oneSided(Section::System, a.swaps, b.swaps, ChangeKind::Removed, ChangeKind::Added, "swap ");
    // Counters as rates over the interval. By default only those that
    // signal trouble whenever they move.
    double seconds = interval();
    if (seconds > 0) {
      for (auto& [name, y] : b.counters) {
        auto it = a.counters.find(name);
        if (it == a.counters.end() || y < it->second) continue;
        double rate = (y - it->second) / seconds;
        // Thresholds under which an idle machine stays quiet.
        double alarm = name == "swap-ins" || name == "swap-outs" || name == "oom kills" ? 0
                       : name == "udp receive errors"                                    ? 0
                       : name == "tcp retransmitted segments"                            ? 10
                       : name == "major page faults"                                     ? 100
                                                                                         : -1;
        if (opts.all || (alarm >= 0 && rate > alarm)) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "%.1f/s", rate);
          add(Section::System, ChangeKind::Rate, name, "", buf);
        }
      }
    }
    if (opts.all && a.loadavg != b.loadavg) add(Section::System, ChangeKind::Changed, "load average", a.loadavg, b.loadavg);
    std::map<std::string, std::string> ma, mb;
    for (auto& [k, v] : a.mounts) ma["mount " + k] = v;
    for (auto& [k, v] : b.mounts) mb["mount " + k] = v;
    compareMaps(Section::System, ma, mb, [](const std::string&) { return true; });
  }

  static std::string Who(long pid, const ProcessInfo& p) {
    return "pid " + std::to_string(pid) + " (" + p.stat.comm + ")";
  }

  static std::string Percent(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", v);
    return buf;
  }

  void processes() {
    double seconds = interval();
    bool sameBoot = !a.bootId.empty() && a.bootId == b.bootId;
    std::vector<std::pair<long, long>> pairs;  // pid in a, pid in b
    std::set<long> pairedA, pairedB;
    if (sameBoot) {
      for (auto& [pid, p] : a.processes) {
        auto it = b.processes.find(pid);
        if (it != b.processes.end() && it->second.stat.starttime == p.stat.starttime) {
          pairs.push_back({pid, pid});
          pairedA.insert(pid);
          pairedB.insert(pid);
        }
      }
    } else {
      // Across boots or machines pids mean nothing: pair by executable and
      // command line.
      auto key = [](const ProcessInfo& p) { return p.exe + '\n' + p.cmdline; };
      std::multimap<std::string, long> byCmd;
      for (auto& [pid, p] : b.processes) byCmd.emplace(key(p), pid);
      for (auto& [pid, p] : a.processes) {
        auto it = byCmd.find(key(p));
        if (it == byCmd.end()) continue;
        pairs.push_back({pid, it->second});
        pairedA.insert(pid);
        pairedB.insert(it->second);
        byCmd.erase(it);
      }
    }
    for (auto& [pid, p] : a.processes)
      if (!pairedA.count(pid)) add(Section::Processes, ChangeKind::Exited, Who(pid, p), "", "", p.cmdline);
    for (auto& [pid, p] : b.processes)
      if (!pairedB.count(pid)) add(Section::Processes, ChangeKind::Started, Who(pid, p), "", "", p.cmdline);
    for (auto [pa, pb] : pairs) {
      const ProcessInfo& x = a.processes.at(pa);
      const ProcessInfo& y = b.processes.at(pb);
      std::string who = Who(pb, y);
      auto field = [&](const char* what, const std::string& u, const std::string& v) {
        if (u != v) add(Section::Processes, ChangeKind::Changed, who + " " + what, u, v);
      };
      field("state", std::string(1, x.stat.state), std::string(1, y.stat.state));
      field("user", x.uid, y.uid);
      field("nice", std::to_string(x.stat.nice), std::to_string(y.stat.nice));
      field("threads", std::to_string(x.stat.threads), std::to_string(y.stat.threads));
      field("parent", std::to_string(x.stat.ppid), std::to_string(y.stat.ppid));
      // Kernel threads have no command line; kworkers rename themselves.
      if (x.cmdline.front() != '[' || y.cmdline.front() != '[') field("command line", x.cmdline, y.cmdline);
      if (x.fds != y.fds) field("open fds", std::to_string(x.fds), std::to_string(y.fds));
      // Clamped: a hostile snapshot may hold any number here.
      auto kib = [&](int64_t pages) { return std::clamp<int64_t>(pages, 0, int64_t(1) << 36) * pageKib; };
      int64_t rx = kib(x.stat.rssPages), ry = kib(y.stat.rssPages);
      if (opts.all ? rx != ry : Significant(rx, ry)) field("rss", Kib(rx), Kib(ry));
      int64_t vx = int64_t(std::min<uint64_t>(x.stat.vsize, uint64_t(1) << 56) / 1024);
      int64_t vy = int64_t(std::min<uint64_t>(y.stat.vsize, uint64_t(1) << 56) / 1024);
      if (opts.all ? vx != vy : Significant(vx, vy)) field("vsz", Kib(vx), Kib(vy));
      field("cwd", x.cwd, y.cwd);
      field("exe", x.exe, y.exe);
      field("cgroup", x.cgroup, y.cgroup);
      std::set<std::string> mx(x.mapped.begin(), x.mapped.end()), my(y.mapped.begin(), y.mapped.end());
      for (auto& f : my)
        if (!mx.count(f)) add(Section::Processes, ChangeKind::Mapped, who + " " + f);
      for (auto& f : mx)
        if (!my.count(f)) add(Section::Processes, ChangeKind::Unmapped, who + " " + f);
      for (auto& [k, v] : y.environ) {
        auto it = x.environ.find(k);
        if (it == x.environ.end()) add(Section::Processes, ChangeKind::Changed, who + " environment " + k, "", v);
        else if (it->second != v) add(Section::Processes, ChangeKind::Changed, who + " environment " + k, it->second, v);
      }
      for (auto& [k, v] : x.environ)
        if (!y.environ.count(k)) add(Section::Processes, ChangeKind::Changed, who + " environment " + k, v, "(unset)");
      for (auto& [name, value] : y.limits) {
        auto it = x.limits.find(name);
        if (it != x.limits.end() && it->second != value) field(std::string("limit ").append(name).c_str(), it->second, value);
      }
      // Counters as rates over the interval between the captures.
      if (seconds > 0) {
        double cpu = double((y.stat.utime + y.stat.stime) - std::min(y.stat.utime + y.stat.stime,
                                                                     x.stat.utime + x.stat.stime)) /
                     b.clockTicks / seconds * 100;
        if (cpu >= (opts.all ? 0.01 : 5.0)) add(Section::Processes, ChangeKind::Busy, who + " cpu", "", Percent(cpu) + " of a CPU");
        double io = double(y.ioBytes - std::min(y.ioBytes, x.ioBytes)) / seconds;
        if (io >= (opts.all ? 1.0 : 1048576.0)) add(Section::Processes, ChangeKind::Busy, who + " i/o", "", Kib(int64_t(io / 1024)) + "/s");
      }
    }
  }

  static std::string Key(const NetSocket& s) {
    return s.proto + " " + s.local + (s.listening() ? " (listening)" : " -> " + s.remote);
  }

  // "pid 812 /tmp/.x -l 4444" for the process holding a socket inode.
  static std::string Owner(const Model& m, uint64_t inode) {
    auto it = m.socketOwner.find(inode);
    if (it == m.socketOwner.end()) return "";
    auto p = m.processes.find(it->second);
    return "pid " + std::to_string(it->second) + (p == m.processes.end() ? "" : " " + p->second.cmdline);
  }

  void sockets() {
    // Listeners and established connections, by what they are, with inodes.
    auto keyed = [](const Model& m) {
      std::map<std::string, uint64_t> out;
      for (auto& s : m.sockets)
        if (s.listening() || s.state == 1) out[Key(s)] = s.inode;
      for (auto& u : m.unixListeners) out.emplace("unix " + u.path + " (listening)", u.inode);
      return out;
    };
    oneSided(Section::Sockets, keyed(a), keyed(b), ChangeKind::Closed, ChangeKind::Opened, "");
  }

  void files() {
    for (auto& [f, id] : a.files) {
      auto it = b.files.find(f);
      if (SystemFile(f)) continue;
      if (it == b.files.end()) {
        add(Section::Files, ChangeKind::Removed, f);
        continue;
      }
      const Node& x = va.snapshot().node(id);
      const Node& y = vb.snapshot().node(it->second);
      if (x.kind != NodeKind::File || y.kind != NodeKind::File) continue;
      if (x.size != y.size || opts.all || x.size <= (1u << 20)) {
        auto cx = va.snapshot().read(id), cy = vb.snapshot().read(it->second);
        for (const auto* r : {&cx, &cy})
          if (!r->ok() && damage.ok()) damage = r->status();
        if (!cx.ok() || !cy.ok() || *cx == *cy) continue;
        if (opts.all || (!VolatileFile(f) && !OnlyNumbersDiffer(*cx, *cy))) add(Section::Files, ChangeKind::Changed, f, "", "", "see --raw '" + f + "'");
      }
    }
    for (auto& [f, id] : b.files)
      if (!a.files.count(f) && !SystemFile(f)) add(Section::Files, ChangeKind::Added, f);
  }
};

struct SectionEntry {
  SectionInfo info;
  void (Differ::*compare)();
};

const SectionEntry kSections[] = {
    {{Section::System, "system",
      "kernel, command line, CPUs, memory totals, modules, mounts, swaps, interfaces; counters as rates"},
     &Differ::system},
    {{Section::Sysctls, "sysctls", "tunables, old -> new (volatile ones with --all)"}, &Differ::sysctls},
    {{Section::Processes, "processes",
      "started, exited, changed: state, user, threads, memory, fds, limits, cgroup, cwd, exe, maps, environment; "
      "cpu and i/o as rates"},
     &Differ::processes},
    {{Section::Sockets, "sockets", "listeners and connections opened or closed, with their owning process"},
     &Differ::sockets},
    {{Section::Files, "files", "other files added, removed or changed in more than their numbers"}, &Differ::files},
};

}  // namespace

const std::vector<SectionInfo>& Sections() {
  static const std::vector<SectionInfo> kInfo = [] {
    std::vector<SectionInfo> v;
    for (const SectionEntry& e : kSections) v.push_back(e.info);
    return v;
  }();
  return kInfo;
}

const char* SectionName(Section s) {
  for (const SectionEntry& e : kSections)
    if (e.info.section == s) return e.info.name;
  return "?";
}

Result<Section> ParseSection(std::string_view name) {
  std::string names;
  for (const SectionEntry& e : kSections) {
    if (name == e.info.name) return e.info.section;
    names += (names.empty() ? "" : ", ") + std::string(e.info.name);
  }
  return Status::InvalidArgument("no section '" + std::string(name) + "' (" + names + ")");
}

const char* ChangeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::Changed: return "changed";
    case ChangeKind::Added: return "added";
    case ChangeKind::Removed: return "removed";
    case ChangeKind::Started: return "started";
    case ChangeKind::Exited: return "exited";
    case ChangeKind::Opened: return "opened";
    case ChangeKind::Closed: return "closed";
    case ChangeKind::Loaded: return "loaded";
    case ChangeKind::Unloaded: return "unloaded";
    case ChangeKind::Mapped: return "mapped";
    case ChangeKind::Unmapped: return "unmapped";
    case ChangeKind::Rate: return "rate";
    case ChangeKind::Busy: return "busy";
  }
  return "?";
}

Result<DiffResult> Diff(const View& before, const View& after, const DiffOptions& opts) {
  Model a = BuildModel(before), b = BuildModel(after);
  if (!a.damage.ok()) return a.damage;
  if (!b.damage.ok()) return b.damage;
  long pageKib = std::max<long>(1, after.snapshot().metadata().pageSize / 1024);
  Differ d{before, after, a, b, opts, pageKib, {}, {}};
  for (const SectionEntry& e : kSections)
    if (opts.only.empty() || std::count(opts.only.begin(), opts.only.end(), e.info.section)) (d.*e.compare)();
  if (!d.damage.ok()) return d.damage;
  for (auto& p : a.problems) d.out.problems.push_back(before.archive().path() + ": " + p);
  for (auto& p : b.problems) d.out.problems.push_back(after.archive().path() + ": " + p);
  return std::move(d.out);
}

}  // namespace procsnap
