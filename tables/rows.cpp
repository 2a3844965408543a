// The rows of each table, from one snapshot, through procfs/'s parsers.
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "procfs/procfs.h"
#include "tables.h"

namespace procsnap {

namespace {

const std::vector<std::string> kCommon = {"host", "boot_id", "time", "snapshot"};

std::vector<std::string> With(std::vector<std::string> own) {
  std::vector<std::string> all = kCommon;
  all.insert(all.end(), own.begin(), own.end());
  return all;
}

// What every table of one snapshot shares: the common columns and the
// files read for more than one table.
struct Context {
  const View& v;
  const Snapshot& s;
  std::vector<std::string>* warnings;
  CapturedFiles files;
  Row common;
  double ticks = 100;
  int64_t bootWallNs = 0;  // 0: unknown
  bool pidsListed = false;
  std::vector<long> pidList;

  Context(const View& view, std::vector<std::string>* w) : v(view), s(view.snapshot()), warnings(w), files(view) {
    const Metadata& m = s.metadata();
    if (m.clockTicks) ticks = m.clockTicks;
    if (m.startBootNs > 0) bootWallNs = m.startWallNs - m.startBootNs;
    std::optional<std::string> host = text("sys/kernel/hostname");
    if (host) {
      while (!host->empty() && host->back() == '\n') host->pop_back();
    }
    common = {host && !host->empty() ? *host : m.hostname, m.bootId.empty() ? Value() : Value(m.bootId),
              WallTime(m.startWallNs), int64_t(view.index())};
  }

  // The bytes of a file, nullopt when the snapshot has none (damage is kept).
  std::optional<std::string> text(const std::string& path) { return files.text(path); }
  void warn(const std::string& path, const std::string& what) {
    if (warnings) warnings->push_back(path + ": " + what);
  }
  Row row() const { return common; }

  // The pid directories, listed once for every table of the snapshot.
  const std::vector<long>& pids() {
    if (!pidsListed) {
      pidsListed = true;
      auto [lo, hi] = s.children(0);
      for (NodeId c = lo; c < hi; ++c)
        if (IsNumberName(s.name(c))) pidList.push_back(std::atol(std::string(s.name(c)).c_str()));
    }
    return pidList;
  }
  // The inode of a namespace link ("net:[4026531840]"), nullopt if not captured.
  std::optional<int64_t> nsInode(const std::string& link) {
    auto id = v.resolve(link, false);
    if (!id.ok() || s.node(*id).kind != NodeKind::Symlink) return std::nullopt;
    std::string_view t = s.linkTarget(*id);
    auto inode = LinkInode(t, t.substr(0, t.find(':')));
    if (!inode) return std::nullopt;
    return int64_t(*inode);
  }
  // Each network namespace's net/ directory once (aliases resolved), with
  // its inode when a process in it shows one.
  std::vector<std::pair<std::string, Value>> netDirs() {
    std::map<NodeId, std::pair<std::string, Value>> dirs;
    auto add = [&](const std::string& path, std::optional<int64_t> inode) {
      auto id = v.resolve(path, true);
      if (!id.ok()) return;
      NodeId dir = s.resolveAlias(*id);
      if (s.node(dir).kind != NodeKind::Directory) return;
      auto& e = dirs[dir];
      if (e.first.empty()) e.first = path;
      if (inode && std::holds_alternative<std::monostate>(e.second)) e.second = *inode;
    };
    add("net", nsInode("self/ns/net"));
    for (long pid : pids()) add(std::to_string(pid) + "/net", nsInode(std::to_string(pid) + "/ns/net"));
    std::vector<std::pair<std::string, Value>> out;
    for (auto& [id, e] : dirs) out.push_back(e);
    return out;
  }
};

Value Num(const std::optional<std::string>& text) {
  if (!text) return {};
  char* end = nullptr;
  long long n = std::strtoll(text->c_str(), &end, 10);
  if (end == text->c_str()) return {};
  return int64_t(n);
}

Value Text(std::optional<std::string> text) {
  if (!text) return {};
  while (!text->empty() && text->back() == '\n') text->pop_back();
  return std::move(*text);
}

// "1234 kB" -> bytes, null when missing.
Value KiB(const std::map<std::string, std::string>& kv, const char* key) {
  auto v = KiBValue(kv, key);
  return v ? Value(int64_t(*v)) : Value();
}

Value FirstField(const std::map<std::string, std::string>& kv, const char* key) {
  auto it = kv.find(key);
  if (it == kv.end()) return {};
  return Num(it->second.substr(0, it->second.find_first_of(" \t")));
}

const char* TcpState(unsigned st) {
  static const char* const names[] = {"",          "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                                      "TIME_WAIT", "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",    "CLOSING"};
  return st < sizeof names / sizeof names[0] ? names[st] : "";
}

// "127.0.0.1:80" / "[::1]:22" -> address, port.
std::pair<std::string, int64_t> SplitEndpoint(const std::string& e) {
  size_t colon = e.rfind(':');
  std::string addr = e.substr(0, colon);
  if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
  return {addr, std::atoll(e.c_str() + colon + 1)};
}

void Processes(Context& c, const std::function<void(Row&&)>& sink) {
  const int64_t page = c.s.metadata().pageSize ? c.s.metadata().pageSize : 4096;
  const auto programs = ExecutablesByPid(c.s.metadata());
  for (long pid : c.pids()) {
    const std::string dir = std::to_string(pid);
    std::string problem;
    auto statText = c.text(dir + "/stat");
    auto stat = statText ? ParsePidStat(*statText, &problem) : std::nullopt;
    if (statText && !stat) c.warn(dir + "/stat", problem);
    auto statusText = c.text(dir + "/status");
    auto status = ParseKeyValue(statusText ? *statusText : "", ':');
    Row r = c.row();
    r.push_back(int64_t(pid));
    r.push_back(stat ? Value(int64_t(stat->ppid)) : FirstField(status, "PPid"));
    r.push_back(stat ? Value(stat->comm) : (status.count("Name") ? Value(status["Name"]) : Value()));
    auto exe = c.v.resolve(dir + "/exe", false);
    const bool exeRead = exe.ok() && c.s.node(*exe).kind == NodeKind::Symlink && !c.s.node(*exe).error &&
                         !c.s.linkTarget(*exe).empty();  // kernel threads and closed links: null
    r.push_back(exeRead ? Value(std::string(c.s.linkTarget(*exe))) : Value());
    auto program = programs.find(pid);
    r.push_back(program != programs.end() && !program->second->sha256.empty() ? Value(program->second->sha256)
                                                                               : Value());
    auto cmdline = c.text(dir + "/cmdline");
    r.push_back(cmdline && !cmdline->empty() ? Value(JoinCmdline(*cmdline)) : Value());
    r.push_back(stat ? Value(std::string(1, stat->state)) : Value());
    r.push_back(FirstField(status, "Uid"));
    r.push_back(FirstField(status, "Gid"));
    r.push_back(stat ? Value(int64_t(stat->threads)) : FirstField(status, "Threads"));
    r.push_back(stat && c.bootWallNs ? Value(WallTime(c.bootWallNs + int64_t(stat->starttime * 1e9 / c.ticks)))
                                     : Value());
    r.push_back(stat ? Value(stat->utime / c.ticks) : Value());
    r.push_back(stat ? Value(stat->stime / c.ticks) : Value());
    // VmRSS is what ps and top show; kernel threads have none.
    Value rss = KiB(status, "VmRSS");
    if (std::holds_alternative<std::monostate>(rss) && stat && !statusText) rss = int64_t(stat->rssPages) * page;
    r.push_back(rss);
    r.push_back(stat ? Value(int64_t(stat->vsize)) : Value());
    NodeId fd = c.s.lookup(dir + "/fd");
    if (fd != kNoNode && c.s.node(fd).kind == NodeKind::Directory && !c.s.node(fd).error &&
        c.s.node(fd).reason == Reason::None) {
      auto [lo, hi] = c.s.children(fd);
      r.push_back(int64_t(hi - lo));
    } else {
      r.push_back(Value());
    }
    auto cgroup = c.text(dir + "/cgroup");
    // cgroup v2 alone: "0::/system.slice/x" -> the path; else every line.
    if (cgroup && cgroup->rfind("0::", 0) == 0 && cgroup->find('\n') + 1 == cgroup->size())
      r.push_back(cgroup->substr(3, cgroup->size() - 4));
    else
      r.push_back(Text(cgroup));
    auto ioText = c.text(dir + "/io");
    auto io = ParseKeyValue(ioText ? *ioText : "", ':');
    r.push_back(FirstField(io, "read_bytes"));
    r.push_back(FirstField(io, "write_bytes"));
    r.push_back(Num(c.text(dir + "/oom_score_adj")));
    auto ns = [&](const char* which) {
      auto i = c.nsInode(dir + "/ns/" + which);
      return i ? Value(*i) : Value();
    };
    r.push_back(ns("net"));
    r.push_back(ns("pid"));
    sink(std::move(r));
  }
}

void Threads(Context& c, const std::function<void(Row&&)>& sink) {
  for (long pid : c.pids()) {
    const std::string task = std::to_string(pid) + "/task";
    NodeId dir = c.s.lookup(task);
    if (dir == kNoNode) continue;
    auto [lo, hi] = c.s.children(c.s.resolveAlias(dir));
    for (NodeId t = lo; t < hi; ++t) {
      std::string tid(c.s.name(t));
      if (!IsNumberName(tid)) continue;
      std::string problem;
      auto text = c.text(task + "/" + tid + "/stat");
      auto stat = text ? ParsePidStat(*text, &problem) : std::nullopt;
      if (text && !stat) c.warn(task + "/" + tid + "/stat", problem);
      Row r = c.row();
      r.push_back(int64_t(pid));
      r.push_back(int64_t(std::atol(tid.c_str())));
      r.push_back(stat ? Value(stat->comm) : Value());
      r.push_back(stat ? Value(std::string(1, stat->state)) : Value());
      r.push_back(stat ? Value(stat->utime / c.ticks) : Value());
      r.push_back(stat ? Value(stat->stime / c.ticks) : Value());
      r.push_back(stat && stat->processor >= 0 ? Value(int64_t(stat->processor)) : Value());
      sink(std::move(r));
    }
  }
}

void Sockets(Context& c, const std::function<void(Row&&)>& sink) {
  // Owners through fd links: socket inodes are unique on a machine.
  std::unordered_map<uint64_t, long> owner;
  for (long pid : c.pids()) {
    NodeId fd = c.s.lookup(std::to_string(pid) + "/fd");
    if (fd == kNoNode || c.s.node(fd).kind != NodeKind::Directory) continue;
    auto [lo, hi] = c.s.children(fd);
    for (NodeId l = lo; l < hi; ++l) {
      if (auto inode = LinkInode(c.s.linkTarget(l), "socket")) owner.emplace(*inode, pid);
    }
  }
  auto ownerOf = [&](uint64_t inode) {
    auto it = owner.find(inode);
    return it == owner.end() || inode == 0 ? Value() : Value(int64_t(it->second));
  };
  for (auto& [net, netns] : c.netDirs()) {
    for (const char* proto : {"tcp", "tcp6", "udp", "udp6"}) {
      auto text = c.text(net + "/" + proto);
      if (!text) continue;
      std::vector<std::string> problems;
      for (auto& sock : ParseNetTable(*text, proto, &problems)) {
        auto [laddr, lport] = SplitEndpoint(sock.local);
        auto [raddr, rport] = SplitEndpoint(sock.remote);
        Row r = c.row();
        r.push_back(std::string(proto));
        r.push_back(laddr);
        r.push_back(lport);
        r.push_back(raddr);
        r.push_back(rport);
        // netstat: TCP states by name; UDP "ESTABLISHED" when connected, else nothing.
        const bool tcp = proto[0] == 't';
        const std::string state = tcp ? TcpState(sock.state) : (sock.state == 1 ? "ESTABLISHED" : "");
        r.push_back(state.empty() ? Value() : Value(state));
        r.push_back(int64_t(sock.inode));
        r.push_back(int64_t(sock.uid));
        r.push_back(ownerOf(sock.inode));
        r.push_back(netns);
        sink(std::move(r));
      }
      for (auto& p : problems) c.warn(net + "/" + proto, p);
    }
    auto unix = c.text(net + "/unix");
    if (!unix) continue;
    std::vector<std::string> problems;
    for (auto& u : ParseUnixListeners(*unix, &problems)) {
      Row r = c.row();
      r.push_back(std::string("unix"));
      r.push_back(u.path);
      r.push_back(Value());
      r.push_back(Value());
      r.push_back(Value());
      r.push_back(std::string("LISTEN"));
      r.push_back(int64_t(u.inode));
      r.push_back(Value());
      r.push_back(ownerOf(u.inode));
      r.push_back(netns);
      sink(std::move(r));
    }
    for (auto& p : problems) c.warn(net + "/unix", p);
  }
}

void Sysctls(Context& c, const std::function<void(Row&&)>& sink) {
  NodeId sys = c.s.lookup("sys");
  if (sys == kNoNode) return;
  std::function<void(NodeId, const std::string&, const std::string&)> walk = [&](NodeId dir, const std::string& name,
                                                                                  const std::string& path) {
    auto [lo, hi] = c.s.children(c.s.resolveAlias(dir));
    for (NodeId n = lo; n < hi; ++n) {
      const std::string part(c.s.name(n));
      const std::string childName = name.empty() ? part : name + "." + part;
      const std::string childPath = path + "/" + part;
      const Node& node = c.s.node(n);
      if (node.kind == NodeKind::Directory || node.kind == NodeKind::Alias) {
        walk(n, childName, childPath);
      } else if (node.kind == NodeKind::File && node.reason != Reason::Skipped) {
        Row r = c.row();
        r.push_back(childName);
        r.push_back(Text(c.text(childPath)));
        sink(std::move(r));
      }
    }
  };
  walk(sys, "", "sys");
}

void Mounts(Context& c, const std::function<void(Row&&)>& sink) {
  auto text = c.text("self/mountinfo");
  if (!text) return;
  std::vector<std::string> problems;
  for (auto& m : ParseMountInfo(*text, &problems)) {
    Row r = c.row();
    r.push_back(int64_t(m.mountId));
    r.push_back(int64_t(m.parentId));
    r.push_back(m.source);
    r.push_back(m.target);
    r.push_back(m.fstype);
    r.push_back(m.options);
    r.push_back(m.superOptions);
    r.push_back(m.propagation.empty() ? Value() : Value(m.propagation));
    sink(std::move(r));
  }
  for (auto& p : problems) c.warn("self/mountinfo", p);
}

void Modules(Context& c, const std::function<void(Row&&)>& sink) {
  auto text = c.text("modules");
  if (!text) return;
  std::vector<std::string> problems;
  for (auto& m : ParseModules(*text, &problems)) {
    Row r = c.row();
    r.push_back(m.name);
    r.push_back(int64_t(m.size));
    r.push_back(int64_t(m.instances));
    r.push_back(m.dependencies == "-" ? Value() : Value(m.dependencies));
    r.push_back(m.state);
    sink(std::move(r));
  }
  for (auto& p : problems) c.warn("modules", p);
}

void Interfaces(Context& c, const std::function<void(Row&&)>& sink) {
  for (auto& [net, netns] : c.netDirs()) {
    auto text = c.text(net + "/dev");
    if (!text) continue;
    for (auto& d : ParseNetDev(*text)) {
      Row r = c.row();
      r.push_back(d.name);
      for (uint64_t n : {d.rxBytes, d.rxPackets, d.rxErrors, d.rxDropped, d.txBytes, d.txPackets, d.txErrors,
                         d.txDropped})
        r.emplace_back(std::in_place_type<int64_t>, int64_t(n));
      r.push_back(netns);
      sink(std::move(r));
    }
  }
}

void System(Context& c, const std::function<void(Row&&)>& sink) {
  Row r = c.row();
  const Metadata& m = c.s.metadata();
  r.push_back(m.kernelRelease.empty() ? Text(c.text("sys/kernel/osrelease")) : Value(m.kernelRelease));
  auto cpuinfo = c.text("cpuinfo");
  unsigned cpus = cpuinfo ? CountCpus(*cpuinfo) : 0;
  r.push_back(cpus ? Value(int64_t(cpus)) : Value());
  auto loadText = c.text("loadavg");
  auto load = loadText ? ParseLoadAvg(*loadText) : std::nullopt;
  if (loadText && !load) c.warn("loadavg", "not three loads and running/total");
  for (double l : {load ? load->load1 : -1.0, load ? load->load5 : -1.0, load ? load->load15 : -1.0})
    r.push_back(load ? Value(l) : Value());
  auto memText = c.text("meminfo");
  auto mem = ParseKeyValue(memText ? *memText : "", ':');
  for (const char* k : {"MemTotal", "MemAvailable", "SwapTotal", "SwapFree"}) r.push_back(KiB(mem, k));
  r.push_back(int64_t(c.pids().size()));
  auto statText = c.text("stat");
  auto stat = ParseProcStat(statText ? *statText : "");
  auto counter = [&](const char* key) { return stat.count(key) ? Value(int64_t(stat[key])) : Value(); };
  r.push_back(counter("procs_running"));
  auto cpu = statText ? ParseCpuTimes(*statText) : std::nullopt;
  for (uint64_t CpuTimes::*f : {&CpuTimes::user, &CpuTimes::system, &CpuTimes::iowait, &CpuTimes::steal})
    r.push_back(cpu ? Value((*cpu).*f / c.ticks) : Value());
  r.push_back(counter("ctxt"));
  r.push_back(counter("processes"));
  auto uptime = c.text("uptime");
  r.push_back(uptime && !uptime->empty() ? Value(std::strtod(uptime->c_str(), nullptr)) : Value());
  sink(std::move(r));
}

}  // namespace

const char* TableName(TableKind t) {
  switch (t) {
    case TableKind::Processes: return "processes";
    case TableKind::Threads: return "threads";
    case TableKind::Sockets: return "sockets";
    case TableKind::Sysctls: return "sysctls";
    case TableKind::Mounts: return "mounts";
    case TableKind::Modules: return "modules";
    case TableKind::Interfaces: return "interfaces";
    case TableKind::System: return "system";
  }
  return "?";
}

std::optional<TableKind> TableByName(std::string_view name) {
  for (TableKind t : kAllTables)
    if (name == TableName(t)) return t;
  return std::nullopt;
}

const std::vector<std::string>& TableColumns(TableKind t) {
  static const std::map<TableKind, std::vector<std::string>> columns = {
      {TableKind::Processes,
       With({"pid", "ppid", "comm", "exe", "exe_sha256", "cmdline", "state", "uid", "gid", "threads", "start_time",
             "cpu_user_seconds", "cpu_system_seconds", "rss_bytes", "vsize_bytes", "fds", "cgroup", "read_bytes",
             "write_bytes", "oom_score_adj", "netns", "pidns"})},
      {TableKind::Threads,
       With({"pid", "tid", "comm", "state", "cpu_user_seconds", "cpu_system_seconds", "processor"})},
      {TableKind::Sockets,
       With({"protocol", "local_address", "local_port", "remote_address", "remote_port", "state", "inode", "uid",
             "pid", "netns"})},
      {TableKind::Sysctls, With({"name", "value"})},
      {TableKind::Mounts,
       With({"mount_id", "parent_id", "source", "mount_point", "fs_type", "options", "super_options",
             "propagation"})},
      {TableKind::Modules, With({"name", "size_bytes", "instances", "dependencies", "state"})},
      {TableKind::Interfaces,
       With({"name", "rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors",
             "tx_dropped", "netns"})},
      {TableKind::System,
       With({"kernel_release", "cpus", "load1", "load5", "load15", "mem_total_bytes", "mem_available_bytes",
             "swap_total_bytes", "swap_free_bytes", "processes", "running", "cpu_user_seconds", "cpu_system_seconds",
             "cpu_iowait_seconds", "cpu_steal_seconds", "context_switches", "forks", "uptime_seconds"})},
  };
  return columns.at(t);
}

Status SnapshotRows(const View& v, const std::vector<TableKind>& tables,
                    const std::function<void(TableKind, Row&&)>& sink, std::vector<std::string>* warnings) {
  Context c(v, warnings);  // shared: the host, the pid list, files several tables read
  for (TableKind t : tables) {
    const size_t width = TableColumns(t).size();
    auto checked = [&](Row&& r) {
      r.resize(width);  // a row is always as wide as its table
      sink(t, std::move(r));
    };
    switch (t) {
      case TableKind::Processes: Processes(c, checked); break;
      case TableKind::Threads: Threads(c, checked); break;
      case TableKind::Sockets: Sockets(c, checked); break;
      case TableKind::Sysctls: Sysctls(c, checked); break;
      case TableKind::Mounts: Mounts(c, checked); break;
      case TableKind::Modules: Modules(c, checked); break;
      case TableKind::Interfaces: Interfaces(c, checked); break;
      case TableKind::System: System(c, checked); break;
    }
  }
  return c.files.damage();
}

}  // namespace procsnap
