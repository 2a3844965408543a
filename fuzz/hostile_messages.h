// Messages whose checksums would hold but whose lists claim millions of
// zero-size elements at the cost of one word (a list of VOID, which Cap'n
// Proto lets a reader take as a list of empty structs), padded with zero
// words as a record of a few hundred stored bytes decompresses to. Each
// decoded element costs far more than the word it takes: a decoder that
// allocates per claimed element takes gigabytes. For the fuzz seeds and
// format_test.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "format/snapshot_codec.h"

namespace procsnap::hostile {

// Pointer slots (schema.capnp, pointer fields in ordinal order).
constexpr unsigned kIndexChunks = 0;
constexpr unsigned kSnapshotMetadata = 0;
constexpr unsigned kMetadataExecutables = 13;

// The segment word holding pointer `slot` of the struct that pointer word `at` points to.
inline size_t PointerSlot(const std::vector<uint64_t>& seg, size_t at, unsigned slot) {
  const uint64_t w = seg[at];
  const int32_t offset = static_cast<int32_t>(static_cast<uint32_t>(w)) >> 2;
  const uint16_t dataWords = static_cast<uint16_t>(w >> 32);
  return at + 1 + offset + dataWords + slot;
}

// A flat one-segment message (segment table first) of `seg` plus `padWords` zero words.
inline std::string Flat(std::vector<uint64_t> seg, uint32_t padWords) {
  seg.resize(seg.size() + padWords, 0);
  std::string out(8, '\0');
  const uint32_t words = static_cast<uint32_t>(seg.size());
  std::memcpy(out.data() + 4, &words, 4);
  out.append(reinterpret_cast<const char*>(seg.data()), seg.size() * 8);
  return out;
}

inline std::vector<uint64_t> Segment(capnp::MessageBuilder& mb) {
  auto segments = mb.getSegmentsForOutput();
  std::vector<uint64_t> seg(segments[0].size());
  std::memcpy(seg.data(), segments[0].begin(), seg.size() * 8);
  return seg;
}

// A list pointer to `count` VOID elements (no content).
inline uint64_t VoidList(uint32_t count) { return 1u | (uint64_t(count) << 35); }

// An index whose chunk list claims `count` entries.
inline std::string IndexClaiming(uint32_t count, uint32_t padWords) {
  capnp::MallocMessageBuilder mb;
  IndexData index;
  index.chunks.resize(1);
  EncodeIndex(mb, index);
  auto seg = Segment(mb);
  seg[PointerSlot(seg, 0, kIndexChunks)] = VoidList(count);
  return Flat(std::move(seg), padWords);
}

// A one-node snapshot whose metadata's executables list claims `count` entries.
inline std::string SnapshotClaimingExecutables(uint32_t count, uint32_t padWords) {
  capnp::MallocMessageBuilder mb;
  Tree t;
  t.at(t.add("")).kind = NodeKind::Directory;
  EncodeSnapshot(mb, Metadata{}, std::move(t));
  auto seg = Segment(mb);
  const size_t meta = PointerSlot(seg, 0, kSnapshotMetadata);
  seg[PointerSlot(seg, meta, kMetadataExecutables)] = VoidList(count);
  return Flat(std::move(seg), padWords);
}

// The raw record of a parted snapshot (format 5): part 0 holds processes
// 1 and 2 (1/net/dev a 4-byte file of chunk 0, 2/net an alias of 1/net),
// part 1 process 3 (3/net a foreign alias of part 0's 1/net), then the
// snapshot's own message (root: 1, 2, 3 in their places, and uptime).
// `parts` and `foreign` as given: a test spoils one to see it refused.
inline std::string PartedRecord(std::vector<PartEntry> parts = {{1, 2, 0}, {3, 1, 0}},
                                std::vector<PartAlias> foreign = {{2, 0, 3}}) {
  auto flat = [](capnp::MessageBuilder& mb) {
    auto words = capnp::messageToFlatArray(mb);
    return std::string(reinterpret_cast<const char*>(words.begin()), words.size() * sizeof(capnp::word));
  };
  Metadata none;
  std::string raw;
  {
    Tree t;  // 0 root; 1 "1", 2 "2"; 3 1/net, 4 2/net; 5 1/net/dev
    t.at(t.add("")).kind = NodeKind::Directory;
    t.at(t.add("1")).kind = NodeKind::Directory;
    t.at(t.add("2")).kind = NodeKind::Directory;
    t.setChildren(0, 1, 2);
    t.at(t.add("net")).kind = NodeKind::Directory;
    t.setChildren(1, 3, 1);
    t.add("net");
    t.setChildren(2, 4, 1);
    t.setAlias(4, 3);
    t.at(t.add("dev")).kind = NodeKind::File;
    t.setChildren(3, 5, 1);
    t.setBlob(5, BlobRef{0, 0, 4});
    capnp::MallocMessageBuilder mb;
    EncodeSnapshot(mb, none, std::move(t));
    raw += flat(mb);
  }
  {
    Tree t;  // 0 root; 1 "3"; 2 3/net
    t.at(t.add("")).kind = NodeKind::Directory;
    t.at(t.add("3")).kind = NodeKind::Directory;
    t.setChildren(0, 1, 1);
    t.at(t.add("net")).kind = NodeKind::Other;
    t.setChildren(1, 2, 1);
    capnp::MallocMessageBuilder mb;
    EncodeSnapshot(mb, none, std::move(t), nullptr, nullptr, nullptr, nullptr, &foreign);
    raw += flat(mb);
  }
  Tree root;
  root.at(root.add("")).kind = NodeKind::Directory;
  for (const char* n : {"1", "2", "3"}) root.at(root.add(n)).kind = NodeKind::Directory;
  root.at(root.add("uptime")).kind = NodeKind::File;
  root.setChildren(0, 1, 4);
  capnp::MallocMessageBuilder mb;
  Metadata m;
  m.hostname = "seed";
  EncodeSnapshot(mb, m, std::move(root), nullptr, nullptr, nullptr, &parts);
  return raw + flat(mb);
}

}  // namespace procsnap::hostile
