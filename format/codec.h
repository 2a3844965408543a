// Decompression of record payloads (the writer compresses them) that never
// allocates more than the record header declares and the stored size can
// justify, nor more than the frame's zstd blocks can yield: a lying header
// costs no memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "format/archive.h"

namespace procsnap {

// zstd cannot expand data by more than about 1:32768 (an RLE block of 128 KiB
// takes 4 bytes), so a declared raw size beyond that is a lie.
constexpr uint64_t kMaxExpansion = 32768;
constexpr uint64_t kMaxRecordRaw = 1ull << 30;  // 1 GiB: far above any real record

// `where` names the record for error messages ("snap.psnap: chunk 3 at offset 812").
// `prefix`: the bytes the frame was compressed against (format 3 delta
// records, ZSTD_CCtx_refPrefix), empty for none.
Result<std::string> Decompress(std::string_view stored, uint64_t rawSize, const std::string& where,
                               std::string_view prefix = {});

// Compression parameters for a frame with a prefix of `prefixSize` bytes
// before `size` bytes: a window that reaches the whole prefix, and long
// distance matching, which finds a file's old version megabytes back.
// Used by the writer; here beside the decoder that must accept the window.
int PrefixWindowLog(uint64_t prefixSize, uint64_t size);
constexpr uint64_t kMaxPrefixBytes = 64ull << 20;  // a keyframe's contents; readers refuse larger
// Format 4: how many records a snapshot's chain of prefixes, or an index's
// chain of earlier indexes, may hold. Writers stay under log2 of a file's
// snapshots (about 9 for a segment of 360); readers refuse more.
constexpr unsigned kMaxPrefixDepth = 32;
// Format 4's binary chains (snapshot records compressed against earlier
// ones, index records listing what came after an earlier one): the link
// of n is n minus its lowest set bit, so that any chain is at most log2(n)
// long. 0 ends a chain.
inline uint32_t ChainPrevious(uint32_t n) { return n - (n & -n); }
// What decoding a snapshot or index message may allocate: this many times
// its raw size, plus kDecodeSlack. A real snapshot decodes to about 1-2x
// (bench/RESULTS.md); a message claiming more elements than its bytes
// describe is refused before the allocation.
constexpr uint64_t kDecodeExpansion = 4;
constexpr uint64_t kDecodeSlack = 1u << 20;

}  // namespace procsnap
