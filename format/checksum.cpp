#include "checksum.h"

#include <openssl/evp.h>

#include <cstring>

namespace procsnap {

namespace {
Digest Sha256Parts(std::string_view a, std::string_view b) {
  Digest out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  if (!b.empty()) EVP_DigestUpdate(ctx, b.data(), b.size());
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_MD_CTX_free(ctx);
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
