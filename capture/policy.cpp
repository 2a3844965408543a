#include "policy.h"

#include <fnmatch.h>

#include <array>
#include <string>

namespace procsnap {

namespace {

struct Rule {
  const char* glob;  // fnmatch over the path under the root; '*' crosses '/'; ends in a literal name
  const char* reason;
};

// Entries that capture must never read. Each rule says why, in the words
// that `procsnap info` shows next to the skipped entry.
constexpr Rule kRules[] = {
    {"kcore", "kcore is an image of physical memory: huge, and reading it can hang"},
    {"kmsg", "reading kmsg consumes the kernel log and blocks"},
    {"*/mem", "process memory: not /proc metadata, and reading it can stall the process"},
    {"*/pagemap", "pagemap is per-page data: huge and slow"},
    {"kpagecount", "per-page physical memory data: huge and slow"},
    {"kpageflags", "per-page physical memory data: huge and slow"},
    {"kpagecgroup", "per-page physical memory data: huge and slow"},
    {"sysrq-trigger", "write-only trigger"},
    {"*/clear_refs", "write-only trigger"},
    {"sys/vm/drop_caches", "write-only trigger"},
    {"sys/vm/compact_memory", "write-only trigger"},
    {"sys/net/*/route/flush", "write-only trigger"},
    {"sys/fs/binfmt_misc/register", "write-only trigger"},
    {"sys/fs/binfmt_misc/status", "binfmt_misc control file, a trigger when written"},
    {"*net/rpc/*/channel", "sunrpc upcall channel: reading blocks waiting for a request"},
    {"*net/rpc/*/flush", "sunrpc cache trigger"},
    {"timer_list", "timer_list walks every CPU's timers with interrupts off: slow, can cause soft lockups"},
    {"acpi/event", "reading blocks until an ACPI event arrives"},
};

// The literal last name of each rule's glob, which ClassifyPath compares
// before it calls fnmatch.
constexpr auto kTails = [] {
  std::array<std::string_view, std::size(kRules)> tails;
  for (size_t i = 0; i < tails.size(); ++i) {
    std::string_view glob(kRules[i].glob);
    tails[i] = glob.substr(glob.rfind('/') + 1);  // npos + 1 == 0
  }
  return tails;
}();

constexpr bool TailsAreLiteral() {
  for (std::string_view tail : kTails)
    if (tail.find_first_of("*?[\\") != std::string_view::npos) return false;
  return true;
}
static_assert(TailsAreLiteral(), "every rule's glob must end in a literal name");

}  // namespace

// Every glob ends in a literal name, so fnmatch is tried only on paths with
// that last component: it spares fnmatch on almost every path, where it
// was a visible part of a capture's instructions.
PolicyDecision ClassifyPath(std::string_view rel) {
  std::string_view base = rel.substr(rel.rfind('/') + 1);
  for (size_t i = 0; i < kTails.size(); ++i) {
    if (kTails[i] != base) continue;
    if (fnmatch(kRules[i].glob, std::string(rel).c_str(), 0) == 0) return {PolicyAction::Skip, kRules[i].reason};
  }
  return {};
}

}  // namespace procsnap
