// LoadForAppend: where an archive ends and what its newest snapshot holds.
#include "append.h"

#include <set>

#include "checksum.h"
#include "reader_impl.h"

namespace procsnap {

Status LoadForAppend(const std::string& path, bool delta, AppendState* st) {
  ArchiveReaderImpl r;
  Status s = r.open(path);
  if (!s.ok()) return s;
  st->damage = r.recoveryWarning();
  // One archive, one format: an old reader must never meet newer snapshots.
  // Format 2 archives take format 2 snapshots (no delta records).
  if (r.formatVersion() < 2)
    return Status::Unsupported(path + ": archive format " + std::to_string(r.formatVersion()) +
                               "; this procsnap appends only to format 2 to " + std::to_string(kFormatVersion) +
                               " archives (capture into a new one)");
  st->end = r.usedEnd();
  st->index = r.index();
  st->links = r.indexChain();
  const uint32_t version = r.formatVersion();
  if (delta && version >= 3 && r.index().keyframeChunks > 0) {
    auto k = r.keyframeContent(r.index().keyframeChunks);
    if (!k.ok()) return k.status();
    st->keyContent = **k;
  }
  const size_t count = r.snapshotCount();
  if (delta && version >= 3 && count > 0) {
    // The chain of the newest snapshot holds the prefix of the next (format
    // 4); format 3 needs only the keyframe.
    std::vector<uint32_t> chain;
    for (uint32_t n = static_cast<uint32_t>(count - 1);; n = PrefixSnapshot(version, n)) {
      if (version >= 4 || n == 0) chain.push_back(n);
      if (n == 0) break;
    }
    for (size_t k = chain.size(); k-- > 0;) {
      HeldSnapshot h;
      h.index = chain[k];
      auto raw = r.snapshotRecord(h.index);
      if (!raw.ok()) return raw.status();
      h.raw = **raw;
      h.rawSize = h.raw.size();
      st->held.push_back(std::move(h));
    }
  }
  if (count == 0) return Status::Ok();
  auto snap = r.snapshot(count - 1);
  if (!snap.ok()) return snap.status();
  const Tree& tree = (*snap)->tree();
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (NodeId i = 0; i < tree.size(); ++i) {
    BlobRef ref = tree.blob(i);
    if (ref.size == 0 || !seen.insert({ref.chunk, ref.offset}).second) continue;
    auto bytes = r.readBlob(ref);
    if (!bytes.ok()) return bytes.status();
    st->blobs.emplace_back(Sha256(*bytes), ref);
  }
  return Status::Ok();
}

}  // namespace procsnap
