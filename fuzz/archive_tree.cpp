// Structure-aware: the input becomes trees and metadata that the real
// writer stores (so every checksum holds), then every reader reads them.
// The trees are /proc-shaped but hostile: any modes (setuid included),
// names and link targets of any bytes, sizes, offsets and references that
// may point anywhere, strings that are not UTF-8.
#include <unistd.h>

#include <algorithm>
#include <deque>

#include "fuzz_targets.h"
#include "fuzz_util.h"

namespace procsnap::fuzz {

namespace {

constexpr size_t kMaxNodes = 160;
constexpr const char* kTargets[] = {"42", "self/net", "../x", "/proc/1", "1/fd/0", "..", "/", "net/../.."};

std::string LinkTarget(Input& in) {
  uint8_t pick = in.u8();
  if (pick < 128) return kTargets[pick % (sizeof(kTargets) / sizeof(kTargets[0]))];
  return in.bytes(40);
}

// File contents: a piece of the input, sometimes repeated into a larger file.
std::string Content(Input& in) {
  std::string piece = in.bytes(48);
  unsigned repeat = 1 + (in.u8() % 4 == 0 ? in.u8() : 0);
  std::string out;
  for (unsigned i = 0; i < repeat; ++i) out += piece;
  return out;
}

void FillNode(Input& in, ArchiveWriter& w, Tree& t, NodeId id, std::deque<NodeId>& dirs) {
  Node& n = t.at(id);
  n.kind = static_cast<NodeKind>(in.u8() % 5);
  n.mode = static_cast<uint16_t>(in.u32());
  n.uid = in.u8() < 200 ? 0 : in.u32();
  n.gid = in.u8() < 200 ? 0 : in.u32();
  n.error = in.u8() < 220 ? 0 : static_cast<int32_t>(in.u32());
  n.reason = static_cast<Reason>(in.u8() < 200 ? 0 : in.u8() % 7);  // 6 is no reason at all
  n.note = in.u8() < 230 ? 0 : t.intern(in.bytes(16));
  n.mtimeNs = static_cast<int64_t>(in.u64());
  n.statSize = in.u8() < 200 ? 0 : in.u64();
  switch (t.node(id).kind) {
    case NodeKind::File: {
      auto ref = w.putBlob(Content(in));
      BlobRef r = ref.ok() ? *ref : BlobRef{};
      if (in.u8() == 0xff) r = BlobRef{in.u32() % 4, in.u32(), in.u64()};  // anywhere at all
      t.setBlob(id, r);
      break;
    }
    case NodeKind::Symlink:
      t.setLinkTarget(id, LinkTarget(in));
      break;
    case NodeKind::Alias:
      t.setAlias(id, in.u32() % (t.size() + 2));
      break;
    case NodeKind::Directory:
      dirs.push_back(id);
      break;
    case NodeKind::Other:
      break;
  }
}

Tree BuildTree(Input& in, ArchiveWriter& w) {
  Tree t;
  NodeId root = t.add("");
  t.at(root).kind = NodeKind::Directory;
  t.at(root).mode = 040555;
  std::deque<NodeId> dirs{root};
  while (!dirs.empty() && t.size() < kMaxNodes && !in.empty()) {
    NodeId dir = dirs.front();
    dirs.pop_front();
    std::vector<std::string> names(in.u8() % 6);
    for (auto& n : names) n = in.name();
    const uint8_t flags = in.u8();
    if (!(flags & 1)) {  // usually a valid directory: sorted, unique names
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
    }
    NodeId first = static_cast<NodeId>(t.size());
    for (const auto& n : names) t.add(n);
    t.setChildren(dir, first, static_cast<uint32_t>(names.size()));
    if (flags & 2) t.setChildren(dir, in.u32() % (t.size() + 2), in.u8() % 8);  // children anywhere
    for (size_t i = 0; i < names.size(); ++i) FillNode(in, w, t, first + static_cast<NodeId>(i), dirs);
  }
  return t;
}

Metadata BuildMetadata(Input& in) {
  Metadata m;
  m.hostname = in.bytes(24);
  m.kernelRelease = in.bytes(16);
  m.root = in.u8() < 200 ? "/proc" : in.bytes(16);
  m.profile = in.u8() < 200 ? "full" : in.bytes(8);
  m.startWallNs = static_cast<int64_t>(in.u64());
  m.endWallNs = static_cast<int64_t>(in.u64());
  m.bootId = in.bytes(8);
  m.clockTicks = in.u8() < 200 ? 100 : in.u32();
  m.pageSize = in.u8() < 200 ? 4096 : in.u32();
  for (unsigned i = in.u8() % 3; i > 0; --i) m.options.push_back(in.bytes(16));
  for (unsigned i = in.u8() % 3; i > 0; --i) m.notes.push_back(in.bytes(32));
  m.counts.files = in.u64();
  m.counts.errors = in.u64();
  return m;
}

}  // namespace

int ArchiveTree(const uint8_t* data, size_t size) {
  Input in(data, size);
  std::string path = ScratchDir() + "/tree.psnap";
  ::unlink(path.c_str());
  {
    WriterOptions opts;
    opts.level = 1;
    opts.delta = in.u8() & 1;  // format 3 delta records: prefixes the reader must bound
    opts.chunkSize = 64 + in.u8() * 16;  // several chunks, so references can cross them
    auto w = ArchiveWriter::Create(path, opts);
    if (!w.ok()) std::abort();
    for (unsigned s = 1 + in.u8() % 2; s > 0; --s) {
      Tree t = BuildTree(in, **w);
      Metadata m = BuildMetadata(in);
      if (!(*w)->addSnapshot(m, std::move(t)).ok()) break;
    }
    if (!(*w)->finish().ok()) return 0;
  }
  ReadEverything(path, true);
  ::unlink(path.c_str());
  return 0;
}

}  // namespace procsnap::fuzz
