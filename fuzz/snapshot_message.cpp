// The input as a decompressed Snapshot or Index message: what the decoder
// meets once a record's checksum holds, so every byte reaches its checks.
#include <cstring>
#include <string>

#include "format/snapshot_codec.h"
#include "fuzz_targets.h"
#include "fuzz_util.h"

namespace procsnap::fuzz {

int SnapshotMessage(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t control = in.u8();
  const bool index = control & 1;
  // Bit 1: the message ends in 2^k zero words (k < 24: up to 64 MiB), as a
  // record of a few hundred bytes decompresses to (zstd's RLE blocks): room
  // for lists that claim millions of zero-size elements. Mostly small, so
  // the fuzzer stays fast.
  const uint32_t padWords = control & 2 ? 1u << (in.u8() % 24) : 0;
  // The chunks the snapshot's files may refer to: a few, of input-given
  // sizes. Then the message.
  std::vector<RecordRef> chunks(in.u8() % 4);
  for (auto& c : chunks) c.rawSize = in.u32();
  std::string raw = in.rest();
  raw.resize(raw.size() / 8 * 8);  // the reader refuses other sizes before decoding
  if (padWords && raw.size() >= 8 && raw[0] == 0 && raw[1] == 0 && raw[2] == 0 && raw[3] == 0) {
    // One segment: its size in the segment table grows by the padding.
    uint32_t words;
    std::memcpy(&words, raw.data() + 4, 4);
    words += padWords;
    std::memcpy(raw.data() + 4, &words, 4);
    raw.append(size_t(padWords) * 8, '\0');
  }
  if (index) {
    IndexData out;
    (void)DecodeIndex(raw, "fuzz", &out);
    return 0;
  }
  Metadata meta;
  Tree tree;
  std::vector<NodeId> parents;
  if (!DecodeSnapshot(raw, chunks, "fuzz", &meta, &tree, &parents).ok()) return 0;
  // What the decoder accepted must be a tree every walker can trust.
  FUZZ_CHECK(tree.size() > 0 && parents.size() == tree.size(), "a root and a parent per node");
  for (NodeId i = 1; i < tree.size(); ++i) FUZZ_CHECK(parents[i] < i, "parents come before their children");
  for (NodeId i = 0; i < tree.size(); ++i) {
    BlobRef b = tree.blob(i);
    if (b.size) FUZZ_CHECK(b.chunk < chunks.size() && b.offset + b.size <= chunks[b.chunk].rawSize, "file inside its chunk");
    if (tree.node(i).kind == NodeKind::Alias) FUZZ_CHECK(tree.aliasTarget(i) < tree.size(), "alias inside the tree");
    (void)tree.linkTarget(i);
    (void)tree.str(tree.node(i).name);
  }
  return 0;
}

}  // namespace procsnap::fuzz
