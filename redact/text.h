// Replacement of known secrets (the host name, the machine's addresses,
// secret values found in arguments) wherever they occur in a text, each
// with the boundaries its form needs.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pseudonym.h"

namespace procsnap {

// ASCII lowercase: host names, header and flag names compare without case.
std::string Lower(std::string_view s);

class TextReplacer {
 public:
  enum class Match {
    Anywhere,     // case-insensitive, anywhere
    Word,         // case-insensitive, not inside a run of [A-Za-z0-9_], and only where asked:
                  // a short host name ("vm") is ordinary text elsewhere ("vm stats threshold")
    Exact,        // case-sensitive, anywhere
    ExactWord,    // case-sensitive, not inside a run of [A-Za-z0-9_], and only where Word ones are
  };
  void add(std::string needle, std::string replacement, Match how, std::string kind);

  // The machine's addresses, found by shape rather than by spelling: an
  // IPv4 address dotted (also ip-10-1-2-3, as cloud host names write it),
  // IPv6 text in any compression, case or leading zeros, with or without a
  // :port, and in files under net/ the hex of net/tcp (little-endian
  // words), if_inet6 (bytes in order) and ip_vs (network order). A map
  // returns the pseudonym of an address of the machine, nothing otherwise.
  using MapV4 = std::function<std::optional<Ipv4>(const Ipv4&)>;
  using MapV6 = std::function<std::optional<Ipv6>(const Ipv6&)>;
  void mapAddresses(MapV4 v4, MapV6 v6) { v4_ = std::move(v4), v6_ = std::move(v6); }
  bool empty() const { return needles_.empty(); }

  // Where a text is: which needles apply.
  static constexpr unsigned kNet = 1;    // a file under net/: the hex forms too
  static constexpr unsigned kWords = 2;  // arguments, environments, kernel.hostname, metadata: Word ones too
  // Replaces every needle that applies in `text`. Counts replacements per
  // kind; returns whether anything changed.
  bool apply(std::string& text, unsigned where, std::map<std::string, uint64_t>& counts) const;

 private:
  struct Needle {
    std::string lower, replacement, kind;
    Match how;
  };
  struct Hit {
    size_t at, len;
    std::string replacement;
    const char* kind;
  };
  void addressHits(std::string_view text, unsigned where, std::vector<Hit>& hits) const;

  std::vector<Needle> needles_;
  MapV4 v4_;
  MapV6 v6_;
};

// IPv4 and IPv6 text as inet_ntop writes them.
std::string Text4(const Ipv4& a);
std::string Text6(const Ipv6& a);

}  // namespace procsnap
