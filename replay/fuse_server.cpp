// The snapshot as a read-only FUSE file system, lxcfs-style: inodes map to
// tree nodes and attributes are the recorded ones. A file whose reported
// size is its content length is served through the page cache, kept across
// opens (the snapshot never changes); one reported with procfs's size 0 is
// direct_io so readers still get every byte.
#define FUSE_USE_VERSION 35
#include "fuse_server.h"

#include <fcntl.h>
#include <fuse3/fuse_lowlevel.h>
#include <malloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "live_proc.h"

namespace procsnap {

namespace {

// A FUSE node id names a path, not just a tree node: directories shared
// through a namespace alias appear under each alias with ids of their own,
// since the kernel will not give one directory inode two parents.
//   high 32 bits: 0 = plain, alias node + 1 = reached through that alias,
//                 kHidden = the object a magic link names (pipe:[N]),
//                 kCaller = the snapshot's self shown as the caller's pid,
//                 kLive = a path of the live procfs (low bits: LiveProc id).
//   low 32 bits: tree node + 1 (so the root is FUSE_ROOT_ID).
constexpr uint64_t kHidden = 0xffffffffull;
constexpr uint64_t kCaller = 0xfffffffeull;
constexpr uint64_t kLive = 0xfffffffdull;
constexpr double kForever = 86400.0 * 365;  // a snapshot never changes

// A timeline mount (every snapshot of a recording) puts the moment in the
// top 16 bits: 0 = the timeline's own root and `latest`, k + 1 = snapshot
// k; context and node get 24 bits each (kTimelineNodes nodes a snapshot).
constexpr uint32_t kTimelineMoments = 0xffff;
constexpr NodeId kTimelineNodes = 0xfffffc;
constexpr NodeId kLatest = 1;  // moment 0: node 0 is the root, node 1 `latest`

struct Ino {
  uint64_t ctx;
  NodeId node;
  uint32_t moment = 0;
};

struct OpenFile;
struct DirEntry;
using DirList = std::vector<DirEntry>;

struct FsState {
  std::shared_ptr<const View> view;  // the one snapshot served; null for a timeline
  FileSizes sizes;
  // The kernel opens files itself (OpenErrors::AtRead with content sizes,
  // and a kernel that knows zero-message opens: decided at INIT).
  bool kernelOpens = false;
  LiveProc live;
  // A timeline: every snapshot of `archive`, a directory each.
  std::shared_ptr<ArchiveReader> archive;
  std::vector<std::string> stamps;  // directory names, by snapshot index
  std::vector<std::pair<uint32_t, std::shared_ptr<const View>>> loaded;  // most recent last, a few
  bool timeline() const { return !view; }
  // Playing (procsnap play): the root is the moment `serving`, which
  // follows `wanted` only at a quiet moment (see switchIfQuiet).
  bool playing = false;
  std::atomic<uint32_t> wanted{1}, serving{1};
  std::chrono::steady_clock::time_point lastRequest, wantedSince;
  std::chrono::milliseconds quiet{0}, longest{0};
  void switchIfQuiet(std::chrono::steady_clock::time_point now);
  // Moments decoded ahead by another thread (FuseServer::prefetch), so
  // that a switch does not wait for a decode; viewOf takes them.
  std::mutex prefetchMu;
  std::vector<std::pair<uint32_t, std::shared_ptr<const View>>> prefetched;
  // The View of a moment (0 in a single mount), loaded on first use;
  // null when its snapshot cannot be read or is too large to address.
  const View* viewOf(uint32_t moment);
  // Handles the kernel holds. A file still open when the server stops
  // (run's command left a descendant behind) never gets its RELEASE: the
  // state frees what is left.
  std::unordered_set<OpenFile*> files;
  std::unordered_set<DirList*> dirs;
  ~FsState();
};

FsState& StateOf(fuse_req_t req) { return *static_cast<FsState*>(fuse_req_userdata(req)); }

struct OpenFile {
  NodeId node = kNoNode;
  uint32_t moment = 0;
  // Fetched at the first read (a cached file is read once per mount), and
  // held without a copy: the chunk they lie in stays alive while open.
  std::optional<BlobBytes> bytes;
  OwnedFd fd;  // live files are read where they are
  // Playing: the file's path, so that a tool that keeps it open and reads
  // it again from the start (top and vmstat with /proc/stat, meminfo)
  // reads the moment served then.
  std::string path;
};

struct DirEntry {
  std::string name;
  fuse_ino_t ino;
  mode_t mode;
};

fuse_ino_t Encode(const FsState& fs, uint32_t moment, uint64_t ctx, NodeId node) {
  if (!fs.timeline()) return (ctx << 32) | (uint64_t(node) + 1);
  uint64_t c = ctx >= kLive ? ctx - kLive + 0xfffffd : ctx;  // kLive, kCaller, kHidden: the top three
  return (uint64_t(moment) << 48) | (c << 24) | (uint64_t(node) + 1);
}

Ino Decode(const FsState& fs, fuse_ino_t ino) {
  if (!fs.timeline()) return {ino >> 32, NodeId((ino & 0xffffffffull) - 1), 0};
  uint64_t c = (ino >> 24) & 0xffffff;
  if (c >= 0xfffffd) c = c - 0xfffffd + kLive;
  Ino i{c, NodeId((ino & 0xffffff) - 1), uint32_t(ino >> 48)};
  // Playing: the root, live paths and the caller's pid belong to the moment served.
  if (fs.playing && i.moment == 0) i.moment = fs.serving.load(std::memory_order_relaxed);
  return i;
}

// A tool's one refresh must see one snapshot: the moment changes only
// when no request has come for `quiet` (between two refreshes of top), or
// after `longest` of unbroken requests, so that a tool that never pauses
// still moves on.
void FsState::switchIfQuiet(std::chrono::steady_clock::time_point now) {
  const uint32_t want = wanted.load(std::memory_order_relaxed);
  if (want != serving.load(std::memory_order_relaxed)) {
    if (wantedSince == std::chrono::steady_clock::time_point{}) wantedSince = now;
    if (now - lastRequest >= quiet || now - wantedSince >= longest) {
      serving.store(want, std::memory_order_relaxed);
      wantedSince = {};
    }
  }
  lastRequest = now;
}

// The View of snapshot `moment - 1`; null when it cannot be read or is too
// large to address.
std::shared_ptr<const View> LoadView(const std::shared_ptr<ArchiveReader>& archive, uint32_t moment) {
  auto snap = archive->snapshot(moment - 1);
  if (!snap.ok() || (*snap)->nodeCount() >= kTimelineNodes) return nullptr;
  return std::make_shared<const View>(archive, *snap, moment - 1);
}

const View* FsState::viewOf(uint32_t moment) {
  if (!timeline()) return view.get();
  if (moment == 0 || moment > stamps.size()) return nullptr;
  for (auto& [m, v] : loaded)
    if (m == moment) return v.get();
  if (playing) {
    std::lock_guard<std::mutex> lock(prefetchMu);
    for (auto it = prefetched.begin(); it != prefetched.end(); ++it)
      if (it->first == moment) {
        if (loaded.size() >= 8) loaded.erase(loaded.begin());
        loaded.emplace_back(moment, std::move(it->second));
        prefetched.erase(it);
        return loaded.back().second.get();
      }
  }
  auto loadedView = LoadView(archive, moment);
  if (!loadedView) return nullptr;
  // Kept while inodes of it may be in use; a handful covers tools walking
  // one moment or comparing two, and the rest reload on demand.
  if (loaded.size() >= 8) loaded.erase(loaded.begin());
  loaded.emplace_back(moment, std::move(loadedView));
  return loaded.back().second.get();
}

FsState::~FsState() {
  for (OpenFile* f : files) delete f;
  for (DirList* d : dirs) delete d;
}

bool Valid(const Snapshot& s, Ino i) { return i.ctx != kLive && i.node < s.nodeCount(); }

// What stat() of a magic link such as fd/3 -> pipe:[123] would have found:
// the kernel follows the link relative to fd/, so we answer for that name.
// Anonymous inodes have no file type FUSE can report, so they stay unknown.
bool MagicTarget(std::string_view target, struct stat& st) {
  size_t colon = target.find(':');
  if (colon == std::string_view::npos || colon == 0 || target.find('/') != std::string_view::npos) return false;
  std::string_view kind = target.substr(0, colon);
  if (kind == "anon_inode") return false;
  uint64_t number = 0;
  if (target.size() > colon + 2 && target[colon + 1] == '[' && target.back() == ']') {
    for (char c : target.substr(colon + 2, target.size() - colon - 3)) {
      if (c < '0' || c > '9') {
        number = 0;
        break;
      }
      number = number * 10 + (c - '0');
    }
  }
  st.st_ino = number;
  if (kind == "pipe")
    st.st_mode = S_IFIFO | 0600;
  else if (kind == "socket")
    st.st_mode = S_IFSOCK | 0777;
  else
    st.st_mode = S_IFREG | 0444;  // namespaces: net:[4026531840]
  st.st_nlink = 1;
  return true;
}

// The recorded type and permissions (no setuid, setgid or sticky bit);
// where stat failed at capture, a mode that keeps the kind.
mode_t ModeOf(const Snapshot& s, NodeId id) {
  const Node& n = s.node(id);
  const NodeId parent = s.parent(id);
  if (n.mode & S_IFMT)
    return (n.mode & S_IFMT) | ReplayPermissions(n, s.name(id), parent == kNoNode ? "" : s.name(parent));
  switch (n.kind) {
    case NodeKind::Directory:
    case NodeKind::Alias: return S_IFDIR | 0555;
    case NodeKind::Symlink: return S_IFLNK | 0777;
    default: return S_IFREG | 0444;
  }
}

// Whether opening the file gives its recorded bytes (else it fails with the
// recorded errno or ENODATA).
bool HasContent(const Node& n) { return n.kind == NodeKind::File && OpenError(n) == 0; }

// A file whose capture failed, where the kernel opens files itself: served
// as a link whose reading fails with the recorded errno, so that open()
// and stat() fail as they did on the machine. A regular file could only
// fail at read(), and tools that size a file by fstat (wc -c < f) or take
// a failed read for end-of-file (pmap) would have shown the error as data.
bool BrokenLink(const FsState& fs, const Node& n) {
  return fs.kernelOpens && n.kind == NodeKind::File && OpenError(n) != 0;
}

uint64_t ReportedSize(const Node& n, FileSizes sizes) {
  return sizes == FileSizes::Content && HasContent(n) ? n.size : n.statSize;
}

void FillAttr(const FsState& fs, const Snapshot& s, Ino i, struct stat& st, FileSizes sizes) {
  std::memset(&st, 0, sizeof st);
  if (i.ctx == kHidden) {
    MagicTarget(s.linkTarget(i.node), st);
    st.st_uid = s.node(i.node).uid;
    st.st_gid = s.node(i.node).gid;
    return;
  }
  const Node& n = s.node(i.node);
  st.st_ino = Encode(fs, i.moment, i.ctx, i.node);
  st.st_mode = ModeOf(s, i.node);
  st.st_uid = n.uid;
  st.st_gid = n.gid;
  st.st_size = static_cast<off_t>(ReportedSize(n, sizes));
  if (BrokenLink(fs, n)) st.st_mode = S_IFLNK | 0777, st.st_size = 0;
  st.st_blksize = 1024;
  st.st_nlink = 1;
  if (S_ISDIR(st.st_mode)) {
    st.st_nlink = 2;
    auto [lo, hi] = s.children(i.node);
    for (NodeId c = lo; c < hi; ++c) {
      NodeKind k = s.node(c).kind;
      st.st_nlink += k == NodeKind::Directory || k == NodeKind::Alias;
    }
  }
  st.st_mtim.tv_sec = n.mtimeNs / 1000000000;
  st.st_mtim.tv_nsec = n.mtimeNs % 1000000000;
  st.st_atim = st.st_ctim = st.st_mtim;
}

bool IsDir(const Snapshot& s, NodeId id) {
  NodeKind k = s.node(id).kind;
  return k == NodeKind::Directory || k == NodeKind::Alias;
}

// Children of an alias belong to the alias's context from there down.
uint64_t ChildContext(const Snapshot& s, Ino dir) {
  return dir.ctx == 0 && s.node(dir.node).kind == NodeKind::Alias ? uint64_t(dir.node) + 1 : dir.ctx;
}

// A live file's attributes. When the kernel opens files itself it caches
// their bytes, so a live file reports its current length (procfs says 0)
// and the time of this stat as mtime: the kernel asks again at every read
// (timeout 0) and drops what it cached when the mtime moves.
int LiveAttr(const FsState& fs, const std::string& path, struct stat& st) {
  int err = fs.live.stat(path, st);
  if (err || !fs.kernelOpens || !S_ISREG(st.st_mode)) return err;
  int fd = fs.live.open(path);
  if (fd < 0) return 0;  // its open will fail the same way at read
  char buf[16384];
  off_t size = 0;
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0 && size < (16 << 20);) size += n;
  ::close(fd);
  // With room to grow: a live file may be longer at the read than at this
  // stat (a status whose VmRSS gained a digit), and the kernel would cut
  // the read at the size reported; a shorter read sets the size it finds.
  st.st_size = size + 4096;
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  st.st_mtim = st.st_ctim = now;
  return 0;
}

// The live path of inode number `node` when the requester is the process
// it names, now; "" otherwise. Checked at every request, not only at the
// lookup that handed the inode out: a descriptor outlives its process and
// its pid is reused, and then the server (root) would open another
// process's files for whoever holds it. The requester being alive and that
// process is the identity: no pid it names can have been reused.
std::string LivePathFor(fuse_req_t req, FsState& fs, uint64_t node) {
  std::string path = fs.live.path(static_cast<uint32_t>(node + 1));
  const pid_t requester = fuse_req_ctx(req)->pid;
  if (path.empty() || requester <= 0) return "";
  if (path.substr(0, path.find('/')) != std::to_string(fs.live.tgid(requester))) return "";
  return path;
}

void ReplyLive(fuse_req_t req, const std::string& path) {
  LiveProc& live = StateOf(req).live;
  fuse_entry_param e{};
  int err = LiveAttr(StateOf(req), path, e.attr);
  if (err) return (void)fuse_reply_err(req, err);
  uint32_t id = live.intern(path);
  if (!id) return (void)fuse_reply_err(req, ENOMEM);
  e.ino = Encode(StateOf(req), 0, kLive, id - 1);
  e.attr.st_ino = e.ino;
  fuse_reply_entry(req, &e);  // timeouts 0: it is alive and changes
}

// ---- the timeline's own nodes: its root, a directory of moments, and `latest`.

void TimelineAttr(const FsState& fs, NodeId node, struct stat& st) {
  std::memset(&st, 0, sizeof st);
  st.st_ino = Encode(fs, 0, 0, node);
  if (node == kLatest) {
    st.st_mode = S_IFLNK | 0777;
    st.st_size = static_cast<off_t>(fs.stamps.back().size());
    st.st_nlink = 1;
  } else {
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2 + fs.stamps.size();
  }
  const int64_t newest = fs.archive->summary(fs.stamps.size() - 1).startWallNs;
  st.st_mtim.tv_sec = newest / 1000000000;
  st.st_mtim.tv_nsec = newest % 1000000000;
  st.st_atim = st.st_ctim = st.st_mtim;
}

void TimelineLookup(fuse_req_t req, FsState& fs, const char* name) {
  fuse_entry_param e{};
  e.attr_timeout = e.entry_timeout = kForever;
  if (!std::strcmp(name, "latest")) {
    e.ino = Encode(fs, 0, 0, kLatest);
    TimelineAttr(fs, kLatest, e.attr);
    return (void)fuse_reply_entry(req, &e);
  }
  auto it = std::find(fs.stamps.begin(), fs.stamps.end(), name);
  if (it == fs.stamps.end()) return (void)fuse_reply_err(req, ENOENT);
  const uint32_t moment = static_cast<uint32_t>(it - fs.stamps.begin()) + 1;
  const View* view = fs.viewOf(moment);
  if (!view) return (void)fuse_reply_err(req, EIO);
  e.ino = Encode(fs, moment, 0, 0);
  FillAttr(fs, view->snapshot(), {0, 0, moment}, e.attr, fs.sizes);
  fuse_reply_entry(req, &e);
}

void OnInit(void* userdata, struct fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  auto* fs = static_cast<FsState*>(userdata);
  // Zero-message opens; a changed mtime (live files) drops cached pages.
  fs->kernelOpens = fs->kernelOpens && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) &&
                    (conn->capable & FUSE_CAP_AUTO_INVAL_DATA);
  if (fs->kernelOpens) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FsState& fs = StateOf(req);
  Ino p = Decode(fs, parent);
  if (fs.timeline() && p.moment == 0) {
    if (p.node != 0) return (void)fuse_reply_err(req, ENOTDIR);
    return TimelineLookup(req, fs, name);
  }
  const View* view = fs.viewOf(p.moment);
  if (!view) return (void)fuse_reply_err(req, EIO);
  const Snapshot& s = view->snapshot();
  if (p.ctx == kLive) {
    // Only ids we handed out, and plain names: never a path that could
    // leave the live /proc/PID.
    std::string base = LivePathFor(req, fs, p.node);
    if (base.empty()) return (void)fuse_reply_err(req, EACCES);
    if (!std::strcmp(name, "..") || !std::strcmp(name, ".")) return (void)fuse_reply_err(req, ENOENT);
    return ReplyLive(req, base + "/" + name);
  }
  if (!Valid(s, p) || p.ctx == kHidden) return (void)fuse_reply_err(req, ENOENT);
  if (!IsDir(s, p.node)) return (void)fuse_reply_err(req, ENOTDIR);
  uint64_t ctx = ChildContext(s, p);
  NodeId dir = s.resolveAlias(p.node);
  fuse_entry_param e{};
  e.attr_timeout = e.entry_timeout = kForever;
  NodeId c = s.child(dir, name);
  if (c != kNoNode && dir == 0 && (ExitedDuringCapture(s, c) || NotInProc(s, c))) c = kNoNode;  // not shown
  if (c != kNoNode) {
    e.ino = Encode(fs, p.moment, ctx, c);
    FillAttr(fs, s, {ctx, c, p.moment}, e.attr, fs.sizes);
    // Playing: a name at the root is asked again at every path walk, and
    // gets the inode of the moment then served, so nothing of the moment
    // before is found in the kernel's caches after a switch.
    if (fs.playing && parent == FUSE_ROOT_ID) e.entry_timeout = 0;
    return (void)fuse_reply_entry(req, &e);
  }
  // fd/3 -> "pipe:[123]" is followed as fd/pipe:[123]: answer with what
  // the link named, found among the siblings.
  struct stat probe{};
  if (MagicTarget(name, probe)) {
    auto [lo, hi] = s.children(dir);
    for (NodeId l = lo; l < hi; ++l) {
      const Node& n = s.node(l);
      if (n.kind == NodeKind::Symlink && n.error == 0 && s.linkTarget(l) == name) {
        e.ino = Encode(fs, p.moment, kHidden, l);
        FillAttr(fs, s, {kHidden, l, p.moment}, e.attr, fs.sizes);
        return (void)fuse_reply_entry(req, &e);
      }
    }
  }
  // The kernel names the calling thread; a tool looks up its process.
  // (Not in a timeline: there the moments' own processes are what is asked for.)
  bool callerPid = (!fs.timeline() || fs.playing) && p.node == 0 && p.ctx == 0 && IsNumberName(name) &&
                   std::to_string(fs.live.available() ? fs.live.tgid(fuse_req_ctx(req)->pid) : fuse_req_ctx(req)->pid) == name;
  if (callerPid && fs.live.available()) return ReplyLive(req, name);
  if (callerPid) {  // no live procfs: the snapshot's self stands in, as /proc/self does
    auto self = view->resolve("self", true);
    if (self.ok() && IsDir(s, *self)) {
      e.ino = Encode(fs, fs.playing ? p.moment : 0, kCaller, *self);
      e.entry_timeout = 0;
      FillAttr(fs, s, {kCaller, *self}, e.attr, fs.sizes);
      return (void)fuse_reply_entry(req, &e);
    }
  }
  e.ino = 0;  // a negative entry the kernel may cache, unless some caller's pid may match
  if (p.node == 0 && IsNumberName(name)) e.entry_timeout = 0;
  fuse_reply_entry(req, &e);
}

// The kernel drops its references to an inode: live paths give back their number.
void OnForget(fuse_req_t req, fuse_ino_t ino, uint64_t lookups) {
  Ino i = Decode(StateOf(req), ino);
  if (i.ctx == kLive) StateOf(req).live.forget(i.node + 1, lookups);
  fuse_reply_none(req);
}

void OnGetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info*) {
  FsState& fs = StateOf(req);
  Ino i = Decode(fs, ino);
  struct stat st;
  if (fs.timeline() && i.moment == 0) {
    if (i.node > kLatest) return (void)fuse_reply_err(req, ENOENT);
    TimelineAttr(fs, i.node, st);
    return (void)fuse_reply_attr(req, &st, kForever);
  }
  if (i.ctx == kLive) {
    const std::string path = LivePathFor(req, fs, i.node);
    if (path.empty()) return (void)fuse_reply_err(req, EACCES);
    int err = LiveAttr(fs, path, st);
    if (err) return (void)fuse_reply_err(req, err);
    st.st_ino = ino;
    return (void)fuse_reply_attr(req, &st, 0);
  }
  const View* view = fs.viewOf(i.moment);
  if (!view) return (void)fuse_reply_err(req, EIO);
  const Snapshot& s = view->snapshot();
  if (!Valid(s, i)) return (void)fuse_reply_err(req, ENOENT);
  FillAttr(fs, s, i, st, fs.sizes);
  fuse_reply_attr(req, &st, kForever);
}

void OnReadlink(fuse_req_t req, fuse_ino_t ino) {
  FsState& fs = StateOf(req);
  Ino i = Decode(fs, ino);
  std::string target;
  if (fs.timeline() && i.moment == 0) {
    if (i.node != kLatest) return (void)fuse_reply_err(req, EINVAL);
    return (void)fuse_reply_readlink(req, fs.stamps.back().c_str());
  }
  if (i.ctx == kLive) {
    const std::string path = LivePathFor(req, fs, i.node);
    if (path.empty()) return (void)fuse_reply_err(req, EACCES);
    int err = fs.live.readlink(path, target);
    if (err) return (void)fuse_reply_err(req, err);
    return (void)fuse_reply_readlink(req, target.c_str());
  }
  const View* view = fs.viewOf(i.moment);
  if (!view) return (void)fuse_reply_err(req, EIO);
  const Snapshot& s = view->snapshot();
  if (!Valid(s, i) || i.ctx == kHidden) return (void)fuse_reply_err(req, EINVAL);
  const Node& n = s.node(i.node);
  if (BrokenLink(fs, n)) return (void)fuse_reply_err(req, OpenError(n));
  if (n.kind != NodeKind::Symlink) return (void)fuse_reply_err(req, EINVAL);
  if (n.error) return (void)fuse_reply_err(req, n.error);
  // procfs checks these at readlink, not by mode: only root and the owner.
  const NodeId parent = s.parent(i.node);
  const uid_t uid = fuse_req_ctx(req)->uid;
  if (uid != 0 && uid != n.uid && PtraceGuarded(s.name(i.node), parent == kNoNode ? "" : s.name(parent)))
    return (void)fuse_reply_err(req, EACCES);
  target = s.linkTarget(i.node);
  fuse_reply_readlink(req, target.c_str());
}

// What opening snapshot inode `i` as a file gives: 0 (and its snapshot in
// *out) or the errno, whether the open reaches the server or the kernel
// opened the file itself and the first read asks.
int FileOf(FsState& fs, Ino i, const Snapshot** out) {
  if (fs.timeline() && i.moment == 0) return i.node == 0 ? EISDIR : ELOOP;
  const View* view = fs.viewOf(i.moment);
  if (!view) return EIO;
  const Snapshot& s = view->snapshot();
  if (!Valid(s, i)) return ENOENT;
  // A namespace named by ns/net cannot be opened from a snapshot; EACCES is
  // the refusal tools such as lsns already expect from /proc.
  if (i.ctx == kHidden) return EACCES;
  const Node& n = s.node(i.node);
  if (n.kind != NodeKind::File) return n.kind == NodeKind::Other ? ENXIO : EISDIR;
  if (int err = OpenError(n)) return err;
  *out = &s;
  return 0;
}

void ReplyOpen(fuse_req_t req, struct fuse_file_info* fi, std::unique_ptr<OpenFile> file, bool cached) {
  fi->fh = reinterpret_cast<uint64_t>(file.get());
  fi->direct_io = !cached;
  fi->keep_cache = cached;
  fi->noflush = 1;
  FsState& fs = StateOf(req);  // the request is freed by its reply
  if (fuse_reply_open(req, fi) == 0) fs.files.insert(file.release());  // else the open was interrupted
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  FsState& fs = StateOf(req);
  // "Open it yourself, this and every file": the kernel stops asking.
  if (fs.kernelOpens) return (void)fuse_reply_err(req, ENOSYS);
  Ino i = Decode(fs, ino);
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) return (void)fuse_reply_err(req, EROFS);
  auto file = std::make_unique<OpenFile>();
  if (i.ctx == kLive) {
    const std::string path = LivePathFor(req, fs, i.node);
    if (path.empty()) return (void)fuse_reply_err(req, EACCES);
    file->fd = OwnedFd(fs.live.open(path));
    if (file->fd.get() < 0) return (void)fuse_reply_err(req, -file->fd.get());
    return ReplyOpen(req, fi, std::move(file), false);
  }
  const Snapshot* s = nullptr;
  if (int err = FileOf(fs, i, &s)) return (void)fuse_reply_err(req, err);
  const Node& n = s->node(i.node);
  file->node = i.node;
  file->moment = i.moment;
  if (fs.playing) {
    // A process's files are reopened at every refresh (a new moment gives
    // them new inodes): cached. Others (stat, meminfo, net/dev) tools keep
    // open and read again from the start: never cached, and they move.
    NodeId top = i.node;
    while (top != kNoNode && s->parent(top) != 0 && s->parent(top) != kNoNode) top = s->parent(top);
    const bool ofProcess = top != kNoNode && top != i.node && IsNumberName(s->name(top));
    if (ofProcess) return ReplyOpen(req, fi, std::move(file), ReportedSize(n, fs.sizes) == n.size);
    file->path = s->path(i.node);
    return ReplyOpen(req, fi, std::move(file), false);
  }
  ReplyOpen(req, fi, std::move(file), ReportedSize(n, fs.sizes) == n.size);
}

// A read of a file the kernel opened itself (no handle): the checks OnOpen
// makes, then the bytes.
void ReadUnopened(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off) {
  FsState& fs = StateOf(req);
  Ino i = Decode(fs, ino);
  if (i.ctx == kLive) {
    const std::string path = LivePathFor(req, fs, i.node);
    if (path.empty()) return (void)fuse_reply_err(req, EACCES);
    int fd = fs.live.open(path);
    if (fd < 0) return (void)fuse_reply_err(req, -fd);
    std::string buf(std::min<size_t>(size, 1 << 20), '\0');
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    int err = errno;
    ::close(fd);
    if (n < 0) return (void)fuse_reply_err(req, err);
    return (void)fuse_reply_buf(req, buf.data(), n);
  }
  const Snapshot* s = nullptr;
  if (int err = FileOf(fs, i, &s)) return (void)fuse_reply_err(req, err);
  auto bytes = s->bytes(i.node);
  if (!bytes.ok()) return (void)fuse_reply_err(req, EIO);
  std::string_view b = bytes->bytes;
  if (uint64_t(off) >= b.size()) return (void)fuse_reply_buf(req, nullptr, 0);
  fuse_reply_buf(req, b.data() + off, std::min<size_t>(size, b.size() - off));
}

void OnRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  if (off < 0) return (void)fuse_reply_err(req, EINVAL);
  if (fi->fh == 0) return ReadUnopened(req, ino, size, off);
  OpenFile& file = *reinterpret_cast<OpenFile*>(fi->fh);
  if (file.fd.get() >= 0) {
    std::string buf(std::min<size_t>(size, 1 << 20), '\0');
    ssize_t n = ::pread(file.fd.get(), buf.data(), buf.size(), off);
    if (n < 0) return (void)fuse_reply_err(req, errno);
    return (void)fuse_reply_buf(req, buf.data(), n);
  }
  FsState& fs = StateOf(req);
  if (fs.playing && off == 0 && !file.path.empty() && file.moment != fs.serving.load()) {
    // Read again from the start: the moment served now, if it has the file.
    const uint32_t now = fs.serving.load();
    if (const View* view = fs.viewOf(now)) {
      const Snapshot& s = view->snapshot();
      const NodeId n = s.lookup(file.path);
      if (n != kNoNode && HasContent(s.node(n))) {
        file.node = n;
        file.moment = now;
        file.bytes.reset();
      }
    }
  }
  if (!file.bytes) {
    const View* view = fs.viewOf(file.moment);
    if (!view) return (void)fuse_reply_err(req, EIO);
    auto bytes = view->snapshot().bytes(file.node);
    if (!bytes.ok()) return (void)fuse_reply_err(req, EIO);
    file.bytes = std::move(*bytes);
  }
  std::string_view bytes = file.bytes->bytes;
  if (uint64_t(off) >= bytes.size()) return (void)fuse_reply_buf(req, nullptr, 0);
  fuse_reply_buf(req, bytes.data() + off, std::min<size_t>(size, bytes.size() - off));
}

void OnRelease(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  auto* file = reinterpret_cast<OpenFile*>(fi->fh);  // null for a file the kernel opened
  StateOf(req).files.erase(file);
  delete file;
  fuse_reply_err(req, 0);
}

// procfs lists names first and numbers (pids, fds, tids) in numeric order;
// ps, lsof and pstree print in that order.
void ListSnapshotDir(const FsState& fs, const Snapshot& s, Ino dir, DirList& out) {
  uint64_t ctx = ChildContext(s, dir);
  auto add = [&](NodeId c) {
    out.push_back({std::string(s.name(c)), Encode(fs, dir.moment, ctx, c),
                   BrokenLink(fs, s.node(c)) ? mode_t(S_IFLNK | 0777) : ModeOf(s, c)});
  };
  auto [lo, hi] = s.children(dir.node);
  std::vector<std::pair<uint64_t, NodeId>> numbers;
  for (NodeId c = lo; c < hi; ++c) {
    std::string_view name = s.name(c);
    if (dir.node == 0 && (ExitedDuringCapture(s, c) || NotInProc(s, c))) continue;
    if (IsNumberName(name) && name.size() <= 19)
      numbers.emplace_back(std::stoull(std::string(name)), c);
    else
      add(c);
  }
  std::sort(numbers.begin(), numbers.end());
  for (auto& [value, c] : numbers) add(c);
}

void OnOpendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  FsState& fs = StateOf(req);
  Ino i = Decode(fs, ino);
  auto list = std::make_unique<DirList>();
  list->push_back({".", ino, S_IFDIR});
  list->push_back({"..", FUSE_ROOT_ID, S_IFDIR});
  if (fs.timeline() && i.moment == 0) {
    if (i.node != 0) return (void)fuse_reply_err(req, ENOTDIR);
    for (uint32_t k = 0; k < fs.stamps.size(); ++k) list->push_back({fs.stamps[k], Encode(fs, k + 1, 0, 0), S_IFDIR});
    list->push_back({"latest", Encode(fs, 0, 0, kLatest), S_IFLNK});
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
  } else if (i.ctx == kLive) {
    std::vector<std::pair<std::string, unsigned char>> names;
    const std::string path = LivePathFor(req, fs, i.node);
    if (path.empty()) return (void)fuse_reply_err(req, EACCES);
    int err = fs.live.list(path, names);
    if (err) return (void)fuse_reply_err(req, err);
    for (auto& [name, type] : names) list->push_back({name, ino, mode_t(type) << 12});  // d_type to S_IF*
  } else {
    const View* view = fs.viewOf(i.moment);
    if (!view) return (void)fuse_reply_err(req, EIO);
    const Snapshot& s = view->snapshot();
    if (!Valid(s, i) || i.ctx == kHidden) return (void)fuse_reply_err(req, ENOENT);
    if (!IsDir(s, i.node)) return (void)fuse_reply_err(req, ENOTDIR);
    const Node& n = s.node(i.node);
    auto [lo, hi] = s.children(i.node);
    if (lo == hi && n.error) return (void)fuse_reply_err(req, n.error);
    if (lo == hi && NotRead(n.reason)) return (void)fuse_reply_err(req, ENODATA);
    ListSnapshotDir(fs, s, i, *list);
    const bool moving = fs.playing && ino == FUSE_ROOT_ID;  // its listing changes with the moment
    fi->cache_readdir = !moving;
    fi->keep_cache = !moving;
  }
  fi->fh = reinterpret_cast<uint64_t>(list.get());
  if (fuse_reply_open(req, fi) == 0) fs.dirs.insert(list.release());  // `fs`: the request is freed by its reply
}

void OnReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, struct fuse_file_info* fi) {
  const DirList& list = *reinterpret_cast<const DirList*>(fi->fh);
  std::string buf(size, '\0');
  size_t used = 0;
  for (size_t k = off < 0 ? 0 : size_t(off); k < list.size(); ++k) {
    struct stat st{};
    st.st_ino = list[k].ino;
    st.st_mode = list[k].mode;
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, list[k].name.c_str(), &st, off_t(k + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OnReleasedir(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  auto* list = reinterpret_cast<DirList*>(fi->fh);
  StateOf(req).dirs.erase(list);
  delete list;
  fuse_reply_err(req, 0);
}

// A namespace link (ns/mnt) followed is a file the kernel opens, but a
// snapshot cannot hand out a namespace: the nsfs ioctls lsns asks (parent,
// owner, type) get EPERM, which lsns takes as "not allowed to know" and
// lists the namespace from its inode number; every other ioctl is not one
// of ours (ENOTTY).
void OnIoctl(fuse_req_t req, fuse_ino_t, unsigned int cmd, void*, struct fuse_file_info*, unsigned, const void*,
             size_t, size_t) {
  constexpr unsigned kNsfsIoctlType = 0xb7;  // NSIO in linux/nsfs.h
  fuse_reply_err(req, ((cmd >> 8) & 0xff) == kNsfsIoctlType ? EPERM : ENOTTY);
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops ops{};
  ops.init = OnInit;
  ops.lookup = OnLookup;
  ops.forget = OnForget;
  ops.getattr = OnGetattr;
  ops.readlink = OnReadlink;
  ops.open = OnOpen;
  ops.read = OnRead;
  ops.release = OnRelease;
  ops.opendir = OnOpendir;
  ops.readdir = OnReaddir;
  ops.releasedir = OnReleasedir;
  ops.ioctl = OnIoctl;
  return ops;
}();

// Mount options may not hold commas; the archive name is only a label.
std::string Label(std::string s) {
  for (char& c : s)
    if (c == ',' || c == '\\' || c == ' ' || c == '\t' || c == '\n' || c == '=') c = '_';
  return s;
}

}  // namespace

Result<std::unique_ptr<FuseServer>> FuseServer::Mount(std::shared_ptr<const View> view, const std::string& dir,
                                                      const MountOptions& opts) {
  auto state = new FsState{};
  state->view = std::move(view);
  state->sizes = opts.sizes;
  state->kernelOpens = opts.errors == OpenErrors::AtRead && opts.sizes == FileSizes::Content;
  return Start(state, state->view->archive().path(), dir, opts);
}

Result<std::unique_ptr<FuseServer>> FuseServer::MountTimeline(std::shared_ptr<ArchiveReader> archive,
                                                              const std::string& dir, const MountOptions& opts) {
  const size_t count = archive->snapshotCount();
  if (count == 0) return Status::NotFound(archive->path() + ": holds no snapshot");
  if (count > kTimelineMoments)
    return Status::InvalidArgument(archive->path() + ": holds " + std::to_string(count) +
                                   " snapshots; a timeline mount serves at most " + std::to_string(kTimelineMoments) +
                                   " (mount one with --at, or a recording with fewer)");
  auto state = new FsState{};
  state->sizes = opts.sizes;
  state->kernelOpens = opts.errors == OpenErrors::AtRead && opts.sizes == FileSizes::Content;
  state->archive = std::move(archive);
  // A directory per snapshot, named by its start; a start another shares
  // (two snapshots in one millisecond) gets "-2", "-3".
  std::map<std::string, int> seen;
  for (size_t i = 0; i < count; ++i) {
    std::string name = WallTime(state->archive->summary(i).startWallNs);
    if (int n = ++seen[name]; n > 1) name.append("-").append(std::to_string(n));
    state->stamps.push_back(name);
  }
  return Start(state, state->archive->path(), dir, opts);
}

Result<std::unique_ptr<FuseServer>> FuseServer::MountPlaying(std::shared_ptr<ArchiveReader> archive,
                                                             const std::string& dir, const MountOptions& opts,
                                                             size_t first, std::chrono::milliseconds quiet,
                                                             std::chrono::milliseconds longest) {
  const size_t count = archive->snapshotCount();
  if (count == 0) return Status::NotFound(archive->path() + ": holds no snapshot");
  if (count >= kTimelineMoments)
    return Status::InvalidArgument(archive->path() + ": holds " + std::to_string(count) + " snapshots; play takes at most " +
                                   std::to_string(kTimelineMoments - 1) + " (choose with --from and --to)");
  auto state = new FsState{};
  state->sizes = opts.sizes;
  state->kernelOpens = opts.errors == OpenErrors::AtRead && opts.sizes == FileSizes::Content;
  state->archive = std::move(archive);
  state->stamps.assign(count, "");
  state->playing = true;
  state->kernelOpens = false;  // opens reach the server: files kept open follow the moment
  state->wanted = state->serving = static_cast<uint32_t>(first + 1);
  state->quiet = quiet;
  state->longest = longest;
  if (!state->viewOf(static_cast<uint32_t>(first + 1))) {
    delete state;
    return Status::InvalidArgument("snapshot " + std::to_string(first) + " cannot be read or is too large to play");
  }
  return Start(state, state->archive->path(), dir, opts);
}

void FuseServer::show(size_t snapshot, bool now) {
  auto* fs = static_cast<FsState*>(state_.get());
  fs->wanted.store(static_cast<uint32_t>(snapshot + 1));
  if (now) fs->serving.store(static_cast<uint32_t>(snapshot + 1));
}

void FuseServer::prefetch(size_t snapshot) {
  auto* fs = static_cast<FsState*>(state_.get());
  if (!fs->playing || snapshot >= fs->stamps.size()) return;
  const uint32_t moment = static_cast<uint32_t>(snapshot + 1);
  {
    std::lock_guard<std::mutex> lock(fs->prefetchMu);
    for (auto& [m, v] : fs->prefetched)
      if (m == moment) return;
  }
  auto view = LoadView(fs->archive, moment);  // the reader is safe to share between threads
  if (!view) return;
  // The files at the top (stat, uptime, meminfo) are what a tool reads
  // first after a switch: their chunks decompressed now, into the reader's cache.
  const Snapshot& sn = view->snapshot();
  auto [lo, hi] = sn.children(0);
  for (NodeId c = lo; c < hi; ++c)
    if (sn.node(c).kind == NodeKind::File && sn.node(c).size) (void)sn.bytes(c);
  std::lock_guard<std::mutex> lock(fs->prefetchMu);
  if (fs->prefetched.size() >= 4) fs->prefetched.erase(fs->prefetched.begin());
  fs->prefetched.emplace_back(moment, std::move(view));
}

size_t FuseServer::showing() const {
  return static_cast<FsState*>(state_.get())->serving.load() - 1;
}

Result<std::unique_ptr<FuseServer>> FuseServer::Start(void* fsState, const std::string& label, const std::string& dir,
                                                      const MountOptions& opts) {
  // A server may serve the /proc its own process sees (run): it must never
  // read /proc. glibc reads /proc/sys/vm/overcommit_memory when it first
  // shrinks a thread's own malloc arena, and the server thread would wait
  // on its own answer. One arena (grown and trimmed with brk) never asks.
  ::mallopt(M_ARENA_MAX, 1);
  auto* state = static_cast<FsState*>(fsState);
  std::unique_ptr<FuseServer> server(new FuseServer);
  server->state_ = std::shared_ptr<void>(state, [](void* p) { delete static_cast<FsState*>(p); });
  std::string options = "ro,nosuid,nodev,noexec,default_permissions,subtype=procsnap,fsname=procsnap:" + Label(label);
  if (opts.allowOther) options += ",allow_other";
  std::vector<std::string> argv = {"procsnap", "-o", options};
  if (opts.debug) argv.push_back("-d");
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(int(cargv.size()), cargv.data());
  server->se_ = fuse_session_new(&args, &kOps, sizeof kOps, state);
  fuse_opt_free_args(&args);
  if (!server->se_) return Status::IoError(dir + ": cannot start a FUSE session (libfuse printed why above)");
  if (fuse_session_mount(server->se_, dir.c_str()) != 0) {
    struct stat dev {};
    if (::geteuid() != 0 && ::stat("/dev/fuse", &dev) == 0 && ::access("/dev/fuse", R_OK | W_OK) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", unsigned(dev.st_mode & 07777));
      return Status::IoError(dir + ": cannot mount: /dev/fuse (mode " + mode +
                             ") is not open to this user. Debian's udev rule makes it 0666; a machine without "
                             "udev (a container, some VMs) keeps the kernel's 0600: as root, chmod 0666 /dev/fuse");
    }
    return Status::IoError(dir + ": cannot mount (is /dev/fuse there, and is fuse3 installed? "
                           "libfuse printed the reason above)");
  }
  server->mounted_ = true;
  server->wakeFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (server->wakeFd_ < 0) return Status::FromErrno(dir + ": eventfd", errno);
  return server;
}

FuseServer::~FuseServer() {
  if (wakeFd_ >= 0) ::close(wakeFd_);
  if (!se_) return;
  if (signals_) fuse_remove_signal_handlers(se_);
  if (mounted_) fuse_session_unmount(se_);
  fuse_session_destroy(se_);
}

int FuseServer::loop() {
  // One thread: every handler answers from memory, and thread hand-offs
  // cost more than they gain on small machines. Between requests it polls
  // the device for a moment before it sleeps: a tool reading /proc sends
  // the next request within microseconds, and waking a sleeping server
  // costs an interrupt and a context switch (figures in bench/RESULTS.md).
  using Clock = std::chrono::steady_clock;
  constexpr auto kSpin = std::chrono::microseconds(100);
  const int fd = fuse_session_fd(se_);
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  struct fuse_buf buf{};
  int rc = 0;
  Clock::time_point spinUntil;
  while (!fuse_session_exited(se_)) {
    int res = fuse_session_receive_buf(se_, &buf);
    if (res == -EAGAIN) {
      if (Clock::now() < spinUntil) {
        ::sched_yield();  // whatever else wants this CPU goes first
        continue;
      }
      struct pollfd p[2] = {{fd, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 && errno != EINTR) {
        rc = -errno;
        break;
      }
      continue;
    }
    if (res == -EINTR) continue;
    if (res <= 0) {  // 0: unmounted
      rc = res;
      break;
    }
    auto* fs = static_cast<FsState*>(state_.get());
    if (fs->playing) fs->switchIfQuiet(Clock::now());
    fuse_session_process_buf(se_, &buf);
    spinUntil = Clock::now() + kSpin;
  }
  std::free(buf.mem);
  ::fcntl(fd, F_SETFL, flags);
  // A signal (SIGINT/SIGTERM/SIGHUP) ends the loop through
  // fuse_session_exit: that is how a foreground mount is meant to stop.
  return rc;
}

void FuseServer::stop() {
  fuse_session_exit(se_);
  uint64_t one = 1;
  (void)!::write(wakeFd_, &one, sizeof one);
}

void FuseServer::handleSignals() {
  if (fuse_set_signal_handlers(se_) == 0) signals_ = true;
}

}  // namespace procsnap
