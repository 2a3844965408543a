// Tree: node storage and an interning string table. The string index is an
// open-addressing table of ids (4 bytes a slot) so that hundreds of
// thousands of names cost little more than the names themselves.
#include "format/archive.h"

namespace procsnap {

struct Tree::Index {
  std::vector<uint32_t> slots;  // string ids, kEmpty where free
  static constexpr uint32_t kEmpty = 0xffffffffu;
};

namespace {
size_t HashBytes(std::string_view s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: names are short
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return static_cast<size_t>(h ^ (h >> 29));
}
}  // namespace

Tree::Tree() { strings_.emplace_back(); }
Tree::Tree(Tree&&) noexcept = default;
Tree& Tree::operator=(Tree&&) noexcept = default;
Tree::~Tree() = default;

uint32_t Tree::intern(std::string_view s) {
  if (s.empty()) return 0;
  if (!index_ || (strings_.size() + 1) * 2 > index_->slots.size()) {
    auto next = std::make_unique<Index>();
    size_t n = 64;
    while (n < (strings_.size() + 1) * 4) n <<= 1;
    next->slots.assign(n, Index::kEmpty);
    for (uint32_t id = 1; id < strings_.size(); ++id) {
      size_t i = HashBytes(strings_[id]) & (n - 1);
      while (next->slots[i] != Index::kEmpty) i = (i + 1) & (n - 1);
      next->slots[i] = id;
    }
    index_ = std::move(next);
  }
  size_t mask = index_->slots.size() - 1;
  size_t i = HashBytes(s) & mask;
  while (index_->slots[i] != Index::kEmpty) {
    if (strings_[index_->slots[i]] == s) return index_->slots[i];
    i = (i + 1) & mask;
  }
  uint32_t id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  index_->slots[i] = id;
  return id;
}

uint32_t Tree::graft(NodeId at, const Tree& part) {
  const uint32_t shift = static_cast<uint32_t>(nodes.size()) - 1;
  for (size_t i = 0; i < part.nodes.size(); ++i) {
    Node n = part.nodes[i];
    n.name = intern(part.str(n.name));
    n.note = intern(part.str(n.note));
    if (n.kind == NodeKind::Directory && n.aux > 0) n.ref += shift;
    if (n.kind == NodeKind::Symlink) n.ref = intern(part.str(n.ref));
    if (i == 0) {
      n.name = nodes[at].name;  // the slot keeps the name its parent gave it
      nodes[at] = n;
    } else {
      nodes.push_back(n);
    }
  }
  return shift;
}

}  // namespace procsnap
