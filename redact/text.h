// Replacement of known secrets (the host name, the machine's addresses,
// secret values found in arguments) wherever they occur in a text, each
// with the boundaries its form needs, in one pass per text.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace procsnap {

// ASCII lowercase: host names, header and flag names compare without case.
std::string Lower(std::string_view s);

class TextReplacer {
 public:
  enum class Match {
    Anywhere,     // case-insensitive, anywhere
    Word,         // case-insensitive, not inside a run of [A-Za-z0-9_], and only where asked:
                  // a short host name ("vm") is ordinary text elsewhere ("vm stats threshold")
    Dotted,       // an IPv4 address: not inside a longer run of digits and dots
    Colon,        // IPv6 text: not inside a longer run of hex digits and colons
    Hex,          // /proc/net's hex forms, case-insensitive, the replacement in the match's case;
                  // only in files under net/
    Exact,        // case-sensitive, anywhere
  };
  void add(std::string needle, std::string replacement, Match how, std::string kind);
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
  std::vector<Needle> needles_;
};

}  // namespace procsnap
