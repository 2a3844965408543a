#include "record.h"

#include <cstring>

#include "checksum.h"

namespace procsnap {

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

const char* RecordTypeName(RecordType t) {
  switch (t) {
    case RecordType::Chunk: return "chunk";
    case RecordType::Snapshot: return "snapshot";
    case RecordType::Index: return "index";
  }
  return "unknown";
}

std::string EncodeFileHeader(uint32_t version) {
  std::string out(kFileMagic, sizeof kFileMagic);
  PutU32(out, version);
  PutU32(out, 0);
  return out;
}

std::optional<uint32_t> DecodeFileHeader(std::string_view b, std::string* why) {
  if (b.size() < sizeof kFileMagic || std::memcmp(b.data(), kFileMagic, sizeof kFileMagic) != 0) {
    *why = "not a procsnap archive (bad magic at offset 0)";
    return std::nullopt;
  }
  if (b.size() < kFileHeaderSize) {
    *why = "file is shorter than the 16-byte header";
    return std::nullopt;
  }
  if (GetU32(b.data() + 12) != 0) {
    *why = "reserved header field at offset 12 is not zero";
    return std::nullopt;
  }
  return GetU32(b.data() + 8);
}

std::string EncodeRecordHeaderPrefix(RecordType type, uint64_t storedSize, uint64_t rawSize) {
  std::string out;
  PutU32(out, static_cast<uint32_t>(type));
  PutU32(out, 0);
  PutU64(out, storedSize);
  PutU64(out, rawSize);
  return out;
}

std::string EncodeRecordHeader(RecordType type, std::string_view payload, uint64_t rawSize, uint64_t* checksum) {
  std::string out = EncodeRecordHeaderPrefix(type, payload.size(), rawSize);
  *checksum = Checksum64(out, payload);
  PutU64(out, *checksum);
  return out;
}

std::optional<RecordHeader> DecodeRecordHeader(std::string_view b, std::string* why) {
  if (b.size() < kRecordHeaderSize) {
    *why = "record header cut short";
    return std::nullopt;
  }
  RecordHeader h;
  uint32_t type = GetU32(b.data());
  if (type != static_cast<uint32_t>(RecordType::Chunk) && type != static_cast<uint32_t>(RecordType::Snapshot) &&
      type != static_cast<uint32_t>(RecordType::Index)) {
    *why = "unknown record type";
    return std::nullopt;
  }
  if (GetU32(b.data() + 4) != 0) {
    *why = "reserved record field is not zero";
    return std::nullopt;
  }
  h.type = static_cast<RecordType>(type);
  h.storedSize = GetU64(b.data() + 8);
  h.rawSize = GetU64(b.data() + 16);
  h.checksum = GetU64(b.data() + 24);
  return h;
}

bool RecordChecksumHolds(std::string_view header, std::string_view payload) {
  return Checksum64(header.substr(0, 24), payload) == GetU64(header.data() + 24);
}

std::string EncodeTrailer(const Trailer& t) {
  std::string out;
  PutU64(out, t.indexOffset);
  PutU64(out, t.indexEnd);
  PutU32(out, t.snapshotCount);
  PutU32(out, t.formatVersion);
  PutU64(out, Checksum64(out));
  out.append(kEndMagic, sizeof kEndMagic);
  return out;
}

std::optional<Trailer> DecodeTrailer(std::string_view b, std::string* why) {
  if (b.size() != kTrailerSize) {
    *why = "trailer cut short";
    return std::nullopt;
  }
  if (std::memcmp(b.data() + 32, kEndMagic, sizeof kEndMagic) != 0) {
    *why = "no trailer magic (file truncated or not finished)";
    return std::nullopt;
  }
  if (Checksum64(b.substr(0, 24)) != GetU64(b.data() + 24)) {
    *why = "trailer checksum mismatch";
    return std::nullopt;
  }
  Trailer t;
  t.indexOffset = GetU64(b.data());
  t.indexEnd = GetU64(b.data() + 8);
  t.snapshotCount = GetU32(b.data() + 16);
  t.formatVersion = GetU32(b.data() + 20);
  return t;
}

}  // namespace procsnap
