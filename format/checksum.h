// SHA-256 (OpenSSL) for blob identity and the 64-bit record checksums that
// are its first eight bytes.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace procsnap {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::string_view data);
// SHA-256 over a || b, first 8 bytes little-endian.
uint64_t Checksum64(std::string_view a, std::string_view b = {});

}  // namespace procsnap
