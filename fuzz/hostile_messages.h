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

}  // namespace procsnap::hostile
