// The container framing of FORMAT.md: file header, record headers and the
// trailer, encoded little-endian at fixed sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace procsnap {

constexpr char kFileMagic[8] = {'\x89', 'P', 'S', 'N', 'A', 'P', '\r', '\n'};
constexpr char kEndMagic[8] = {'P', 'S', 'N', 'A', 'P', 'E', 'N', 'D'};
constexpr size_t kFileHeaderSize = 16;
constexpr size_t kRecordHeaderSize = 32;
constexpr size_t kTrailerSize = 40;

enum class RecordType : uint32_t {
  Chunk = 0x4b4e4843,     // "CHNK"
  Snapshot = 0x50414e53,  // "SNAP"
  Index = 0x58444e49,     // "INDX"
};
const char* RecordTypeName(RecordType t);

struct RecordHeader {
  RecordType type = RecordType::Chunk;
  uint64_t storedSize = 0;
  uint64_t rawSize = 0;
  uint64_t checksum = 0;  // Checksum64(first 24 header bytes, payload)
};

struct Trailer {
  uint64_t indexOffset = 0;  // offset of the index record header
  uint64_t indexEnd = 0;     // offset just past the index payload (= trailer offset)
  uint32_t snapshotCount = 0;
  uint32_t formatVersion = 0;
};

std::string EncodeFileHeader(uint32_t version);
// Returns the version, or nullopt with *why set.
std::optional<uint32_t> DecodeFileHeader(std::string_view bytes, std::string* why);

// The 24 bytes the checksum covers, then the full 32-byte header.
std::string EncodeRecordHeaderPrefix(RecordType type, uint64_t storedSize, uint64_t rawSize);
std::string EncodeRecordHeader(RecordType type, std::string_view payload, uint64_t rawSize, uint64_t* checksum);
std::optional<RecordHeader> DecodeRecordHeader(std::string_view bytes, std::string* why);
bool RecordChecksumHolds(std::string_view header, std::string_view payload);

std::string EncodeTrailer(const Trailer& t);
std::optional<Trailer> DecodeTrailer(std::string_view bytes, std::string* why);

void PutU32(std::string& out, uint32_t v);
void PutU64(std::string& out, uint64_t v);
uint32_t GetU32(const char* p);
uint64_t GetU64(const char* p);

}  // namespace procsnap
