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

struct Secrets {
  std::set<std::string> hosts, domains;  // lowercase
  std::set<Ipv4> v4;
  std::set<Ipv6> v6;
  std::set<std::string> values;          // secret argument values, as written
};

void AddHost(Secrets& s, std::string_view raw) {
  std::string name = Lower(Trim(raw));
  if (!Identifying(name)) return;
  size_t dot = name.find('.');
  s.hosts.insert(name.substr(0, dot));
  if (dot != std::string::npos) {
    s.hosts.insert(name);
    if (Identifying(name.substr(dot + 1))) s.domains.insert(name.substr(dot + 1));
  }
}

// fib_trie: "|-- 10.0.0.5" followed by "/32 host LOCAL" is an address of
// this machine (in that namespace).
void AddFibLocal(Secrets& s, std::string_view text) {
  std::string last;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (size_t at = line.find("|-- "); at != std::string_view::npos) last = std::string(Trim(line.substr(at + 4)));
    else if (line.find("/32 host LOCAL") != std::string_view::npos && !last.empty()) {
      Ipv4 a;
      if (inet_pton(AF_INET, last.c_str(), a.data()) == 1 && a[0] != 127) s.v4.insert(a);
    }
  }
}

// if_inet6: 32 hex digits of an address, then index, prefix, scope, flags, name.
void AddInet6(Secrets& s, std::string_view text) {
  size_t pos = 0;
  while (pos + 32 <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    Ipv6 a{};
    bool ok = true;
    for (int i = 0; i < 16 && ok; ++i) {
      auto hex = [](char c) { return std::isdigit((unsigned char)c) ? c - '0' : std::tolower((unsigned char)c) - 'a' + 10; };
      char h = text[pos + 2 * i], l = text[pos + 2 * i + 1];
      ok = std::isxdigit(static_cast<unsigned char>(h)) && std::isxdigit(static_cast<unsigned char>(l));
      if (ok) a[i] = static_cast<uint8_t>(hex(h) * 16 + hex(l));
    }
    Ipv6 loopback{};
    loopback[15] = 1;
    if (ok && a != loopback && a != Ipv6{}) s.v6.insert(a);
    pos = end + 1;
  }
}

// /proc/net/tcp writes an IPv4 address as the 32-bit word in host order
// (little-endian here), tcp6 as four such words; if_inet6 and ipv6_route
// write the bytes in order.
std::string WordHex(const uint8_t* b, size_t n) {
  std::string out;
  for (size_t w = 0; w < n; w += 4) {
    uint8_t r[4] = {b[w + 3], b[w + 2], b[w + 1], b[w]};
    out += HexOf(r, 4);
  }
  return out;
}

std::string Text4(const Ipv4& a) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, a.data(), buf, sizeof buf);
}
std::string Text6(const Ipv6& a) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
}

// The uncompressed spellings of an IPv6 address ("fd77:0:0:0:0:0:0:5",
// "fd77:0000:...:0005"), which programs print too.
std::vector<std::string> Expanded6(const Ipv6& a) {
  std::string shortForm, longForm;
  for (int i = 0; i < 16; i += 2) {
    char buf[8];
    const unsigned group = a[i] << 8 | a[i + 1];
    std::snprintf(buf, sizeof buf, "%x", group);
    if (i) shortForm.push_back(':');
    shortForm.append(buf);
    std::snprintf(buf, sizeof buf, "%04x", group);
    if (i) longForm.push_back(':');
    longForm.append(buf);
  }
  return {shortForm, longForm};
}

bool Numeric(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// What a run of redaction knows: the secrets, their pseudonyms, the text
// replacer built from them.
class Run {
 public:
  explicit Run(const RedactOptions& o) : options_(o), p_(o.key) {}

  Status learn(const Snapshot& s) {
    if (!options_.keepHostname) AddHost(secrets_, s.metadata().hostname);
    KindCounts ignored;
    auto keep = [](std::string_view v) { return std::string(v); };
    for (NodeId id = 0; id < s.nodeCount(); ++id) {
      const Node& n = s.node(id);
      if (n.kind != NodeKind::File || n.size == 0) continue;
      const std::string_view name = s.name(id), parent = id ? s.name(s.parent(id)) : "";
      const bool kernel = parent == "kernel";
      if (!((kernel && (name == "hostname" || name == "domainname")) || name == "fib_trie" || name == "if_inet6" ||
            name == "cmdline"))
        continue;
      auto bytes = s.bytes(id);
      if (!bytes.ok()) return bytes.status();
      std::string_view text = bytes->bytes;
      if (kernel && name == "hostname" && !options_.keepHostname) AddHost(secrets_, text);
      if (kernel && name == "domainname" && !options_.keepHostname && Identifying(Trim(text)))
        secrets_.domains.insert(Lower(std::string(Trim(text))));
      if (name == "fib_trie" && !options_.keepIps) AddFibLocal(secrets_, text);
      if (name == "if_inet6" && !options_.keepIps) AddInet6(secrets_, text);
      if (name == "cmdline") {
        std::vector<std::string> found;
        RedactCmdline(text, keep, ignored, &found);
        for (auto& v : found)
          if (v.size() >= 6 && !Numeric(v)) secrets_.values.insert(v);
      }
    }
    return Status::Ok();
  }

  void build() {
    using M = TextReplacer::Match;
    for (const auto& d : secrets_.domains) r_.add(d, p_.domain(d), d.size() >= 5 ? M::Anywhere : M::Word, "domain");
    for (const auto& h : secrets_.hosts) {
      size_t dot = h.find('.');
      std::string rep = dot == std::string::npos ? p_.host(h) : p_.host(h.substr(0, dot)) + "." + p_.domain(h.substr(dot + 1));
      r_.add(h, rep, h.size() >= 5 ? M::Anywhere : M::Word, "hostname");
      if (h.size() < 5)
        shortName_ = "the host name is short (" + std::to_string(h.size()) +
                     " characters): replaced as a word in kernel.hostname, arguments, environments and the metadata, "
                     "not elsewhere, where it would be mistaken for ordinary text";
    }
    for (const Ipv4& a : secrets_.v4) {
      Ipv4 q = p_.ipv4(a);
      r_.add(Text4(a), Text4(q), M::Dotted, "ipv4");
      r_.add(WordHex(a.data(), 4), WordHex(q.data(), 4), M::Hex, "ipv4");
      r_.add(HexOf(a.data(), 4), HexOf(q.data(), 4), M::Hex, "ipv4");  // network order (ip_vs)
    }
    for (const Ipv6& a : secrets_.v6) {
      Ipv6 q = p_.ipv6(a);
      r_.add(Text6(a), Text6(q), M::Colon, "ipv6");
      const auto spelled = Expanded6(a), spelledQ = Expanded6(q);
      for (size_t i = 0; i < spelled.size(); ++i) r_.add(spelled[i], spelledQ[i], M::Colon, "ipv6");
      r_.add(HexOf(a.data(), 16), HexOf(q.data(), 16), M::Hex, "ipv6");
      r_.add(WordHex(a.data(), 16), WordHex(q.data(), 16), M::Hex, "ipv6");
    }
    for (const auto& v : secrets_.values) r_.add(v, p_.value(v), M::Exact, "argument");
  }

  // The pseudonym of one value of an argument or environment: a known
  // host or address keeps its own, so one secret has one pseudonym.
  std::string value(std::string_view v) {
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
    if (inet_pton(AF_INET, s.c_str(), a4.data()) == 1 && secrets_.v4.count(a4)) return Text4(p_.ipv4(a4));
    if (inet_pton(AF_INET6, s.c_str(), a6.data()) == 1 && secrets_.v6.count(a6)) return Text6(p_.ipv6(a6));
    return p_.value(v);
  }

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
        const std::string key = std::to_string(ref.chunk) + ":" + std::to_string(ref.offset) + ":" +
                                std::to_string(ref.size) + (net ? ":net:" : ":") + std::string(s.name(old));
        auto it = cache_.find(key);
        if (it == cache_.end()) {
          auto bytes = s.read(old);
          if (!bytes.ok()) return bytes.status();
          std::string text = std::move(*bytes);
          KindCounts c;
          auto pseudonym = [this](std::string_view v) { return value(v); };
          const std::string_view fname = s.name(old);
          if (fname == "environ") text = RedactEnviron(text, pseudonym, c);
          else if (fname == "cmdline") text = RedactCmdline(text, pseudonym, c, nullptr);
          else if (fname == "stable_secret" || fname == "tcp_fastopen_key") text = secretFile(text, c);
          const bool words = fname == "environ" || fname == "cmdline" || fname == "hostname" || fname == "domainname";
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

  RedactOptions options_;
  Pseudonyms p_;
  Secrets secrets_;
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
  return summary;
}

}  // namespace procsnap
