#include "view/view.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace procsnap {

namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  for (std::string_view part : SplitPath(path)) out.emplace_back(part);
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1])});
      prev = cur;
    }
  }
  return row[b.size()];
}

}  // namespace

View::View(std::shared_ptr<ArchiveReader> archive, std::shared_ptr<const Snapshot> snap, size_t index)
    : archive_(std::move(archive)), snap_(std::move(snap)), index_(index) {}

Result<View> View::Open(const std::string& archivePath, std::string_view at) {
  auto spec = ParseSnapshotSpec(at);  // before the archive: a bad --at needs no file
  if (!spec.ok()) return spec.status();
  auto archive = ArchiveReader::Open(archivePath);
  if (!archive.ok()) return archive.status();
  auto i = PickSnapshot(*spec, SnapshotStarts(**archive), archivePath);
  if (!i.ok()) return i.status();
  auto snap = (*archive)->snapshot(*i);
  if (!snap.ok()) return snap.status();
  return View(*archive, *snap, *i);
}

std::string View::root() const {
  std::string root = snap_->metadata().root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

std::string View::relative(std::string_view path) const {
  std::string root = this->root();
  if (!root.empty() && root != "/" && path.substr(0, root.size()) == root &&
      (path.size() == root.size() || path[root.size()] == '/'))
    path.remove_prefix(root.size());
  std::string out;
  for (auto& p : Split(path)) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

Result<NodeId> View::resolve(std::string_view path, bool followLast) const {
  const Snapshot& s = *snap_;
  std::vector<std::string> todo = Split(relative(path));
  std::reverse(todo.begin(), todo.end());  // a stack: back() is next
  std::vector<NodeId> stack;               // directories walked, for ".."
  NodeId cur = 0;
  unsigned links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == "..") {
      if (!stack.empty()) {
        cur = stack.back();
        stack.pop_back();
      }
      continue;
    }
    const Node& dir = s.node(s.resolveAlias(cur));
    if (dir.kind != NodeKind::Directory)
      return Status::NotFound(display(cur) + ": not a directory");
    NodeId next = s.child(cur, part);
    if (next == kNoNode) {
      std::string missing = display(cur);
      missing += (missing.empty() || missing.back() != '/') ? "/" : "";
      missing += part;
      if (dir.error) missing += " (listing it failed at capture: " + std::string(std::strerror(dir.error)) + ")";
      return Status::NotFound("no such path in snapshot " + std::to_string(index_) + ": " + missing);
    }
    const Node& n = s.node(next);
    if (n.kind == NodeKind::Symlink && (followLast || !todo.empty()) && n.error == 0) {
      if (++links > 40) return Status::NotFound(display(next) + ": too many levels of symbolic links");
      std::string_view target = s.linkTarget(next);
      std::string root = s.metadata().root;
      if (!target.empty() && target[0] == '/') {
        if (root.empty() || root == "/" || target.substr(0, root.size()) != root ||
            (target.size() > root.size() && target[root.size()] != '/'))
          return Status::NotFound(display(next) + " -> " + std::string(target) + ": the link leads outside the snapshot");
        target.remove_prefix(root.size());
        cur = 0;
        stack.clear();
      }
      auto parts = Split(target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
      continue;
    }
    stack.push_back(cur);
    cur = next;
  }
  return cur;
}

std::unordered_map<long, const Executable*> ExecutablesByPid(const Metadata& m) {
  std::unordered_map<long, const Executable*> out;
  for (const Executable& e : m.executables)
    for (uint32_t pid : e.pids) out[pid] = &e;
  return out;
}

bool ArchiveDamage(const Status& s) {
  return s.code() == StatusCode::Corruption || s.code() == StatusCode::IoError || s.code() == StatusCode::Unsupported;
}

Result<std::optional<std::string>> ReadIfCaptured(const View& v, std::string_view path) {
  auto r = v.read(path);
  if (r.ok()) return std::optional<std::string>(std::move(*r));
  if (ArchiveDamage(r.status())) return r.status();
  return std::optional<std::string>();
}

bool ExitedDuringCapture(const Snapshot& s, NodeId id) {
  if (id == 0 || s.parent(id) != 0 || !IsNumberName(s.name(id))) return false;
  auto gone = [](int err) { return err == ENOENT || err == ESRCH; };
  const Node& n = s.node(id);
  if (gone(n.error)) return true;
  if (n.kind != NodeKind::Directory) return false;
  const NodeId stat = s.child(id, "stat");
  return stat != kNoNode && gone(s.node(stat).error);
}

bool NotInProc(const Snapshot& s, NodeId id) {
  return id != 0 && s.parent(id) == 0 && s.name(id) == kNetnsSysctlsDir;
}

std::optional<std::string> CapturedFiles::text(std::string_view path) {
  auto r = ReadIfCaptured(v_, path);
  if (r.ok()) return std::move(*r);
  damaged(r.status());
  return std::nullopt;
}

Result<std::string> View::read(std::string_view path) const {
  auto id = resolve(path, true);
  if (!id.ok()) return id.status();
  return read(*id);
}

Result<std::string> View::read(NodeId id) const {
  const Node& n = snap_->node(id);
  if (n.kind == NodeKind::Directory || n.kind == NodeKind::Alias)
    return Status::InvalidArgument(display(id) + ": is a directory");
  if (n.kind != NodeKind::File) return Status::InvalidArgument(display(id) + ": not a regular file");
  switch (int err = OpenError(n)) {
    case 0: return snap_->read(id);
    case ENODATA:
      if (NotRead(n.reason)) return Status::NotCaptured(display(id) + ": not captured: " + std::string(snap_->note(id)));
      [[fallthrough]];
    default:
      return Status::NotCaptured(display(id) + ": reading it failed at capture: " + ErrnoName(err) + " (" +
                                 std::strerror(err) + ")");
  }
}

std::string View::suggest(std::string_view path) const {
  std::vector<std::string> parts = Split(relative(path));
  NodeId cur = 0;
  std::string prefix;
  for (size_t i = 0; i < parts.size(); ++i) {
    NodeId next = snap_->child(cur, parts[i]);
    if (next == kNoNode) {
      // Pick the sibling nearest in spelling, then keep the rest as typed.
      auto [lo, hi] = snap_->children(cur);
      size_t best = std::max<size_t>(2, parts[i].size() / 3) + 1;
      NodeId pick = kNoNode;
      for (NodeId c = lo; c < hi; ++c) {
        size_t d = EditDistance(parts[i], snap_->name(c));
        if (d < best) best = d, pick = c;
      }
      if (pick == kNoNode) return "";
      std::string out = display(pick);
      for (size_t j = i + 1; j < parts.size(); ++j) out += "/" + parts[j];
      return out;
    }
    cur = next;
  }
  return "";
}

std::string View::display(NodeId id) const {
  std::string root = this->root();
  std::string rel = snap_->path(id);
  if (root.empty()) return rel;
  if (rel.empty()) return root;
  return root == "/" ? "/" + rel : root + "/" + rel;
}

}  // namespace procsnap
