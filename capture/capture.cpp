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
  DIR* dir = fd >= 0 ? ::fdopendir(fd) : nullptr;
  if (!dir) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return err;
  }
  int err = 0;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir);
    if (!e) {
      err = errno;
      break;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    entries->push_back({e->d_name, e->d_type});
  }
  ::closedir(dir);
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
bool EveryTaskListed(int rootFd, const std::vector<Entry>& entries) {
  long before = HostTasks(rootFd);
  if (before <= 0) return false;
  long listed = 0;
  for (auto& e : entries) {
    if (!IsNumberName(e.name)) continue;
    auto stat = ParsePidStat(ReadSmall(rootFd, e.name + "/stat"), nullptr);
    if (!stat) return false;
    listed += stat->threads;
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

Result<Metadata> CaptureInto(const CaptureOptions& options, ArchiveWriter& writer,
                             const std::function<void(const CaptureProgress&)>& progress) {
  RaiseFileLimit();  // deep trees keep a descriptor open per level in every walker

  Metadata meta;
  meta.startWallNs = ClockNs(CLOCK_REALTIME);
  meta.startMonoNs = ClockNs(CLOCK_MONOTONIC);
  meta.startBootNs = ClockNs(CLOCK_BOOTTIME);

  const int64_t fileTimeoutNs = static_cast<int64_t>(std::max(0.05, options.fileTimeoutSeconds) * 1e9);
  const std::vector<MountInfo> mounts = ReadMountInfo();
  // Opening the root asks its file system too: bounded like every call.
  struct RootInfo {
    int fd = -1, err = 0;
    bool procfs = false, statOk = false;
    struct stat st {};
    std::set<std::string> unmountedAutofs;
  };
  auto rootInfo = Bounded<RootInfo>(std::chrono::nanoseconds(fileTimeoutNs), [root = options.root, mounts] {
    RootInfo r;
    r.fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r.fd < 0) {
      r.err = errno;
      return r;
    }
    r.procfs = IsProcfs(r.fd);
    r.statOk = ::fstat(r.fd, &r.st) == 0;
    r.unmountedAutofs = UnmountedAutofs(root, mounts);
    return r;
  });
  if (!rootInfo)
    return Status::IoError(options.root + ": opening the capture root did not return within " +
                           FormatSeconds(options.fileTimeoutSeconds) + " s");
  if (rootInfo->fd < 0) return Status::FromErrno(options.root + ": cannot open the capture root", rootInfo->err);
  const OwnedFd root(rootInfo->fd);
  const int rootFd = root.get();

  WalkShared shared;
  shared.options = &options;
  shared.writer = &writer;
  shared.procfs = rootInfo->procfs;
  shared.selfPid = std::to_string(::getpid());
  shared.unmountedAutofs = std::move(rootInfo->unmountedAutofs);
  if (options.timeLimitSeconds > 0)
    shared.deadlineMonoNs = meta.startMonoNs + static_cast<int64_t>(options.timeLimitSeconds * 1e9);
  // How long a call before the walk may take: the file timeout, cut short
  // by the time limit.
  auto callBudget = [&] {
    int64_t budget = fileTimeoutNs;
    if (shared.deadlineMonoNs) budget = std::min(budget, std::max<int64_t>(0, shared.deadlineMonoNs - ClockNs(CLOCK_MONOTONIC)));
    return std::chrono::nanoseconds(budget);
  };

  // Identity files and the root's listing are read before any walker runs;
  // a tree that does not answer must not stop the capture here either.
  {
    auto facts = Bounded<Metadata>(callBudget(), [root = options.root, fd = Dup(rootFd), mounts, meta]() mutable {
      FillHostFacts(root, fd.get(), mounts, &meta);
      return meta;
    });
    if (facts) {
      meta = std::move(*facts);
    } else {
      meta.root = options.root;
      meta.notes.push_back("the identity files under " + options.root + " (hostname, kernel, boot id) did not answer");
    }
  }
  meta.profile = ProfileName(options.profile);
  meta.options = options.commandLine;
  meta.notes.insert(meta.notes.end(), options.notes.begin(), options.notes.end());
  meta.excludes = options.excludes;

  using Listing = std::pair<int, std::vector<Entry>>;
  auto listing = Bounded<Listing>(callBudget(), [fd = Dup(rootFd)] {
    Listing l;
    l.first = ListRoot(fd.get(), &l.second);
    return l;
  });
  if (!listing) return Status::IoError(options.root + ": listing it did not return within the time allowed");
  const int listError = listing->first;
  std::vector<Entry> entries = std::move(listing->second);
  if (listError && entries.empty()) return Status::FromErrno(options.root + ": cannot list", listError);
  if (listError)
    meta.notes.push_back("listing " + options.root + " failed part way (" + ErrnoName(listError) +
                         "); the entries listed before it are captured");
  // The scan for hidden pids probes every pid up to the largest listed one,
  // unless the task count shows nothing can hide: it runs beside the walk,
  // and what it finds is walked last. The root's children are put in name
  // order once the list is complete (byName).
  std::shared_ptr<Pending<std::vector<std::string>>> scan;  // waited for below, within the time limit
  if (shared.procfs && options.profile != Profile::Tuning) {
    auto everyTask = Bounded<bool>(callBudget(), [fd = Dup(rootFd), entries] { return EveryTaskListed(fd.get(), entries); });
    if (!everyTask || !*everyTask)
      scan = Start<std::vector<std::string>>([fd = Dup(rootFd), entries] { return HiddenPids(fd.get(), entries); });
  }

  // Big system-wide directories first, so no walker is left with sys/ at the
  // end; then the pids in name order ("10" before "9"), the order in which
  // fragments are grafted, so that finished fragments do not wait in memory
  // for one that sorts before them.
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto pids = std::stable_partition(order.begin(), order.end(), [&](size_t i) { return !IsNumberName(entries[i].name); });
  std::sort(pids, order.end(), [&](size_t a, size_t b) { return entries[a].name < entries[b].name; });

  // Workers take entry indices from `order`; the index is also the fragment
  // id that aliases refer to. `entries` grows once, under the lock, when
  // the scan is done.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Fragment>> done(entries.size());
  size_t next = 0, walked = 0;
  bool complete = !scan;
  unsigned jobs = options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  struct Worker {
    std::shared_ptr<JobDone> done;  // null once abandoned
    std::shared_ptr<WalkerWatch> watch;
  };
  std::vector<Worker> workers;
  uint64_t stillBlocked = 0;
  {
    std::lock_guard<std::mutex> lock(gBlockedMu);
    std::erase_if(gBlocked, [](const auto& b) { return b.second.watch->unwound.load(); });
    std::erase_if(order, [&](size_t i) {
      auto it = gBlocked.find({options.root, entries[i].name});
      if (it == gBlocked.end()) return false;
      done[i] = UnreadFragment(entries[i].name, entries[i].dtype,
                               "not read: still blocked since " + WallTime(it->second.sinceWallNs) +
                                   " (a call of its walk then has not returned; it is not walked again until it does)");
      ++stillBlocked;  // out of `order`: not counted in `walked`
      return true;
    });
  }
  // The entries no walker will take, recorded unread (no thread to walk them).
  auto giveUpRest = [&](const std::string& why) {
    for (; next < order.size(); ++next) {
      const size_t i = order[next];
      done[i] = UnreadFragment(entries[i].name, entries[i].dtype, why);
      ++walked;
    }
  };
  auto startWorker = [&] {
    auto watch = std::make_shared<WalkerWatch>();
    workers.push_back({RunOnKeptThread([&, watch] {
                         Walker walker(shared, watch);
                         try {
                           for (;;) {
                             size_t i;
                             Entry e;
                             {
                               // Idle workers stay until every entry is walked:
                               // /proc/thread-self names whichever worker read it,
                               // and its task/ entry must still be there when the
                               // capturer's own pid directory is listed.
                               std::unique_lock<std::mutex> lock(mu);
                               cv.wait(lock, [&] { return next < order.size() || (complete && walked == order.size()); });
                               if (next >= order.size()) return;
                               i = order[next++];
                               e = entries[i];
                               watch->fragment = std::make_unique<Fragment>();
                               watch->entry = i;
                             }
                             walker.walkTopLevel(rootFd, e.name, e.dtype, i, *watch->fragment);
                             std::lock_guard<std::mutex> lock(mu);
                             done[i] = std::move(watch->fragment);
                             ++walked;
                             cv.notify_all();
                           }
                         } catch (const WalkerAbandoned&) {
                           // The supervisor took the fragment; nothing here is ours any more.
                           watch->unwound.store(true);
                         }
                       }),
                       watch});
    return workers.back().done != nullptr;
  };
  const std::string noThreads = "not read: " + std::to_string(kMaxKeptThreads) +
                                " threads are blocked in calls that have not returned, and procsnap starts no more";
  bool anyWorker = false;
  for (unsigned w = 0; w < jobs; ++w) anyWorker = startWorker() || anyWorker;
  if (!anyWorker) {
    std::lock_guard<std::mutex> lock(mu);
    giveUpRest(noThreads);
    meta.notes.push_back(noThreads);
  }

  // Under `mu`, every 100 ms while waiting: a walker blocked in one call past
  // the file timeout (or past the time limit) is abandoned, its fragment
  // taken as it is, and a new worker takes its place.
  uint64_t abandoned = 0;
  auto supervise = [&](std::unique_lock<std::mutex>& lock) {
    (void)lock;
    const int64_t now = ClockNs(CLOCK_MONOTONIC);
    const bool late = shared.outOfTime();
    const size_t count = workers.size();
    for (size_t k = 0; k < count; ++k) {
      WalkerWatch& w = *workers[k].watch;
      const uint64_t calls = w.calls.load(std::memory_order_relaxed);
      if (w.state.load(std::memory_order_acquire) != WalkerWatch::InCall || calls != w.seenCalls) {
        w.seenCalls = calls;
        w.seenSinceNs = now;
        continue;
      }
      if (!late && now - w.seenSinceNs < fileTimeoutNs) continue;
      int expected = WalkerWatch::InCall;
      if (!w.state.compare_exchange_strong(expected, WalkerWatch::Abandoned, std::memory_order_acq_rel)) continue;
      std::unique_ptr<Fragment> frag = std::move(w.fragment);
      const std::string why = late ? shared.stopNote
                                   : "not read: no answer within " + FormatSeconds(options.fileTimeoutSeconds) +
                                         " s (a process stuck in the kernel, or a stuck file system)";
      // A process stuck in the kernel blocks every read of its memory map:
      // its walk ends at the first call that does not return.
      const std::string rest = late ? shared.stopNote
                                    : "not read: the walk of " + entries[w.entry].name +
                                          " stopped at an earlier call that did not return";
      MarkUnvisited(*frag, w.slot.load(std::memory_order_relaxed), why, rest);
      done[w.entry] = std::move(frag);
      ++walked;
      ++abandoned;
      {
        std::lock_guard<std::mutex> blocked(gBlockedMu);
        gBlocked[{options.root, entries[w.entry].name}] = {meta.startWallNs, workers[k].watch};
      }
      workers[k].done.reset();  // it returns, if ever, only to unwind
      // Past the time limit a new worker records what is left as unread, without reading.
      if (!startWorker() && std::none_of(workers.begin(), workers.end(), [](const Worker& x) { return x.done; })) {
        giveUpRest(noThreads);
        meta.notes.push_back(noThreads);
      }
      cv.notify_all();
    }
  };
  auto waitFor = [&](std::unique_lock<std::mutex>& lock, const auto& ready) {
    while (!ready()) {
      cv.wait_for(lock, std::chrono::milliseconds(100));
      if (!ready()) supervise(lock);
    }
  };

  if (scan) {
    // Wait for the scan, as long as the time limit allows.
    while (!scan->ready() && !shared.outOfTime()) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(20));
      supervise(lock);
    }
    std::optional<std::vector<std::string>> hidden = scan->take(std::chrono::nanoseconds(0));
    std::lock_guard<std::mutex> lock(mu);
    if (!hidden) meta.notes.push_back("the scan for hidden pids did not finish within the time limit");
    for (auto& pid : hidden ? *hidden : std::vector<std::string>()) {
      meta.notes.push_back("pid " + pid + " answers to stat() but is missing from the listing of " + options.root +
                           " (hidden process); captured anyway");
      order.push_back(entries.size());
      entries.push_back({pid, DT_DIR});
    }
    done.resize(entries.size());
    complete = true;
    cv.notify_all();
  }

  // Root children in name order: slot j holds entry byName[j].
  std::vector<size_t> byName(entries.size());
  for (size_t i = 0; i < byName.size(); ++i) byName[i] = i;
  std::sort(byName.begin(), byName.end(), [&](size_t a, size_t b) { return entries[a].name < entries[b].name; });
  Tree tree;
  {
    const struct stat& st = rootInfo->st;
    Node& root = tree.at(tree.add(""));
    root.kind = NodeKind::Directory;
    root.error = listError;  // a partial listing, as walkers record one below
    if (rootInfo->statOk) {
      root.mode = st.st_mode;
      root.uid = st.st_uid;
      root.gid = st.st_gid;
      root.mtimeNs = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    }
    tree.setChildren(0, 1, static_cast<uint32_t>(entries.size()));
    for (size_t i : byName) tree.add(entries[i].name);
  }

  CaptureProgress prog;
  for (auto& e : entries) prog.processesTotal += IsNumberName(e.name);

  // Graft in name order; remember where each fragment went to fix aliases.
  struct Placed {
    NodeId at;
    uint32_t shift;
  };
  std::vector<Placed> placed(entries.size());
  std::vector<std::pair<NodeId, WalkShared::Where>> aliases;
  uint64_t fromProcess = 0, carriedFiles = 0, sharedFds = 0;
  std::unordered_map<std::string, std::string> stats;  // for options.carryOut
  std::string modules;
  for (size_t j = 0; j < byName.size(); ++j) {
    size_t i = byName[j];
    std::unique_ptr<Fragment> frag;
    {
      std::unique_lock<std::mutex> lock(mu);
      waitFor(lock, [&] { return done[i] != nullptr; });
      frag = std::move(done[i]);
    }
    NodeId at = static_cast<NodeId>(j + 1);
    uint32_t shift = tree.graft(at, frag->tree);
    placed[i] = {at, shift};
    for (auto& a : frag->aliases) aliases.push_back({a.node == 0 ? at : a.node + shift, a.target});
    Add(meta.counts, frag->counts);
    fromProcess += frag->fromProcess;
    sharedFds += frag->sharedFds;
    carriedFiles += frag->carriedFiles;
    if (options.carryOut && !frag->stat.empty()) stats.emplace(entries[i].name, std::move(frag->stat));
    if (options.carryOut)
      for (auto& [rel, line] : frag->threadStats) stats.emplace(std::move(rel), std::move(line));
    if (options.carryOut && !frag->modules.empty()) modules = std::move(frag->modules);
    for (auto& n : frag->notes) meta.notes.push_back(std::move(n));
    if (IsNumberName(entries[i].name)) ++prog.processesDone;
    if (progress) {
      prog.entries = shared.entries.load();
      prog.bytes = shared.bytes.load();
      progress(prog);
    }
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.notify_all();
  }
  for (auto& w : workers)
    if (w.done) w.done->wait();
  if (stillBlocked)
    meta.notes.push_back(std::to_string(stillBlocked) +
                         " entries were not walked: a call of their walk at an earlier capture has not returned yet");
  if (abandoned)
    meta.notes.push_back(std::to_string(abandoned) + " walk(s) stopped at a call that did not return within " +
                         FormatSeconds(options.fileTimeoutSeconds) + " s; the entries left are recorded unread");
  if (sharedFds)
    meta.notes.push_back(std::to_string(sharedFds) +
                         " entries under task/TID/fd and fdinfo were given their process's, read a moment before: "
                         "the threads use its descriptor table (kcmp KCMP_FILES)");
  if (fromProcess)
    meta.notes.push_back(std::to_string(fromProcess) + " files under task/TID/ (" + SharedMmFileNames() +
                         ": made from the memory map all threads of a process share) were given their process's "
                         "content, read once");
  for (auto& [node, where] : aliases) {
    const Placed& p = placed[where.fragment];
    tree.setAlias(node, where.node == 0 ? p.at : where.node + p.shift);
  }
  if (shared.stopped.load())
    meta.notes.push_back(options.interrupt && options.interrupt->load()
                             ? std::string("the capture was interrupted; later entries are recorded unread")
                             : "the capture time limit of " + FormatSeconds(options.timeLimitSeconds) +
                                   " s was reached; later entries are recorded unread");

  if (carriedFiles)
    meta.notes.push_back(std::to_string(carriedFiles) +
                         " files were carried from earlier snapshots, not read again (reason carried; each one's note "
                         "says when it was read, none before the full snapshot of " +
                         WallTime(options.carry->fullWallNs) +
                         "): those of processes and threads that had not run (stat line and schedstat run counts "
                         "unchanged; what other processes change is read at every snapshot), kallsyms while "
                         "/proc/modules was unchanged, and bus/ and fs/ (PCI configuration space, file system "
                         "internals: read at full snapshots)");
  if (shared.procfs && options.executables && options.profile != Profile::Tuning) {
    ExecutableLimits limits;
    limits.hashMax = options.hashExecutableMax;
    limits.keepMax = options.profile == Profile::Bugreport ? 0 : options.keepExecutableMax;
    limits.keepOff = options.profile == Profile::Bugreport ? "the bugreport profile keeps none" : "--keep-exe-max 0";
    limits.seconds = options.executableSeconds;
    limits.deadlineMonoNs = ClockNs(CLOCK_MONOTONIC) + static_cast<int64_t>(options.executableSeconds * 1e9);
    if (shared.deadlineMonoNs) limits.deadlineMonoNs = std::min(limits.deadlineMonoNs, shared.deadlineMonoNs);
    if (options.interrupt && options.interrupt->load()) limits.deadlineMonoNs = 0;
    // Pids whose directory has a mount over it (the capturer's mountinfo).
    // Only for this machine's /proc: a fresh procfs shows the capturer's pid
    // namespace, which a container's /proc need not be.
    std::set<std::string> overmounted;
    const std::string prefix = "/proc/";
    char real[PATH_MAX];
    const bool ownProc = ::realpath(options.root.c_str(), real) && std::string_view(real) == "/proc";
    for (const MountInfo& m : ownProc ? mounts : std::vector<MountInfo>())
      if (m.target.starts_with(prefix)) {
        std::string pid = m.target.substr(prefix.size(), m.target.find('/', prefix.size()) - prefix.size());
        if (IsNumberName(pid)) overmounted.insert(pid);
      }
    OwnedFd fresh(overmounted.empty() ? -1 : FreshProcfs());
    if (!overmounted.empty() && fresh.get() < 0)
      meta.notes.push_back(std::to_string(overmounted.size()) +
                           " pid directories have a mount over them, and no private procfs could be mounted to read "
                           "their programs (" + ErrnoName(-fresh.get()) + ")");
    meta.executables = RecordExecutables(rootFd, tree, writer, limits,
                                         options.carry ? &options.carry->executables : nullptr, overmounted,
                                         fresh.get(), &meta.notes);
  }
  if (options.carryOut) {
    Carry& out = *options.carryOut;
    out.executables = meta.executables;
    out.tree = Tree();
    out.tree.graft(out.tree.add(""), tree);  // alias targets are not copied: carried subtrees walk net/ anew
    out.stat = std::move(stats);
    out.modules = std::move(modules);
    out.readWallNs = meta.startWallNs;
    out.fullWallNs = options.carry ? options.carry->fullWallNs : meta.startWallNs;
  }
  meta.endWallNs = ClockNs(CLOCK_REALTIME);
  meta.endMonoNs = ClockNs(CLOCK_MONOTONIC);
  Status s = writer.addSnapshot(meta, std::move(tree));
  if (!s.ok()) return s;
  return meta;
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

Result<Metadata> Capture(const CaptureOptions& options, ArchiveWriter& writer,
                         const std::function<void(const CaptureProgress&)>& progress) {
  if (options.profile == Profile::Bugreport) return CaptureRedacted(options, writer, progress);
  return CaptureInto(options, writer, progress);
}

}  // namespace procsnap
