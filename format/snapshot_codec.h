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

// One INDX record of format 4's index chain: it lists chunks
// [chunksBefore, chunks) and snapshots [snapshotsBefore, snapshots) and
// names the record listing those before (previous.storedSize 0: none).
struct IndexLink {
  uint32_t sequence = 0;
  RecordRef record, previous;
  uint32_t chunksBefore = 0, snapshotsBefore = 0;
  uint32_t chunks = 0, snapshots = 0;
};

// Format 5: where a part's directories go in its snapshot (schema.capnp Part).
struct PartEntry {
  uint32_t firstNode = 0, count = 0, prefix = 0;
};

// The Cap'n Proto messages one after another in `raw` (a snapshot record
// of format 5 holds its parts' and then its own; earlier ones one),
// each word-aligned within it. Corruption when a segment table runs past
// the end or the bytes are not whole messages.
Result<std::vector<std::string_view>> SplitMessages(std::string_view raw, const std::string& where);

// The raw record of a format 5 snapshot from its stored payload: one zstd
// frame per part, each against the part of `prefixRaw` (the prefix
// snapshot's raw record) its snapshot names, then the snapshot's own
// message against the prefix's own. A single frame is a whole snapshot.
constexpr size_t kMaxParts = 1u << 16;
Result<std::string> DecompressSnapshotRecord(std::string_view stored, uint64_t rawSize, const std::string& where,
                                             std::string_view prefixRaw);

// The string table of a Snapshot message as it was written, entry 0 "":
// what a delta writer's next message starts its own with (EncodeSnapshot's
// baseStrings). Empty when the message does not parse.
std::vector<std::string> StringTableOf(std::string_view raw);

// Words the Snapshot message of `tree` needs, slightly over.
unsigned EstimateSnapshotWords(const Tree& tree);
// Builds the Snapshot message; consumes the tree to keep peak memory low.
// With `baseStrings` (a delta writer's keyframe table, entry 0 ""), the
// string table starts with them, in their order, and strings of the tree
// they lack follow: names keep the keyframe's numbers, so the columns match
// the keyframe's and compress against it. (Interning follows walk order,
// which parallel walkers vary: without it a third of names renumber.)
// `table` receives the string table as written. The tree is freed row by
// row as it is copied, or with `keep` moved there whole.
// A parted snapshot's own message lists `parts`; a part's, `foreign`.
void EncodeSnapshot(capnp::MessageBuilder& mb, const Metadata& meta, Tree&& tree,
                    const std::vector<std::string>* baseStrings = nullptr, std::vector<std::string>* table = nullptr,
                    Tree* keep = nullptr, const std::vector<PartEntry>* parts = nullptr,
                    const std::vector<PartAlias>* foreign = nullptr);
// `words` must stay alive only during the call. `chunks` bounds file refs.
// A parted snapshot's messages are assembled into one tree, checked whole.
// At most kDecodeExpansion x raw.size() + kDecodeSlack bytes are decoded
// (what a reader's cache charges: *decodedBytes); a message claiming more
// is Corruption before it is allocated.
Status DecodeSnapshot(const std::string& raw, const std::vector<RecordRef>& chunks, const std::string& where,
                      Metadata* meta, Tree* tree, std::vector<NodeId>* parents, uint64_t* decodedBytes = nullptr);

// The whole index, or with `link` (format 4) only the entries it covers
// and its place in the chain.
void EncodeIndex(capnp::MessageBuilder& mb, const IndexData& index, const IndexLink* link = nullptr);
// Appends the record's entries to `index`; fills `link` (sequence,
// previous, the counts before) when given.
Status DecodeIndex(const std::string& raw, const std::string& where, IndexData* index, IndexLink* link = nullptr);

}  // namespace procsnap
