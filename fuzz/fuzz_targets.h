// procsnap's fuzz targets: each takes any bytes and must neither crash,
// leak, hang nor allocate without bound. A target also checks promises a
// reader relies on (no setuid bit leaves an export, a read stays inside
// its chunk) and aborts when one breaks. libFuzzer drives them
// (scripts/fuzz.sh); tests/fuzz_test.cpp replays their seeds and every
// input that once broke one (fuzz/regressions/) in the ordinary build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace procsnap::fuzz {

using TargetFn = int (*)(const uint8_t* data, size_t size);

// The archive reader on raw file bytes: header, records, trailer, index.
int ArchiveBytes(const uint8_t* data, size_t size);
// Structure-aware: bytes become hostile trees and metadata written through
// the real writer (so checksums hold), then read by every reader: the
// snapshot decoder, View, Export and Diff.
int ArchiveTree(const uint8_t* data, size_t size);
// Bytes as a decompressed Snapshot or Index message, past the checksums.
int SnapshotMessage(const uint8_t* data, size_t size);
// Record decompression and the address-lines chunk encoding.
int BlobCodec(const uint8_t* data, size_t size);
// The /proc text parsers diff uses.
int ProcfsText(const uint8_t* data, size_t size);
// Redaction's scanners: arguments, mount tables, environments, addresses.
int RedactText(const uint8_t* data, size_t size);

struct Target {
  const char* name;  // folder under fuzz/corpus and fuzz/regressions
  TargetFn run;
};
const std::vector<Target>& Targets();

}  // namespace procsnap::fuzz
