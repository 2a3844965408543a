#include "snapshot_codec.h"
#include "codec.h"
#include "tree_access.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <malloc.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "schema.capnp.h"

namespace procsnap {

namespace {

void EncodeMetadata(schema::Metadata::Builder b, const Metadata& m) {
  b.setHostname(m.hostname);
  b.setKernelRelease(m.kernelRelease);
  b.setKernelVersion(m.kernelVersion);
  b.setBootId(m.bootId);
  b.setMachineId(m.machineId);
  b.setStartWallNs(m.startWallNs);
  b.setEndWallNs(m.endWallNs);
  b.setStartMonoNs(m.startMonoNs);
  b.setEndMonoNs(m.endMonoNs);
  b.setStartBootNs(m.startBootNs);
  b.setRoot(m.root);
  b.setProfile(m.profile);
  auto opts = b.initOptions(m.options.size());
  for (unsigned i = 0; i < m.options.size(); ++i) opts.set(i, m.options[i]);
  auto ex = b.initExcludes(m.excludes.size());
  for (unsigned i = 0; i < m.excludes.size(); ++i) ex.set(i, m.excludes[i]);
  b.setCapturerUid(m.capturerUid);
  b.setCapturerGid(m.capturerGid);
  b.setCapEffective(m.capEffective);
  b.setProcMountOptions(m.procMountOptions);
  b.setToolVersion(m.toolVersion);
  b.setFormatVersion(m.formatVersion);
  b.setClockTicks(m.clockTicks);
  b.setPageSize(m.pageSize);
  auto c = b.initCounts();
  c.setFiles(m.counts.files);
  c.setDirectories(m.counts.directories);
  c.setLinks(m.counts.links);
  c.setAliases(m.counts.aliases);
  c.setBytes(m.counts.bytes);
  c.setErrors(m.counts.errors);
  c.setSkipped(m.counts.skipped);
  c.setTruncated(m.counts.truncated);
  c.setRedactions(m.counts.redactions);
  c.setUniqueBytes(m.counts.uniqueBytes);
  auto notes = b.initNotes(m.notes.size());
  for (unsigned i = 0; i < m.notes.size(); ++i) notes.set(i, m.notes[i]);
  auto exes = b.initExecutables(m.executables.size());
  for (unsigned i = 0; i < m.executables.size(); ++i) {
    const Executable& e = m.executables[i];
    auto x = exes[i];
    x.setDevice(e.device);
    x.setInode(e.inode);
    x.setSize(e.size);
    x.setMtimeNs(e.mtimeNs);
    x.setPath(e.path);
    auto pids = x.initPids(e.pids.size());
    for (unsigned j = 0; j < e.pids.size(); ++j) pids.set(j, e.pids[j]);
    x.setSha256(e.sha256);
    x.setError(e.error);
    x.setNote(e.note);
    x.setKeptChunk(e.kept.chunk);
    x.setKeptOffset(e.kept.offset);
    x.setKeptSize(e.kept.size);
  }
  auto kinds = b.initRedactionKinds(m.redactionKinds.size());
  for (unsigned i = 0; i < m.redactionKinds.size(); ++i) {
    kinds[i].setKind(m.redactionKinds[i].first);
    kinds[i].setCount(m.redactionKinds[i].second);
  }
}

// What decoding one message may allocate: kDecodeExpansion times its size.
// Every list is charged before it is decoded (its element count times what
// an element takes decoded), so a message that claims more elements than
// it holds bytes for is refused before any allocation: Cap'n Proto lets a
// list of zero-size structs claim 2^29 elements at the cost of one word.
class DecodeBudget {
 public:
  DecodeBudget(uint64_t rawBytes, const std::string& where)
      : limit_(kDecodeExpansion * rawBytes + kDecodeSlack), left_(limit_), where_(where) {}
  // False, with the reason in status(), once `count` x `each` bytes more would pass the budget.
  bool charge(uint64_t count, uint64_t each, const char* what) {
    if (!status_.ok()) return false;
    if (each && count > left_ / each) {
      status_ = Status::Corruption(where_ + ": " + std::to_string(count) + " " + what +
                                   " would take more memory to decode than a message of its size can describe");
      return false;
    }
    left_ -= count * each;
    return true;
  }
  bool text(uint64_t bytes, const char* what) { return charge(1, sizeof(std::string) + bytes, what); }
  const Status& status() const { return status_; }
  uint64_t used() const { return limit_ - left_; }

 private:
  uint64_t limit_, left_;
  const std::string& where_;
  Status status_;
};

Status DecodeMetadata(schema::Metadata::Reader r, Metadata* m, DecodeBudget& budget) {
  auto options = r.getOptions(), excludes = r.getExcludes(), notes = r.getNotes();
  auto exes = r.getExecutables();
  auto kinds = r.getRedactionKinds();
  if (!budget.charge(options.size() + excludes.size() + notes.size(), sizeof(std::string), "metadata strings") ||
      !budget.charge(exes.size(), sizeof(Executable), "executables") ||
      !budget.charge(kinds.size(), sizeof(std::pair<std::string, uint64_t>), "redaction kinds"))
    return budget.status();
  m->hostname = r.getHostname();
  m->kernelRelease = r.getKernelRelease();
  m->kernelVersion = r.getKernelVersion();
  m->bootId = r.getBootId();
  m->machineId = r.getMachineId();
  m->startWallNs = r.getStartWallNs();
  m->endWallNs = r.getEndWallNs();
  m->startMonoNs = r.getStartMonoNs();
  m->endMonoNs = r.getEndMonoNs();
  m->startBootNs = r.getStartBootNs();
  m->root = r.getRoot();
  m->profile = r.getProfile();
  for (auto t : options) {
    if (!budget.text(t.size(), "metadata strings")) return budget.status();
    m->options.emplace_back(t);
  }
  for (auto t : excludes) {
    if (!budget.text(t.size(), "metadata strings")) return budget.status();
    m->excludes.emplace_back(t);
  }
  m->capturerUid = r.getCapturerUid();
  m->capturerGid = r.getCapturerGid();
  m->capEffective = r.getCapEffective();
  m->procMountOptions = r.getProcMountOptions();
  m->toolVersion = r.getToolVersion();
  m->formatVersion = r.getFormatVersion();
  m->clockTicks = r.getClockTicks();
  m->pageSize = r.getPageSize();
  auto c = r.getCounts();
  m->counts.files = c.getFiles();
  m->counts.directories = c.getDirectories();
  m->counts.links = c.getLinks();
  m->counts.aliases = c.getAliases();
  m->counts.bytes = c.getBytes();
  m->counts.errors = c.getErrors();
  m->counts.skipped = c.getSkipped();
  m->counts.truncated = c.getTruncated();
  m->counts.redactions = c.getRedactions();
  m->counts.uniqueBytes = c.getUniqueBytes();
  for (auto t : notes) {
    if (!budget.text(t.size(), "notes")) return budget.status();
    m->notes.emplace_back(t);
  }
  for (auto x : exes) {
    auto pids = x.getPids();
    if (!budget.charge(pids.size(), sizeof(uint32_t), "executable pids") ||
        !budget.text(x.getPath().size() + x.getSha256().size() + x.getNote().size(), "executable paths"))
      return budget.status();
    Executable e;
    e.device = x.getDevice();
    e.inode = x.getInode();
    e.size = x.getSize();
    e.mtimeNs = x.getMtimeNs();
    e.path = x.getPath();
    e.pids.reserve(pids.size());
    for (uint32_t p : pids) e.pids.push_back(p);
    e.sha256 = x.getSha256();
    e.error = x.getError();
    e.note = x.getNote();
    e.kept = {x.getKeptChunk(), x.getKeptOffset(), x.getKeptSize()};
    m->executables.push_back(std::move(e));
  }
  for (auto k : kinds) {
    if (!budget.text(k.getKind().size(), "redaction kinds")) return budget.status();
    m->redactionKinds.emplace_back(k.getKind(), k.getCount());
  }
  return Status::Ok();
}

// Readers parse the decompressed bytes in place when they are word-aligned
// (heap buffers are), else from an aligned copy. The traversal limit is a
// multiple of the message size because every field is read exactly once.
template <class Fn>
Status WithMessage(std::string_view raw, const std::string& where, Fn fn) {
  if (raw.size() % sizeof(capnp::word) != 0)
    return Status::Corruption(where + ": message size " + std::to_string(raw.size()) + " is not a multiple of 8");
  const size_t count = raw.size() / sizeof(capnp::word);
  kj::Array<capnp::word> copy;
  kj::ArrayPtr<const capnp::word> words;
  if (reinterpret_cast<uintptr_t>(raw.data()) % alignof(capnp::word) == 0) {
    words = kj::arrayPtr(reinterpret_cast<const capnp::word*>(raw.data()), count);
  } else {
    copy = kj::heapArray<capnp::word>(count);
    std::memcpy(copy.begin(), raw.data(), raw.size());
    words = copy.asPtr();
  }
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = count * 4 + 1024;
  opts.nestingLimit = 16;
  Status result;
  kj::Maybe<kj::Exception> e = kj::runCatchingExceptions([&]() {
    capnp::FlatArrayMessageReader reader(words, opts);
    result = fn(reader);
  });
  KJ_IF_MAYBE(ex, e) {
    return Status::Corruption(where + ": malformed message: " + std::string(ex->getDescription().cStr()));
  }
  return result;
}

uint32_t& Ref(Node& n) { return TreeAccess::ref(n); }
uint32_t& Aux(Node& n) { return TreeAccess::aux(n); }
uint32_t Ref(const Node& n) { return TreeAccess::ref(n); }
uint32_t Aux(const Node& n) { return TreeAccess::aux(n); }

bool BadName(std::string_view n) {
  return n.empty() || n == "." || n == ".." || n.find('/') != std::string_view::npos ||
         n.find('\0') != std::string_view::npos;
}

}  // namespace

unsigned EstimateSnapshotWords(const Tree& tree) {
  uint64_t bytes = 64 * 1024;  // metadata and list headers
  bytes += tree.size() * (4 + 1 + 4 + 4 + 4 + 8 + 8 + 8 + 4 + 1 + 4 + 4 + 4) + 13 * 8;
  for (size_t i = 0; i < tree.stringCount(); ++i) bytes += 8 + ((tree.str(i).size() + 1 + 7) & ~size_t(7));
  return static_cast<unsigned>(std::min<uint64_t>(bytes / 8 + 1024, 1u << 28));
}

Result<std::vector<std::string_view>> SplitMessages(std::string_view raw, const std::string& where) {
  constexpr size_t kWord = sizeof(capnp::word);
  if (raw.size() % kWord != 0)
    return Status::Corruption(where + ": message size " + std::to_string(raw.size()) + " is not a multiple of 8");
  std::vector<std::string_view> out;
  for (size_t at = 0; at < raw.size() || out.empty();) {
    const size_t left = raw.size() - at;
    auto word32 = [&](size_t i) {
      uint32_t v;
      std::memcpy(&v, raw.data() + at + 4 * i, 4);
      return v;  // little-endian, as Cap'n Proto's segment table
    };
    if (left < kWord) return Status::Corruption(where + ": message " + std::to_string(out.size()) + " is cut short");
    const uint64_t segments = uint64_t(word32(0)) + 1;
    const uint64_t tableBytes = ((segments + 1) * 4 + kWord - 1) / kWord * kWord;
    if (segments > 512 || tableBytes > left)
      return Status::Corruption(where + ": message " + std::to_string(out.size()) + " has a segment table of " +
                                std::to_string(segments) + " segments that does not fit");
    uint64_t bytes = tableBytes;
    for (uint64_t k = 0; k < segments; ++k) bytes += uint64_t(word32(1 + k)) * kWord;
    if (bytes > left)
      return Status::Corruption(where + ": message " + std::to_string(out.size()) + " runs past the record's " +
                                std::to_string(raw.size()) + " bytes");
    if (out.size() > kMaxParts)
      return Status::Corruption(where + ": more than " + std::to_string(kMaxParts + 1) + " messages in one record");
    out.push_back(raw.substr(at, bytes));
    at += bytes;
  }
  return out;
}

void EncodeSnapshot(capnp::MessageBuilder& mb, const Metadata& meta, Tree&& tree,
                    const std::vector<std::string>* baseStrings, std::vector<std::string>* tableOut, Tree* keep,
                    const std::vector<PartEntry>* parts, const std::vector<PartAlias>* foreign) {
  auto snap = mb.initRoot<schema::Snapshot>();
  if (parts && !parts->empty()) {
    auto ps = snap.initParts(parts->size());
    for (unsigned i = 0; i < parts->size(); ++i) {
      ps[i].setFirstNode((*parts)[i].firstNode);
      ps[i].setCount((*parts)[i].count);
      ps[i].setPrefix((*parts)[i].prefix);
    }
  }
  if (foreign && !foreign->empty()) {
    auto fa = snap.initForeignAliases(foreign->size());
    for (unsigned i = 0; i < foreign->size(); ++i) {
      fa[i].setNode((*foreign)[i].node);
      fa[i].setPart((*foreign)[i].part);
      fa[i].setTarget((*foreign)[i].target);
    }
  }
  EncodeMetadata(snap.initMetadata(), meta);
  // The tree's string i is written as number[i] (identity without a base).
  std::vector<uint32_t> number;
  std::vector<std::string_view> table;
  if (baseStrings && !baseStrings->empty() && (*baseStrings)[0].empty()) {
    std::unordered_map<std::string_view, uint32_t> base;
    for (uint32_t i = 0; i < baseStrings->size(); ++i) base.emplace((*baseStrings)[i], i);
    table.assign(baseStrings->begin(), baseStrings->end());
    number.resize(tree.stringCount());
    for (uint32_t i = 0; i < tree.stringCount(); ++i) {
      auto it = base.find(tree.str(i));
      if (it != base.end()) {
        number[i] = it->second;
      } else {
        number[i] = static_cast<uint32_t>(table.size());
        table.push_back(tree.str(i));
      }
    }
  } else {
    for (uint32_t i = 0; i < tree.stringCount(); ++i) table.push_back(tree.str(i));
  }
  auto renumber = [&](uint32_t i) { return number.empty() ? i : number[i]; };
  if (tableOut) tableOut->assign(table.begin(), table.end());
  if (meta.formatVersion >= 4) {
    size_t bytes = 0;
    for (auto t : table) bytes += t.size() + 1;
    auto blob = snap.initStringBytes(bytes);
    unsigned char* at = blob.begin();
    for (auto t : table) {
      std::memcpy(at, t.data(), t.size());
      at[t.size()] = 0;
      at += t.size() + 1;
    }
  } else {
    auto strings = snap.initStrings(table.size());
    for (unsigned i = 0; i < table.size(); ++i) strings.set(i, capnp::Text::Reader(table[i].data(), table[i].size()));
  }
  auto nodes = snap.initNodes();
  const unsigned n = tree.size();
  auto name = nodes.initName(n);
  auto kind = nodes.initKind(n);
  auto mode = nodes.initMode(n);
  auto uid = nodes.initUid(n);
  auto gid = nodes.initGid(n);
  auto mtime = nodes.initMtimeNs(n);
  auto statSize = nodes.initStatSize(n);
  auto size = nodes.initSize(n);
  auto error = nodes.initError(n);
  auto reason = nodes.initReason(n);
  auto note = nodes.initNote(n);
  auto ref = nodes.initRef(n);
  auto aux = nodes.initAux(n);
  // Directories' first children are stored as differences: absolute, they
  // were 35% of a compressed tree (identical processes give identical
  // differences, which zstd finds; growing indices it cannot).
  nodes.setDirRefsDelta(true);
  uint32_t previousDirRef = 0;
  // Row by row, releasing each node once copied: the tree shrinks as the
  // message grows, so the two are never both whole in memory.
  for (unsigned i = 0; i < n; ++i) {
    const Node& x = keep ? TreeAccess::nodes(tree)[i] : TreeAccess::nodes(tree).front();
    name.set(i, renumber(x.name));
    kind.set(i, static_cast<uint8_t>(x.kind));
    mode.set(i, x.mode);
    uid.set(i, x.uid);
    gid.set(i, x.gid);
    mtime.set(i, x.mtimeNs);
    statSize.set(i, x.statSize);
    size.set(i, x.size);
    error.set(i, x.error);
    reason.set(i, static_cast<uint8_t>(x.reason));
    note.set(i, renumber(x.note));
    if (x.kind == NodeKind::Directory && Aux(x) > 0) {
      ref.set(i, Ref(x) - previousDirRef);
      previousDirRef = Ref(x);
    } else {
      ref.set(i, x.kind == NodeKind::Symlink ? renumber(Ref(x)) : Ref(x));
    }
    aux.set(i, Aux(x));
    if (keep) continue;
    TreeAccess::nodes(tree).pop_front();
    // Freed nodes stay resident in malloc's free lists unless handed back.
    if ((i & 0xffff) == 0xffff) malloc_trim(0);
  }
  if (keep) *keep = std::move(tree);
  tree = Tree();
}

namespace {

// One message's fields copied out: metadata, strings and node columns,
// with their own checks; the tree's structure is CheckTree's.
Status DecodeMessage(std::string_view raw, const std::vector<RecordRef>* chunks, const std::string& where,
                     Metadata* meta, Tree* tree, uint64_t* decodedBytes, std::vector<PartEntry>* parts,
                     std::vector<PartAlias>* foreign) {
  return WithMessage(raw, where, [&](capnp::MessageReader& reader) -> Status {
    auto snap = reader.getRoot<schema::Snapshot>();
    DecodeBudget budget(raw.size(), where);
    if (Status s = DecodeMetadata(snap.getMetadata(), meta, budget); !s.ok()) return s;
    for (const Executable& e : meta->executables) {
      if (e.kept.size == 0 || !chunks) continue;
      const BlobRef& k = e.kept;  // checked as a file node's content is
      if (k.chunk >= chunks->size() || k.size > (*chunks)[k.chunk].contentSize() ||
          k.offset > (*chunks)[k.chunk].contentSize() - k.size)
        return Status::Corruption(where + ": the kept bytes of executable " + e.path + " lie outside the archive's chunks");
    }
    if (snap.hasStringBytes()) {
      auto blob = snap.getStringBytes();
      std::string_view all(reinterpret_cast<const char*>(blob.begin()), blob.size());
      if (all.empty() || all[0] != '\0' || all.back() != '\0')
        return Status::Corruption(where + ": string table must start with the empty string and end in a NUL");
      for (size_t at = 1; at < all.size();) {
        size_t end = all.find('\0', at);
        if (end == at)  // the table holds each string once, and the empty one first
          return Status::Corruption(where + ": string table holds a second empty string at byte " + std::to_string(at));
        if (!budget.text(end - at, "strings")) return budget.status();
        TreeAccess::pushString(*tree, std::string(all.substr(at, end - at)));
        at = end + 1;
      }
    } else {
      auto strings = snap.getStrings();
      if (strings.size() == 0 || strings[0].size() != 0)
        return Status::Corruption(where + ": string table must start with the empty string");
      if (!budget.charge(strings.size(), sizeof(std::string), "strings")) return budget.status();
      for (unsigned i = 1; i < strings.size(); ++i) {
        if (!budget.text(strings[i].size(), "strings")) return budget.status();
        TreeAccess::pushString(*tree, std::string(strings[i].cStr(), strings[i].size()));
      }
    }
    auto nodes = snap.getNodes();
    auto name = nodes.getName();
    const unsigned n = name.size();
    auto kind = nodes.getKind();
    auto mode = nodes.getMode();
    auto uid = nodes.getUid();
    auto gid = nodes.getGid();
    auto mtime = nodes.getMtimeNs();
    auto statSize = nodes.getStatSize();
    auto size = nodes.getSize();
    auto error = nodes.getError();
    auto reason = nodes.getReason();
    auto note = nodes.getNote();
    auto ref = nodes.getRef();
    auto aux = nodes.getAux();
    for (unsigned len : {kind.size(), mode.size(), uid.size(), gid.size(), mtime.size(), statSize.size(),
                         size.size(), error.size(), reason.size(), note.size(), ref.size(), aux.size()})
      if (len != n) return Status::Corruption(where + ": node columns have different lengths");
    if (n == 0) return Status::Corruption(where + ": snapshot has no root node");
    // A node, its parent, and the bytes of the depth and alias checks.
    if (!budget.charge(n, sizeof(Node) + sizeof(NodeId) + 3, "nodes")) return budget.status();
    const bool dirRefsDelta = nodes.getDirRefsDelta();
    uint32_t previousDirRef = 0;
    std::deque<Node>& tn = TreeAccess::nodes(*tree);
    tn.resize(n);
    for (unsigned i = 0; i < n; ++i) {
      Node& x = tn[i];
      x.name = name[i];
      x.kind = static_cast<NodeKind>(kind[i]);
      x.mode = mode[i];
      x.uid = uid[i];
      x.gid = gid[i];
      x.mtimeNs = mtime[i];
      x.statSize = statSize[i];
      x.size = size[i];
      x.error = error[i];
      x.reason = static_cast<Reason>(reason[i]);
      x.note = note[i];
      Ref(x) = ref[i];
      Aux(x) = aux[i];
      if (dirRefsDelta && x.kind == NodeKind::Directory && Aux(x) > 0) {
        Ref(x) += previousDirRef;  // wraps back what the writer's subtraction wrapped
        previousDirRef = Ref(x);
      }
    }
    auto ps = snap.getParts();
    auto fa = snap.getForeignAliases();
    if (!budget.charge(ps.size(), sizeof(PartEntry), "parts") ||
        !budget.charge(fa.size(), sizeof(PartAlias), "foreign aliases"))
      return budget.status();
    for (auto p : ps) parts->push_back({p.getFirstNode(), p.getCount(), p.getPrefix()});
    for (auto a : fa) foreign->push_back({a.getNode(), a.getPart(), a.getTarget()});
    if (decodedBytes) *decodedBytes += budget.used();
    return Status::Ok();
  });
}

// Structural checks: every reference in range, one parent per node,
// children after their directory (so no cycles), sorted unique names,
// bounded depth, no alias of a subtree holding aliases.
Status CheckTree(const Tree& tree, const std::vector<RecordRef>& chunks, const std::string& where,
                 std::vector<NodeId>* parents) {
  const std::deque<Node>& tn = TreeAccess::nodes(const_cast<Tree&>(tree));
  const size_t n = tn.size();
  const uint32_t nstrings = tree.stringCount();
  parents->assign(n, kNoNode);
  auto bad = [&](size_t i, const std::string& what) {
    return Status::Corruption(where + ": node " + std::to_string(i) + " " + what);
  };
  // Every node's own fields first: the sibling order check below reads
  // the names of nodes further on (found by fuzz/snapshot_message).
  for (size_t i = 0; i < n; ++i) {
    const Node& x = tn[i];
    const unsigned k = static_cast<unsigned>(x.kind), r = static_cast<unsigned>(x.reason);
    if (k > 4) return bad(i, "has unknown kind " + std::to_string(k));
    if (r > 6) return bad(i, "has unknown reason " + std::to_string(r));
    if (x.name >= nstrings || x.note >= nstrings) return bad(i, "names a string outside the table");
    if (i > 0 && BadName(tree.str(x.name))) return bad(i, "has an invalid name");
  }
  for (size_t i = 0; i < n; ++i) {
    const Node& x = tn[i];
    switch (x.kind) {
      case NodeKind::Directory:
        if (Aux(x) > 0) {
          if (Ref(x) <= i || uint64_t(Ref(x)) + Aux(x) > n) return bad(i, "has children outside the tree");
          for (uint32_t c = Ref(x); c < Ref(x) + Aux(x); ++c) {
            if ((*parents)[c] != kNoNode) return bad(c, "has two parents");
            (*parents)[c] = static_cast<NodeId>(i);
            if (c > Ref(x) && !(tree.str(tn[c - 1].name) < tree.str(tn[c].name)))
              return bad(c, "is out of order among its siblings");
          }
        }
        break;
      case NodeKind::File:
        if (x.size > 0) {
          if (Ref(x) >= chunks.size())
            return bad(i, "refers to chunk " + std::to_string(Ref(x)) + " which does not exist");
          const uint64_t chunkSize = chunks[Ref(x)].contentSize();  // no sum: a size near 2^64 would wrap
          if (x.size > chunkSize || Aux(x) > chunkSize - x.size) return bad(i, "content lies outside its chunk");
        }
        break;
      case NodeKind::Symlink:
        if (Ref(x) >= nstrings) return bad(i, "has a link target outside the string table");
        break;
      case NodeKind::Alias:
        if (Ref(x) >= n || tn[Ref(x)].kind != NodeKind::Directory) return bad(i, "is an alias of a non-directory");
        break;
      case NodeKind::Other:
        break;
    }
  }
  if (tn[0].kind != NodeKind::Directory) return Status::Corruption(where + ": root node is not a directory");
  for (size_t i = 1; i < n; ++i)
    if ((*parents)[i] == kNoNode) return bad(i, "has no parent");
  // Depth is bounded so that recursive walkers stay bounded too.
  std::vector<uint16_t> depth(n, 0);
  for (size_t i = 1; i < n; ++i) {
    unsigned d = depth[(*parents)[i]] + 1u;
    if (d > 1024) return bad(i, "lies deeper than 1024 levels");
    depth[i] = static_cast<uint16_t>(d);
  }
  // An alias may only stand for a subtree without aliases: otherwise two
  // aliases (or one aliasing its own ancestor) could make the tree infinite.
  std::vector<uint8_t> aliasBelow(n, 0);
  for (size_t i = n; i-- > 1;)
    if (tn[i].kind == NodeKind::Alias || aliasBelow[i]) aliasBelow[(*parents)[i]] = 1;
  for (size_t i = 0; i < n; ++i)
    if (tn[i].kind == NodeKind::Alias && aliasBelow[Ref(tn[i])])
      return bad(i, "is an alias of a directory that itself holds aliases");
  return Status::Ok();
}

// Copies part `p` (checked) into `t`: its root's children onto t's empty
// directories first..first+count-1 (same names), the nodes below them
// appended; `local` receives each of p's nodes' id in t. Aliases within
// the part are mapped; foreign ones are the caller's.
Status Assemble(Tree& t, const Tree& p, const PartEntry& e, const std::string& where, std::vector<NodeId>* local) {
  std::deque<Node>& tn = TreeAccess::nodes(t);
  const std::deque<Node>& pn = TreeAccess::nodes(const_cast<Tree&>(p));
  auto [lo, hi] = p.children(0);
  if (hi - lo != e.count) return Status::Corruption(where + ": holds " + std::to_string(hi - lo) +
                                                    " directories where its snapshot names " + std::to_string(e.count));
  local->assign(pn.size(), kNoNode);
  std::vector<uint32_t> ids(p.stringCount(), kNoNode);
  auto id = [&](uint32_t s) {
    if (ids[s] == kNoNode) ids[s] = t.intern(p.str(s));
    return ids[s];
  };
  auto copy = [&](NodeId from, NodeId to) {
    const uint32_t name = tn[to].name;
    Node x = pn[from];
    x.name = name;
    x.note = id(x.note);
    if (x.kind == NodeKind::Symlink) Ref(x) = id(Ref(x));
    if (x.kind == NodeKind::Directory) Ref(x) = Aux(x) = 0;  // set once its children are placed
    tn[to] = x;
    (*local)[from] = to;
  };
  std::vector<std::pair<NodeId, NodeId>> dirs;  // (in p, in t), children still to place
  for (NodeId c = lo; c < hi; ++c) {
    const NodeId to = e.firstNode + (c - lo);
    if (t.str(tn[to].name) != p.str(pn[c].name))
      return Status::Corruption(where + ": node " + std::to_string(c) + " is named '" + std::string(p.str(pn[c].name)) +
                                "' where its snapshot has '" + std::string(t.str(tn[to].name)) + "'");
    copy(c, to);
    if (pn[c].kind == NodeKind::Directory) dirs.push_back({c, to});
  }
  while (!dirs.empty()) {
    auto [from, to] = dirs.back();
    dirs.pop_back();
    auto [clo, chi] = p.children(from);
    if (clo == chi) continue;
    const NodeId first = static_cast<NodeId>(tn.size());
    for (NodeId c = clo; c < chi; ++c) {
      tn.emplace_back();
      tn.back().name = id(pn[c].name);
      copy(c, first + (c - clo));
      if (pn[c].kind == NodeKind::Directory) dirs.push_back({c, first + (c - clo)});
    }
    Ref(tn[to]) = first;
    Aux(tn[to]) = chi - clo;
  }
  for (size_t i = 0; i < pn.size(); ++i)
    if ((*local)[i] != kNoNode && pn[i].kind == NodeKind::Alias) Ref(tn[(*local)[i]]) = (*local)[Ref(pn[i])];
  return Status::Ok();
}

}  // namespace

Status DecodeSnapshot(const std::string& raw, const std::vector<RecordRef>& chunks, const std::string& where,
                      Metadata* meta, Tree* tree, std::vector<NodeId>* parents, uint64_t* decodedBytes) {
  auto messages = SplitMessages(raw, where);
  if (!messages.ok()) return messages.status();
  uint64_t decoded = 0;
  std::vector<PartEntry> parts;
  std::vector<PartAlias> foreign;
  Status s = DecodeMessage(messages->back(), &chunks, where, meta, tree, &decoded, &parts, &foreign);
  if (s.ok() && !foreign.empty()) s = Status::Corruption(where + ": a snapshot's own message lists foreign aliases");
  if (s.ok() && parts.size() + 1 != messages->size())
    s = Status::Corruption(where + ": lists " + std::to_string(parts.size()) + " parts, its record holds " +
                           std::to_string(messages->size() - 1));
  if (s.ok()) s = CheckTree(*tree, chunks, where, parents);
  // A parted snapshot (format 5): each part checked alone, then copied in.
  std::vector<std::vector<NodeId>> locals(parts.size());
  uint64_t end = 0;
  for (size_t k = 0; s.ok() && k < parts.size(); ++k) {
    const PartEntry& e = parts[k];
    const std::string at = where + ": part " + std::to_string(k);
    auto [lo, hi] = tree->children(0);
    if (e.count == 0 || e.firstNode < lo || e.firstNode < end || uint64_t(e.firstNode) + e.count > hi) {
      s = Status::Corruption(at + ": its place (nodes " + std::to_string(e.firstNode) + " + " +
                             std::to_string(e.count) + ") is not a run of the root's children after the part before");
      break;
    }
    end = e.firstNode + e.count;
    for (NodeId i = e.firstNode; i < end && s.ok(); ++i)
      if (tree->node(i).kind != NodeKind::Directory || tree->children(i).first != tree->children(i).second)
        s = Status::Corruption(at + ": node " + std::to_string(i) + " of its place is not an empty directory");
    Metadata partMeta;
    Tree part;
    std::vector<PartEntry> sub;
    std::vector<PartAlias> partForeign;
    std::vector<NodeId> partParents;
    if (s.ok()) s = DecodeMessage((*messages)[k], &chunks, at, &partMeta, &part, &decoded, &sub, &partForeign);
    if (s.ok() && !sub.empty()) s = Status::Corruption(at + ": a part lists parts");
    // Each message has its own budget, with a slack of its own: the record's
    // bounds them all, as it bounds a whole snapshot's message.
    if (s.ok() && decoded > kDecodeExpansion * raw.size() + kDecodeSlack)
      s = Status::Corruption(at + ": its parts would take more memory to decode than a record of " +
                             std::to_string(raw.size()) + " bytes can describe");
    if (s.ok()) s = CheckTree(part, chunks, at, &partParents);
    if (s.ok()) s = Assemble(*tree, part, e, at, &locals[k]);
    for (const PartAlias& a : partForeign) {
      if (!s.ok()) break;
      if (a.node >= part.size() || part.node(a.node).kind != NodeKind::Other || a.part >= k ||
          a.target >= locals[a.part].size() || locals[k][a.node] == kNoNode) {
        s = Status::Corruption(at + ": foreign alias of node " + std::to_string(a.node) + " is impossible");
        break;
      }
      tree->setAlias(locals[k][a.node], locals[a.part][a.target]);
    }
  }
  if (s.ok() && !parts.empty()) s = CheckTree(*tree, chunks, where, parents);
  if (s.ok() && decodedBytes) *decodedBytes = decoded + (parts.empty() ? 0 : tree->size() * (sizeof(Node) + 8));
  return s;
}

Result<std::string> DecompressSnapshotRecord(std::string_view stored, uint64_t rawSize, const std::string& where,
                                             std::string_view prefixRaw) {
  // As Decompress checks a frame's: before any buffer is sized by it.
  if (rawSize > kMaxRecordRaw || rawSize > stored.size() * kMaxExpansion + 4096)
    return Status::Corruption(where + ": declared size " + std::to_string(rawSize) + " is impossible for " +
                              std::to_string(stored.size()) + " stored bytes");
  std::vector<std::string_view> frames;
  for (size_t at = 0; at < stored.size();) {
    const size_t n = ZSTD_findFrameCompressedSize(stored.data() + at, stored.size() - at);
    if (ZSTD_isError(n))
      return Status::Corruption(where + ": frame " + std::to_string(frames.size()) + " at byte " + std::to_string(at) +
                                " of the payload: " + ZSTD_getErrorName(n));
    if (frames.size() > kMaxParts) return Status::Corruption(where + ": more than " + std::to_string(kMaxParts) + " parts");
    frames.push_back(stored.substr(at, n));
    at += n;
  }
  if (frames.empty()) return Status::Corruption(where + ": empty payload");
  std::vector<std::string_view> prefixes;
  if (!prefixRaw.empty()) {
    auto p = SplitMessages(prefixRaw, where + ": prefix");
    if (!p.ok()) return p.status();
    prefixes = std::move(*p);
  }
  const std::string_view prefixRoot = prefixes.empty() ? std::string_view() : prefixes.back();
  if (frames.size() == 1) return Decompress(stored, rawSize, where, prefixRoot);
  auto sizeOf = [&](std::string_view f) -> uint64_t {
    unsigned long long n = ZSTD_getFrameContentSize(f.data(), f.size());
    return n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR ? UINT64_MAX : n;
  };
  const uint64_t rootSize = sizeOf(frames.back());
  if (rootSize > rawSize) return Status::Corruption(where + ": its own message's frame declares no size that fits");
  auto root = Decompress(frames.back(), rootSize, where + ": its own message", prefixRoot);
  if (!root.ok()) return root.status();
  std::vector<PartEntry> parts;
  Status s = WithMessage(*root, where, [&](capnp::MessageReader& reader) -> Status {
    auto ps = reader.getRoot<schema::Snapshot>().getParts();
    if (ps.size() + 1 != frames.size())
      return Status::Corruption(where + ": lists " + std::to_string(ps.size()) + " parts, its payload holds " +
                                std::to_string(frames.size() - 1));
    for (auto p : ps) parts.push_back({p.getFirstNode(), p.getCount(), p.getPrefix()});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  uint64_t total = rootSize;
  for (size_t k = 0; k + 1 < frames.size(); ++k) {
    const uint64_t n = sizeOf(frames[k]);
    if (n > rawSize - total)
      return Status::Corruption(where + ": part " + std::to_string(k) + " declares more bytes than the record holds");
    total += n;
  }
  if (total != rawSize)
    return Status::Corruption(where + ": its frames hold " + std::to_string(total) + " bytes, the record declares " +
                              std::to_string(rawSize));
  std::string out;
  out.reserve(rawSize);
  for (size_t k = 0; k + 1 < frames.size(); ++k) {
    const std::string at = where + ": part " + std::to_string(k);
    const uint32_t p = parts[k].prefix;
    if (p && (prefixes.size() < 2 || p > prefixes.size() - 1))
      return Status::Corruption(at + ": its prefix, part " + std::to_string(p - 1) + ", is not in the prefix record");
    auto raw = Decompress(frames[k], sizeOf(frames[k]), at, p ? prefixes[p - 1] : std::string_view());
    if (!raw.ok()) return raw.status();
    out += *raw;
  }
  out += *root;
  return out;
}

std::vector<std::string> StringTableOf(std::string_view raw) {
  std::vector<std::string> table;
  Status s = WithMessage(raw, "a held record", [&](capnp::MessageReader& reader) -> Status {
    auto snap = reader.getRoot<schema::Snapshot>();
    if (snap.hasStringBytes()) {
      auto blob = snap.getStringBytes();
      std::string_view all(reinterpret_cast<const char*>(blob.begin()), blob.size());
      for (size_t at = 0; at < all.size();) {
        size_t end = all.find('\0', at);
        if (end == std::string_view::npos) end = all.size();
        table.emplace_back(all.substr(at, end - at));
        at = end + 1;
      }
    } else {
      for (auto t : snap.getStrings()) table.emplace_back(t.cStr(), t.size());
    }
    return Status::Ok();
  });
  if (!s.ok()) table.clear();
  return table;
}

Result<Tree> UnpackPart(const PackedPart& packed) {
  const std::string where = "a recording's carried part";
  auto raw = Decompress(*packed.bytes, packed.rawSize, where);
  if (!raw.ok()) return raw.status();
  Metadata meta;
  Tree tree;
  std::vector<PartEntry> parts;
  std::vector<PartAlias> foreign;
  if (Status s = DecodeMessage(*raw, nullptr, where, &meta, &tree, nullptr, &parts, &foreign); !s.ok()) return s;
  for (const PartAlias& a : foreign)
    if (a.node < tree.size()) tree.setAlias(a.node, kNoNode);
  return tree;
}

void EncodeIndex(capnp::MessageBuilder& mb, const IndexData& index, const IndexLink* link) {
  auto root = mb.initRoot<schema::Index>();
  root.setFormatVersion(index.formatVersion);
  root.setKeyframeChunks(index.keyframeChunks);
  auto setRef = [](schema::RecordRef::Builder b, const RecordRef& r) {
    b.setOffset(r.offset);
    b.setStoredSize(r.storedSize);
    b.setRawSize(r.rawSize);
    b.setChecksum(r.checksum);
    b.setEncoding(r.encoding);
    b.setPrefix(r.prefix);
    b.setPlainSize(r.plainSize);
  };
  const size_t firstChunk = link ? link->chunksBefore : 0, firstSnap = link ? link->snapshotsBefore : 0;
  if (link) {
    root.setSequence(link->sequence);
    root.setChunksBefore(link->chunksBefore);
    root.setSnapshotsBefore(link->snapshotsBefore);
    if (link->previous.storedSize) setRef(root.initPrevious(), link->previous);
  }
  auto chunks = root.initChunks(index.chunks.size() - firstChunk);
  for (size_t i = firstChunk; i < index.chunks.size(); ++i) setRef(chunks[i - firstChunk], index.chunks[i]);
  auto snaps = root.initSnapshots(index.snapshots.size() - firstSnap);
  for (size_t i = firstSnap; i < index.snapshots.size(); ++i) {
    auto b = snaps[i - firstSnap];
    setRef(b.initRecord(), index.snapshots[i].record);
    b.setStartWallNs(index.snapshots[i].summary.startWallNs);
    b.setHostname(index.snapshots[i].summary.hostname);
    b.setNodeCount(index.snapshots[i].summary.nodeCount);
  }
}

Status DecodeIndex(const std::string& raw, const std::string& where, IndexData* index, IndexLink* link) {
  return WithMessage(raw, where, [&](capnp::MessageReader& reader) -> Status {
    auto root = reader.getRoot<schema::Index>();
    index->formatVersion = root.getFormatVersion();
    index->keyframeChunks = root.getKeyframeChunks();
    auto getRef = [](schema::RecordRef::Reader r) {
      return RecordRef{r.getOffset(), r.getStoredSize(), r.getRawSize(), r.getChecksum(), r.getEncoding(),
                       r.getPlainSize(), r.getPrefix()};
    };
    if (link) {
      link->sequence = root.getSequence();
      link->chunksBefore = root.getChunksBefore();
      link->snapshotsBefore = root.getSnapshotsBefore();
      link->previous = root.hasPrevious() ? getRef(root.getPrevious()) : RecordRef{};
      link->chunks = link->chunksBefore + root.getChunks().size();
      link->snapshots = link->snapshotsBefore + root.getSnapshots().size();
    }
    DecodeBudget budget(raw.size(), where);
    auto chunks = root.getChunks();
    auto snapshots = root.getSnapshots();
    if (!budget.charge(chunks.size(), sizeof(RecordRef), "chunk entries") ||
        !budget.charge(snapshots.size(), sizeof(IndexData::Snap), "snapshot entries"))
      return budget.status();
    index->chunks.reserve(index->chunks.size() + chunks.size());
    index->snapshots.reserve(index->snapshots.size() + snapshots.size());
    for (auto c : chunks) index->chunks.push_back(getRef(c));
    for (auto s : snapshots) {
      if (!budget.text(s.getHostname().size(), "snapshot entries")) return budget.status();
      IndexData::Snap snap;
      snap.record = getRef(s.getRecord());
      snap.summary.startWallNs = s.getStartWallNs();
      snap.summary.hostname = s.getHostname();
      snap.summary.nodeCount = s.getNodeCount();
      snap.summary.storedSize = snap.record.storedSize;
      index->snapshots.push_back(std::move(snap));
    }
    return Status::Ok();
  });
}

}  // namespace procsnap
