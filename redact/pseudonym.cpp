#include "pseudonym.h"

#include "format/archive.h"
#include "text.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cctype>
#include <stdexcept>

namespace procsnap {

Pseudonyms::Pseudonyms(std::string key) : key_(std::move(key)) {
  if (key_.empty()) {
    key_.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), 32) != 1)
      throw std::runtime_error("no random bytes for a redaction key");
    random_ = true;
  }
}

std::array<uint8_t, 32> Pseudonyms::mac(std::string_view kind, std::string_view v, uint32_t round) const {
  std::string msg(kind);
  msg.push_back('\0');
  msg.append(v);
  msg.push_back('\0');
  msg.append(std::to_string(round));
  std::array<uint8_t, 32> out{};
  unsigned len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out.data(), &len);
  return out;
}

std::string Pseudonyms::host(std::string_view name) {
  auto m = mac("host", Lower(name));
  return "host-" + HexOf(m.data(), 5);
}

std::string Pseudonyms::domain(std::string_view name) {
  auto m = mac("domain", Lower(name));
  return "domain-" + HexOf(m.data(), 5) + ".example";
}

Ipv4 Pseudonyms::ipv4(const Ipv4& a) {
  if (auto it = v4_.find(a); it != v4_.end()) return it->second;
  std::string_view raw(reinterpret_cast<const char*>(a.data()), a.size());
  for (uint32_t round = 0;; ++round) {  // another address took this one: the next round's
    auto m = mac("ipv4", raw, round);
    Ipv4 p = {198, static_cast<uint8_t>(18 | (m[0] & 1)), m[1], m[2]};
    if (p[3] == 0 || p[3] == 255) continue;  // no network or broadcast look-alikes
    if (used4_.insert(p).second) return v4_[a] = p;
  }
}

Ipv6 Pseudonyms::ipv6(const Ipv6& a) {
  if (auto it = v6_.find(a); it != v6_.end()) return it->second;
  std::string_view raw(reinterpret_cast<const char*>(a.data()), a.size());
  for (uint32_t round = 0;; ++round) {
    auto m = mac("ipv6", raw, round);
    Ipv6 p = {0x20, 0x01, 0x0d, 0xb8};
    for (int i = 4; i < 16; ++i) p[i] = m[i];
    if (used6_.insert(p).second) return v6_[a] = p;
  }
}

std::string Pseudonyms::id(std::string_view hex) {
  auto m = mac("id", Lower(hex));
  std::string h = HexOf(m.data(), 16);
  h[12] = '4';
  h[16] = "89ab"[m[20] & 3];
  return h;
}

std::string Pseudonyms::value(std::string_view v) {
  auto m = mac("value", v);
  bool digits = !v.empty() && v.size() <= 18;
  for (char c : v) digits = digits && c >= '0' && c <= '9';
  if (!digits) return "R-" + HexOf(m.data(), 5);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n = (n << 8) | m[i];
  return std::to_string(100000000 + n % 900000000);  // nine digits: short numbers would collide
}

std::string Pseudonyms::keyFingerprint() const {
  uint8_t d[SHA256_DIGEST_LENGTH];
  std::string msg = "procsnap redaction key\n" + key_;
  SHA256(reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), d);
  return HexOf(d, 4);
}

}  // namespace procsnap
