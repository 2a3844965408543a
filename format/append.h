// Inside format/ only: what ArchiveWriter::Append needs from the archive it
// continues.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "checksum.h"
#include "codec.h"
#include "format/archive.h"
#include "snapshot_codec.h"

namespace procsnap {

// A snapshot record a delta writer keeps as a prefix for later ones: its
// number in the file, its raw record and its string table (later records
// number strings as it does, so their columns match).
// Format 5: a held snapshot's part, the prefix of the same run's part later.
struct HeldPart {
  std::string first;  // its first directory's name
  std::shared_ptr<const std::string> packed;
  uint64_t rawSize = 0;
};

struct HeldSnapshot {
  uint32_t index = 0;
  std::string raw;     // the record as an append loads it; the writer packs it
  std::string packed;  // the record (format 5: its own message) compressed alone, as a writer holds it
  uint64_t rawSize = 0;
  std::vector<HeldPart> parts;  // format 5, written by this writer only
};

// What ArchiveWriter::Append needs from the archive it continues.
struct AppendState {
  uint64_t end = 0;     // where the sound part ends (the trailer in use)
  IndexData index;
  // The digest of every blob of the newest snapshot: seeds deduplication,
  // so that a timeline stores only what changed.
  std::vector<std::pair<Digest, BlobRef>> blobs;
  std::string damage;   // what is wrong with the end of the file ("" when nothing)
  // Delta writers (format 3 and 4): the keyframe's chunk contents; the
  // snapshots a next one may take as prefix (format 3: the keyframe;
  // format 4: the newest snapshot's chain), oldest first; the index chain.
  std::string keyContent;
  std::vector<HeldSnapshot> held;
  std::vector<IndexLink> links;
};

// The snapshot whose record snapshot n of a file is compressed against:
// format 3 the keyframe (0); format 4 n minus its lowest set bit, so that
// a chain of prefixes is at most log2(n) long and reading any snapshot
// decompresses that many records at most.
inline uint32_t PrefixSnapshot(uint32_t formatVersion, uint32_t n) { return formatVersion >= 4 ? ChainPrevious(n) : 0; }

Status LoadForAppend(const std::string& path, bool delta, AppendState* state);

}  // namespace procsnap
