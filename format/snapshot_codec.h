// Conversion between the in-memory Metadata/Tree and the Cap'n Proto Index
// and Snapshot messages, with every invariant of schema.capnp checked on the
// way in.
#pragma once

#include <string>
#include <vector>

#include "format/archive.h"

namespace capnp { class MessageBuilder; }

namespace procsnap {

struct RecordRef {
  uint64_t offset = 0, storedSize = 0, rawSize = 0, checksum = 0;
  uint32_t encoding = 0;  // chunks: ChunkEncoding
  uint64_t plainSize = 0;
  uint32_t prefix = 0;  // format 3: see schema.capnp
  // Bytes of blob content the chunk yields once decompressed and decoded.
  uint64_t contentSize() const { return encoding ? plainSize : rawSize; }
};

struct IndexData {
  uint32_t formatVersion = kFormatVersion;
  std::vector<RecordRef> chunks;
  struct Snap {
    RecordRef record;
    SnapshotSummary summary;
  };
  std::vector<Snap> snapshots;
  uint32_t keyframeChunks = 0;
};

// Words the Snapshot message of `tree` needs, slightly over.
unsigned EstimateSnapshotWords(const Tree& tree);
// Builds the Snapshot message; consumes the tree to keep peak memory low.
// With `baseStrings` (a delta writer's keyframe table, entry 0 ""), the
// string table starts with them, in their order, and strings of the tree
// they lack follow: names keep the keyframe's numbers, so the columns match
// the keyframe's and compress against it. (Interning follows walk order,
// which parallel walkers vary: without it a third of names renumber.)
void EncodeSnapshot(capnp::MessageBuilder& mb, const Metadata& meta, Tree&& tree,
                    const std::vector<std::string>* baseStrings = nullptr);
// `words` must stay alive only during the call. `chunks` bounds file refs.
Status DecodeSnapshot(const std::string& raw, const std::vector<RecordRef>& chunks, const std::string& where,
                      Metadata* meta, Tree* tree, std::vector<NodeId>* parents);

void EncodeIndex(capnp::MessageBuilder& mb, const IndexData& index);
Status DecodeIndex(const std::string& raw, const std::string& where, IndexData* index);

}  // namespace procsnap
