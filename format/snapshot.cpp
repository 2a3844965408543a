// Snapshot: one loaded tree, walked by name and read through its archive.
#include "format/archive.h"
#include "checksum.h"

namespace procsnap {

std::string Snapshot::path(NodeId id) const {
  std::vector<std::string_view> parts;
  for (NodeId n = id; n != 0 && n != kNoNode; n = parents_[n]) parts.push_back(name(n));
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!out.empty()) out += '/';
    out += *it;
  }
  return out;
}

NodeId Snapshot::resolveAlias(NodeId id) const {
  NodeId target = tree_.aliasTarget(id);
  return target == kNoNode ? id : target;
}

std::pair<NodeId, NodeId> Snapshot::children(NodeId dir) const { return tree_.children(resolveAlias(dir)); }

NodeId Snapshot::child(NodeId dir, std::string_view name) const { return tree_.child(resolveAlias(dir), name); }

NodeId Snapshot::lookup(std::string_view path) const {
  NodeId cur = 0;
  for (std::string_view part : SplitPath(path)) {
    cur = child(cur, part);
    if (cur == kNoNode) return kNoNode;
  }
  return cur;
}

Result<BlobBytes> Snapshot::bytes(NodeId id) const {
  if (tree_.node(id).kind != NodeKind::File) return Status::InvalidArgument(path(id) + ": not a regular file");
  return archive_->blobBytes(tree_.blob(id));
}

Result<std::string> Snapshot::read(NodeId id) const {
  if (tree_.node(id).kind != NodeKind::File) return Status::InvalidArgument(path(id) + ": not a regular file");
  return archive_->readBlob(tree_.blob(id));
}

Result<std::string> Snapshot::executableBytes(size_t i) const {
  if (i >= meta_.executables.size()) return Status::NotFound("no executable " + std::to_string(i) + " in the snapshot");
  const Executable& e = meta_.executables[i];
  if (e.kept.size == 0)
    return Status::NotCaptured(e.path + ": its bytes were not kept" + (e.note.empty() ? "" : " (" + e.note + ")"));
  auto bytes = archive_->readBlob(e.kept);
  if (!bytes.ok()) return bytes.status();
  // The record's hash is what callers cite: bytes that do not match it are damage.
  const Digest d = Sha256(*bytes);
  if (const std::string got = HexOf(d.data(), d.size()); got != e.sha256)
    return Status::Corruption(archive_->path() + ": kept bytes of " + e.path + " hash to " + got +
                              ", not the recorded SHA-256 " + (e.sha256.empty() ? "(none)" : e.sha256));
  return bytes;
}

}  // namespace procsnap
