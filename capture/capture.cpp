// Capture: lists the root, hands each top-level entry to a pool of walkers,
// and grafts their fragments into one tree in name order as they finish, so
// that only unfinished fragments are held apart.
#include "capture/capture.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <map>
#include <set>
#include <thread>

#include "executables.h"
#include "redact/redact.h"
#include "dir_entries.h"
#include "host_facts.h"
#include "procfs/procfs.h"
#include "reused_threads.h"
#include "walker.h"

namespace procsnap {

namespace {

struct Entry {
  std::string name;
  unsigned char dtype;
};


// The root's entries, "." and ".." left out; 0 or the errno. A listing that
// fails part way keeps what it got and returns the errno too.
int ListRoot(int rootFd, std::vector<Entry>* entries) {
  int fd = ::openat(rootFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // an offset of its own
  if (fd < 0) return errno;
  int err = ForEachEntry(fd, [&](std::string_view name, unsigned char type) { entries->push_back({std::string(name), type}); });
  ::close(fd);
  return err;
}

// PIDs that answer to stat() but are missing from readdir: a rootkit trick.
// Every pid up to the largest listed one is probed; when the root is the
// procfs of our own pid namespace, kill(pid, 0) answers "no such process"
// far cheaper than a path lookup, so only live pids cost an open.
std::vector<std::string> HiddenPids(int rootFd, const std::vector<Entry>& entries) {
  std::set<long> listed;
  long maxPid = 0;
  for (auto& e : entries)
    if (IsNumberName(e.name)) {
      long p = std::stol(e.name);
      listed.insert(p);
      maxPid = std::max(maxPid, p);
    }
  char self[32];
  ssize_t len = ::readlinkat(rootFd, "self", self, sizeof self - 1);
  bool ourNamespace = len > 0 && std::string(self, len) == std::to_string(::getpid());
  std::vector<std::string> hidden;
  for (long p = 1; p <= maxPid; ++p) {
    if (listed.count(p)) continue;
    if (ourNamespace && ::kill(static_cast<pid_t>(p), 0) != 0 && errno == ESRCH) continue;
    // Threads answer too; only a thread-group leader is a hidden process.
    std::string name = std::to_string(p);
    std::string status = ReadSmall(rootFd, name + "/status");
    size_t tgid = status.find("\nTgid:");
    if (tgid != std::string::npos && std::strtol(status.c_str() + tgid + 6, nullptr, 10) == p) hidden.push_back(name);
  }
  // A process started after the first listing is new, not hidden: a second
  // listing shows it.
  std::vector<Entry> now;
  ListRoot(rootFd, &now);
  std::set<std::string> listedNow;
  for (auto& e : now) listedNow.insert(e.name);
  std::erase_if(hidden, [&](const std::string& pid) { return listedNow.count(pid) > 0; });
  return hidden;
}

// The number of tasks on the host: the field after '/' in loadavg; -1 if unknown.
long HostTasks(int rootFd) {
  std::string loadavg = ReadSmall(rootFd, "loadavg");
  size_t slash = loadavg.find('/');
  return slash == std::string::npos ? -1 : std::strtol(loadavg.c_str() + slash + 1, nullptr, 10);
}

// Whether the listed processes hold every task of the host, as loadavg
// counts them before and after their threads are summed: then no process
// can hide from the listing, and the pid scan (a probe of every pid up to
// the largest) is not needed. Any doubt answers false.
// The stat lines read are given to `stats` when set (pid -> PID/stat as read).
bool EveryTaskListed(int rootFd, const std::vector<Entry>& entries, std::unordered_map<std::string, std::string>* stats) {
  long before = HostTasks(rootFd);
  if (before <= 0) return false;
  long listed = 0;
  for (auto& e : entries) {
    if (!IsNumberName(e.name)) continue;
    std::string line = ReadOneShow(rootFd, e.name + "/stat");
    auto stat = ParsePidStat(Trim(line), nullptr);
    if (!stat) return false;
    listed += stat->threads;
    if (stats) stats->emplace(e.name, std::move(line));
  }
  return listed == before && HostTasks(rootFd) == before;
}

void Add(Counts& into, const Counts& c) {
  into.files += c.files;
  into.directories += c.directories;
  into.links += c.links;
  into.aliases += c.aliases;
  into.bytes += c.bytes;
  into.errors += c.errors;
  into.skipped += c.skipped;
  into.truncated += c.truncated;
  into.redactions += c.redactions;
}

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

// Walks of this process abandoned in a call that has not returned yet, by
// root and top-level entry: a recording's next tick does not walk them
// again (each walk would leave one more thread blocked) but records them
// unread, "still blocked since".
struct BlockedWalk {
  int64_t sinceWallNs;
  std::shared_ptr<WalkerWatch> watch;
};
std::mutex gBlockedMu;
std::map<std::pair<std::string, std::string>, BlockedWalk> gBlocked;

// A fragment of one unread entry.
std::unique_ptr<Fragment> UnreadFragment(const std::string& name, unsigned char dtype, const std::string& note) {
  auto frag = std::make_unique<Fragment>();
  Node& n = frag->tree.at(frag->tree.add(name));
  n.kind = dtype == DT_DIR ? NodeKind::Directory : dtype == DT_LNK ? NodeKind::Symlink : NodeKind::File;
  n.reason = Reason::TimeLimit;
  n.note = frag->tree.intern(note);
  ++frag->counts.skipped;
  return frag;
}

}  // namespace

const char* ProfileName(Profile p) {
  switch (p) {
    case Profile::Full: return "full";
    case Profile::Bugreport: return "bugreport";
    case Profile::Tuning: return "tuning";
  }
  return "?";
}

namespace {

// One capture, stage by stage: open the root, read who the host is, list
// the root (and start the hidden-pid scan), walk the entries on a pool of
// supervised walkers while grafting their fragments in name order, hash the
// executables, hand the next capture its carry, and write the snapshot.
class CaptureRun {
 public:
  CaptureRun(const CaptureOptions& options, ArchiveWriter& writer,
             const std::function<void(const CaptureProgress&)>& progress)
      : options_(options),
        writer_(writer),
        progress_(progress),
        fileTimeoutNs_(static_cast<int64_t>(std::max(0.05, options.fileTimeoutSeconds) * 1e9)) {}

  Result<Metadata> run() {
    RaiseFileLimit();  // deep trees keep a descriptor open per level in every walker
    meta_.startWallNs = ClockNs(CLOCK_REALTIME);
    meta_.startMonoNs = ClockNs(CLOCK_MONOTONIC);
    meta_.startBootNs = ClockNs(CLOCK_BOOTTIME);
    mounts_ = ReadMountInfo();
    if (Status s = openRoot(); !s.ok()) return s;
    readIdentity();
    if (Status s = listRoot(); !s.ok()) return s;
    startHiddenPidScan();
    Tree tree = walk();
    if (!partStatus_.ok()) return partStatus_;
    if (options_.carry) options_.carry->releaseTrees();
    if (runs_.empty()) recordExecutables(tree);
    else recordExecutables(exeTree());
    keepCarry();
    meta_.endWallNs = ClockNs(CLOCK_REALTIME);
    if (manifest_ && manifest_->startWallNs > 0)  // as long after the given-back start as it took
      meta_.endWallNs = meta_.startWallNs + (ClockNs(CLOCK_MONOTONIC) - meta_.startMonoNs);
    meta_.endMonoNs = ClockNs(CLOCK_MONOTONIC);
    // The carry keeps the tree as encoded (alias targets too; carried subtrees walk net/ anew).
    if (Status s = writer_.addSnapshot(meta_, std::move(tree), options_.carryOut ? &options_.carryOut->tree : nullptr);
        !s.ok())
      return s;
    return meta_;
  }

 private:
  struct Worker {
    std::shared_ptr<JobDone> done;  // null once abandoned
    std::shared_ptr<WalkerWatch> watch;
  };

  // How long a call before the walk may take: the file timeout, cut short
  // by the time limit.
  std::chrono::nanoseconds callBudget() const {
    int64_t budget = fileTimeoutNs_;
    if (shared_.deadlineMonoNs)
      budget = std::min(budget, std::max<int64_t>(0, shared_.deadlineMonoNs - ClockNs(CLOCK_MONOTONIC)));
    return std::chrono::nanoseconds(budget);
  }

  // Opening the root asks its file system too: bounded like every call.
  Status openRoot() {
    struct RootInfo {
      int fd = -1, err = 0;
      bool procfs = false, statOk = false;
      struct stat st {};
      std::set<std::string> unmountedAutofs;
      Result<std::unique_ptr<ExportManifest>> manifest = std::unique_ptr<ExportManifest>();
    };
    auto info = Bounded<RootInfo>(std::chrono::nanoseconds(fileTimeoutNs_), [root = options_.root, mounts = mounts_] {
      RootInfo r;
      r.fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (r.fd < 0) {
        r.err = errno;
        return r;
      }
      r.procfs = IsProcfs(r.fd);
      r.statOk = ::fstat(r.fd, &r.st) == 0;
      // An export (or a fixture) of procsnap: its manifest gives back what the folder lost.
      if (!r.procfs) r.manifest = ReadExportManifest(r.fd, root);
      r.unmountedAutofs = UnmountedAutofs(root, mounts);
      return r;
    });
    if (!info)
      return Status::IoError(options_.root + ": opening the capture root did not return within " +
                             FormatSeconds(options_.fileTimeoutSeconds) + " s");
    if (info->fd < 0) return Status::FromErrno(options_.root + ": cannot open the capture root", info->err);
    root_ = OwnedFd(info->fd);
    if (!info->manifest.ok()) return info->manifest.status();
    manifest_ = std::move(*info->manifest);
    shared_.manifest = manifest_.get();
    rootStatOk_ = info->statOk;
    rootStat_ = info->st;
    shared_.options = &options_;
    shared_.writer = &writer_;
    shared_.procfs = info->procfs;
    shared_.selfPid = std::to_string(::getpid());
    shared_.unmountedAutofs = std::move(info->unmountedAutofs);
    if (options_.timeLimitSeconds > 0)
      shared_.deadlineMonoNs = meta_.startMonoNs + static_cast<int64_t>(options_.timeLimitSeconds * 1e9);
    return Status::Ok();
  }

  // Identity files are read before any walker runs; a tree that does not
  // answer must not stop the capture here either.
  void readIdentity() {
    auto facts = Bounded<Metadata>(callBudget(), [root = options_.root, fd = Dup(root_.get()), mounts = mounts_,
                                                  meta = meta_]() mutable {
      FillHostFacts(root, fd.get(), mounts, &meta);
      return meta;
    });
    if (facts) {
      meta_ = std::move(*facts);
    } else {
      meta_.root = options_.root;
      meta_.notes.push_back("the identity files under " + options_.root + " (hostname, kernel, boot id) did not answer");
    }
    if (manifest_ && manifest_->startWallNs > 0) {  // the folder shows the moment its export says
      meta_.startWallNs = manifest_->startWallNs;
      meta_.notes.push_back(options_.root + " is a procsnap export: its " + kManifestName +
                            " gave back the errors, reasons and unwritten links it lists, and the time");
    }
    meta_.profile = ProfileName(options_.profile);
    meta_.options = options_.commandLine;
    meta_.notes.insert(meta_.notes.end(), options_.notes.begin(), options_.notes.end());
    meta_.excludes = options_.excludes;
  }

  Status listRoot() {
    using Listing = std::pair<int, std::vector<Entry>>;
    auto listing = Bounded<Listing>(callBudget(), [fd = Dup(root_.get())] {
      Listing l;
      l.first = ListRoot(fd.get(), &l.second);
      return l;
    });
    if (!listing) return Status::IoError(options_.root + ": listing it did not return within the time allowed");
    listError_ = listing->first;
    entries_ = std::move(listing->second);
    if (manifest_) {
      std::vector<std::pair<std::string, unsigned char>> pairs;
      for (Entry& e : entries_) pairs.emplace_back(std::move(e.name), e.dtype);
      AdjustListing(*manifest_, "", pairs);
      std::sort(pairs.begin(), pairs.end());
      pairs.erase(std::unique(pairs.begin(), pairs.end(), [](auto& a, auto& b) { return a.first == b.first; }),
                  pairs.end());
      entries_.clear();
      for (auto& [name, type] : pairs) entries_.push_back({std::move(name), type});
    }
    if (!options_.pids.empty()) keepOnlyPids();
    // Not a /proc entry: the other network namespaces' net sysctls (walker).
    if (shared_.procfs && !entries_.empty()) entries_.push_back({std::string(kNetnsSysctlsDir), DT_DIR});
    if (listError_ && entries_.empty()) return Status::FromErrno(options_.root + ": cannot list", listError_);
    if (listError_)
      meta_.notes.push_back("listing " + options_.root + " failed part way (" + ErrnoName(listError_) +
                            "); the entries listed before it are captured");
    return Status::Ok();
  }

  // --pid: the processes asked for and our own; a pid asked for that is
  // not there is said in a note.
  void keepOnlyPids() {
    std::set<std::string> wanted{shared_.selfPid};
    for (long pid : options_.pids) wanted.insert(std::to_string(pid));
    std::set<std::string> listed;
    std::erase_if(entries_, [&](const Entry& e) {
      if (!IsNumberName(e.name)) return false;
      listed.insert(e.name);
      return !wanted.count(e.name);
    });
    for (long pid : options_.pids)
      if (!listed.count(std::to_string(pid)))
        meta_.notes.push_back("--pid " + std::to_string(pid) + ": no such process in " + options_.root +
                              " (gone, or a thread id; threads are captured under their process)");
    meta_.notes.push_back("only the processes asked for (--pid) and procsnap's own were captured");
  }

  // The scan for hidden pids probes every pid up to the largest listed one,
  // unless the task count shows nothing can hide: it runs beside the walk,
  // and what it finds is walked last.
  void startHiddenPidScan() {
    if (!shared_.procfs || options_.profile == Profile::Tuning || !options_.pids.empty()) return;
    using Stats = std::unordered_map<std::string, std::string>;
    // A light capture takes these stat lines as its processes' (read a
    // moment before the walk): one read of each fewer.
    const bool keepStats = options_.light && options_.carry;
    auto everyTask =
        Bounded<std::pair<bool, Stats>>(callBudget(), [fd = Dup(root_.get()), entries = entries_, keepStats] {
          std::pair<bool, Stats> r;
          r.first = EveryTaskListed(fd.get(), entries, keepStats ? &r.second : nullptr);
          return r;
        });
    if (everyTask && keepStats) shared_.pidStats = std::move(everyTask->second);
    if (!everyTask || !everyTask->first)
      scan_ = Start<std::vector<std::string>>([fd = Dup(root_.get()), entries = entries_] {
        return HiddenPids(fd.get(), entries);
      });
  }

  // ---- the walk -------------------------------------------------------------

  // Big system-wide directories first, so no walker is left with sys/ at the
  // end; then the pids in name order ("10" before "9"), the order in which
  // fragments are grafted, so that finished fragments do not wait in memory
  // for one that sorts before them. Entries still blocked from an earlier
  // capture are recorded unread instead.
  void planWalk() {
    order_.resize(entries_.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    auto pids = std::stable_partition(order_.begin(), order_.end(),
                                      [&](size_t i) { return !IsNumberName(entries_[i].name); });
    std::sort(pids, order_.end(), [&](size_t a, size_t b) { return entries_[a].name < entries_[b].name; });
    done_.resize(entries_.size());
    complete_ = !scan_;
    std::lock_guard<std::mutex> lock(gBlockedMu);
    std::erase_if(gBlocked, [](const auto& b) { return b.second.watch->unwound.load(); });
    std::erase_if(order_, [&](size_t i) {
      auto it = gBlocked.find({options_.root, entries_[i].name});
      if (it == gBlocked.end()) return false;
      done_[i] = UnreadFragment(entries_[i].name, entries_[i].dtype,
                                "not read: still blocked since " + WallTime(it->second.sinceWallNs) +
                                    " (a call of its walk then has not returned; it is not walked again until it does)");
      ++stillBlocked_;  // out of `order_`: not counted in `walked_`
      return true;
    });
  }

  // Under mu_: the entries no walker will take, recorded unread.
  void giveUpRest(const std::string& why) {
    for (; next_ < order_.size(); ++next_) {
      const size_t i = order_[next_];
      done_[i] = UnreadFragment(entries_[i].name, entries_[i].dtype, why);
      ++walked_;
    }
    meta_.notes.push_back(why);
  }

  std::string noThreadsNote() const {
    return "not read: " + std::to_string(kMaxKeptThreads) +
           " threads are blocked in calls that have not returned, and procsnap starts no more";
  }

  // A walker on a kept thread, taking entries until all are walked; false
  // when no thread could be had.
  bool startWorker() {
    auto watch = std::make_shared<WalkerWatch>();
    workers_.push_back({RunOnKeptThread([this, watch] {
                          Walker walker(shared_, watch);
                          try {
                            for (;;) {
                              size_t i;
                              Entry e;
                              {
                                // Idle workers stay until every entry is walked:
                                // /proc/thread-self names whichever worker read it,
                                // and its task/ entry must still be there when the
                                // capturer's own pid directory is listed.
                                std::unique_lock<std::mutex> lock(mu_);
                                cv_.wait(lock, [&] {
                                  return (next_ < order_.size() && mayTake(order_[next_])) ||
                                         (complete_ && walked_ == order_.size());
                                });
                                if (next_ >= order_.size()) return;
                                i = order_[next_++];
                                e = entries_[i];
                                watch->fragment = std::make_unique<Fragment>();
                                watch->entry = i;
                              }
                              walker.walkTopLevel(root_.get(), e.name, e.dtype, i, *watch->fragment);
                              std::lock_guard<std::mutex> lock(mu_);
                              done_[i] = std::move(watch->fragment);
                              if (IsNumberName(e.name)) {
                                done_[i]->ahead = true;
                                ++ahead_;
                              }
                              ++walked_;
                              if (graftDue()) cv_.notify_all();
                            }
                          } catch (const WalkerAbandoned&) {
                            // The supervisor took the fragment; nothing here is ours any more.
                            watch->unwound.store(true);
                          }
                        }),
                        watch});
    return workers_.back().done != nullptr;
  }

  // Under mu_, every 100 ms while waiting: a walker blocked in one call past
  // the file timeout (or past the time limit) is abandoned, its fragment
  // taken as it is, and a new worker takes its place.
  void supervise() {
    const int64_t now = ClockNs(CLOCK_MONOTONIC);
    const bool late = shared_.outOfTime();
    const size_t count = workers_.size();
    for (size_t k = 0; k < count; ++k) {
      WalkerWatch& w = *workers_[k].watch;
      const uint64_t calls = w.calls.load(std::memory_order_relaxed);
      if (w.state.load(std::memory_order_acquire) != WalkerWatch::InCall || calls != w.seenCalls) {
        w.seenCalls = calls;
        w.seenSinceNs = now;
        continue;
      }
      if (!late && now - w.seenSinceNs < fileTimeoutNs_) continue;
      int expected = WalkerWatch::InCall;
      if (!w.state.compare_exchange_strong(expected, WalkerWatch::Abandoned, std::memory_order_acq_rel)) continue;
      std::unique_ptr<Fragment> frag = std::move(w.fragment);
      const std::string why = late ? shared_.stopNote
                                   : "not read: no answer within " + FormatSeconds(options_.fileTimeoutSeconds) +
                                         " s (a process stuck in the kernel, or a stuck file system)";
      // A process stuck in the kernel blocks every read of its memory map:
      // its walk ends at the first call that does not return.
      const std::string rest = late ? shared_.stopNote
                                    : "not read: the walk of " + entries_[w.entry].name +
                                          " stopped at an earlier call that did not return";
      MarkUnvisited(*frag, w.slot.load(std::memory_order_relaxed), why, rest);
      done_[w.entry] = std::move(frag);
      ++walked_;
      ++abandoned_;
      {
        std::lock_guard<std::mutex> blocked(gBlockedMu);
        gBlocked[{options_.root, entries_[w.entry].name}] = {meta_.startWallNs, workers_[k].watch};
      }
      workers_[k].done.reset();  // it returns, if ever, only to unwind
      // Past the time limit a new worker records what is left as unread, without reading.
      if (!startWorker() && std::none_of(workers_.begin(), workers_.end(), [](const Worker& x) { return x.done; }))
        giveUpRest(noThreadsNote());
      cv_.notify_all();
    }
  }

  // Under mu_: the grafting thread's batch is walked, or every entry is taken.
  bool graftDue() const { return walked_ >= wakeAt_ || next_ >= order_.size(); }
  // Under mu_: whether a walker may take entry i now (kAhead).
  bool mayTake(size_t i) const { return ahead_ < kAhead || grafterWaits_ || !IsNumberName(entries_[i].name); }

  template <class Ready>
  void waitFor(std::unique_lock<std::mutex>& lock, const Ready& ready) {
    while (!ready()) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (!ready()) supervise();
    }
  }

  // Waits for the hidden-pid scan, as long as the time limit allows; what
  // it found is walked last.
  void finishHiddenPidScan() {
    if (!scan_) return;
    while (!scan_->ready() && !shared_.outOfTime()) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(20));
      supervise();
    }
    std::optional<std::vector<std::string>> hidden = scan_->take(std::chrono::nanoseconds(0));
    std::lock_guard<std::mutex> lock(mu_);
    if (!hidden) meta_.notes.push_back("the scan for hidden pids did not finish within the time limit");
    for (auto& pid : hidden ? *hidden : std::vector<std::string>()) {
      meta_.notes.push_back("pid " + pid + " answers to stat() but is missing from the listing of " + options_.root +
                            " (hidden process); captured anyway");
      order_.push_back(entries_.size());
      entries_.push_back({pid, DT_DIR});
    }
    done_.resize(entries_.size());
    complete_ = true;
    cv_.notify_all();
  }

  // The root with its children in name order (slot j + 1 holds entry byName[j]).
  Tree rootTree(const std::vector<size_t>& byName) const {
    Tree tree;
    Node& root = tree.at(tree.add(""));
    root.kind = NodeKind::Directory;
    root.error = listError_;  // a partial listing, as walkers record one below
    if (rootStatOk_) {
      root.mode = rootStat_.st_mode;
      root.uid = rootStat_.st_uid;
      root.gid = rootStat_.st_gid;
      root.mtimeNs = int64_t(rootStat_.st_mtim.tv_sec) * 1000000000 + rootStat_.st_mtim.tv_nsec;
    }
    tree.setChildren(0, 1, static_cast<uint32_t>(entries_.size()));
    for (size_t i : byName) tree.add(entries_[i].name);
    return tree;
  }

  Tree walk() {
    planWalk();
    const unsigned jobs = options_.jobs ? options_.jobs : std::max(1u, std::thread::hardware_concurrency());
    bool anyWorker = false;
    for (unsigned w = 0; w < jobs; ++w) anyWorker = startWorker() || anyWorker;
    if (!anyWorker) {
      std::lock_guard<std::mutex> lock(mu_);
      giveUpRest(noThreadsNote());
    }
    finishHiddenPidScan();

    std::vector<size_t> byName(entries_.size());
    for (size_t i = 0; i < byName.size(); ++i) byName[i] = i;
    std::sort(byName.begin(), byName.end(), [&](size_t a, size_t b) { return entries_[a].name < entries_[b].name; });
    Tree tree = rootTree(byName);
    CaptureProgress prog;
    for (auto& e : entries_) prog.processesTotal += IsNumberName(e.name);
    planParts(byName, jobs);

    // Graft in name order; remember where each fragment went to fix aliases.
    std::vector<Placed> placed(entries_.size());
    std::vector<std::pair<NodeId, WalkShared::Where>> aliases, partAliases;
    Tree part;
    uint64_t fromProcess = 0, sharedFds = 0;
    for (size_t j = 0; j < byName.size(); ++j) {
      const size_t i = byName[j];
      std::unique_ptr<Fragment> frag;
      {
        std::unique_lock<std::mutex> lock(mu_);
        // Woken for a batch of fragments, not for each: a light tick idle
        // did 340 context switches, now ~80 (~2-3% of its CPU on a VM).
        if (!done_[i]) {
          wakeAt_ = walked_ + kWakeBatch;
          grafterWaits_ = true;
          cv_.notify_all();
        }
        waitFor(lock, [&] { return done_[i] != nullptr && graftDue(); });
        grafterWaits_ = false;
        frag = std::move(done_[i]);
        // Walkers held back resume when half the fragments ahead are grafted.
        if (frag->ahead && ahead_-- == kAhead / 2) cv_.notify_all();
      }
      const int run = runOf_.empty() ? -1 : runOf_[j];
      if (run >= 0 && j == runs_[run].first) part = runTree(byName, run);
      if (run >= 0) tree.at(static_cast<NodeId>(j + 1)).kind = NodeKind::Directory;  // its place: the part fills it
      Tree& into = run >= 0 ? part : tree;
      const NodeId at = static_cast<NodeId>(run >= 0 ? 1 + j - runs_[run].first : j + 1);
      const uint32_t shift = into.graft(at, frag->tree);
      placed[i] = {at, shift, run};
      for (auto& a : frag->aliases) (run >= 0 ? partAliases : aliases).push_back({a.node == 0 ? at : a.node + shift, a.target});
      Add(meta_.counts, frag->counts);
      fromProcess += frag->fromProcess;
      sharedFds += frag->sharedFds;
      carriedFiles_ += frag->carriedFiles;
      if (options_.carryOut) {
        if (!frag->stat.empty()) stats_.emplace(entries_[i].name, std::move(frag->stat));
        for (auto& [rel, line] : frag->threadStats) stats_.emplace(std::move(rel), std::move(line));
        if (!frag->modules.empty()) modules_ = std::move(frag->modules);
      }
      for (auto& n : frag->notes) meta_.notes.push_back(std::move(n));
      frag.reset();
      if (run >= 0 && j + 1 == runs_[run].second) closePart(std::move(part), run, placed, partAliases);
      if (IsNumberName(entries_[i].name)) ++prog.processesDone;
      if (progress_) {
        prog.entries = shared_.entries.load();
        prog.bytes = shared_.bytes.load();
        progress_(prog);
      }
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    for (auto& w : workers_)
      if (w.done) w.done->wait();
    for (auto& [node, where] : aliases) {
      const Placed& p = placed[where.fragment];
      if (p.run >= 0) {  // never made (only processes' net/ is aliased), but not written as a broken alias
        tree.at(node).kind = NodeKind::Other;
        continue;
      }
      tree.setAlias(node, where.node == 0 ? p.at : where.node + p.shift);
    }
    addWalkNotes(fromProcess, sharedFds);
    return tree;
  }

  // ---- parts (format 5) -------------------------------------------------------

  struct Placed {
    NodeId at = 0;
    uint32_t shift = 0;
    int run = -1;  // the part it went to (its run), -1: the root's tree
  };

  // Runs of consecutive process directories in name order, each at most
  // partProcesses long and cut where the carry's parts began (a part is
  // compressed against its run's part in an earlier snapshot).
  void planParts(const std::vector<size_t>& byName, unsigned jobs) {
    if (!options_.partProcesses || jobs != 1 || !shared_.procfs || !writer_.acceptsParts()) return;
    std::vector<std::string> cuts;
    if (options_.carry)
      for (const CarriedPart& c : options_.carry->parts) cuts.push_back(c.first);
    runOf_.assign(byName.size(), -1);
    for (size_t j = 0; j < byName.size(); ++j) {
      const std::string& name = entries_[byName[j]].name;
      if (!IsNumberName(name)) continue;
      bool open = !runs_.empty() && runs_.back().second == j &&
                  runs_.back().second - runs_.back().first < options_.partProcesses;
      if (open) {  // a carried part began here or between
        auto next = std::upper_bound(cuts.begin(), cuts.end(), entries_[byName[runs_.back().first]].name);
        open = next == cuts.end() || name < *next;
      }
      if (open) ++runs_.back().second;
      else runs_.push_back({j, j + 1});
      runOf_[j] = static_cast<int>(runs_.size() - 1);
    }
  }

  // A part's tree: a stand-in root whose children are the run's directories.
  Tree runTree(const std::vector<size_t>& byName, int run) const {
    Tree t;
    t.at(t.add("")).kind = NodeKind::Directory;
    auto [first, end] = runs_[run];
    t.setChildren(0, 1, static_cast<uint32_t>(end - first));
    for (size_t j = first; j < end; ++j) t.add(entries_[byName[j]].name);
    return t;
  }

  // Its aliases set (an earlier part's directory: a foreign alias), its
  // programs noted for recordExecutables, and the part written.
  void closePart(Tree part, int run, const std::vector<Placed>& placed,
                 std::vector<std::pair<NodeId, WalkShared::Where>>& aliases) {
    std::vector<PartAlias> foreign;
    for (auto& [node, where] : aliases) {
      const Placed& p = placed[where.fragment];
      const NodeId target = where.node == 0 ? p.at : where.node + p.shift;
      if (p.run == run) {
        part.setAlias(node, target);
      } else {
        part.setAlias(node, kNoNode);
        part.at(node).kind = NodeKind::Other;
        if (p.run >= 0 && p.run < run) foreign.push_back({node, static_cast<uint32_t>(p.run), target});
      }
    }
    aliases.clear();
    auto [lo, hi] = part.children(0);
    for (NodeId c = lo; c < hi; ++c) {
      const NodeId exe = part.child(c, "exe");
      if (exe != kNoNode && part.node(exe).kind == NodeKind::Symlink && !part.node(exe).error)
        exeLinks_.emplace_back(part.str(part.node(c).name), part.linkTarget(exe));
    }
    CarriedPart carried;
    carried.first = part.str(part.node(lo).name);
    carried.last = part.str(part.node(hi - 1).name);
    Status s = writer_.addPart(std::move(part), foreign, options_.carryOut ? &carried.packed : nullptr);
    if (!s.ok() && partStatus_.ok()) partStatus_ = s;
    if (options_.carryOut) carriedParts_.push_back(std::move(carried));
  }

  // What recordExecutables reads of a parted capture: PID/exe links alone.
  Tree exeTree() const {
    Tree t;
    t.at(t.add("")).kind = NodeKind::Directory;
    t.setChildren(0, 1, static_cast<uint32_t>(exeLinks_.size()));
    for (auto& [pid, target] : exeLinks_) t.at(t.add(pid)).kind = NodeKind::Directory;
    for (size_t k = 0; k < exeLinks_.size(); ++k) {
      const NodeId exe = t.add("exe");
      t.at(exe).kind = NodeKind::Symlink;
      t.setLinkTarget(exe, exeLinks_[k].second);
      t.setChildren(1 + k, exe, 1);
    }
    return t;
  }

  void addWalkNotes(uint64_t fromProcess, uint64_t sharedFds) {
    if (stillBlocked_)
      meta_.notes.push_back(std::to_string(stillBlocked_) +
                            " entries were not walked: a call of their walk at an earlier capture has not returned yet");
    if (abandoned_)
      meta_.notes.push_back(std::to_string(abandoned_) + " walk(s) stopped at a call that did not return within " +
                            FormatSeconds(options_.fileTimeoutSeconds) + " s; the entries left are recorded unread");
    if (sharedFds)
      meta_.notes.push_back(std::to_string(sharedFds) +
                            " entries under task/TID/fd and fdinfo were given their process's, read a moment before: "
                            "the threads use its descriptor table (kcmp KCMP_FILES)");
    if (const uint64_t mounts = shared_.mountTablesShared.load())
      meta_.notes.push_back(std::to_string(mounts) +
                            " mountinfo, mounts and mountstats files were given the content another process of the "
                            "same mount namespace and root read in this capture (one table for all of them)");
    if (fromProcess)
      meta_.notes.push_back(std::to_string(fromProcess) + " files under task/TID/ were given their process's "
                            "content, read a moment before: " + SharedMmFileNames() +
                            " (made from what all threads of a process share: memory map, signal state, user "
                            "namespace), and the leader's own files under task/PID/ (one task; but stat and io, "
                            "which PID/ sums over the threads)");
    if (shared_.stopped.load())
      meta_.notes.push_back(options_.interrupt && options_.interrupt->load()
                                ? std::string("the capture was interrupted; later entries are recorded unread")
                                : "the capture time limit of " + FormatSeconds(options_.timeLimitSeconds) +
                                      " s was reached; later entries are recorded unread");
    if (carriedFiles_)
      meta_.notes.push_back(std::to_string(carriedFiles_) +
                            " files were carried from earlier snapshots, not read again (reason carried; each one's "
                            "note says when it was read, none before the full snapshot of " +
                            WallTime(options_.carry->fullWallNs) + "): " +
                            (options_.light
                                 ? "a light snapshot (record --light) reads of every process and thread seen before "
                                   "only stat, statm, status, io, schedstat and its thread list, and of the system "
                                   "its counters and net/; new processes and threads are read whole"
                                 : "those of processes and threads that had not run (stat line and schedstat run "
                                   "counts unchanged; what other processes change is read at every snapshot), "
                                   "kallsyms while /proc/modules was unchanged, and bus/ and fs/ (PCI configuration "
                                   "space, file system internals: read at full snapshots)"));
  }

  // ---- after the walk ---------------------------------------------------------

  void recordExecutables(const Tree& tree) {
    if (!shared_.procfs || !options_.executables || options_.profile == Profile::Tuning) return;
    ExecutableLimits limits;
    limits.hashMax = options_.hashExecutableMax;
    limits.keepMax = options_.profile == Profile::Bugreport ? 0 : options_.keepExecutableMax;
    limits.keepOff = options_.profile == Profile::Bugreport ? "the bugreport profile keeps none" : "--keep-exe-max 0";
    limits.seconds = options_.executableSeconds;
    limits.deadlineMonoNs = ClockNs(CLOCK_MONOTONIC) + static_cast<int64_t>(options_.executableSeconds * 1e9);
    if (shared_.deadlineMonoNs) limits.deadlineMonoNs = std::min(limits.deadlineMonoNs, shared_.deadlineMonoNs);
    if (options_.interrupt && options_.interrupt->load()) limits.deadlineMonoNs = 0;
    // Pids whose directory has a mount over it (the capturer's mountinfo).
    // Only for this machine's /proc: a fresh procfs shows the capturer's pid
    // namespace, which a container's /proc need not be.
    std::set<std::string> overmounted;
    const std::string prefix = "/proc/";
    char real[PATH_MAX];
    const bool ownProc = ::realpath(options_.root.c_str(), real) && std::string_view(real) == "/proc";
    for (const MountInfo& m : ownProc ? mounts_ : std::vector<MountInfo>())
      if (m.target.starts_with(prefix)) {
        std::string pid = m.target.substr(prefix.size(), m.target.find('/', prefix.size()) - prefix.size());
        if (IsNumberName(pid)) overmounted.insert(pid);
      }
    OwnedFd fresh(overmounted.empty() ? -1 : FreshProcfs());
    if (!overmounted.empty() && fresh.get() < 0)
      meta_.notes.push_back(std::to_string(overmounted.size()) +
                            " pid directories have a mount over them, and no private procfs could be mounted to read "
                            "their programs (" + ErrnoName(-fresh.get()) + ")");
    meta_.executables = RecordExecutables(root_.get(), tree, writer_, limits,
                                          options_.carry ? &options_.carry->executables : nullptr, overmounted,
                                          fresh.get(), &meta_.notes);
  }

  // What the next capture carries from, but for the tree (addSnapshot gives it).
  void keepCarry() {
    if (!options_.carryOut) return;
    Carry& out = *options_.carryOut;
    out.executables = meta_.executables;
    out.releaseTrees();
    out.parts = std::move(carriedParts_);
    out.stat = std::move(stats_);
    out.modules = std::move(modules_);
    out.readWallNs = meta_.startWallNs;
    out.fullWallNs = options_.carry ? options_.carry->fullWallNs : meta_.startWallNs;
  }

  const CaptureOptions& options_;
  ArchiveWriter& writer_;
  const std::function<void(const CaptureProgress&)>& progress_;
  const int64_t fileTimeoutNs_;
  Metadata meta_;
  std::vector<MountInfo> mounts_;
  OwnedFd root_;
  std::unique_ptr<ExportManifest> manifest_;
  bool rootStatOk_ = false;
  struct stat rootStat_ {};
  int listError_ = 0;
  std::vector<Entry> entries_;
  std::shared_ptr<Pending<std::vector<std::string>>> scan_;
  WalkShared shared_;

  // The walk. Workers take entry indices from order_; the index is also the
  // fragment id that aliases refer to. entries_ grows once, under mu_, when
  // the scan is done.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<size_t> order_;
  std::vector<std::unique_ptr<Fragment>> done_;
  size_t next_ = 0, walked_ = 0;
  // The grafting thread waits for walked_ to reach this (or every entry to
  // be taken) before it is woken.
  static constexpr size_t kWakeBatch = 32;
  size_t wakeAt_ = 0;
  // Process fragments walked but not yet grafted: a walker takes no other
  // process past kAhead of them, unless the grafting thread waits (for one
  // walked out of order). Unbounded, a walker could run a whole tick ahead
  // of a grafter busy compressing parts, every fragment held meanwhile.
  static constexpr size_t kAhead = 2 * kWakeBatch;
  size_t ahead_ = 0;
  bool grafterWaits_ = false;
  bool complete_ = true;
  std::vector<Worker> workers_;
  uint64_t stillBlocked_ = 0, abandoned_ = 0, carriedFiles_ = 0;
  std::unordered_map<std::string, std::string> stats_;  // for options.carryOut
  std::string modules_;
  // Parts (format 5): runs_[r] is [first, end) of name order; runOf_[j] the
  // run of the j-th entry in name order, -1 for none.
  std::vector<std::pair<size_t, size_t>> runs_;
  std::vector<int> runOf_;
  std::vector<std::pair<std::string, std::string>> exeLinks_;  // pid, exe target
  std::vector<CarriedPart> carriedParts_;
  Status partStatus_;
};

Result<Metadata> CaptureInto(const CaptureOptions& options, ArchiveWriter& writer,
                             const std::function<void(const CaptureProgress&)>& progress) {
  return CaptureRun(options, writer, progress).run();
}

// The bugreport profile: the same redaction as `procsnap redact`, applied
// to a capture kept in a private temporary archive meanwhile (redaction
// learns the host's names and addresses from the whole snapshot first).
Result<Metadata> CaptureRedacted(const CaptureOptions& options, ArchiveWriter& writer,
                                 const std::function<void(const CaptureProgress&)>& progress) {
  if (options.carry || options.carryOut)
    return Status::InvalidArgument("the bugreport profile does not record over time: record, then procsnap redact");
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/procsnap-bugreport-XXXXXX";
  if (!::mkdtemp(dir.data())) return Status::FromErrno(dir + ": cannot create a private directory", errno);
  const std::string raw = dir + "/unredacted.psnap";
  WriterOptions fast;
  fast.level = 1;  // read once, then gone
  auto w = ArchiveWriter::Create(raw, fast);
  // Unlinked at once, read back through a descriptor: nothing unredacted
  // outlives this process, even one killed mid-capture.
  const int keep = w.ok() ? ::open(raw.c_str(), O_RDONLY | O_CLOEXEC) : -1;
  const int openErr = errno;
  ::unlink(raw.c_str());
  ::rmdir(dir.c_str());
  if (!w.ok()) return w.status();
  if (keep < 0) return Status::FromErrno(raw + ": cannot open again", openErr);
  const OwnedFd held(keep);
  auto meta = CaptureInto(options, **w, progress);
  Status s = meta.ok() ? (*w)->finish() : meta.status();
  w->reset();
  if (!s.ok()) return s;
  auto reader = ArchiveReader::Open("/proc/self/fd/" + std::to_string(keep));
  if (!reader.ok()) return reader.status();
  RedactOptions ro;
  ro.key = options.redactKey;
  ro.keepHostname = options.keepHostname;
  ro.keepIps = options.keepIps;
  return RedactSnapshot(**reader, 0, writer, ro);
}

}  // namespace

void Carry::releaseTrees() {
  tree = Tree();
  std::vector<CarriedPart>().swap(parts);
  part = Tree();
  unpacked = SIZE_MAX;
}

const Tree& Carry::treeFor(std::string_view name) const {
  if (parts.empty() || !IsNumberName(name)) return tree;
  static const Tree kNone = [] {
    Tree t;
    t.at(t.add("")).kind = NodeKind::Directory;
    return t;
  }();
  // The part whose run holds the name (runs ascend in name order).
  auto it = std::upper_bound(parts.begin(), parts.end(), name,
                             [](std::string_view n, const CarriedPart& p) { return n < p.first; });
  if (it == parts.begin() || name > (--it)->last) return kNone;
  const size_t k = it - parts.begin();
  if (unpacked != k) {
    auto t = UnpackPart(it->packed);
    unpacked = SIZE_MAX;
    if (!t.ok()) return kNone;  // read anew: never carried from a part that does not unpack
    part = std::move(*t);
    unpacked = k;
  }
  return part;
}

Status CheckAppend(const std::string& archive, const CaptureOptions& options) {
  auto reader = ArchiveReader::Open(archive);
  if (!reader.ok()) return reader.status();
  if ((*reader)->snapshotCount() == 0) return Status::Ok();
  const size_t last = (*reader)->snapshotCount() - 1;
  auto snap = (*reader)->snapshot(last);
  if (!snap.ok()) return snap.status();
  const Metadata& m = (*snap)->metadata();
  const std::string profile = ProfileName(options.profile);
  if (m.profile != profile)
    return Status::InvalidArgument(archive + ": its snapshot " + std::to_string(last) + " was captured with --profile " +
                                   m.profile + "; a --profile " + profile + " snapshot would make the archive " +
                                   (m.profile == "bugreport" || profile == "bugreport"
                                        ? "part redacted, part not"
                                        : "mixed") +
                                   " (capture into another archive)");
  const std::string had = RedactionKeyOf(m);
  if (options.profile == Profile::Bugreport || !had.empty()) {
    const std::string now = options.profile == Profile::Bugreport ? RedactionKeyLabel(options.redactKey) : "";
    if (had == "random" || now == "random" || had != now)
      return Status::InvalidArgument(archive + ": its snapshots were redacted with key " +
                                     (had.empty() ? std::string("(none)") : had) + ", this one would be with key " +
                                     (now.empty() ? std::string("(none)") : now) +
                                     ": pseudonyms would not match (append with --key-file of the same key)");
  }
  return Status::Ok();
}

Result<Metadata> Capture(const CaptureOptions& options, ArchiveWriter& writer,
                         const std::function<void(const CaptureProgress&)>& progress) {
  if (options.profile == Profile::Bugreport) return CaptureRedacted(options, writer, progress);
  return CaptureInto(options, writer, progress);
}

}  // namespace procsnap
