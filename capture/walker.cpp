#include "walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <map>
#include <cstring>

#include "carry_rules.h"
#include "dir_entries.h"
#include "host_facts.h"
#include "policy.h"
#include "procfs/procfs.h"

namespace procsnap {

namespace {

constexpr size_t kInitialBuffer = 256u << 10;  // grows for the rare large file
constexpr unsigned kMaxDepth = 512;  // readers reject trees deeper than 1024

// Start time of a /proc/PID/stat, 0 when it cannot be read.
uint64_t StartTime(std::string_view stat) {
  auto s = ParsePidStat(stat, nullptr);
  return s ? s->starttime : 0;
}

// PID/x or PID/task/TID/x: the per-task entry x, or "" for other paths.
std::string_view TaskEntry(std::string_view rel) {
  auto p = SplitPath(rel);
  if (p.size() == 2 && IsNumberName(p[0])) return p[1];
  if (p.size() == 4 && IsNumberName(p[0]) && p[1] == "task" && IsNumberName(p[2])) return p[3];
  return "";
}

// What the kernel makes from what every thread of a group shares
// (fs/proc/base.c): its one memory map (auxv ... statm, ksm_*,
// coredump_filter, oom_score), its signal struct (limits, oom_adj,
// oom_score_adj, autogroup) and its user namespace, which a thread cannot
// leave alone (uid_map, gid_map, projid_map, setgroups). A task/TID/ copy
// equals its process's, which the walk reads first (names sort before
// "task"). smaps of a process with hundreds of threads would otherwise be
// read hundreds of times, milliseconds each.
constexpr std::string_view kSharedMmFiles[] = {
    "auxv",      "cmdline", "environ",       "maps",          "numa_maps",  "smaps",    "statm",
    "ksm_merging_pages", "ksm_stat", "coredump_filter", "oom_score", "limits", "oom_adj", "oom_score_adj",
    "autogroup", "uid_map", "gid_map",       "projid_map",    "setgroups"};

bool FromSharedMm(std::string_view name) {
  return std::find(std::begin(kSharedMmFiles), std::end(kSharedMmFiles), name) != std::end(kSharedMmFiles);
}

NodeKind KindOf(mode_t m) {
  if (S_ISDIR(m)) return NodeKind::Directory;
  if (S_ISREG(m)) return NodeKind::File;
  if (S_ISLNK(m)) return NodeKind::Symlink;
  return NodeKind::Other;
}

NodeKind KindOfDtype(unsigned char t) {
  switch (t) {
    case DT_DIR: return NodeKind::Directory;
    case DT_REG: return NodeKind::File;
    case DT_LNK: return NodeKind::Symlink;
    default: return NodeKind::Other;
  }
}

}  // namespace

bool WalkShared::outOfTime() {
  if (stopped.load(std::memory_order_acquire)) return true;
  const bool interrupted = options->interrupt && options->interrupt->load();
  if (!interrupted && (!deadlineMonoNs || ClockNs(CLOCK_MONOTONIC) <= deadlineMonoNs)) return false;
  static std::mutex mu;  // the first to see it writes the note
  std::lock_guard<std::mutex> lock(mu);
  if (!stopped.load()) {
    stopNote = interrupted ? "not read: the capture was interrupted" : "not read: the capture time limit was reached";
    stopped.store(true, std::memory_order_release);
  }
  return true;
}

// What moves whenever the task at `dir` (PID/task/TID) runs: its run count
// and run time in schedstat, or where the kernel has no schedstat, the
// context switch counts in status. "" when neither can be read.
std::string RunCount(int rootFd, const std::string& dir) {
  std::string line = ReadSmall(rootFd, dir + "/schedstat");
  if (!line.empty()) return line;
  std::string status = ReadSmall(rootFd, dir + "/status");
  std::string out;
  for (std::string_view key : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
    size_t at = status.find(key);
    if (at == std::string::npos) return "";
    out += status.substr(at, status.find('\n', at) - at) + ";";
  }
  return out;
}

// Whether two activity records (stat line first) are of one kernel thread:
// both flagged PF_KTHREAD, one start time.
bool SameKernelThread(std::string_view before, std::string_view now) {
  auto a = ParsePidStat(before.substr(0, before.find('\n')), nullptr);
  auto b = ParsePidStat(now.substr(0, now.find('\n')), nullptr);
  return a && b && a->kernelThread() && b->kernelThread() && a->starttime == b->starttime && a->pid == b->pid;
}

// PID/x and PID/task/TID/x made by one show() (fs/proc/base.c ONE()):
// a read given room for all of it returns all of it, so a short read was
// the end (the read that would find it is skipped: a syscall per file).
bool IsOneShow(std::string_view entry) {
  return entry == "stat" || entry == "statm" || entry == "status" || entry == "io" || entry == "schedstat";
}

// Whether two stat lines are of one program: the same start time (not a
// reused pid), command and code addresses (an exec changes both, or with
// ASLR the addresses at least).
bool SameProgram(std::string_view before, std::string_view now) {
  auto fields = [](std::string_view line) {
    line = line.substr(0, line.find('\n'));
    const size_t close = line.rfind(')');
    std::vector<std::string_view> f;
    if (close == std::string_view::npos) return f;
    for (std::string_view rest = line.substr(close + 1); !rest.empty();) {
      rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
      const size_t end = std::min(rest.find(' '), rest.size());
      if (end) f.push_back(rest.substr(0, end));
      rest.remove_prefix(end);
    }
    return f;
  };
  const auto a = fields(before), b = fields(now);
  // After the command: field 3 is f[0]; starttime is 22, startcode 26, endcode 27, startstack 28.
  if (a.size() < 26 || b.size() < 26) return false;
  for (size_t i : {22u - 3, 26u - 3, 27u - 3, 28u - 3})
    if (a[i] != b[i]) return false;
  return before.substr(0, before.rfind(')', before.find('\n'))) == now.substr(0, now.rfind(')', now.find('\n')));
}

// Whether a user namespace file (CarryRule::OnceWritten) of directory
// `dir` had been written: it was read with content (setgroups: gid_map was).
bool Written(const Tree& t, NodeId dir, std::string_view name) {
  const NodeId f = t.child(dir, name == "setgroups" ? "gid_map" : name);
  if (f == kNoNode) return false;
  const Node& n = t.node(f);
  return n.kind == NodeKind::File && n.error == 0 && n.size > 0 &&
         (n.reason == Reason::None || n.reason == Reason::Carried);
}

// The node at `rel` ("1/task/1/fd"), kNoNode if there is none.
NodeId NodeAt(const Tree& t, std::string_view rel) {
  NodeId n = 0;
  for (auto part : SplitPath(rel)) n = t.child(n, part);
  return n;
}

// A subtree that may be carried: nothing in it was left unread for time,
// and its aliases are net/ entries (which are walked, not carried).
bool Carriable(const Tree& t, NodeId id) {
  const Node& n = t.node(id);
  if (n.reason == Reason::TimeLimit) return false;
  if (n.kind == NodeKind::Alias) return t.str(n.name) == "net";
  if (n.kind != NodeKind::Directory) return true;
  auto [lo, hi] = t.children(id);
  for (NodeId c = lo; c < hi; ++c)
    if (!Carriable(t, c)) return false;
  return true;
}

void MarkUnvisited(Fragment& frag, NodeId current, const std::string& why, const std::string& rest) {
  Tree& t = frag.tree;
  const uint32_t whyNote = t.intern(why), restNote = t.intern(rest);
  for (NodeId i = 0; i < t.size(); ++i) {
    Node& n = t.at(i);
    // Visited nodes have a mode (from stat), an error or a reason.
    bool unvisited = n.mode == 0 && n.error == 0 && n.reason == Reason::None;
    if (i != current && !unvisited) continue;
    if (n.reason == Reason::None) ++frag.counts.skipped;
    n.reason = Reason::TimeLimit;
    n.note = i == current ? whyNote : restNote;
  }
}

Walker::Walker(WalkShared& shared, std::shared_ptr<WalkerWatch> watch) : shared_(shared), watch_(std::move(watch)) {}

void Walker::walkTopLevel(int rootFd, const std::string& name, unsigned char dtype, uint32_t fragmentId,
                          Fragment& frag) {
  frag_ = &frag;
  ++fragmentGen_;
  mountKeyDir_.clear();
  rootFd_ = rootFd;
  fragmentId_ = fragmentId;
  startTime_ = 0;
  processFiles_.clear();
  frag.tree.add(name);
  if (shared_.procfs && name == kNetnsSysctlsDir) {
    walkNetnsSysctls(rootFd);
    frag_ = nullptr;
    return;
  }
  // Carry: a process none of whose threads ran since the previous capture
  // has its subtree from that capture's tree, but for what others change.
  const CaptureOptions& o = *shared_.options;
  // A light capture carries every process it saw before but its counters;
  // a new one (or one that exec'd) is read whole.
  if (shared_.procfs && IsNumberName(name) && o.light && o.carry) {
    if (auto read = shared_.pidStats.find(name); read != shared_.pidStats.end()) {
      frag.stat = read->second;
    } else {
      begin(kNoNode);
      frag.stat = ReadOneShow(rootFd, name + "/stat");
      end();
    }
    preread_ = {name + "/stat", frag.stat};  // the carry reads it again: this read serves
    auto was = o.carry->stat.find(name);
    if (!frag.stat.empty() && was != o.carry->stat.end() && SameProgram(was->second, frag.stat) &&
        carrySubtree(name, 0, 1, CarryPlace::LightTick, kLightTickWhy)) {
      preread_ = {};
      frag_ = nullptr;
      return;
    }
    preread_ = {};
  } else if (shared_.procfs && IsNumberName(name) && (o.carry || o.carryOut)) {
    begin(kNoNode);
    frag.stat = processActivity(rootFd, name);
    end();
    auto was = o.carry && !frag.stat.empty() ? o.carry->stat.find(name) : decltype(o.carry->stat.end())();
    if (o.carry && !frag.stat.empty() && was != o.carry->stat.end() && was->second == frag.stat &&
        carrySubtree(name, 0, 1, CarryPlace::Process, kIdleProcessWhy)) {
      // Nor had its threads: their lines stay the ones to compare with.
      const Tree& from = o.carry->treeFor(name);
      NodeId task = NodeAt(from, name + "/task");
      if (o.carryOut && task != kNoNode && from.node(task).kind == NodeKind::Directory) {
        auto [lo, hi] = from.children(task);
        for (NodeId c = lo; c < hi; ++c) {
          std::string key = name + "/task/" + std::string(from.str(from.node(c).name));
          if (auto line = o.carry->stat.find(key); line != o.carry->stat.end())
            frag.threadStats.emplace_back(key, line->second);
        }
      }
      frag_ = nullptr;
      return;
    }
    // A kernel thread that ran, the same one as before: its counters are read, the rest carried.
    if (o.carry && was != o.carry->stat.end() && SameKernelThread(was->second, frag.stat) &&
        carrySubtree(name, 0, 1, CarryPlace::KernelThreadThatRan, kKernelThreadWhy)) {
      frag_ = nullptr;
      return;
    }
  }
  // kallsyms (megabytes, the costliest file to generate) changes only when
  // a module comes or goes: unchanged modules, unchanged symbols.
  if (shared_.procfs && name == "kallsyms" && (o.carry || o.carryOut)) {
    begin(kNoNode);
    frag.modules = ReadWhole(rootFd, "modules", 16u << 20);
    // A kernel without modules has no /proc/modules: its symbols never change.
    if (frag.modules.empty() && ::faccessat(rootFd, "modules", F_OK, 0) != 0 && errno == ENOENT)
      frag.modules = "(no modules)";
    end();
    if (o.carry && !frag.modules.empty() && frag.modules == o.carry->modules &&
        carryFile(name, "read at " + WallTime(o.carry->readWallNs) +
                            "; /proc/modules was unchanged since, so the symbols were too")) {
      frag_ = nullptr;
      return;
    }
  }
  // A light capture carries the rest of the root but its counters
  // (LightReads): sys/ (1,400 tunables here), slabinfo, vmallocinfo
  // (74 KiB), pagetypeinfo (a walk of every page block)...
  if (shared_.procfs && o.light && o.carry && !IsNumberName(name) && name != "kallsyms" && !LightReads(name) &&
      ((dtype == DT_DIR && carrySubtree(name, 0, 1, CarryPlace::Process, kLightTickWhy)) ||
       (dtype == DT_REG &&
        carryFile(name, "read at " + WallTime(o.carry->readWallNs) + "; " + std::string(kLightTickWhy))))) {
    frag_ = nullptr;
    return;
  }
  // Read at full captures only: bus/ (PCI configuration space: each read a
  // trip to the device, on a VM an exit to the hypervisor) and fs/ (file
  // system internals such as ext4's block groups and extent cache, each
  // generated by walking the file system's structures).
  if (shared_.procfs && (name == "bus" || name == "fs") && o.carry &&
      carrySubtree(name, 0, 1, CarryPlace::Process, name + "/ is read at every full snapshot (it is costly to generate)")) {
    frag_ = nullptr;
    return;
  }
  visit(rootFd, name, name, 0, dtype, 1);

  // A PID that vanished or was reused while we walked it is worth knowing.
  if (shared_.procfs && IsNumberName(name) && startTime_ != 0) {
    begin(kNoNode);
    std::string stat = ReadSmall(rootFd, name + "/stat");
    end();
    if (stat.empty()) {
      frag.notes.push_back("pid " + name + " exited during the capture; its entries may be partial");
    } else if (uint64_t later = StartTime(stat); later != startTime_) {
      frag.notes.push_back("pid " + name + " was reused during the capture (start time " + std::to_string(startTime_) +
                           " then " + std::to_string(later) + "); its entries may mix two processes");
    }
  }
  if (buf_.size() > 8 * kInitialBuffer) buf_.release();
  frag_ = nullptr;
}

// `rel`'s subtree from the previous capture into `slot` (at `depth`), every
// node marked carried with `why`, but for the entries CarryRuleOf says to read.
bool Walker::carrySubtree(const std::string& rel, NodeId slot, unsigned depth, CarryPlace place,
                          std::string_view why) {
  const Tree& from = shared_.options->carry->treeFor(rel.substr(0, rel.find('/')));
  NodeId src = NodeAt(from, rel);
  if (src == kNoNode || from.node(src).kind != NodeKind::Directory || !Carriable(from, src)) return false;
  carriedNote_ = "read at " + WallTime(shared_.options->carry->readWallNs) + "; " + std::string(why);
  carriedNoteIndex_ = 0;
  carryPlace_ = place;
  Tree& t = frag_->tree;
  const uint32_t nameIdx = t.node(slot).name;
  t.at(slot) = from.node(src);
  t.at(slot).name = nameIdx;
  t.at(slot).note = 0;
  ++frag_->counts.directories;
  copyChildren(rootFd_, from, src, slot, rel, depth);
  return true;
}

// What moves whenever any thread of process `pid` runs: its stat line (CPU
// time in ticks, faults, RSS, nice...) and each thread's run count, which
// a wake-up that opens one file and sleeps again moves while the stat
// line stays. "" when it cannot be read (then nothing is carried).
std::string Walker::processActivity(int rootFd, const std::string& pid) {
  std::string out = ReadSmall(rootFd, pid + "/stat");
  auto stat = ParsePidStat(out, nullptr);
  if (!stat) return "";
  if (stat->threads == 1 && stat->state != 'Z') {  // the leader is the one thread
    std::string run = RunCount(rootFd, pid + "/task/" + pid);
    return run.empty() ? "" : out + "\n" + pid + " " + run;
  }
  // A listing: threads that came or went ran too.
  int fd = ::openat(rootFd, (pid + "/task").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return "";
  std::vector<std::string> tids;
  ForEachEntry(fd, [&](std::string_view name, unsigned char) {
    if (IsNumberName(name)) tids.emplace_back(name);
  });
  ::close(fd);
  std::sort(tids.begin(), tids.end());
  for (const std::string& tid : tids) {
    std::string run = RunCount(rootFd, pid + "/task/" + tid);
    if (run.empty()) return "";
    out += "\n" + tid + " " + run;
  }
  return out;
}

// A thread that has not run since the previous capture (its stat line and
// run count unchanged) in a process whose other threads ran: what is its
// own comes from that capture's tree; what it shares with them is read.
bool Walker::carryThread(int parentFd, const std::string& tid, const std::string& rel, NodeId slot) {
  const CaptureOptions& o = *shared_.options;
  if (!shared_.procfs || (!o.carry && !o.carryOut)) return false;
  auto p = SplitPath(rel);
  if (p.size() != 3 || p[1] != "task" || !IsNumberName(p[0]) || !IsNumberName(p[2])) return false;
  // A light capture: a thread seen before is carried but for its counters.
  if (o.light && o.carry) return carrySubtree(rel, slot, 3, CarryPlace::LightTick, kLightTickWhy);
  begin(slot);
  std::string stat = ReadSmall(parentFd, tid + "/stat");
  std::string run = stat.empty() ? "" : RunCount(parentFd, tid);
  end();
  if (stat.empty() || run.empty()) return false;
  stat += "\n" + run;
  if (o.carryOut) frag_->threadStats.emplace_back(rel, stat);
  if (!o.carry) return false;
  auto it = o.carry->stat.find(rel);
  if (it == o.carry->stat.end() || it->second != stat) return false;
  return carrySubtree(rel, slot, 3, CarryPlace::ThreadOfBusyProcess, kIdleThreadWhy);
}

// task/TID/fd and fdinfo list the descriptor table the thread uses; threads
// made with CLONE_FILES (all but those that called unshare) use their
// process's, which kcmp(KCMP_FILES) confirms. Then the thread's entries are
// the process's, read a moment before: a process with 13 threads and 250
// descriptors is 3,250 readlinks fewer.
bool Walker::shareDescriptors(const std::string& rel, NodeId slot) {
  if (!shared_.procfs) return false;
  auto p = SplitPath(rel);
  if (p.size() != 4 || p[1] != "task" || (p[3] != "fd" && p[3] != "fdinfo") || p[0] == p[2]) return false;
  Tree& t = frag_->tree;
  const NodeId src = t.child(0, p[3]);
  if (src == kNoNode || src == slot) return false;
  const Node& sn = t.node(src);
  if (sn.kind != NodeKind::Directory || sn.error || sn.reason != Reason::None) return false;
  const long pid = std::atol(std::string(p[0]).c_str()), tid = std::atol(std::string(p[2]).c_str());
  if (sharedTable_.first != tid) {  // asked once for fd/ and fdinfo/ both
    const bool same = ::syscall(SYS_kcmp, pid, tid, KCMP_FILES, 0, 0) == 0;
    sharedTable_ = {tid, same};
    ptraceDenied_ = same || errno != EPERM ? -1 : tid;
  }
  if (!sharedTable_.second) return false;
  // Copied out first: adding nodes may move the strings they name.
  struct Entry {
    std::string name, target;
    Node node;
    BlobRef blob;
  };
  std::vector<Entry> entries;
  auto [lo, hi] = t.children(src);
  for (NodeId c = lo; c < hi; ++c) {
    const Node& n = t.node(c);
    if (n.kind != NodeKind::Symlink && n.kind != NodeKind::File) return false;
    entries.push_back({std::string(t.str(n.name)), std::string(t.linkTarget(c)), n, t.blob(c)});
  }
  const NodeId first = static_cast<NodeId>(t.size());
  for (auto& e : entries) t.add(e.name);
  t.setChildren(slot, first, static_cast<uint32_t>(entries.size()));
  for (size_t k = 0; k < entries.size(); ++k) {
    const Entry& e = entries[k];
    const NodeId d = first + static_cast<NodeId>(k);
    const uint32_t nameIdx = t.node(d).name;
    t.at(d) = e.node;
    t.at(d).name = nameIdx;
    t.at(d).note = e.node.note ? t.intern(std::string(t.str(e.node.note))) : 0;
    if (e.node.error) ++frag_->counts.errors;
    if (e.node.kind == NodeKind::Symlink) {
      t.setLinkTarget(d, e.target);
      ++frag_->counts.links;
    } else {
      t.setBlob(d, e.blob);
      ++frag_->counts.files;
      frag_->counts.bytes += e.node.size;
    }
  }
  frag_->sharedFds += entries.size();
  return true;
}

bool Walker::carryFile(const std::string& name, const std::string& why) {
  const Tree& from = shared_.options->carry->treeFor(name);
  NodeId src = from.child(0, name);
  if (src == kNoNode) return false;
  const Node& sn = from.node(src);
  if (sn.kind != NodeKind::File || sn.error || (sn.reason != Reason::None && sn.reason != Reason::Carried)) return false;
  Tree& t = frag_->tree;
  const uint32_t nameIdx = t.node(0).name;
  t.at(0) = sn;
  t.at(0).name = nameIdx;
  t.setBlob(0, from.blob(src));
  t.at(0).reason = Reason::Carried;
  t.at(0).note = t.intern(sn.reason == Reason::Carried ? std::string(from.str(sn.note)) : why);
  ++frag_->counts.files;
  frag_->counts.bytes += sn.size;
  ++frag_->carriedFiles;
  return true;
}

void Walker::copyChildren(int rootFd, const Tree& from, NodeId src, NodeId dst, const std::string& rel,
                          unsigned depth) {
  Tree& t = frag_->tree;
  auto [lo, hi] = from.children(src);
  const NodeId first = static_cast<NodeId>(t.size());
  for (NodeId c = lo; c < hi; ++c) t.at(t.add("")).name = stringFrom(from, from.node(c).name);
  t.setChildren(dst, first, hi - lo);
  // The entries of a process (depth 1) or a thread (PID/task/TID, depth 3)
  // follow the carry rules; net/ is its namespace's, walked as the capture
  // walks it.
  const bool entries = (depth == 1 && IsNumberName(rel)) || (depth == 3 && SplitPath(rel)[1] == "task");
  OwnedFd dirFd;  // `rel`, opened for the first entry read live
  std::vector<NodeId> order(hi - lo);  // a process's task/ last, as the walk does
  for (NodeId k = 0; k < hi - lo; ++k) order[k] = k;
  if (depth == 1)
    std::stable_partition(order.begin(), order.end(), [&](NodeId k) { return from.str(from.node(lo + k).name) != "task"; });
  for (NodeId k : order) {
    const NodeId s = lo + k, d = first + k;
    const Node& sn = from.node(s);
    // The carried tree's own string, and the path only where it is needed:
    // two strings made and freed per carried node were ~5% of a light tick.
    const std::string_view childName = from.str(sn.name);
    auto childRel = [&] { return rel + "/" + std::string(childName); };
    // A light capture's thread has its process's net/ (read or aliased a
    // moment before): two stats per thread fewer.
    if (carryPlace_ == CarryPlace::LightTick && depth == 3 && childName == "net" && aliasProcessNet(d, sn)) continue;
    const CarryRule rule = entries ? CarryRuleOf(childName, carryPlace_) : CarryRule::WhileIdle;
    const bool lightCounter = !entries && depth >= 2 && sn.kind == NodeKind::File && shared_.options->light &&
                              rel.starts_with("sys/") && LightReads(childRel());
    if (lightCounter || (entries && (childName == "net" || rule == CarryRule::Read ||
                                     (rule == CarryRule::OnceWritten && !Written(from, src, childName))))) {
      if (dirFd.get() < 0) {
        begin(d);
        dirFd = OwnedFd(::openat(rootFd, rel.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        end();
      }
      if (dirFd.get() < 0) {
        t.at(d).kind = sn.kind == NodeKind::Alias ? NodeKind::Directory : sn.kind;
        t.at(d).error = errno;
        ++frag_->counts.errors;
        continue;
      }
      const unsigned char dtype = sn.kind == NodeKind::File      ? DT_REG
                                  : sn.kind == NodeKind::Symlink ? DT_LNK
                                  : sn.kind == NodeKind::Other   ? DT_UNKNOWN
                                                                 : DT_DIR;
      readCarriedEntry(dirFd.get(), from, s, std::string(childName), childRel(), d, dtype, depth + 1);
      continue;
    }
    const uint32_t nameIdx = t.node(d).name;
    t.at(d) = sn;  // attributes; the name, note and links are made anew in this tree
    t.at(d).name = nameIdx;
    t.at(d).note = sn.note ? stringFrom(from, sn.note) : 0;
    if (sn.error) ++frag_->counts.errors;
    if (NotRead(sn.reason)) ++frag_->counts.skipped;
    switch (sn.kind) {
      case NodeKind::File:
        ++frag_->counts.files;
        frag_->counts.bytes += sn.size;
        t.setBlob(d, from.blob(s));
        if (sn.reason == Reason::None && sn.error == 0) {
          t.at(d).reason = Reason::Carried;
          t.at(d).note = carriedNoteIndex();
        }
        if (sn.reason == Reason::None || sn.reason == Reason::Carried) ++frag_->carriedFiles;
        break;
      case NodeKind::Symlink:
        ++frag_->counts.links;
        t.setLinkTarget(d, from.linkTarget(s));
        if (sn.reason == Reason::None && sn.error == 0) {
          t.at(d).reason = Reason::Carried;
          t.at(d).note = carriedNoteIndex();
        }
        break;
      case NodeKind::Directory:
        ++frag_->counts.directories;
        copyChildren(rootFd, from, s, d, childRel(), depth + 1);
        break;
      default:
        t.setBlob(d, BlobRef{});  // no links of its own
        break;
    }
  }
}

bool Walker::aliasProcessNet(NodeId slot, const Node& attributes) {
  const Tree& t = frag_->tree;
  const NodeId net = t.child(0, "net");
  if (net == kNoNode) return false;
  WalkShared::Where where{fragmentId_, net};
  if (t.node(net).kind == NodeKind::Alias) {
    auto a = std::find_if(frag_->aliases.begin(), frag_->aliases.end(), [&](const auto& p) { return p.node == net; });
    if (a == frag_->aliases.end()) return false;
    where = a->target;
  } else if (t.node(net).kind != NodeKind::Directory || t.node(net).error || t.node(net).reason != Reason::None) {
    return false;
  }
  Node& n = frag_->tree.at(slot);
  n.mode = attributes.mode;
  n.uid = attributes.uid;
  n.gid = attributes.gid;
  n.mtimeNs = attributes.mtimeNs;
  frag_->tree.setAlias(slot, kNoNode);  // its target is known once every fragment is grafted
  frag_->aliases.push_back({slot, where});
  ++frag_->counts.aliases;
  return true;
}

// An entry of a carried process read again (CarryRule::Read). Its mode and
// owner are the carried ones: only the process's own doing (a setuid, an
// exec, prctl) changes them, and it had not run. A file is read, a
// directory walked; anything else is visited as usual.
void Walker::readCarriedEntry(int parentFd, const Tree& from, NodeId src, const std::string& name,
                              const std::string& rel, NodeId slot, unsigned char dtype, unsigned depth) {
  const Node& sn = from.node(src);
  if ((sn.kind != NodeKind::File && sn.kind != NodeKind::Directory) || sn.mode == 0 || sn.error ||
      sn.reason != Reason::None || exclusion(rel) || shared_.outOfTime())
    return visit(parentFd, name, rel, slot, dtype, depth);
  shared_.entries.fetch_add(1, std::memory_order_relaxed);
  Node& n = frag_->tree.at(slot);
  n.kind = sn.kind;
  n.mode = sn.mode;
  n.uid = sn.uid;
  n.gid = sn.gid;
  n.statSize = sn.statSize;
  n.mtimeNs = sn.mtimeNs;
  if (sn.kind == NodeKind::File) {
    ++frag_->counts.files;
    readFile(parentFd, name, rel, slot);
  } else {
    ++frag_->counts.directories;
    walkDirectory(parentFd, name, rel, slot, depth);
  }
}

void Walker::skip(NodeId slot, Reason reason, std::string_view note) {
  Node& n = frag_->tree.at(slot);
  n.reason = reason;
  n.note = frag_->tree.intern(note);
  ++frag_->counts.skipped;
}

const char* Walker::exclusion(const std::string& rel) {
  const CaptureOptions& o = *shared_.options;
  for (const std::string& g : o.excludes) {
    if (fnmatch(g.c_str(), rel.c_str(), 0) == 0) {
      exclusionNote_ = "excluded by --exclude " + g;
      return exclusionNote_.c_str();
    }
  }
  if (!shared_.procfs || (o.profile != Profile::Tuning && o.threads)) return nullptr;
  auto p = SplitPath(rel);
  if (o.profile == Profile::Tuning && IsNumberName(p[0])) {
    if (p.size() == 1 && p[0] != shared_.selfPid) return "profile tuning captures system-wide files only";
    if (p.size() == 2 && p[1] != "net") return "profile tuning captures system-wide files only";
  }
  if (!o.threads && p.size() == 3 && IsNumberName(p[0]) && p[1] == "task") return "excluded by --no-threads";
  return nullptr;
}

void Walker::visit(int parentFd, const std::string& name, const std::string& rel, NodeId slot, unsigned char dtype,
                   unsigned depth) {
  Tree& t = frag_->tree;
  shared_.entries.fetch_add(1, std::memory_order_relaxed);
  if (shared_.outOfTime()) {
    t.at(slot).kind = KindOfDtype(dtype);
    skip(slot, Reason::TimeLimit, shared_.stopNote);
    return;
  }
  const ExportManifest::Entry* recorded = shared_.manifest ? shared_.manifest->find(rel) : nullptr;
  if (recorded && recorded->lostLink) {  // an export could not write it: a link whose readlink failed
    t.at(slot).kind = NodeKind::Symlink;
    t.at(slot).error = recorded->error;
    ++frag_->counts.links;
    ++frag_->counts.errors;
    return;
  }
  // A light capture's thread seen before: its attributes are the carried
  // ones (a stat per thread fewer; carryThread counts the directory).
  if (shared_.options->light && shared_.options->carry && depth == 3 && !exclusion(rel) &&
      carryThread(parentFd, name, rel, slot))
    return;
  struct stat st;
  begin(slot);
  int statResult = ::fstatat(parentFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT);
  end();
  if (statResult != 0) {
    Node& n = t.at(slot);
    n.kind = KindOfDtype(dtype);
    n.error = errno;
    ++frag_->counts.errors;
    return;
  }
  {
    Node& n = t.at(slot);
    n.kind = KindOf(st.st_mode);
    n.mode = st.st_mode;
    n.uid = st.st_uid;
    n.gid = st.st_gid;
    n.statSize = st.st_size;
    n.mtimeNs = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  if (const char* why = exclusion(rel)) {
    skip(slot, Reason::Excluded, why);
    return;
  }
  // The policy protects a live kernel; in a plain folder every file is data.
  if (shared_.procfs) {
    PolicyDecision d = ClassifyPath(rel);
    if (d.action == PolicyAction::Skip) {
      skip(slot, Reason::Skipped, d.reason);
      return;
    }
  }
  switch (t.at(slot).kind) {
    case NodeKind::Symlink: {
      ++frag_->counts.links;
      // procfs builds magic link targets with d_path, which may exceed
      // PATH_MAX; a target that fills the buffer is marked as cut.
      char target[8192];
      begin(slot);
      ssize_t len = ::readlinkat(parentFd, name.c_str(), target, sizeof target);
      end();
      if (len < 0) {
        t.at(slot).error = errno;
        ++frag_->counts.errors;
      } else {
        t.setLinkTarget(slot, std::string_view(target, len));
        if (size_t(len) == sizeof target) {
          t.at(slot).reason = Reason::Truncated;
          t.at(slot).note = t.intern("link target cut at " + std::to_string(sizeof target) + " bytes");
          ++frag_->counts.truncated;
        }
      }
      break;
    }
    case NodeKind::File:
      ++frag_->counts.files;
      readFile(parentFd, name, rel, slot);
      break;
    case NodeKind::Directory:
      ++frag_->counts.directories;
      if (depth >= kMaxDepth) {
        skip(slot, Reason::Skipped, "deeper than 512 levels");
        break;
      }
      walkDirectory(parentFd, name, rel, slot, depth);
      break;
    default:
      break;
  }
  if (recorded) giveBack(slot, *recorded);
}

// What an export's manifest recorded for an entry its folder holds empty
// or cut: the errno and the reason the capture had.
void Walker::giveBack(NodeId slot, const ExportManifest::Entry& recorded) {
  Tree& t = frag_->tree;
  Node& n = t.at(slot);
  if (recorded.error && !n.error) {
    n.error = recorded.error;
    ++frag_->counts.errors;
  }
  if (recorded.reason != Reason::None && n.reason == Reason::None) {
    n.reason = recorded.reason;
    n.note = t.intern(recorded.note);
    if (NotRead(recorded.reason)) ++frag_->counts.skipped;
    if (recorded.reason == Reason::Truncated) ++frag_->counts.truncated;
  }
}

// A thread's copy of a file made from the shared memory map is its
// process's, when that was read whole and the thread's entry has the same
// owner and mode (so the same access). A process whose leader has exited
// reads empty there: its threads are read themselves.
bool Walker::takeFromProcess(const std::string& name, NodeId slot) {
  for (const ProcessFile& p : processFiles_) {
    if (p.name != name) continue;
    const Node& n = frag_->tree.node(slot);
    const Node& q = p.node;
    if (q.error || q.reason != Reason::None || q.size == 0 || n.mode != q.mode || n.uid != q.uid || n.gid != q.gid)
      return false;
    frag_->tree.setBlob(slot, p.blob);
    frag_->counts.bytes += q.size;
    ++frag_->fromProcess;
    return true;
  }
  return false;
}

std::string Walker::mountTableKey(int parentFd, const std::string& name, const std::string& rel, NodeId slot) {
  if (!shared_.procfs || (name != "mountinfo" && name != "mounts" && name != "mountstats") || TaskEntry(rel).empty())
    return "";
  // The three tables of one directory share its key: asked once.
  const std::string dir = rel.substr(0, rel.rfind('/'));
  if (mountKeyDir_ != dir) {
    mountKeyDir_ = dir;
    mountKey_.clear();
    char ns[128], root[4096];
    begin(slot);
    const ssize_t nsLen = ::readlinkat(parentFd, "ns/mnt", ns, sizeof ns);
    const ssize_t rootLen = nsLen > 0 ? ::readlinkat(parentFd, "root", root, sizeof root) : -1;
    end();
    if (nsLen > 0 && rootLen > 0 && size_t(rootLen) < sizeof root)
      mountKey_ = std::string(ns, nsLen) + '\0' + std::string(root, rootLen) + '\0';
  }
  return mountKey_.empty() ? "" : mountKey_ + name;
}

bool Walker::takeMountTable(const std::string& key, NodeId slot) {
  std::lock_guard<std::mutex> lock(shared_.mountTablesMu);
  auto it = shared_.mountTables.find(key);
  if (it == shared_.mountTables.end()) return false;
  frag_->tree.setBlob(slot, it->second.blob);
  frag_->counts.bytes += it->second.size;
  shared_.mountTablesShared.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Walker::readFile(int parentFd, const std::string& name, const std::string& rel, NodeId slot) {
  Tree& t = frag_->tree;
  const bool sharedMm = FromSharedMm(name);
  // PID/x or PID/task/TID/x ("" for other paths; only procfs promises what
  // threads share).
  const std::string_view entry = shared_.procfs ? TaskEntry(rel) : std::string_view();
  const bool ofProcess = rel.find('/') == rel.rfind('/');  // PID/x
  if (!entry.empty() && !ofProcess) {
    // The leader's own task/PID/ files are its PID/ files (one task, one
    // generator) but for those PID/ sums over the group (stat, io).
    auto p = SplitPath(rel);
    const bool leader = p.size() == 4 && p[0] == p[2] && name != "stat" && name != "io";
    if ((sharedMm || leader) && takeFromProcess(name, slot)) return;
  }
  // Every process of a mount namespace with the same root sees one mount
  // table: generating it (a line per mount) once per capture is enough.
  const std::string mountKey = mountTableKey(parentFd, name, rel, slot);
  if (!mountKey.empty() && takeMountTable(mountKey, slot)) return;
  const uint64_t cap = shared_.options->maxFileSize;
  if (!preread_.first.empty() && rel == preread_.first) return storeFile(preread_.second, rel, slot, 0, false, mountKey);
  begin(slot);
  int fd = ::openat(parentFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  end();
  if (fd < 0) {
    t.at(slot).error = errno;
    ++frag_->counts.errors;
    return;
  }
  size_t len = 0;
  int err = buf_.empty() && !buf_.resize(kInitialBuffer) ? ENOMEM : 0;
  int interrupts = 0;
  bool truncated = false;
  bool smallReads = false;
  const bool sysctl = rel.rfind("sys/", 0) == 0;
  const bool tcpTable = shared_.procfs && (name == "tcp" || name == "tcp6") && rel.size() > name.size() + 4 &&
                        rel.compare(rel.size() - name.size() - 4, 4, "net/") == 0;
  const bool oneShow = IsOneShow(entry);
  while (!err) {
    if (len == buf_.size()) {
      if (buf_.size() >= cap) {
        char probe;
        begin(slot);
        truncated = ::read(fd, &probe, 1) > 0;
        end();
        break;
      }
      if (!buf_.resize(std::min<uint64_t>(buf_.size() * 2, cap))) {
        err = ENOMEM;
        break;
      }
    }
    // One large read: maps, smaps and net tables are consistent only within
    // a call. Sysctl handlers allocate count + 1 bytes in the kernel, so
    // they get one page (a large count costs many times more, goes through
    // vmalloc and can fail ENOMEM).
    size_t want = buf_.size() - len;
    if (sysctl) want = std::min<size_t>(want, 4095);
    if (smallReads) want = std::min<size_t>(want, 64 * 1024);
    begin(slot);
    ssize_t n = ::read(fd, buf_.data() + len, want);
    end();
    if (n < 0) {
      if (errno == ENOMEM && !smallReads) {
        smallReads = true;
        continue;
      }
      if (errno == EINTR && ++interrupts < 8) continue;
      err = errno;  // EAGAIN included: never loop on it
      break;
    }
    if (n == 0) break;
    len += n;
    // net/tcp and tcp6 walk the whole TCP hash table (262,144 buckets here)
    // at every read(), the one that only finds the end too: 2 ms each. A
    // seq_file read stops short only at the end of the table or when its
    // buffer (a page at least) cannot take the next line (at most ~200
    // bytes here): a read this short that ends a line was the end.
    if (tcpTable && n < 3584 && buf_.data()[len - 1] == '\n') break;
    // One show() whose whole output one read gave: the next read finds the end.
    if (oneShow && size_t(n) < want) break;
  }
  begin(slot);
  ::close(fd);
  end();
  storeFile(std::string_view(buf_.data(), len), rel, slot, err, truncated, mountKey);
}

bool ReadBuffer::resize(size_t n) {
  constexpr size_t kMapAbove = 1u << 20;
  if (n <= kMapAbove && !mapped_) {
    void* p = std::realloc(data_, n);
    if (!p) return false;
    data_ = static_cast<char*>(p);
  } else if (mapped_) {
    void* p = ::mremap(data_, size_, n, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return false;
    data_ = static_cast<char*>(p);
  } else {
    void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    if (size_) std::memcpy(p, data_, size_);
    std::free(data_);
    data_ = static_cast<char*>(p);
    mapped_ = true;
  }
  size_ = n;
  return true;
}

void ReadBuffer::release() {
  if (mapped_) ::munmap(data_, size_);
  else std::free(data_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
}

// A file's content and how its read ended, into node `slot`.
void Walker::storeFile(std::string_view content, const std::string& rel, NodeId slot, int err, bool truncated,
                       const std::string& mountKey) {
  Tree& t = frag_->tree;
  const std::string_view entry = shared_.procfs ? TaskEntry(rel) : std::string_view();
  const bool ofProcess = rel.find('/') == rel.rfind('/');  // PID/x
  const std::string_view name = std::string_view(rel).substr(rel.rfind('/') + 1);
  Node& n = t.at(slot);
  if (err) {
    n.error = err;
    ++frag_->counts.errors;
  }
  if (truncated) {
    n.reason = Reason::Truncated;
    n.note = t.intern("cut at the size cap of " + std::to_string(shared_.options->maxFileSize) + " bytes");
    ++frag_->counts.truncated;
  }
  if (entry == "stat" && ofProcess) startTime_ = StartTime(content);
  Result<BlobRef> ref = shared_.writer->putBlob(content);
  if (!ref.ok()) {
    n.error = EIO;
    n.note = t.intern("not stored: " + ref.status().message());
    ++frag_->counts.errors;
    return;
  }
  t.setBlob(slot, *ref);
  frag_->counts.bytes += content.size();
  shared_.bytes.fetch_add(content.size(), std::memory_order_relaxed);
  if (!mountKey.empty() && !err && !truncated) {
    std::lock_guard<std::mutex> lock(shared_.mountTablesMu);
    shared_.mountTables.emplace(mountKey, WalkShared::MountTable{*ref, content.size()});
  }
  if (!entry.empty() && ofProcess) processFiles_.push_back({std::string(name), n, *ref});
}

namespace {
// Under --pid, the processes captured (the namespaces read are theirs).
bool Wanted(const CaptureOptions& o, const std::string& self, std::string_view pid) {
  if (o.pids.empty() || self == pid) return true;
  long n = 0;
  std::from_chars(pid.data(), pid.data() + pid.size(), n);
  return std::find(o.pids.begin(), o.pids.end(), n) != o.pids.end();
}
}  // namespace

void Walker::walkNetnsSysctls(int rootFd) {
  Tree& t = frag_->tree;
  t.at(0).kind = NodeKind::Directory;
  t.at(0).mode = S_IFDIR | 0555;
  ++frag_->counts.directories;
  // Each namespace once, by the ns/net link of the first pid in it; the
  // capturer's own is sys/net.
  auto inodeOf = [&](const std::string& path) -> std::string {
    char target[128];
    begin(0);
    ssize_t len = ::readlinkat(rootFd, path.c_str(), target, sizeof target);
    end();
    if (len <= 0) return "";
    auto inode = LinkInode(std::string_view(target, size_t(len)), "net");
    return inode ? std::to_string(*inode) : "";
  };
  const std::string own = inodeOf("thread-self/ns/net");
  std::map<std::string, std::string> pidOf;  // namespace inode -> a pid in it
  begin(0);
  int listFd = ::openat(rootFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  end();
  if (listFd >= 0) {
    std::vector<std::string> pids;
    begin(0);
    ForEachEntry(listFd, [&](std::string_view name, unsigned char) {
      if (IsNumberName(name) && Wanted(*shared_.options, shared_.selfPid, name)) pids.emplace_back(name);
    });
    end();
    ::close(listFd);
    for (const auto& pid : pids) {
      const std::string inode = inodeOf(pid + "/ns/net");
      if (!inode.empty() && inode != own) pidOf.emplace(inode, pid);
    }
  }
  const NodeId first = static_cast<NodeId>(t.size());
  t.setChildren(0, first, static_cast<uint32_t>(pidOf.size()));
  for (const auto& entry : pidOf) t.add(entry.first);
  begin(0);
  OwnedFd self(::openat(rootFd, "thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  end();
  NodeId slot = first;
  for (const auto& [inode, pid] : pidOf) {
    const NodeId at = slot++;
    {
      Node& n = t.at(at);
      n.kind = NodeKind::Directory;
      n.mode = S_IFDIR | 0555;
      ++frag_->counts.directories;
    }
    begin(at);
    OwnedFd ns(::openat(rootFd, (pid + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
    const bool entered = self.get() >= 0 && ns.get() >= 0 && ::setns(ns.get(), CLONE_NEWNET) == 0;
    const int err = errno;
    end();
    if (!entered) {
      t.at(at).error = err ? err : EBADF;
      t.at(at).note = t.intern("not read: could not enter network namespace net:[" + inode + "] of pid " + pid +
                               " (setns needs CAP_SYS_ADMIN)");
      ++frag_->counts.errors;
      continue;
    }
    // Back to our own namespace however the walk below ends.
    struct Back {
      int fd;
      ~Back() { ::setns(fd, CLONE_NEWNET); }
    } back{self.get()};
    begin(at);
    OwnedFd sys(::openat(rootFd, "sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    end();
    t.setChildren(at, static_cast<NodeId>(t.size()), 1);
    const NodeId net = t.add("net");
    if (sys.get() < 0) {
      t.at(net).kind = NodeKind::Directory;
      t.at(net).error = errno;
      ++frag_->counts.errors;
      continue;
    }
    visit(sys.get(), "net", "sys/net", net, DT_DIR, 2);
  }
}

bool Walker::aliasNetns(int parentFd, const std::string& name, const std::string& rel, NodeId slot,
                        std::string* claimed) {
  if (!shared_.procfs || name != "net" || TaskEntry(rel) != "net") return false;
  // The namespace's identity: the inode of its net/dev entry, which procfs
  // creates once per namespace; else the ns/net link. The inode also works
  // where the link cannot be read (the threads of a process whose ns/ is
  // closed to us each had a copy of /proc/net read, and net/tcp costs a
  // walk of the whole TCP hash table per read: 40% of a recording's CPU).
  std::string key;
  struct stat dev;
  begin(slot);
  if (::fstatat(parentFd, "net/dev", &dev, AT_SYMLINK_NOFOLLOW) == 0) {
    key = "net/dev inode " + std::to_string(dev.st_ino);
  } else {
    char target[128];
    ssize_t len = ::readlinkat(parentFd, "ns/net", target, sizeof target);
    if (len > 0) key.assign(target, len);
  }
  end();
  if (key.empty()) return false;  // unknown namespace: read it
  WalkShared::Where where;
  {
    std::unique_lock<std::mutex> lock(shared_.netnsMu);
    auto claim = [&] {
      shared_.netns[key] = WalkShared::Netns{true, {fragmentId_, slot}};
      *claimed = key;
      return false;
    };
    auto it = shared_.netns.find(key);
    if (it == shared_.netns.end()) return claim();
    if (it->second.reading) {
      // Another walk reads it now: wait for its outcome, but not for ever.
      auto limit = std::chrono::duration<double>(shared_.options->fileTimeoutSeconds);
      shared_.netnsCv.wait_for(lock, limit, [&] {
        auto i = shared_.netns.find(key);
        return i == shared_.netns.end() || !i->second.reading;
      });
      it = shared_.netns.find(key);
      if (it == shared_.netns.end()) return claim();  // that read failed: this process reads it
      if (it->second.reading) return false;           // still reading: read a copy of our own
    }
    where = it->second.where;
  }
  frag_->tree.setAlias(slot, kNoNode);  // its target is known once every fragment is grafted
  frag_->aliases.push_back({slot, where});
  ++frag_->counts.aliases;
  --frag_->counts.directories;
  return true;
}

void Walker::finishNetns(const std::string& key, NodeId slot, NodeId firstChild) {
  const Tree& t = frag_->tree;
  // Read whole: listed, not empty, and nothing in it vanished with the process.
  bool whole = t.node(slot).error == 0 && t.node(slot).reason == Reason::None && t.children(slot).second > 0;
  for (NodeId i = firstChild; whole && i < t.size(); ++i)
    whole = t.node(i).error != ESRCH && t.node(i).error != ENOENT;
  std::lock_guard<std::mutex> lock(shared_.netnsMu);
  if (whole)
    shared_.netns[key].reading = false;
  else
    shared_.netns.erase(key);
  shared_.netnsCv.notify_all();
}

void Walker::walkDirectory(int parentFd, const std::string& name, const std::string& rel, NodeId slot,
                           unsigned depth) {
  Tree& t = frag_->tree;
  if (depth == 3 && carryThread(parentFd, name, rel, slot)) return;
  if (depth == 4 && shareDescriptors(rel, slot)) return;
  std::string claimed;
  if (aliasNetns(parentFd, name, rel, slot, &claimed)) return;
  if (!claimed.empty() && shared_.options->beforeNetnsRead) shared_.options->beforeNetnsRead(rel);
  // However the listing below ends, the claim ends with it.
  struct Claim {
    Walker* w;
    const std::string& key;
    NodeId slot, first;
    ~Claim() {
      if (!key.empty() && !std::uncaught_exceptions()) w->finishNetns(key, slot, first);
    }
  } claim{this, claimed, slot, static_cast<NodeId>(t.size())};
  // An automount point that is not mounted (binfmt_misc on systemd hosts)
  // would be mounted, or hang, if we opened it.
  if (shared_.unmountedAutofs.count(rel)) {
    skip(slot, Reason::Skipped, "automount point not mounted: listing it would trigger the mount and can hang");
    return;
  }
  begin(slot);
  int fd = ::openat(parentFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  end();
  if (fd < 0) {
    t.at(slot).error = errno;
    ++frag_->counts.errors;
    return;
  }
  std::vector<std::pair<std::string, unsigned char>> entries;
  begin(slot);
  const int listErr = ForEachEntry(fd, [&](std::string_view name, unsigned char type) { entries.emplace_back(name, type); });
  end();
  if (listErr) {
    t.at(slot).error = listErr;  // partial listing: keep what we got
    ++frag_->counts.errors;
  }
  if (shared_.manifest) AdjustListing(*shared_.manifest, rel, entries);
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                entries.end());
  const NodeId first = static_cast<NodeId>(t.size());
  t.setChildren(slot, first, static_cast<uint32_t>(entries.size()));
  for (auto& [childName, type] : entries) t.add(childName);
  // A process's task/ last: its threads take what they share with the
  // process from the files read before (takeFromProcess).
  const bool pidDir = shared_.procfs && depth == 1 && IsNumberName(name);
  // task/TID/fd or fdinfo of a thread the capturer may not ptrace (kcmp
  // said EPERM): procfs makes the same check for every link and fdinfo
  // file, so once the first is refused the others are recorded refused
  // unasked (a process with 18 threads and 274 descriptors: 9,800 calls).
  bool deniedTable = false;
  if (depth == 4 && (name == "fd" || name == "fdinfo") && ptraceDenied_ >= 0) {
    const auto parts = SplitPath(rel);
    deniedTable = parts.size() == 4 && parts[2] == std::to_string(ptraceDenied_);
  }
  size_t taskAt = entries.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (pidDir && entries[i].first == "task") {
      taskAt = i;
      continue;
    }
    if (deniedTable && i > 0 && t.node(first).error == EACCES) {
      Node& n = t.at(first + i);
      n.kind = KindOfDtype(entries[i].second);
      n.error = EACCES;
      n.note = t.intern("not asked: ptrace access to this thread is refused (kcmp EPERM), which procfs checks for "
                        "every entry here, and the first was refused");
      ++frag_->counts.errors;
      ++(n.kind == NodeKind::Symlink ? frag_->counts.links : frag_->counts.files);
      continue;
    }
    visit(fd, entries[i].first, rel + "/" + entries[i].first, first + i, entries[i].second, depth + 1);
  }
  if (taskAt < entries.size()) visit(fd, "task", rel + "/task", first + taskAt, entries[taskAt].second, depth + 1);
  begin(slot);
  ::close(fd);
  end();
}

void AdjustListing(const ExportManifest& m, const std::string& dir,
                   std::vector<std::pair<std::string, unsigned char>>& entries) {
  std::erase_if(entries, [&](const auto& e) { return ExportManifest::Ours(dir, e.first); });
  // A name listed twice is kept once by the caller's sort and unique.
  if (auto lost = m.lostLinks.find(dir); lost != m.lostLinks.end())
    for (const std::string& name : lost->second) entries.emplace_back(name, DT_LNK);
}

std::string SharedMmFileNames() {
  std::string names;
  for (std::string_view n : kSharedMmFiles) names += (names.empty() ? "" : ", ") + std::string(n);
  return names;
}

}  // namespace procsnap
