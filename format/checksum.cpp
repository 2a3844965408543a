#include "checksum.h"

// SHA256_Init and its kin, deprecated by OpenSSL 3 in favour of EVP: EVP
// loads the default provider, whose tables made 1.8 MiB of libcrypto resident
// in every recording (a quarter of what the record target leaves).
#define OPENSSL_API_COMPAT 10101
#include <openssl/sha.h>

#include <cstring>

namespace procsnap {

namespace {
Digest Sha256Parts(std::string_view a, std::string_view b) {
  Digest out{};
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, a.data(), a.size());
  if (!b.empty()) SHA256_Update(&ctx, b.data(), b.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}
}  // namespace

Digest Sha256(std::string_view data) { return Sha256Parts(data, {}); }

uint64_t Checksum64(std::string_view a, std::string_view b) {
  Digest d = Sha256Parts(a, b);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | d[i];
  return v;
}

}  // namespace procsnap
