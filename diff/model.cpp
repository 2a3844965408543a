#include "model.h"

#include <functional>

namespace procsnap {

namespace {

// The bytes of a file, or "" when the snapshot has none (a read that failed
// at capture, a file not captured). Damage to the archive itself is kept in
// `files` and becomes m.damage: the diff then fails rather than invent
// changes from empty text.
std::string Read(CapturedFiles& files, const std::string& path) { return files.text(path).value_or(std::string()); }

std::string FirstLine(std::string s) {
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

void ReadSysctls(const View& v, CapturedFiles& files, Model& m) {
  const Snapshot& s = v.snapshot();
  ForEachSysctl(s, [&](const std::string& name, NodeId c) {
    auto bytes = s.read(c);
    if (!bytes.ok()) {
      files.damaged(bytes.status());
      return;
    }
    std::string value = *bytes;
    while (!value.empty() && value.back() == '\n') value.pop_back();
    for (char& ch : value)
      if (ch == '\t' || ch == '\n') ch = ' ';
    m.sysctls[name] = value;
  });
}

void ReadProcess(const View& v, CapturedFiles& files, long pid, Model& m) {
  std::string dir = std::to_string(pid);
  std::string problem;
  auto stat = ParsePidStat(Read(files, dir + "/stat"), &problem);
  if (!stat) {
    m.problems.push_back(v.display(v.snapshot().lookup(dir)) + "/stat: " + problem);
    return;
  }
  ProcessInfo p;
  p.stat = *stat;
  p.cmdline = JoinCmdline(Read(files, dir + "/cmdline"));
  if (p.cmdline.empty()) p.cmdline = "[" + p.stat.comm + "]";
  auto status = ParseKeyValue(Read(files, dir + "/status"), ':');
  p.uid = status.count("Uid") ? status["Uid"].substr(0, status["Uid"].find_first_of(" \t")) : "";
  const Snapshot& s = v.snapshot();
  for (const char* link : {"cwd", "exe"}) {
    auto id = v.resolve(dir + "/" + link, false);
    std::string target = id.ok() ? std::string(s.linkTarget(*id)) : "";
    (std::string(link) == "cwd" ? p.cwd : p.exe) = target;
  }
  p.cgroup = Read(files, dir + "/cgroup");
  while (!p.cgroup.empty() && p.cgroup.back() == '\n') p.cgroup.pop_back();
  p.limits = ParseLimits(Read(files, dir + "/limits"));
  p.mapped = ParseMappedFiles(Read(files, dir + "/maps"));
  p.environ = ParseEnviron(Read(files, dir + "/environ"));
  auto io = ParseKeyValue(Read(files, dir + "/io"), ':');
  p.ioBytes = std::strtoull(io["read_bytes"].c_str(), nullptr, 10) + std::strtoull(io["write_bytes"].c_str(), nullptr, 10);
  NodeId fd = s.lookup(dir + "/fd");
  if (fd != kNoNode) {
    auto [lo, hi] = s.children(fd);
    p.fds = hi - lo;
    for (NodeId c = lo; c < hi; ++c) {
      if (auto inode = LinkInode(s.linkTarget(c), "socket")) m.socketOwner.emplace(*inode, pid);
    }
  }
  m.processes.emplace(pid, std::move(p));
}

}  // namespace

void ForEachSysctl(const Snapshot& s, const std::function<void(const std::string& name, NodeId file)>& f) {
  std::function<void(NodeId, const std::string&, const std::string&)> walk = [&](NodeId dir, const std::string& prefix,
                                                                              const std::string& suffix) {
    auto [lo, hi] = s.children(dir);
    for (NodeId c = lo; c < hi; ++c) {
      std::string name = prefix.empty() ? std::string(s.name(c)) : prefix + "." + std::string(s.name(c));
      const Node& n = s.node(c);
      if (n.kind == NodeKind::Directory || n.kind == NodeKind::Alias) walk(c, name, suffix);
      else if (n.kind == NodeKind::File && n.reason == Reason::None && !n.error) f(name + suffix, c);
    }
  };
  if (NodeId sys = s.lookup("sys"); sys != kNoNode) walk(sys, "", "");
  if (NodeId other = s.lookup(kNetnsSysctlsDir); other != kNoNode && NotInProc(s, other)) {
    auto [lo, hi] = s.children(other);
    for (NodeId ns = lo; ns < hi; ++ns) walk(ns, "", " in net:[" + std::string(s.name(ns)) + "]");
  }
}

bool VolatileSysctl(const std::string& name) {
  for (const char* prefix : {"kernel.random.uuid", "kernel.random.entropy_avail", "kernel.ns_last_pid",
                             "fs.dentry-state", "fs.dentry-negative", "fs.inode-nr", "fs.inode-state", "fs.file-nr",
                             "fs.aio-nr", "kernel.pty.nr", "fs.quota.", "net.netfilter.nf_conntrack_count",
                             "kernel.hung_task_detect_count", "fs.xfs.stats_clear"})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

Result<std::string> ReadCaptured(const View& v, const std::string& path) {
  auto r = ReadIfCaptured(v, path);
  if (!r.ok()) return r.status();
  return r->value_or(std::string());
}

Model BuildModel(const View& v) {
  Model m;
  CapturedFiles files(v);
  const Snapshot& s = v.snapshot();
  const Metadata& meta = s.metadata();
  m.bootId = meta.bootId;
  m.kernelRelease = meta.kernelRelease;
  m.kernelVersion = meta.kernelVersion;
  m.hostname = meta.hostname;
  m.monoNs = meta.startMonoNs;
  if (meta.clockTicks) m.clockTicks = meta.clockTicks;
  m.system["kernel command line"] = FirstLine(Read(files, "cmdline"));
  m.system["cpus"] = std::to_string(CountCpus(Read(files, "cpuinfo")));
  auto meminfo = ParseKeyValue(Read(files, "meminfo"), ':');
  for (const char* k : {"MemTotal", "SwapTotal", "HugePages_Total"})
    if (meminfo.count(k)) m.system[k] = meminfo[k];
  for (const auto& line : ParseKeyValue(Read(files, "modules"), ' ')) m.modules.insert(line.first);
  std::vector<std::string> mountProblems;
  for (auto& mi : ParseMountInfo(Read(files, "self/mountinfo"), &mountProblems))
    m.mounts[mi.target + " (" + mi.fstype + ")"] =
        mi.options + (mi.superOptions.empty() ? "" : ";" + mi.superOptions) +
        (mi.propagation.empty() ? "" : " " + mi.propagation);
  for (auto& p : mountProblems) m.problems.push_back("mountinfo: " + p);
  for (auto& swap : ParseSwaps(Read(files, "swaps"))) m.swaps.insert(swap);
  ReadSysctls(v, files, m);
  auto self = v.resolve("self", false);
  if (self.ok()) m.capturer = std::atol(std::string(s.linkTarget(*self)).c_str());
  auto [lo, hi] = s.children(0);
  for (NodeId c = lo; c < hi; ++c) {
    std::string_view name = s.name(c);
    if (IsNumberName(name)) {
      long pid = std::atol(std::string(name).c_str());
      if (pid != m.capturer) ReadProcess(v, files, pid, m);
    }
  }
  for (const char* proto : {"tcp", "tcp6", "udp", "udp6"}) {
    auto text = v.read(std::string("net/") + proto);
    if (!text.ok()) {
      if (ArchiveDamage(text.status())) files.damaged(text.status());
      continue;
    }
    std::vector<std::string> problems;
    auto sockets = ParseNetTable(*text, proto, &problems);
    for (auto& p : problems) m.problems.push_back(std::string("net/") + proto + ": " + p);
    m.sockets.insert(m.sockets.end(), sockets.begin(), sockets.end());
  }
  {
    std::vector<std::string> problems;
    m.unixListeners = ParseUnixListeners(Read(files, "net/unix"), &problems);
    for (auto& p : problems) m.problems.push_back("net/unix: " + p);
    for (auto& dev : ParseNetDev(Read(files, "net/dev"))) m.interfaces.insert(dev.name);
  }
  {
    auto stat = ParseProcStat(Read(files, "stat"));
    for (auto [key, name] : {std::pair{"ctxt", "context switches"}, std::pair{"processes", "forks"},
                             std::pair{"intr", "interrupts"}})
      if (stat.count(key)) m.counters[name] = double(stat[key]);
    auto vmstat = ParseKeyValue(Read(files, "vmstat"), ' ');
    for (auto [key, name] : {std::pair{"pgfault", "page faults"}, std::pair{"pgmajfault", "major page faults"},
                             std::pair{"pswpin", "swap-ins"}, std::pair{"pswpout", "swap-outs"},
                             std::pair{"oom_kill", "oom kills"}})
      if (vmstat.count(key)) m.counters[name] = std::atof(vmstat[key].c_str());
    std::vector<std::string> problems;
    auto snmp = ParseSnmp(Read(files, "net/snmp"), &problems);
    for (auto& p : problems) m.problems.push_back("net/snmp: " + p);
    for (auto [key, name] : {std::pair{"Tcp.ActiveOpens", "tcp active opens"},
                             std::pair{"Tcp.PassiveOpens", "tcp passive opens"},
                             std::pair{"Tcp.RetransSegs", "tcp retransmitted segments"},
                             std::pair{"Udp.InErrors", "udp receive errors"}})
      if (snmp.count(key)) m.counters[name] = double(snmp[key]);
    m.loadavg = ParseLoadavg(Read(files, "loadavg"));
  }
  std::function<void(NodeId, const std::string&)> listFiles = [&](NodeId dir, const std::string& prefix) {
    auto [first, last] = s.children(dir);
    for (NodeId c = first; c < last; ++c) {
      std::string name(s.name(c));
      if (prefix.empty() && (IsNumberName(name) || name == "sys" || NotInProc(s, c))) continue;
      std::string path = prefix.empty() ? name : prefix + "/" + name;
      m.files.emplace(path, c);
      if (s.node(c).kind == NodeKind::Directory) listFiles(c, path);
    }
  };
  listFiles(0, "");
  m.damage = files.damage();
  return m;
}

}  // namespace procsnap
