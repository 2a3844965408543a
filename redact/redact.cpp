// RedactArchive and RedactSnapshot: learn the secrets of every snapshot
// first (host names, the machine's addresses, secret argument values), so
// that a secret seen in one snapshot is replaced in all; then copy each
// tree, rewriting file contents, names, link targets and notes.
#include "redact/redact.h"
#include "procfs/procfs.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <deque>
#include <set>
#include <unordered_map>

#include "arguments.h"
#include "pseudonym.h"
#include "text.h"

namespace procsnap {

namespace {


// Names that say nothing about a machine.
bool Identifying(std::string_view name) {
  const std::string l = Lower(name);
  return !l.empty() && l != "localhost" && l != "localhost.localdomain" && l != "localdomain" && l != "(none)" &&
         l != "none";
}

// One-label domains every network uses ("local", "lan"): left alone.
bool GenericDomain(std::string_view d) {
  for (std::string_view g : {"local", "localdomain", "lan", "home", "internal", "intranet", "private", "example",
                             "invalid", "test", "arpa", "com", "net", "org"})
    if (d == g) return true;
  return false;
}

struct Secrets {
  std::set<std::string> hosts, domains;  // lowercase
  std::set<Ipv4> v4;
  std::set<Ipv6> v6;
  std::set<std::pair<Ipv4, int>> local4;  // prefixes the machine answers to (ip route add local)
  std::set<std::pair<Ipv6, int>> local6;
  std::set<std::string> values;      // secret values, as written: replaced anywhere
  std::set<std::string> wordValues;  // short or all-digit ones: replaced as whole words in arguments, environments
  std::set<std::string> ids;         // machine-id, boot_id: 32 lowercase hex
};

bool Loopback4(const Ipv4& a) { return a[0] == 127 || a[0] == 0 || a == Ipv4{255, 255, 255, 255}; }
bool Unspecified6(const Ipv6& a) {
  Ipv6 loopback{};
  loopback[15] = 1;
  if (a == Ipv6{} || a == loopback || a[0] == 0xff) return true;
  // v4-mapped: the v4 address decides
  return std::all_of(a.begin(), a.begin() + 10, [](uint8_t b) { return b == 0; }) && a[10] == 0xff && a[11] == 0xff;
}

void AddHost(Secrets& s, std::string_view raw) {
  std::string name = Lower(Trim(raw));
  while (!name.empty() && (name.back() == '.' || name.back() == '\n')) name.pop_back();
  if (!Identifying(name)) return;
  size_t dot = name.find('.');
  s.hosts.insert(name.substr(0, dot));
  if (dot != std::string::npos) {
    s.hosts.insert(name);
    if (Identifying(name.substr(dot + 1))) s.domains.insert(name.substr(dot + 1));
  }
  // ip-10-1-2-3: a cloud host name says the machine's address
  Ipv4 a;
  std::string dotted = name.substr(0, dot);
  if (dotted.starts_with("ip-")) {
    dotted = dotted.substr(3);
    std::replace(dotted.begin(), dotted.end(), '-', '.');
    if (inet_pton(AF_INET, dotted.c_str(), a.data()) == 1 && !Loopback4(a)) s.v4.insert(a);
  }
}

// The domain of the short host name, where the snapshot spells the full
// name (mount sources, arguments, unix socket paths): "HOST.corp.example".
void AddDomainsOfHost(Secrets& s, std::string_view text) {
  if (s.hosts.empty()) return;
  const std::string l = Lower(text);
  for (const std::string& h : s.hosts) {
    if (h.find('.') != std::string::npos || h.size() < 2) continue;
    for (size_t at = l.find(h + "."); at != std::string::npos; at = l.find(h + ".", at + 1)) {
      if (at > 0 && (std::isalnum(static_cast<unsigned char>(l[at - 1])) || l[at - 1] == '-')) continue;
      size_t end = at + h.size() + 1;
      while (end < l.size() && (std::isalnum(static_cast<unsigned char>(l[end])) || l[end] == '-' || l[end] == '.')) ++end;
      std::string domain = l.substr(at + h.size() + 1, end - at - h.size() - 1);
      while (!domain.empty() && (domain.back() == '.' || domain.back() == '-')) domain.pop_back();
      // A domain has a label of letters last ("db1.sock" is a file, not a domain).
      const size_t dot = domain.rfind('.');
      const std::string tld = dot == std::string::npos ? domain : domain.substr(dot + 1);
      if (dot == std::string::npos || tld.size() < 2 ||
          !std::all_of(tld.begin(), tld.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
        continue;
      for (std::string_view file : {"sock", "pid", "log", "conf", "json", "yaml", "yml", "txt", "lock", "db", "socket"})
        if (tld == file) domain.clear();
      if (!domain.empty() && Identifying(domain)) s.domains.insert(domain);
    }
  }
}

// A line at a time.
template <typename F>
void ForEachLine(std::string_view text, F f) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    f(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

Ipv4 Network4(Ipv4 a, int len) {
  const uint32_t mask = len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
  const uint32_t v = (uint32_t(a[0]) << 24 | uint32_t(a[1]) << 16 | uint32_t(a[2]) << 8 | a[3]) & mask;
  return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}
Ipv4 Broadcast4(Ipv4 a, int len) {
  const uint32_t mask = len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
  const uint32_t v = (uint32_t(a[0]) << 24 | uint32_t(a[1]) << 16 | uint32_t(a[2]) << 8 | a[3]) | ~mask;
  return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}
Ipv6 Network6(Ipv6 a, int len) {
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(len - 8 * i, 0, 8);
    a[i] &= static_cast<uint8_t>(0xff << (8 - bits));
  }
  return a;
}

// fib_trie: "|-- 10.0.0.5" then "/32 host LOCAL" is an address of this
// machine (in that namespace); "/16 host LOCAL" a prefix it answers to all
// of (ip route add local); "/24 link UNICAST" its subnet, whose network
// and broadcast addresses say where it is.
void AddFib(Secrets& s, std::string_view text) {
  Ipv4 last{};
  bool have = false;
  ForEachLine(text, [&](std::string_view line) {
    if (size_t at = line.find("|-- "); at != std::string_view::npos) {
      const std::string a(Trim(line.substr(at + 4)));
      have = inet_pton(AF_INET, a.c_str(), last.data()) == 1;
      return;
    }
    const auto f = Fields(line);
    if (!have || f.size() < 3 || f[0].empty() || f[0][0] != '/') return;
    const int len = std::atoi(std::string(f[0].substr(1)).c_str());
    if (Loopback4(last) || len <= 0 || len > 32) return;
    if (f[1] == "host" && f[2] == "LOCAL") {
      if (len == 32) s.v4.insert(last);
      else s.local4.insert({Network4(last, len), len});
    } else if (f[1] == "link" && (f[2] == "BROADCAST" || f[2] == "UNICAST")) {
      s.v4.insert(last);
      if (f[2] == "UNICAST" && len < 31) s.v4.insert(Broadcast4(last, len));
    }
  });
}

int HexDigit(char c) { return std::isdigit((unsigned char)c) ? c - '0' : std::tolower((unsigned char)c) - 'a' + 10; }

// 32 hex digits as 16 bytes in order (if_inet6, ipv6_route).
bool Hex16(std::string_view h, Ipv6& a) {
  if (h.size() != 32) return false;
  for (int i = 0; i < 16; ++i) {
    if (!std::isxdigit((unsigned char)h[2 * i]) || !std::isxdigit((unsigned char)h[2 * i + 1])) return false;
    a[i] = static_cast<uint8_t>(HexDigit(h[2 * i]) * 16 + HexDigit(h[2 * i + 1]));
  }
  return true;
}

// 8 hex digits of a little-endian word (net/tcp, net/route).
bool HexWord4(std::string_view h, Ipv4& a) {
  if (h.size() != 8) return false;
  for (int i = 0; i < 4; ++i) {
    if (!std::isxdigit((unsigned char)h[2 * i]) || !std::isxdigit((unsigned char)h[2 * i + 1])) return false;
    a[3 - i] = static_cast<uint8_t>(HexDigit(h[2 * i]) * 16 + HexDigit(h[2 * i + 1]));
  }
  return true;
}

// if_inet6: 32 hex digits of an address, then index, prefix, scope, flags, name.
void AddInet6(Secrets& s, std::string_view text) {
  ForEachLine(text, [&](std::string_view line) {
    const auto f = Fields(line);
    Ipv6 a;
    if (!f.empty() && Hex16(f[0], a) && !Unspecified6(a)) s.v6.insert(a);
  });
}

// ipv6_route: DEST LEN SRC LEN NEXTHOP METRIC REF USE FLAGS DEV. The
// prefixes of the machine's own addresses (its /64), and local routes.
void AddRoutes6(Secrets& s, std::string_view text) {
  ForEachLine(text, [&](std::string_view line) {
    const auto f = Fields(line);
    Ipv6 dest;
    if (f.size() < 10 || !Hex16(f[0], dest)) return;
    const int len = std::stoi(std::string(f[1]), nullptr, 16);
    const unsigned long flags = std::stoul(std::string(f[8]), nullptr, 16);
    if (len <= 0 || len >= 128 || dest[0] == 0xfe || dest[0] == 0xff || Unspecified6(dest)) return;
    if (flags & 0x80000000ul) s.local6.insert({Network6(dest, len), len});  // RTF_LOCAL
    for (const Ipv6& a : s.v6)
      if (Network6(a, len) == dest) {
        s.v6.insert(dest);
        break;
      }
  });
}

// net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask...: a
// route of a directly connected subnet names the machine's network.
void AddRoutes4(Secrets& s, std::string_view text) {
  ForEachLine(text, [&](std::string_view line) {
    const auto f = Fields(line);
    Ipv4 dest, gateway, mask;
    if (f.size() < 8 || !HexWord4(f[1], dest) || !HexWord4(f[2], gateway) || !HexWord4(f[7], mask)) return;
    int len = 0;
    for (uint8_t b : mask) len += __builtin_popcount(b);
    if (gateway != Ipv4{} || len == 0 || len >= 31 || Loopback4(dest)) return;
    s.v4.insert(dest);
    s.v4.insert(Broadcast4(dest, len));
  });
}

// net/tcp, udp (and 6): the local address of a socket is the machine's.
void AddSocketAddresses(Secrets& s, std::string_view text, bool six) {
  ForEachLine(text, [&](std::string_view line) {
    const auto f = Fields(line);
    if (f.size() < 3 || f[0] == "sl") return;
    const std::string_view local = f[1].substr(0, f[1].find(':'));
    if (!six) {
      Ipv4 a;
      if (HexWord4(local, a) && !Loopback4(a)) s.v4.insert(a);
      return;
    }
    Ipv6 words;
    if (!Hex16(local, words)) return;
    Ipv6 a;  // four little-endian words
    for (int w = 0; w < 16; w += 4)
      for (int k = 0; k < 4; ++k) a[w + k] = words[w + 3 - k];
    if (!Unspecified6(a)) s.v6.insert(a);
    else if (a[10] == 0xff && a[11] == 0xff) {
      Ipv4 v4 = {a[12], a[13], a[14], a[15]};
      if (!Loopback4(v4)) s.v4.insert(v4);
    }
  });
}

// A machine-id or boot_id (32 hex digits, dashes or not), lowercase without dashes.
std::string IdHex(std::string_view raw) {
  std::string h;
  for (char c : Trim(raw))
    if (c != '-') h.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (h.size() != 32 || !std::all_of(h.begin(), h.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
    return "";
  return h;
}

// 8-4-4-4-12, as boot_id writes it.
std::string Uuid(std::string_view hex) {
  return std::string(hex.substr(0, 8)) + "-" + std::string(hex.substr(8, 4)) + "-" + std::string(hex.substr(12, 4)) +
         "-" + std::string(hex.substr(16, 4)) + "-" + std::string(hex.substr(20));
}

// One content under one name: what learning and copying do once.
std::string BlobKey(const BlobRef& ref, std::string_view name) {
  return std::to_string(ref.chunk) + ":" + std::to_string(ref.offset) + ":" + std::to_string(ref.size) + ":" +
         std::string(name);
}

bool Numeric(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// An environment value worth finding in other processes' arguments: a
// secret-looking name's, or one shaped like a token (letters and digits,
// no path, list or sentence).
bool TokenLike(std::string_view v) {
  if (v.size() < 8 || v.size() > 4096) return false;
  bool letter = false, digit = false;
  for (char c : v) {
    if (c == '/' || c == ':' || c == ' ' || c == ',' || c == '\n') return false;
    letter |= std::isalpha(static_cast<unsigned char>(c)) != 0;
    digit |= std::isdigit(static_cast<unsigned char>(c)) != 0;
  }
  return letter && digit && !v.starts_with("en_") && !v.starts_with("xterm");
}

// What a run of redaction knows: the secrets, their pseudonyms, the text
// replacer built from them.
class Run {
 public:
  explicit Run(const RedactOptions& o) : options_(o), p_(o.key) {}

  // What one snapshot says about the machine and its secrets.
  Status learn(const Snapshot& s) {
    const Metadata& m = s.metadata();
    if (!options_.keepHostname) AddHost(secrets_, m.hostname);
    addId(m.machineId);
    addId(m.bootId);
    KindCounts ignored;
    auto remember = [this](std::string_view v, const char*) {
      learnValue(v, true);
      return std::string(v);
    };
    std::set<std::string> seen;  // one content, one look: threads share their process's files
    for (NodeId id = 0; id < s.nodeCount(); ++id) {
      const Node& n = s.node(id);
      if (n.kind != NodeKind::File || n.size == 0) continue;
      const std::string_view name = s.name(id), parent = id ? s.name(s.parent(id)) : "";
      const bool kernel = parent == "kernel", net = parent == "net";
      const bool mounts = name == "mountinfo" || name == "mounts" || name == "mountstats";
      const bool sockets = net && (name == "tcp" || name == "udp" || name == "tcp6" || name == "udp6");
      if (!((kernel && (name == "hostname" || name == "domainname")) || name == "fib_trie" || name == "if_inet6" ||
            name == "cmdline" || name == "environ" || mounts || sockets || (net && (name == "route" || name == "ipv6_route" || name == "unix")) ||
            (parent == "random" && name == "boot_id")))
        continue;
      const BlobRef ref = s.tree().blob(id);
      if (!seen.insert(BlobKey(ref, name)).second) continue;
      auto bytes = s.bytes(id);
      if (!bytes.ok()) return bytes.status();
      std::string_view text = bytes->bytes;
      if (kernel && name == "hostname" && !options_.keepHostname) AddHost(secrets_, text);
      if (kernel && name == "domainname" && !options_.keepHostname && Identifying(Trim(text)))
        secrets_.domains.insert(Lower(std::string(Trim(text))));
      if (name == "boot_id") addId(text);
      if (!options_.keepIps) {
        if (name == "fib_trie") AddFib(secrets_, text);
        if (name == "if_inet6") AddInet6(secrets_, text);
        if (net && name == "route") AddRoutes4(secrets_, text);
        if (sockets) AddSocketAddresses(secrets_, text, name.ends_with("6"));
        if (net && name == "ipv6_route") routes6_.emplace_back(text);  // after every if_inet6
      }
      if (!options_.keepHostname && (name == "cmdline" || mounts || name == "unix")) AddDomainsOfHost(secrets_, text);
      if (name == "cmdline") RedactCmdline(text, remember, ignored);
      if (mounts) RedactMountTable(text, remember, ignored);
      if (name == "environ") learnEnviron(text);
    }
    return Status::Ok();
  }

  void build() {
    using M = TextReplacer::Match;
    for (const auto& r : routes6_) AddRoutes6(secrets_, r);
    // Parent domains: eu.corp.example gives corp.example too (never a
    // public suffix of two labels such as co.uk).
    for (std::string d : std::set<std::string>(secrets_.domains))
      for (size_t dot = d.find('.'); dot != std::string::npos; dot = d.find('.', dot + 1)) {
        const std::string parent = d.substr(dot + 1);
        const size_t inner = parent.find('.');
        if (inner == std::string::npos) break;
        const std::string first = parent.substr(0, inner), last = parent.substr(parent.rfind('.') + 1);
        if (last.size() == 2 && parent.find('.', inner + 1) == std::string::npos &&
            (first == "co" || first == "com" || first == "net" || first == "org" || first == "ac" || first == "gov" ||
             first == "edu" || first == "ne" || first == "or" || first == "go"))
          break;
        secrets_.domains.insert(parent);
      }
    for (const auto& d : secrets_.domains) {
      if (d.find('.') == std::string::npos && GenericDomain(d)) continue;
      const std::string rep = p_.domain(d);
      addNeedle(d, rep, d.size() >= 5 && d.find('.') != std::string::npos ? M::Anywhere : M::Word, "domain");
    }
    for (const auto& h : secrets_.hosts) {
      size_t dot = h.find('.');
      std::string rep = dot == std::string::npos ? p_.host(h) : p_.host(h.substr(0, dot)) + "." + p_.domain(h.substr(dot + 1));
      const M how = h.size() >= 5 ? M::Anywhere : M::Word;
      addNeedle(h, rep, how, "hostname");
      if (dot == std::string::npos && h.find('-') != std::string::npos) {
        // LVM's device-mapper names double a '-' (db--primary7--vg-root); some tools write '_' for it.
        auto spelled = [](std::string t, std::string_view with) {
          std::string out;
          for (char c : t) {
            if (c == '-') out.append(with);
            else out.push_back(c);
          }
          return out;
        };
        addNeedle(spelled(h, "--"), spelled(rep, "--"), how, "hostname");
        addNeedle(spelled(h, "_"), spelled(rep, "_"), how, "hostname");
      }
      if (h.size() < 5)
        shortName_ = "the host name is short (" + std::to_string(h.size()) +
                     " characters): replaced as a word in kernel.hostname, arguments, environments and the metadata, "
                     "not elsewhere, where it would be mistaken for ordinary text";
    }
    for (const auto& id : secrets_.ids) {
      const std::string rep = p_.id(id);
      addNeedle(id, rep, M::Anywhere, "machine-id");
      addNeedle(Uuid(id), Uuid(rep), M::Anywhere, "machine-id");
    }
    for (const auto& v : secrets_.values) addNeedle(v, p_.value(v), M::Exact, "argument");
    for (const auto& v : secrets_.wordValues)
      if (!secrets_.values.count(v)) addNeedle(v, p_.value(v), M::ExactWord, "argument");
    if (!options_.keepIps)
      r_.mapAddresses([this](const Ipv4& a) { return address4(a); }, [this](const Ipv6& a) { return address6(a); });
  }

  // The pseudonym of one value of an argument or environment: a known
  // host or address keeps its own, so one secret has one pseudonym.
  std::string value(std::string_view v, const char* kind) {
    const std::string l = Lower(v);
    if (secrets_.hosts.count(l)) {
      std::string t(v);
      KindCounts c;
      r_.apply(t, TextReplacer::kWords, c);
      return t;
    }
    Ipv4 a4;
    Ipv6 a6;
    const std::string s(v);
    if (inet_pton(AF_INET, s.c_str(), a4.data()) == 1)
      if (auto q = address4(a4)) return Text4(*q);
    if (inet_pton(AF_INET6, s.c_str(), a6.data()) == 1)
      if (auto q = address6(a6)) return Text6(*q);
    std::string rep = p_.value(v);
    if (options_.map) mapping_[{kind, s}] = rep;
    return rep;
  }

  const std::map<std::pair<std::string, std::string>, std::string>& mapping() const { return mapping_; }

  // Redacts snapshot `index` of `reader` into `writer`.
  Result<Metadata> copy(const ArchiveReader& reader, size_t index, ArchiveWriter& writer) {
    auto snapshot = reader.snapshot(index);
    if (!snapshot.ok()) return snapshot.status();
    const Snapshot& s = **snapshot;
    KindCounts counts;
    Tree out;
    std::vector<NodeId> newId(s.nodeCount(), kNoNode);
    std::vector<std::pair<NodeId, NodeId>> aliases;  // new alias node, old target
    struct Dir {
      NodeId old, now;
      bool net;
    };
    std::deque<Dir> queue;
    out.add("");
    copyNode(s, 0, out, 0, false, writer, counts);
    newId[0] = 0;
    queue.push_back({0, 0, false});
    Status failed;
    while (!queue.empty() && failed.ok()) {
      Dir d = queue.front();
      queue.pop_front();
      auto [lo, hi] = s.tree().children(d.old);
      std::vector<std::pair<std::string, NodeId>> kids;
      for (NodeId c = lo; c < hi; ++c) {
        std::string name(s.name(c));
        r_.apply(name, 0, counts);
        kids.push_back({std::move(name), c});
      }
      std::sort(kids.begin(), kids.end());
      bool clash = false;
      for (size_t i = 1; i < kids.size(); ++i)  // two names made one: keep both apart
        if (kids[i].first == kids[i - 1].first) {
          kids[i].first.append("~").append(std::to_string(i));
          clash = true;
        }
      if (clash) std::sort(kids.begin(), kids.end());
      const NodeId first = static_cast<NodeId>(out.size());
      for (auto& [name, old] : kids) newId[old] = out.add(name);
      out.setChildren(d.now, kids.empty() ? 0 : first, static_cast<uint32_t>(kids.size()));
      for (auto& [name, old] : kids) {
        const bool net = d.net || s.name(old) == "net";
        Status st = copyNode(s, old, out, newId[old], net, writer, counts);
        if (!st.ok()) {
          failed = st;
          break;
        }
        const Node& n = s.node(old);
        if (n.kind == NodeKind::Directory) queue.push_back({old, newId[old], net});
        if (n.kind == NodeKind::Alias) aliases.push_back({newId[old], s.tree().aliasTarget(old)});
      }
    }
    if (!failed.ok()) return failed;
    for (auto [node, target] : aliases) out.setAlias(node, newId[target]);

    Metadata m = s.metadata();
    KindCounts metaCounts;
    auto scrub = [&](std::string& t) { r_.apply(t, TextReplacer::kWords, metaCounts); };
    scrub(m.hostname);
    if (!options_.keepHostname && Identifying(m.hostname) && m.hostname == s.metadata().hostname)
      m.hostname = p_.host(m.hostname);
    scrub(m.kernelVersion);
    scrub(m.kernelRelease);
    scrub(m.bootId);
    scrub(m.machineId);
    scrub(m.root);
    for (auto& o : m.options) scrub(o);
    for (auto& e : m.excludes) scrub(e);
    for (auto& n : m.notes) scrub(n);
    for (Executable& e : m.executables) {
      scrub(e.path);
      scrub(e.note);
      if (e.kept.size) {
        e.kept = {};
        if (!e.note.empty()) e.note.append("; ");
        e.note.append("its bytes are not in a redacted copy");
      }
    }
    uint64_t total = 0, bytes = 0;
    for (auto& [kind, n] : counts) total += n;
    for (NodeId id = 0; id < out.size(); ++id) bytes += out.node(id).kind == NodeKind::File ? out.node(id).size : 0;
    m.counts.bytes = bytes;
    m.counts.redactions += total;
    for (auto& [kind, n] : counts) {
      auto it = std::find_if(m.redactionKinds.begin(), m.redactionKinds.end(), [&](auto& k) { return k.first == kind; });
      if (it == m.redactionKinds.end()) m.redactionKinds.push_back({kind, n});
      else it->second += n;
    }
    m.notes.push_back(std::string("redacted: environment values, secret-looking arguments") +
                      (options_.keepHostname ? "" : ", the host name and domain") +
                      (options_.keepIps ? "" : ", the machine's IP addresses") +
                      " replaced by keyed pseudonyms (HMAC-SHA-256; key " +
                      (p_.randomKey() ? std::string("random, kept nowhere") : "fingerprint " + p_.keyFingerprint()) +
                      "); kept bytes of executables left out");
    // A full capture redacted is what the bugreport profile makes: one
    // label, so that an archive of both does not look mixed.
    if (m.profile == "full") m.profile = "bugreport";
    if (!shortName_.empty()) m.notes.push_back(shortName_);
    for (auto& [kind, n] : counts) summary_[kind] += n;
    Status st = writer.addSnapshot(m, std::move(out));
    if (!st.ok()) return st;
    return m;
  }

  // Kernel secrets readable by root (IPv6 stable_secret, TCP Fast Open
  // keys): every run of hex digits becomes keyed hex of the same length,
  // so the file keeps its shape.
  std::string secretFile(std::string text, KindCounts& counts) {
    for (size_t i = 0; i < text.size();) {
      if (!std::isxdigit(static_cast<unsigned char>(text[i]))) {
        ++i;
        continue;
      }
      size_t end = i;
      while (end < text.size() && std::isxdigit(static_cast<unsigned char>(text[end]))) ++end;
      if (text.find_first_not_of('0', i) >= end) {  // zeros: no key set
        i = end;
        continue;
      }
      std::string hex;
      for (uint32_t round = 0; hex.size() < end - i; ++round) hex += p_.value(text.substr(i, end - i) + "#" + std::to_string(round)).substr(2);
      text.replace(i, end - i, hex.substr(0, end - i));
      ++counts["secret-file"];
      i = end;
    }
    return text;
  }

  const KindCounts& summary() const { return summary_; }
  void newWriter() { cache_.clear(); }  // blob references are per archive

 private:
  struct Copied {
    BlobRef ref;        // in the archive being written
    KindCounts counts;  // what its redaction replaced
  };

  Status copyNode(const Snapshot& s, NodeId old, Tree& out, NodeId now, bool net, ArchiveWriter& writer,
                  KindCounts& counts) {
    Node n = s.node(old);
    Node& dst = out.at(now);
    const uint32_t name = dst.name;
    std::string note(s.note(old));
    r_.apply(note, 0, counts);
    dst = n;
    dst.name = name;
    dst.note = out.intern(note);
    switch (n.kind) {
      case NodeKind::File: {
        const BlobRef ref = s.tree().blob(old);
        if (ref.size == 0) {
          out.setBlob(now, {});
          break;
        }
        // One content, one redaction: threads share their process's files,
        // and a recording's snapshots share most of theirs.
        const std::string key = BlobKey(ref, s.name(old)) + (net ? ":net" : "");
        auto it = cache_.find(key);
        if (it == cache_.end()) {
          auto bytes = s.read(old);
          if (!bytes.ok()) return bytes.status();
          std::string text = std::move(*bytes);
          KindCounts c;
          auto pseudonym = [this](std::string_view v, const char* kind) { return value(v, kind); };
          const std::string_view fname = s.name(old);
          if (fname == "environ") text = RedactEnviron(text, pseudonym, c);
          else if (fname == "cmdline") text = RedactCmdline(text, pseudonym, c);
          else if (fname == "mountinfo" || fname == "mounts" || fname == "mountstats")
            text = RedactMountTable(text, pseudonym, c);
          else if (fname == "stable_secret" || fname == "tcp_fastopen_key") text = secretFile(text, c);
          const bool words = fname == "environ" || fname == "cmdline" || fname == "hostname" || fname == "domainname" ||
                             fname == "comm";
          r_.apply(text, (net ? TextReplacer::kNet : 0) | (words ? TextReplacer::kWords : 0), c);
          auto put = writer.putBlob(text);  // unchanged bytes too: this is another archive
          if (!put.ok()) return put.status();
          it = cache_.emplace(key, Copied{*put, std::move(c)}).first;
        }
        for (auto& [kind, k] : it->second.counts) counts[kind] += k;
        const BlobRef& r = it->second.ref;
        if (n.statSize == n.size) dst.statSize = r.size;  // a plain file's st_size follows its content
        out.setBlob(now, r);
        if (!it->second.counts.empty() && (n.reason == Reason::None || n.reason == Reason::Carried)) {
          dst.reason = Reason::Redacted;
          dst.note = out.intern("redacted: values replaced by pseudonyms");
        }
        break;
      }
      case NodeKind::Symlink: {
        std::string target(s.linkTarget(old));
        r_.apply(target, 0, counts);
        out.setLinkTarget(now, target);
        break;
      }
      case NodeKind::Directory:
      case NodeKind::Alias:  // set by the caller, once the children or the target have ids
      case NodeKind::Other:
        out.setChildren(now, 0, 0);
        break;
    }
    return Status::Ok();
  }

  // A value found in an argument, a mount source or a secret-looking
  // environment variable: long ones are replaced anywhere, short or all-
  // digit ones as whole words where arguments and environments are (a
  // 4-digit PIN replaced inside every number would ruin the snapshot);
  // one or two characters only where found.
  void learnValue(std::string_view v, bool anywhere) {
    if (v.size() < 3) return;
    if (anywhere && v.size() >= 6 && !Numeric(v)) secrets_.values.emplace(v);
    else secrets_.wordValues.emplace(v);
  }

  void learnEnviron(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\0', pos);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view pair = text.substr(pos, end - pos);
      pos = end + 1;
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos || eq + 1 == pair.size()) continue;
      const std::string_view key = pair.substr(0, eq), v = pair.substr(eq + 1);
      if (LooksSecret(key) && v.find('/') == std::string_view::npos) learnValue(v, true);
      else if (TokenLike(v)) learnValue(v, false);
    }
  }

  void addId(std::string_view raw) {
    const std::string h = IdHex(raw);
    if (!h.empty() && h != std::string(32, '0')) secrets_.ids.insert(h);
  }

  void addNeedle(const std::string& needle, const std::string& rep, TextReplacer::Match how, const char* kind) {
    r_.add(needle, rep, how, kind);
    if (options_.map) mapping_[{kind, needle}] = rep;
  }

  std::optional<Ipv4> address4(const Ipv4& a) {
    bool mine = secrets_.v4.count(a) > 0;
    for (auto it = secrets_.local4.begin(); !mine && it != secrets_.local4.end(); ++it)
      mine = Network4(a, it->second) == it->first;
    if (!mine) return std::nullopt;
    const Ipv4 q = p_.ipv4(a);
    if (options_.map) mapping_[{"ipv4", Text4(a)}] = Text4(q);
    return q;
  }

  std::optional<Ipv6> address6(const Ipv6& a) {
    if (std::all_of(a.begin(), a.begin() + 10, [](uint8_t b) { return b == 0; }) && a[10] == 0xff && a[11] == 0xff) {
      auto q = address4({a[12], a[13], a[14], a[15]});  // ::ffff:a.b.c.d
      if (!q) return std::nullopt;
      Ipv6 r = a;
      std::copy(q->begin(), q->end(), r.begin() + 12);
      return r;
    }
    bool mine = secrets_.v6.count(a) > 0;
    for (auto it = secrets_.local6.begin(); !mine && it != secrets_.local6.end(); ++it)
      mine = Network6(a, it->second) == it->first;
    if (!mine) return std::nullopt;
    const Ipv6 q = p_.ipv6(a);
    if (options_.map) mapping_[{"ipv6", Text6(a)}] = Text6(q);
    return q;
  }

  RedactOptions options_;
  Pseudonyms p_;
  Secrets secrets_;
  std::vector<std::string> routes6_;
  std::map<std::pair<std::string, std::string>, std::string> mapping_;  // (kind, original) -> pseudonym, for --map
  TextReplacer r_;
  std::string shortName_;  // a note, when the host name is replaced as a word only
  std::unordered_map<std::string, Copied> cache_;
  KindCounts summary_;
};

}  // namespace

Result<std::string> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(path + ": cannot open the key file", errno);
  std::string key;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(path + ": cannot read the key file", err);
    }
    if (n == 0) break;
    key.append(buf, n);
    if (key.size() > (1u << 20)) {
      ::close(fd);
      return Status::InvalidArgument(path + ": a key file holds at most 1 MiB");
    }
  }
  ::close(fd);
  if (key.size() < 16)
    return Status::InvalidArgument(path + ": a key file needs at least 16 bytes (it holds " +
                                   std::to_string(key.size()) + "); e.g. head -c 32 /dev/urandom > " + path);
  return key;
}

// Writes `bytes` into a new file at `path` (mode 0600, never over one that
// exists, nothing left behind on failure); EEXIST comes back as the errno.
int WriteNewPrivateFile(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) && ::fsync(fd) == 0;
  const int err = ok ? 0 : (errno ? errno : EIO);
  ::close(fd);
  if (!ok) ::unlink(path.c_str());
  return err;
}

Result<std::string> DefaultRedactionKey(std::string* where) {
  std::string path;
  if (const char* e = ::getenv("PROCSNAP_REDACTION_KEY"); e && *e) {
    path = e;
  } else if (::geteuid() == 0) {
    path = "/var/lib/procsnap/redaction.key";
  } else {
    std::string base;
    if (const char* x = ::getenv("XDG_STATE_HOME"); x && *x == '/') base = x;
    else if (const char* h = ::getenv("HOME"); h && *h == '/') base = std::string(h) + "/.local/state";
    else return Status::InvalidArgument("no default redaction key: HOME is not set; give --key-file or --new-key");
    path = base + "/procsnap/redaction.key";
  }
  if (where) *where = path;
  const std::string dir = path.substr(0, path.rfind('/'));
  // Each missing directory, the last one private.
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string part = dir.substr(0, slash);
    if (::mkdir(part.c_str(), slash == std::string::npos ? 0700 : 0755) != 0 && errno != EEXIST)
      return Status::FromErrno(part + ": cannot create the directory of the default redaction key", errno);
    if (slash == std::string::npos) break;
  }
  // The first use: 32 random bytes.
  if (int err = WriteNewPrivateFile(path, Pseudonyms("").rawKey()); err && err != EEXIST)
    return Status::FromErrno(path + ": cannot create the default redaction key", err);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Status::FromErrno(path + ": cannot read the default redaction key", errno);
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077))
    return Status::InvalidArgument(path + ": the default redaction key must be a regular file of yours that no one "
                                          "else may read (chmod 600); give --key-file or --new-key instead");
  return ReadKeyFile(path);
}

Status WriteRedactMap(const std::string& path, const std::vector<RedactMapEntry>& map) {
  auto escape = [](std::string_view v) {
    std::string out;
    for (unsigned char c : v) {
      if (c == '\t') out += "\\t";
      else if (c == '\n') out += "\\n";
      else if (c == '\\') out += "\\\\";
      else if (c < 0x20 || c >= 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    return out;
  };
  std::string text = "# procsnap redact --map: kind, original, pseudonym. Keep it private: it undoes the redaction.\n";
  for (const auto& e : map) text += e.kind + "\t" + escape(e.original) + "\t" + escape(e.pseudonym) + "\n";
  if (int err = WriteNewPrivateFile(path, text))
    return Status::FromErrno(path + ": cannot write the map (it must not exist)", err);
  return Status::Ok();
}

std::string RedactionKeyLabel(const std::string& key) {
  return key.empty() ? "random" : "fingerprint " + Pseudonyms(key).keyFingerprint();
}

std::string RedactionKeyOf(const Metadata& m) {
  for (const std::string& note : m.notes) {
    if (!note.starts_with("redacted:")) continue;
    if (note.find("key random") != std::string::npos) return "random";
    const size_t at = note.find("key fingerprint ");
    if (at != std::string::npos) return "fingerprint " + note.substr(at + 16, 8);
  }
  return "";
}

Result<Metadata> RedactSnapshot(const ArchiveReader& reader, size_t index, ArchiveWriter& writer,
                                const RedactOptions& options) {
  Run run(options);
  auto snap = reader.snapshot(index);
  if (!snap.ok()) return snap.status();
  if (Status s = run.learn(**snap); !s.ok()) return s;
  run.build();
  return run.copy(reader, index, writer);
}

namespace {

// The segment files of a recording, by name (= by time); torn ones left out.
Result<std::vector<std::string>> Segments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::FromErrno(dir + ": cannot list", errno);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 6 && n.ends_with(".psnap") && n[0] != '.') names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  if (names.empty()) return Status::InvalidArgument(dir + ": not a recording (no *.psnap segments)");
  return names;
}

struct Job {
  std::shared_ptr<ArchiveReader> reader;
  std::vector<size_t> snapshots;
  std::string out;
};

}  // namespace

Result<RedactSummary> RedactArchive(const std::string& in, const std::string& out, const RedactOptions& options,
                                    std::optional<size_t> at, const std::function<void(size_t, size_t)>& progress) {
  struct stat st;
  if (::lstat(out.c_str(), &st) == 0) return Status::InvalidArgument(out + ": exists; redact writes a new archive");
  const bool recording = ::stat(in.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && !at;
  std::vector<Job> jobs;
  if (recording) {
    auto names = Segments(in);
    if (!names.ok()) return names.status();
    for (const auto& n : *names) {
      auto r = ArchiveReader::Open(in + "/" + n);
      if (!r.ok()) return r.status();
      Job j{*r, {}, out + "/" + n};
      for (size_t i = 0; i < (*r)->snapshotCount(); ++i) j.snapshots.push_back(i);
      jobs.push_back(std::move(j));
    }
  } else {
    auto r = ArchiveReader::Open(in);
    if (!r.ok()) return r.status();
    Job j{*r, {}, out};
    if (at) {
      if (*at >= (*r)->snapshotCount())
        return Status::NotFound(in + ": no snapshot " + std::to_string(*at));
      j.snapshots.push_back(*at);
    } else {
      for (size_t i = 0; i < (*r)->snapshotCount(); ++i) j.snapshots.push_back(i);
    }
    jobs.push_back(std::move(j));
  }
  // Every secret of every snapshot first: one seen late is replaced early too.
  Run run(options);
  size_t total = 0;
  for (const Job& j : jobs)
    for (size_t i : j.snapshots) {
      auto snap = j.reader->snapshot(i);
      if (!snap.ok()) return snap.status();
      if (Status s = run.learn(**snap); !s.ok()) return s;
      ++total;
    }
  run.build();
  if (recording && ::mkdir(out.c_str(), 0755) != 0) return Status::FromErrno(out + ": cannot create", errno);
  std::vector<std::string> written;
  auto undo = [&](Status s) {  // no half-written copy is left behind
    for (const auto& w : written) ::unlink(w.c_str());
    if (recording) ::rmdir(out.c_str());
    return s;
  };
  RedactSummary summary;
  for (const Job& j : jobs) {
    WriterOptions wo;
    wo.delta = j.snapshots.size() > 1;
    auto writer = ArchiveWriter::Create(j.out, wo);
    if (!writer.ok()) return undo(writer.status());
    written.push_back(j.out);
    run.newWriter();
    for (size_t i : j.snapshots) {
      auto m = run.copy(*j.reader, i, **writer);
      if (!m.ok()) return undo(m.status());
      ++summary.snapshots;
      if (progress) progress(summary.snapshots, total);
    }
    if (Status s = (*writer)->finish(); !s.ok()) return undo(s);
  }
  summary.replaced = run.summary();
  for (const auto& [k, rep] : run.mapping()) summary.map.push_back({k.first, k.second, rep});
  return summary;
}

}  // namespace procsnap
