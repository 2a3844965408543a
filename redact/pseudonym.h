// Keyed pseudonyms (HMAC-SHA-256): one secret, one pseudonym, in every file
// and snapshot of a run; two runs with the same key agree, with no mapping
// kept anywhere. Each keeps the shape parsers expect.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace procsnap {

using Ipv4 = std::array<uint8_t, 4>;
using Ipv6 = std::array<uint8_t, 16>;

class Pseudonyms {
 public:
  // An empty key: 32 random bytes, kept nowhere.
  explicit Pseudonyms(std::string key);

  std::string host(std::string_view name);    // "host-1a2b3c4d5e"
  std::string domain(std::string_view name);  // "domain-1a2b3c4d5e.example"
  Ipv4 ipv4(const Ipv4& a);                   // in 198.18.0.0/15 (benchmarking), distinct per address
  Ipv6 ipv6(const Ipv6& a);                   // in 2001:db8::/32 (documentation), distinct per address
  // A machine-id or boot_id (32 lowercase hex): 32 hex of a version-4 UUID.
  std::string id(std::string_view hex);
  // A value: a number stays a number (nine digits), anything else "R-<10 hex>".
  std::string value(std::string_view v);
  // First 8 hex digits of SHA-256 over the key: says two runs shared a key.
  std::string keyFingerprint() const;
  bool randomKey() const { return random_; }
  const std::string& rawKey() const { return key_; }

 private:
  std::array<uint8_t, 32> mac(std::string_view kind, std::string_view v, uint32_t round = 0) const;
  std::string key_;
  bool random_ = false;
  std::map<Ipv4, Ipv4> v4_;
  std::set<Ipv4> used4_;
  std::map<Ipv6, Ipv6> v6_;
  std::set<Ipv6> used6_;
};

}  // namespace procsnap
