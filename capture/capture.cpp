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
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "host_facts.h"
#include "procfs/procfs.h"
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

}  // namespace

const char* ProfileName(Profile p) {
  switch (p) {
    case Profile::Full: return "full";
    case Profile::Bugreport: return "bugreport";
    case Profile::Tuning: return "tuning";
  }
  return "?";
}

Result<Metadata> Capture(const CaptureOptions& options, ArchiveWriter& writer,
                         const std::function<void(const CaptureProgress&)>& progress) {
  RaiseFileLimit();  // deep trees keep a descriptor open per level in every walker

  Metadata meta;
  meta.startWallNs = ClockNs(CLOCK_REALTIME);
  meta.startMonoNs = ClockNs(CLOCK_MONOTONIC);
  meta.startBootNs = ClockNs(CLOCK_BOOTTIME);

  int rootFd = ::open(options.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootFd < 0) return Status::FromErrno(options.root + ": cannot open the capture root", errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{rootFd};

  WalkShared shared;
  shared.options = &options;
  shared.writer = &writer;
  shared.procfs = IsProcfs(rootFd);
  shared.selfPid = std::to_string(::getpid());
  const std::vector<MountInfo> mounts = ReadMountInfo();
  shared.unmountedAutofs = UnmountedAutofs(options.root, mounts);
  if (options.timeLimitSeconds > 0)
    shared.deadlineMonoNs = meta.startMonoNs + static_cast<int64_t>(options.timeLimitSeconds * 1e9);

  FillHostFacts(options.root, rootFd, mounts, &meta);
  meta.profile = ProfileName(options.profile);
  meta.options = options.commandLine;
  meta.excludes = options.excludes;

  std::vector<Entry> entries;
  const int listError = ListRoot(rootFd, &entries);
  if (listError && entries.empty()) return Status::FromErrno(options.root + ": cannot list", listError);
  if (listError)
    meta.notes.push_back("listing " + options.root + " failed part way (" + ErrnoName(listError) +
                         "); the entries listed before it are captured");
  // The scan for hidden pids probes every pid up to the largest listed one,
  // unless the task count shows nothing can hide: it runs beside the walk,
  // and what it finds is walked last. The root's children are put in name
  // order once the list is complete (byName).
  std::vector<std::string> hidden;
  std::thread scan;
  if (shared.procfs && options.profile != Profile::Tuning && !EveryTaskListed(rootFd, entries))
    scan = std::thread([&] { hidden = HiddenPids(rootFd, entries); });

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
  bool complete = !scan.joinable();
  unsigned jobs = options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < jobs; ++w) {
    workers.emplace_back([&] {
      Walker walker(shared);
      for (;;) {
        size_t i;
        Entry e;
        {
          // Idle workers stay until every entry is walked: /proc/thread-self
          // names whichever worker read it, and its task/ entry must still
          // be there when the capturer's own pid directory is listed.
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return next < order.size() || (complete && walked == order.size()); });
          if (next >= order.size()) return;
          i = order[next++];
          e = entries[i];
        }
        auto frag = std::make_unique<Fragment>(walker.walkTopLevel(rootFd, e.name, e.dtype, i));
        std::lock_guard<std::mutex> lock(mu);
        done[i] = std::move(frag);
        ++walked;
        cv.notify_all();
      }
    });
  }
  if (scan.joinable()) {
    scan.join();
    std::lock_guard<std::mutex> lock(mu);
    for (auto& pid : hidden) {
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
    struct stat st;
    Node& root = tree.at(tree.add(""));
    root.kind = NodeKind::Directory;
    root.error = listError;  // a partial listing, as walkers record one below
    if (::fstat(rootFd, &st) == 0) {
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
  uint64_t fromProcess = 0;
  for (size_t j = 0; j < byName.size(); ++j) {
    size_t i = byName[j];
    std::unique_ptr<Fragment> frag;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done[i] != nullptr; });
      frag = std::move(done[i]);
    }
    NodeId at = static_cast<NodeId>(j + 1);
    uint32_t shift = tree.graft(at, frag->tree);
    placed[i] = {at, shift};
    for (auto& a : frag->aliases) aliases.push_back({a.node == 0 ? at : a.node + shift, a.target});
    Add(meta.counts, frag->counts);
    fromProcess += frag->fromProcess;
    for (auto& n : frag->notes) meta.notes.push_back(std::move(n));
    if (IsNumberName(entries[i].name)) ++prog.processesDone;
    if (progress) {
      prog.entries = shared.entries.load();
      prog.bytes = shared.bytes.load();
      progress(prog);
    }
  }
  for (auto& w : workers) w.join();
  if (fromProcess)
    meta.notes.push_back(std::to_string(fromProcess) + " files under task/TID/ (" + SharedMmFileNames() +
                         ": made from the memory map all threads of a process share) were given their process's "
                         "content, read once");
  for (auto& [node, where] : aliases) {
    const Placed& p = placed[where.fragment];
    tree.setAlias(node, where.node == 0 ? p.at : where.node + p.shift);
  }
  if (shared.deadlineMonoNs && ClockNs(CLOCK_MONOTONIC) > shared.deadlineMonoNs)
    meta.notes.push_back("the capture time limit of " + std::to_string(options.timeLimitSeconds) +
                         " s was reached; later entries are recorded unread");

  meta.endWallNs = ClockNs(CLOCK_REALTIME);
  meta.endMonoNs = ClockNs(CLOCK_MONOTONIC);
  Status s = writer.addSnapshot(meta, std::move(tree));
  if (!s.ok()) return s;
  return meta;
}

}  // namespace procsnap
