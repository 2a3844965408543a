// The checks behind FindingsOf, each over the processes, mounts and
// sockets of one snapshot, read through procfs/'s parsers.
#include "findings.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

#include "procfs/procfs.h"

namespace procsnap {

namespace {

struct Process {
  long pid = 0;
  std::string comm, uid, exe;  // exe: the link's target, "" when not read
  long ppid = -1;
  const Executable* program = nullptr;  // capture's record of the file, when it made one
};

// The link target without the " (deleted)" procfs appends: the name it had.
std::string_view NameOf(std::string_view exe) {
  if (exe.ends_with(" (deleted)")) exe.remove_suffix(10);
  return exe;
}

// An executable that exists in memory only: memfd_create, or a file in a
// memory file system that vanishes with the machine.
bool MemoryOnly(std::string_view exe) {
  return exe.starts_with("/memfd:") || exe.starts_with("memfd:") || exe.starts_with("/dev/shm/");
}
bool Deleted(std::string_view exe) { return exe.ends_with(" (deleted)"); }
bool FromTempDir(std::string_view exe) {
  for (std::string_view d : {"/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/"})
    if (exe.starts_with(d)) return true;
  return false;
}

// Names the kernel gives its own threads, which malware borrows.
bool KernelThreadName(std::string_view comm) {
  for (std::string_view p : {"kworker", "ksoftirqd", "kthreadd", "migration/", "rcu_", "watchdog", "kswapd",
                             "khugepaged", "kcompactd", "irq/", "jbd2/", "kblockd", "kauditd", "ksmd", "cpuhp/"})
    if (comm.starts_with(p)) return true;
  return false;
}

class Checker {
 public:
  Checker(const View& v, std::vector<std::string>* warnings) : v_(v), s_(v.snapshot()), warnings_(warnings) {}

  Result<std::vector<Finding>> run() {
    loadProcesses();
    executables();
    sameHashTwoNames();
    hiddenPids();
    overmounts();
    listeners();
    if (!files_.damage().ok()) return files_.damage();
    std::stable_sort(out_.begin(), out_.end(),
                     [](const Finding& a, const Finding& b) { return std::tie(a.kind, a.pid) < std::tie(b.kind, b.pid); });
    return out_;
  }

 private:
  std::optional<std::string> text(const std::string& path) { return files_.text(path); }

  Finding about(const Process& p, std::string kind, std::string why) {
    Finding f;
    f.kind = std::move(kind);
    f.pid = p.pid;
    f.process = p.comm;
    f.user = p.uid;
    f.why = std::move(why);
    return f;
  }

  // The exe link and what capture recorded of the file behind it.
  void program(const Process& p, Finding& f) {
    const Executable* e = p.program;
    // A process under a mount shows no exe link; capture read its program another way.
    f.evidence.push_back({"exe", p.exe.empty() && e ? e->path : p.exe});
    if (f.process.empty() && e) f.process = e->path.substr(e->path.rfind('/') + 1);
    if (!e) return;
    if (!e->sha256.empty()) f.evidence.push_back({"sha256", e->sha256});
    f.evidence.push_back({"size", std::to_string(e->size)});
    if (e->kept.size) f.evidence.push_back({"bytes kept", "procsnap executables ARCHIVE --extract " + e->sha256});
    if (e->error) f.evidence.push_back({"read error", ErrnoName(e->error)});
    if (!e->note.empty() && !e->kept.size) f.evidence.push_back({"capture note", e->note});
  }

  void loadProcesses() {
    const auto programs = ExecutablesByPid(s_.metadata());
    auto [lo, hi] = s_.children(0);
    for (NodeId c = lo; c < hi; ++c) {
      if (!IsNumberName(s_.name(c))) continue;
      Process p;
      p.pid = std::atol(std::string(s_.name(c)).c_str());
      const std::string dir = std::to_string(p.pid);
      if (auto stat = text(dir + "/stat")) {
        std::string problem;
        if (auto ps = ParsePidStat(*stat, &problem)) {
          p.comm = ps->comm;
          p.ppid = ps->ppid;
        } else if (warnings_) {
          warnings_->push_back(dir + "/stat: " + problem);
        }
      }
      if (auto status = text(dir + "/status")) {
        auto kv = ParseKeyValue(*status, ':');
        if (kv.count("Uid")) p.uid = kv["Uid"].substr(0, kv["Uid"].find_first_of(" \t"));
        if (p.comm.empty() && kv.count("Name")) p.comm = kv["Name"];
      }
      auto exe = v_.resolve(dir + "/exe", false);
      if (exe.ok() && s_.node(*exe).kind == NodeKind::Symlink && !s_.node(*exe).error)
        p.exe = std::string(s_.linkTarget(*exe));
      if (auto e = programs.find(p.pid); e != programs.end()) p.program = e->second;
      processes_.push_back(std::move(p));
    }
  }

  void executables() {
    for (const Process& p : processes_) {
      if (p.exe.empty()) continue;
      if (MemoryOnly(p.exe)) {
        Finding f = about(p, "memory-executable",
                          "the program runs from memory (memfd or /dev/shm): no file on disk holds it, a way to "
                          "run code that leaves nothing to scan");
        program(p, f);
        out_.push_back(std::move(f));
      } else if (Deleted(p.exe)) {
        Finding f = about(p, "deleted-executable",
                          "the program's file was deleted after it started: malware removes itself this way (an "
                          "upgrade that replaced a running binary looks the same)");
        program(p, f);
        out_.push_back(std::move(f));
      }
      // A kernel thread has no executable; a user process named like one hides among them.
      if (KernelThreadName(p.comm)) {
        Finding f = about(p, "kernel-name-mismatch",
                          "named like a kernel thread but runs a user-space program: a common disguise");
        f.evidence.push_back({"comm", p.comm});
        f.evidence.push_back({"ppid", std::to_string(p.ppid)});
        program(p, f);
        out_.push_back(std::move(f));
      }
    }
  }

  // One content under two names: a system program copied somewhere and
  // renamed (a "kworker" that is /usr/bin/nc), found by capture's hashes.
  void sameHashTwoNames() {
    std::map<std::string, std::vector<const Executable*>> byHash;
    for (const Executable& e : s_.metadata().executables)
      if (!e.sha256.empty()) byHash[e.sha256].push_back(&e);
    for (const auto& [hash, files] : byHash) {
      std::set<std::string_view> names;
      for (const Executable* e : files) names.insert(NameOf(e->path));
      if (names.size() < 2) continue;
      Finding f;
      f.kind = "same-executable-two-names";
      f.why = "one program file's content runs under two names: a copy of a known program renamed to blend in, "
              "or a deleted copy of one (a legitimate install rarely has two copies running)";
      f.evidence.push_back({"sha256", hash});
      for (const Executable* e : files) {
        std::string pids;
        for (uint32_t p : e->pids) {
          if (!pids.empty()) pids += ',';
          pids += std::to_string(p);
        }
        f.evidence.push_back({e->path, "pids " + pids});
        for (const Process& p : processes_)  // the finding names a process of the second name
          if (f.pid < 0 && !e->pids.empty() && p.pid == static_cast<long>(e->pids[0]) && e != files[0]) {
            f.pid = p.pid;
            f.process = p.comm;
            f.user = p.uid;
          }
      }
      out_.push_back(std::move(f));
    }
  }

  // Capture's scan for pids that answer stat() but are missing from the
  // listing of /proc (metadata notes).
  void hiddenPids() {
    const std::string marker = " answers to stat() but is missing from the listing";
    for (const auto& note : s_.metadata().notes) {
      size_t at = note.find(marker);
      if (!note.starts_with("pid ") || at == std::string::npos) continue;
      Finding f;
      f.kind = "hidden-pid";
      f.pid = std::atol(note.c_str() + 4);
      f.evidence.push_back({"capture note", note});
      f.why = "a process hidden from readdir of /proc is what rootkits do; it was captured anyway";
      for (const Process& p : processes_)
        if (p.pid == f.pid) {
          f.process = p.comm;
          f.user = p.uid;
        }
      out_.push_back(std::move(f));
    }
  }

  // Mounts over /proc or /proc/PID in any mount namespace a process shows.
  void overmounts() {
    std::set<std::string> seen;  // mount namespaces (or mountinfo texts) already read
    for (const Process& p : processes_) {
      const std::string dir = std::to_string(p.pid);
      auto ns = v_.resolve(dir + "/ns/mnt", false);
      std::string key = ns.ok() && s_.node(*ns).kind == NodeKind::Symlink ? std::string(s_.linkTarget(*ns)) : "";
      auto info = text(dir + "/mountinfo");
      if (!info) continue;
      if (key.empty()) key = *info;
      if (!seen.insert(key).second) continue;
      std::vector<std::string> problems;
      for (const MountInfo& m : ParseMountInfo(*info, &problems)) {
        const bool overPid = m.target.starts_with("/proc/") && IsNumberName(m.target.substr(6, m.target.find('/', 6) - 6));
        const bool overProc = m.target == "/proc" && m.fstype != "proc";
        if (!overPid && !overProc) continue;
        Finding f = about(p, "proc-overmount",
                          overPid ? "a mount over /proc/PID hides that process's files from ps and top"
                                  : "/proc is not procfs here: every tool that reads it is shown something else");
        if (overPid) {  // the finding is about the process whose files are hidden
          const long hiddenPid = std::atol(m.target.c_str() + 6);
          for (const Process& h : processes_)
            if (h.pid == hiddenPid) {
              f = about(h, f.kind, f.why);
              program(h, f);
            }
        }
        f.evidence.push_back({"mount point", m.target});
        f.evidence.push_back({"fs type", m.fstype});
        f.evidence.push_back({"source", m.source});
        f.evidence.push_back({"seen by", "pid " + dir + (ns.ok() ? " (" + std::string(s_.linkTarget(*ns)) + ")" : "")});
        out_.push_back(std::move(f));
      }
    }
  }

  // Listening sockets owned by a program from a temporary directory, or
  // one deleted or in memory.
  void listeners() {
    std::unordered_map<uint64_t, const Process*> owner;
    for (const Process& p : processes_) {
      NodeId fd = s_.lookup(std::to_string(p.pid) + "/fd");
      if (fd == kNoNode || s_.node(fd).kind != NodeKind::Directory) continue;
      auto [lo, hi] = s_.children(fd);
      for (NodeId l = lo; l < hi; ++l) {
        if (auto inode = LinkInode(s_.linkTarget(l), "socket")) owner.emplace(*inode, &p);
      }
    }
    for (const char* proto : {"tcp", "tcp6", "udp", "udp6"}) {
      auto table = text(std::string("net/") + proto);
      if (!table) continue;
      std::vector<std::string> problems;
      for (const NetSocket& s : ParseNetTable(*table, proto, &problems)) {
        if (!s.listening()) continue;
        auto it = owner.find(s.inode);
        if (it == owner.end()) continue;
        const Process& p = *it->second;
        if (!FromTempDir(p.exe) && !Deleted(p.exe) && !MemoryOnly(p.exe)) continue;
        Finding f = about(p, "suspicious-listener",
                          "a program from a temporary directory, deleted or in memory accepts connections: a "
                          "backdoor's shape");
        f.evidence.push_back({"socket", std::string(proto) + " " + s.local});
        program(p, f);
        out_.push_back(std::move(f));
      }
    }
  }

  const View& v_;
  const Snapshot& s_;
  std::vector<std::string>* warnings_;
  CapturedFiles files_{v_};
  std::vector<Process> processes_;
  std::vector<Finding> out_;
};

}  // namespace

Result<std::vector<Finding>> FindingsOf(const View& v, std::vector<std::string>* warnings) {
  return Checker(v, warnings).run();
}

}  // namespace procsnap
