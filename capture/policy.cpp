#include "policy.h"

#include <fnmatch.h>

#include <string>

namespace procsnap {

namespace {

struct Rule {
  const char* glob;  // fnmatch over the path under the root; '*' crosses '/'
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

}  // namespace

// Globs ending in a literal name are tried only on paths with that last
// component: it spares fnmatch on almost every path (it was 7% of a
// capture's instructions).
PolicyDecision ClassifyPath(std::string_view rel) {
  size_t slash = rel.rfind('/');
  std::string_view base = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  for (const Rule& r : kRules) {
    std::string_view glob(r.glob);
    size_t globSlash = glob.rfind('/');
    std::string_view tail = globSlash == std::string_view::npos ? glob : glob.substr(globSlash + 1);
    bool literal = tail.find_first_of("*?[\\") == std::string_view::npos;
    if (literal && tail != base) continue;
    if (fnmatch(r.glob, std::string(rel).c_str(), 0) == 0) return {PolicyAction::Skip, r.reason};
  }
  return {};
}

}  // namespace procsnap
