// Export: a snapshot written as a plain folder. Every entry is created with
// *at() calls relative to a directory descriptor this code opened itself
// (O_NOFOLLOW | O_DIRECTORY), and names are checked before use, so neither a
// hostile name nor a recorded link can make a write land outside the target.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "replay/replay.h"

namespace procsnap {

namespace {

constexpr size_t kNameMax = 255;

// Why a name cannot be created in a folder, or nullptr if it can.
const char* UnsafeName(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name == "." || name == "..") return "name is . or ..";
  if (name.find('/') != std::string_view::npos) return "name contains /";
  if (name.find('\0') != std::string_view::npos) return "name contains NUL";
  if (name.size() > kNameMax) return "name longer than 255 bytes";
  return nullptr;
}

// atime and mtime both set to the recorded mtime.
struct Times {
  timespec t[2];
  explicit Times(const Node& n) {
    t[0] = t[1] = {n.mtimeNs / 1000000000, n.mtimeNs % 1000000000};
  }
};

// Errors that end the export: the target itself is failing.
bool Fatal(int err) { return err == ENOSPC || err == EDQUOT || err == EROFS || err == EIO; }

class Exporter {
 public:
  Exporter(const Snapshot& snap, const ExportOptions& opts, int rootFd)
      : snap_(snap), opts_(opts), rootFd_(rootFd) {
    for (NodeId i = 0; i < snap_.nodeCount(); ++i)
      if (snap_.node(i).kind == NodeKind::Alias) aliasTargets_.insert(snap_.resolveAlias(i));
  }

  Status run() {
    exportDir(rootFd_, 0, -1, "");
    return fatal_;
  }
  // Last, once the manifest is in: the root may become read-only.
  void finishRoot() { finishAttributes(rootFd_, "", snap_.node(0), true); }

  ExportReport report;
  nlohmann::json entries = nlohmann::json::array();

 private:
  void note(const std::string& path, nlohmann::json entry) {
    entry["path"] = path;
    entries.push_back(std::move(entry));
  }
  void noteErrno(const std::string& path, const char* what, int err) {
    note(path, {{"problem", what}, {"errno", err}, {"error", ErrnoName(err)}, {"message", std::strerror(err)}});
  }
  void failed(const std::string& path, const char* what, int err) {
    ++report.notWritten;
    noteErrno(path, what, err);
    if (Fatal(err) && fatal_.ok()) fatal_ = Status::FromErrno("writing " + path, err);
  }
  void tick() {
    ++done_;
    if (opts_.progress && (done_ & 4095) == 0) opts_.progress(done_, snap_.nodeCount());
    // Each alias repeats its directory: a real capture writes a fraction
    // more entries than it has nodes, a hostile one could ask for billions.
    if (done_ > budget_ && fatal_.ok())
      fatal_ = Status::InvalidArgument("export stopped after " + std::to_string(budget_) + " entries: the snapshot's " +
                                       std::to_string(aliasTargets_.size()) + " aliased directories would repeat "
                                       "far more entries than its " + std::to_string(snap_.nodeCount()) +
                                       " nodes (a damaged or hostile archive?)");
  }

  // Mode, owner and time of an entry once its content is in place.
  void finishAttributes(int fd, const std::string& path, const Node& n, bool isDir) {
    if (opts_.fixture) {  // what git keeps: nothing to note, nothing to lose
      if (::fchmod(fd, isDir ? 0755 : 0644) != 0) noteErrno(path, "mode not set", errno);
      return;
    }
    if (opts_.keepOwners && ::fchown(fd, n.uid, n.gid) != 0) noteErrno(path, "owner not set", errno);
    const auto parts = SplitPath(path);
    mode_t mode = ReplayPermissions(n, parts.empty() ? "" : parts.back(), parts.size() < 2 ? "" : parts[parts.size() - 2]);
    if (n.mode & 07000) note(path, {{"problem", "setuid, setgid or sticky bit dropped"}, {"mode", n.mode & 07777}});
    if (isDir && !opts_.keepOwners) mode |= S_IRUSR | S_IXUSR;  // the exporter must still walk it
    if (::fchmod(fd, mode) != 0) noteErrno(path, "mode not set", errno);
    ::futimens(fd, Times(n).t);
  }

  // Records in the manifest what the folder cannot say about file `id`.
  void describe(const std::string& path, NodeId id) {
    const Node& n = snap_.node(id);
    std::string why(snap_.note(id));
    switch (n.reason) {
      case Reason::Skipped:
      case Reason::Excluded:
      case Reason::TimeLimit:
        note(path, {{"problem", "not captured; written empty"}, {"reason", ReasonName(n.reason)}, {"note", why}});
        return;
      case Reason::Truncated:
        note(path, {{"problem", "truncated at capture"}, {"reason", "truncated"}, {"bytes", n.size}, {"note", why}});
        break;
      case Reason::Redacted:
        note(path, {{"problem", "redacted at capture"}, {"reason", "redacted"}, {"note", why}});
        break;
      case Reason::Carried:
        note(path, {{"problem", "not read again at this snapshot"}, {"reason", "carried"}, {"note", why}});
        break;
      default:
        break;
    }
    if (n.error)
      note(path, {{"problem", n.size ? "read stopped with an error at capture" : "read failed at capture; written empty"},
                  {"errno", n.error},
                  {"error", ErrnoName(n.error)},
                  {"message", std::strerror(n.error)},
                  {"bytes", n.size}});
  }

  void exportFile(int dirFd, int primaryFd, const std::string& name, const std::string& path, NodeId id) {
    if (primaryFd >= 0 && ::linkat(primaryFd, name.c_str(), dirFd, name.c_str(), 0) == 0) {
      ++report.hardLinks;
      ++written_;
      return;
    }
    const Node& n = snap_.node(id);
    OwnedFd fd(::openat(dirFd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return failed(path, "file not created", errno);
    describe(path, id);
    if (n.size && OpenError(n) == 0) {
      auto bytes = snap_.read(id);
      if (!bytes.ok()) {
        note(path, {{"problem", "content unreadable in the archive; written empty"},
                    {"message", bytes.status().message()}});
      } else {
        if (!WriteAll(fd.get(), *bytes, path).ok()) return failed(path, "content not written", errno);
        report.bytes += bytes->size();
      }
    }
    finishAttributes(fd.get(), path, n, false);
    ++report.files;
    ++written_;
  }

  void exportLink(int dirFd, const std::string& name, const std::string& path, NodeId id) {
    const Node& n = snap_.node(id);
    if (n.error) {
      ++report.notWritten;
      note(path, {{"problem", "link target unknown (readlink failed at capture); not written"},
                  {"errno", n.error},
                  {"error", ErrnoName(n.error)},
                  {"message", std::strerror(n.error)}});
      return;
    }
    std::string target(snap_.linkTarget(id));
    if (target.empty() || target.find('\0') != std::string::npos) {
      ++report.notWritten;
      note(path, {{"problem", "link target cannot be a path; not written"}});
      return;
    }
    // The target is only stored, never followed: every later call here is
    // relative to a descriptor and uses O_NOFOLLOW / AT_SYMLINK_NOFOLLOW.
    if (::symlinkat(target.c_str(), dirFd, name.c_str()) != 0) return failed(path, "link not created", errno);
    if (opts_.keepOwners && ::fchownat(dirFd, name.c_str(), n.uid, n.gid, AT_SYMLINK_NOFOLLOW) != 0)
      noteErrno(path, "owner not set", errno);
    ::utimensat(dirFd, name.c_str(), Times(n).t, AT_SYMLINK_NOFOLLOW);
    ++report.links;
    ++written_;
  }

  // Writes the children of `src` (a directory or alias) into dirFd. When
  // primaryFd is open it holds an earlier copy of the same directory, whose
  // files are hard-linked instead of written again.
  void exportDir(int dirFd, NodeId src, int primaryFd, const std::string& path) {
    NodeId real = snap_.resolveAlias(src);
    auto [lo, hi] = snap_.children(real);
    for (NodeId c = lo; c < hi && fatal_.ok(); ++c) {
      tick();
      std::string name(snap_.name(c));
      std::string childPath = path.empty() ? name : path + "/" + name;
      if (const char* why = UnsafeName(name)) {
        ++report.notWritten;
        note(childPath, {{"problem", std::string("not written: ") + why}});
        continue;
      }
      if (path.empty() && NotInProc(snap_, c)) {  // by design, not a loss: no warning
        if (!opts_.fixture)  // a fixture's manifest holds only what a capture of it gives back
          note(childPath, {{"problem", "not written: not a /proc entry (the net sysctls of other network namespaces; "
                                     "procsnap cat and diff read them)"}});
        continue;
      }
      if (opts_.fixture && name == kEmptyDirMarker) {
        ++report.notWritten;
        note(childPath, {{"problem", "not written: the name is taken by the empty-directory marker"}});
        continue;
      }
      if (path.empty() && name == kManifestName) {
        ++report.notWritten;
        note(childPath, {{"problem", "not written: the name is taken by this manifest"}});
        continue;
      }
      const Node& n = snap_.node(c);
      switch (n.kind) {
        case NodeKind::File:
          exportFile(dirFd, primaryFd, name, childPath, c);
          break;
        case NodeKind::Symlink:
          exportLink(dirFd, name, childPath, c);
          break;
        case NodeKind::Directory:
        case NodeKind::Alias:
          exportSubdir(dirFd, primaryFd, name, childPath, c);
          break;
        default:
          ++report.notWritten;
          note(childPath, {{"problem", "not written: a special file (device, fifo or socket)"},
                           {"mode", n.mode}});
          break;
      }
    }
  }

  void exportSubdir(int dirFd, int primaryFd, const std::string& name, const std::string& path, NodeId id) {
    const Node& n = snap_.node(id);
    if (::mkdirat(dirFd, name.c_str(), 0700) != 0) return failed(path, "directory not created", errno);
    OwnedFd fd(::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) return failed(path, "directory not opened", errno);
    ++report.directories;
    ++written_;
    const uint64_t before = written_;
    NodeId real = snap_.resolveAlias(id);
    OwnedFd primary;
    if (primaryFd >= 0) {
      primary = OwnedFd(::openat(primaryFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    } else if (aliasTargets_.count(real)) {
      auto it = primaryPath_.find(real);
      if (it == primaryPath_.end()) {
        primaryPath_.emplace(real, path);
      } else {
        primary = openBeneath(it->second);
      }
    }
    if (n.error) noteErrno(path, "listing failed at capture; written empty", n.error);
    if (NotRead(n.reason))
      note(path, {{"problem", "not captured; written empty"},
                  {"reason", ReasonName(n.reason)},
                  {"note", std::string(snap_.note(id))}});
    exportDir(fd.get(), id, primary.get(), path);
    if (opts_.fixture && written_ == before) {  // git keeps no empty directory
      OwnedFd marker(::openat(fd.get(), kEmptyDirMarker, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (marker.get() < 0) noteErrno(path + "/" + kEmptyDirMarker, "empty-directory marker not created", errno);
      ++report.emptyDirMarkers;
    }
    finishAttributes(fd.get(), path, n, true);
  }

  // Opens a directory written earlier, one component at a time, never
  // following a link.
  OwnedFd openBeneath(const std::string& path) {
    OwnedFd cur(::dup(rootFd_));
    for (std::string_view part : SplitPath(path)) {
      if (cur.get() < 0) break;
      cur = OwnedFd(::openat(cur.get(), std::string(part).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    return cur;
  }

  const Snapshot& snap_;
  const ExportOptions& opts_;
  int rootFd_;
  Status fatal_;
  uint64_t done_ = 0;
  uint64_t written_ = 0;  // entries created, so a directory knows whether it stayed empty
  const uint64_t budget_ = 16 * uint64_t(snap_.nodeCount()) + 65536;
  std::unordered_set<NodeId> aliasTargets_;
  std::unordered_map<NodeId, std::string> primaryPath_;
};

Result<int> OpenEmptyTarget(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Status::FromErrno(dir + ": cannot create", errno);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(dir + ": cannot open as a directory", errno);
  DIR* d = ::fdopendir(::dup(fd));
  if (!d) {
    ::close(fd);
    return Status::FromErrno(dir + ": cannot list", errno);
  }
  bool empty = true;
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) empty = false;
  ::closedir(d);
  if (!empty) {
    ::close(fd);
    return Status::InvalidArgument(dir + ": not empty; export writes only into an empty or new directory");
  }
  return fd;
}

}  // namespace

Result<ExportReport> Export(const View& view, const std::string& dir, const ExportOptions& opts) {
  RaiseFileLimit();  // two descriptors a level, and a snapshot may be 1024 levels deep
  auto rootFd = OpenEmptyTarget(dir);
  if (!rootFd.ok()) return rootFd.status();
  OwnedFd root(*rootFd);
  ExportOptions effective = opts;
  if (::geteuid() != 0 || opts.fixture) effective.keepOwners = false;
  Exporter exporter(view.snapshot(), effective, root.get());
  Status s = exporter.run();
  if (!s.ok()) return s;

  const Snapshot& snap = view.snapshot();
  const Metadata& m = snap.metadata();
  nlohmann::json manifest = {
      {"procsnap_manifest", 1},
      {"hostname", m.hostname},
      {"start_wall_ns", m.startWallNs},
      {"about",
       "Entries a plain folder cannot express: errors recorded at capture (the file is empty here), truncated, "
       "skipped or redacted files, and nodes not written. File sizes here are content lengths, not the sizes procfs "
       "reported; `procsnap mount` reproduces those and the errors. `procsnap capture --root` of this folder gives "
       "back the errors, reasons and unwritten links listed here."},
      {"entries", std::move(exporter.entries)},
  };
  if (opts.fixture) {
    // Nothing that changes with where the archive lies: a fixture exported
    // again from its own capture is the same bytes.
    manifest["fixture"] = {
        {"empty_directory_marker", kEmptyDirMarker},
        {"modes", "files 0644, directories 0755; the recorded modes and owners are in the archive, not here"}};
  } else {
    manifest["archive"] = view.archive().path();
    manifest["snapshot"] = view.index();
    manifest["root"] = m.root;
  }
  ExportReport report = exporter.report;
  report.manifestEntries = manifest["entries"].size();
  OwnedFd mf(::openat(root.get(), kManifestName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (mf.get() < 0) return Status::FromErrno(dir + "/" + kManifestName + ": cannot create", errno);
  // Names and messages may hold any bytes: those that are not UTF-8 become U+FFFD.
  std::string text = manifest.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  Status written = WriteAll(mf.get(), text, dir + "/" + kManifestName);
  if (!written.ok()) return written;
  report.manifestPath = dir + "/" + kManifestName;
  exporter.finishRoot();
  if (opts.progress) opts.progress(snap.nodeCount(), snap.nodeCount());
  return report;
}

}  // namespace procsnap
