// LoadForAppend: where an archive ends and what its newest snapshot holds.
#include "append.h"

#include <set>

#include "checksum.h"
#include "reader_impl.h"

namespace procsnap {

Status LoadForAppend(const std::string& path, uint64_t* end, IndexData* index,
                     std::vector<std::pair<Digest, BlobRef>>* blobs, std::string* damage,
                     std::string* keyContent, std::string* keySnapshot, std::vector<std::string>* keyStrings) {
  ArchiveReaderImpl r;
  Status s = r.open(path);
  if (!s.ok()) return s;
  *damage = r.recoveryWarning();
  // One archive, one format: an old reader must never meet newer snapshots.
  // Format 2 archives take format 2 snapshots (no delta records).
  if (r.formatVersion() < 2)
    return Status::Unsupported(path + ": archive format " + std::to_string(r.formatVersion()) +
                               "; this procsnap appends only to format 2 and 3 archives (capture into a new one)");
  *end = r.usedEnd();
  *index = r.index();
  if (keyContent && r.formatVersion() >= 3 && r.index().keyframeChunks > 0) {
    auto k = r.keyframeContent(r.index().keyframeChunks);
    if (!k.ok()) return k.status();
    *keyContent = **k;
  }
  if (keySnapshot && r.formatVersion() >= 3 && r.snapshotCount() > 0) {
    auto k = r.snapshotRecord(0);
    if (!k.ok()) return k.status();
    *keySnapshot = **k;
    auto first = r.snapshot(0);
    if (!first.ok()) return first.status();
    if (keyStrings)
      for (size_t i = 0; i < (*first)->tree().stringCount(); ++i) keyStrings->emplace_back((*first)->tree().str(i));
  }
  // Contents of the newest snapshot seed deduplication, so a timeline stores
  // only what changed.
  if (r.snapshotCount() == 0) return Status::Ok();
  auto snap = r.snapshot(r.snapshotCount() - 1);
  if (!snap.ok()) return snap.status();
  const Tree& tree = (*snap)->tree();
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (NodeId i = 0; i < tree.size(); ++i) {
    BlobRef ref = tree.blob(i);
    if (ref.size == 0 || !seen.insert({ref.chunk, ref.offset}).second) continue;
    auto bytes = r.readBlob(ref);
    if (!bytes.ok()) return bytes.status();
    blobs->emplace_back(Sha256(*bytes), ref);
  }
  return Status::Ok();
}

}  // namespace procsnap
