#include "codec.h"

// ZSTD_frameHeaderSize is in the part of the API that may change between
// zstd versions; Debian 12's libzstd exports it.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <memory>

namespace procsnap {

namespace {

// The most bytes a zstd frame's blocks can yield (RFC 8878, 3.1.1.2): raw
// and RLE blocks state their size, a compressed block yields at most
// 128 KiB. The frame header's content size is only a claim; the blocks are
// what the decoder will produce. Sets *why and returns false on a frame
// whose blocks run past its end or that has bytes after it.
bool FrameYieldBound(std::string_view f, uint64_t* bound, std::string* why) {
  constexpr uint64_t kMaxBlockYield = 128u << 10;
  size_t pos = ZSTD_frameHeaderSize(f.data(), f.size());
  if (ZSTD_isError(pos)) {
    *why = std::string("zstd frame header: ") + ZSTD_getErrorName(pos);
    return false;
  }
  if (pos > f.size()) {  // the size comes from the first bytes alone (found by fuzz/blob_codec)
    *why = "zstd frame header is cut short";
    return false;
  }
  // The frame header descriptor's bit 2: a 4-byte checksum follows the blocks.
  const bool checksum = f.size() > 4 && (static_cast<unsigned char>(f[4]) & 0x04);
  *bound = 0;
  for (;;) {
    if (f.size() - pos < 3) {
      *why = "zstd block header at byte " + std::to_string(pos) + " is cut short";
      return false;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(f.data() + pos);
    const uint32_t h = p[0] | (p[1] << 8) | (p[2] << 16);
    const bool last = h & 1;
    const unsigned type = (h >> 1) & 3;
    const uint64_t size = h >> 3;
    pos += 3;
    uint64_t body = type == 1 ? 1 : size;  // an RLE block stores one byte
    if (type == 3) {
      *why = "zstd block at byte " + std::to_string(pos - 3) + " has the reserved type";
      return false;
    }
    if (body > f.size() - pos) {
      *why = "zstd block at byte " + std::to_string(pos - 3) + " runs past the payload";
      return false;
    }
    pos += body;
    *bound += type == 2 ? kMaxBlockYield : size;
    if (last) break;
  }
  if (checksum) pos += 4;
  if (pos != f.size()) {
    *why = pos > f.size() ? std::string("zstd frame checksum is cut short") : "bytes follow the zstd frame";
    return false;
  }
  return true;
}

}  // namespace

int PrefixWindowLog(uint64_t prefixSize, uint64_t size) {
  int log = 10;
  while (log < 27 && (uint64_t(1) << log) < prefixSize + size) ++log;
  return log;
}

Result<std::string> Decompress(std::string_view stored, uint64_t rawSize, const std::string& where,
                               std::string_view prefix) {
  if (rawSize > kMaxRecordRaw || rawSize > stored.size() * kMaxExpansion + 4096)
    return Status::Corruption(where + ": declared size " + std::to_string(rawSize) +
                              " is impossible for " + std::to_string(stored.size()) + " stored bytes");
  unsigned long long declared = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR)
    return Status::Corruption(where + ": payload is not a zstd frame");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != rawSize)
    return Status::Corruption(where + ": zstd frame holds " + std::to_string(declared) +
                              " bytes but the record declares " + std::to_string(rawSize));
  uint64_t bound = 0;
  std::string why;
  if (!FrameYieldBound(stored, &bound, &why)) return Status::Corruption(where + ": " + why);
  if (bound < rawSize)
    return Status::Corruption(where + ": declares " + std::to_string(rawSize) + " bytes but its zstd blocks yield at most " +
                              std::to_string(bound));
  std::string out;
  out.resize(rawSize);
  size_t n;
  if (prefix.empty()) {
    n = ZSTD_decompress(out.data(), out.size(), stored.data(), stored.size());
  } else {
    std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!dctx) return Status::IoError(where + ": cannot allocate a zstd context");
    ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, 27);  // what PrefixWindowLog can ask for
    size_t r = ZSTD_DCtx_refPrefix(dctx.get(), prefix.data(), prefix.size());
    if (ZSTD_isError(r)) return Status::Corruption(where + ": zstd prefix: " + ZSTD_getErrorName(r));
    n = ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), stored.data(), stored.size());
  }
  if (ZSTD_isError(n)) return Status::Corruption(where + ": zstd: " + ZSTD_getErrorName(n));
  if (n != rawSize)
    return Status::Corruption(where + ": decompressed to " + std::to_string(n) + " bytes, expected " +
                              std::to_string(rawSize));
  return out;
}

}  // namespace procsnap
