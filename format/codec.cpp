#include "codec.h"

#include <zstd.h>

namespace procsnap {

Result<std::string> Decompress(std::string_view stored, uint64_t rawSize, const std::string& where) {
  if (rawSize > kMaxRecordRaw || rawSize > stored.size() * kMaxExpansion + 4096)
    return Status::Corruption(where + ": declared size " + std::to_string(rawSize) +
                              " is impossible for " + std::to_string(stored.size()) + " stored bytes");
  unsigned long long declared = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR)
    return Status::Corruption(where + ": payload is not a zstd frame");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != rawSize)
    return Status::Corruption(where + ": zstd frame holds " + std::to_string(declared) +
                              " bytes but the record declares " + std::to_string(rawSize));
  std::string out;
  out.resize(rawSize);
  size_t n = ZSTD_decompress(out.data(), out.size(), stored.data(), stored.size());
  if (ZSTD_isError(n)) return Status::Corruption(where + ": zstd: " + ZSTD_getErrorName(n));
  if (n != rawSize)
    return Status::Corruption(where + ": decompressed to " + std::to_string(n) + " bytes, expected " +
                              std::to_string(rawSize));
  return out;
}

}  // namespace procsnap
