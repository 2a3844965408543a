// Redaction's scanners on hostile text: argument and mount-table rules and
// the address and needle replacer, each in one bounded pass. The first
// byte picks the rule; a replaced value must never be what it replaced.
#include <cstdlib>
#include <string>

#include "fuzz_targets.h"
#include "redact/arguments.h"
#include "redact/text.h"

namespace procsnap::fuzz {

int RedactText(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  KindCounts counts;
  auto pseudonym = [](std::string_view v, const char*) {
    return "R-" + std::to_string(std::hash<std::string_view>()(v) % 10000000000ull);
  };
  switch (mode % 4) {
    case 0: (void)RedactCmdline(text, pseudonym, counts); break;
    case 1: (void)RedactMountTable(text, pseudonym, counts); break;
    case 2: (void)RedactEnviron(text, pseudonym, counts); break;
    default: {
      TextReplacer r;
      r.add("plant7", "host-1", TextReplacer::Match::Anywhere, "hostname");
      r.add("1234", "567890123", TextReplacer::Match::ExactWord, "argument");
      r.mapAddresses([](const Ipv4& a) -> std::optional<Ipv4> {
                       if (a[0] != 10) return std::nullopt;
                       return Ipv4{198, 18, a[2], a[3]};
                     },
                     [](const Ipv6& a) -> std::optional<Ipv6> {
                       if (a[0] != 0xfd) return std::nullopt;
                       Ipv6 q = a;
                       q[0] = 0x20, q[1] = 0x01;
                       return q;
                     });
      std::string t(text);
      (void)r.apply(t, (mode & 4 ? TextReplacer::kNet : 0) | (mode & 8 ? TextReplacer::kWords : 0), counts);
      // Pseudonyms are never longer than 64 bytes: the text grows by a bounded factor.
      if (t.size() > 64 * (text.size() + 1)) std::abort();
      break;
    }
  }
  return 0;
}

}  // namespace procsnap::fuzz
