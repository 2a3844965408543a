// Tree: node storage and an interning string table. The string index is an
// open-addressing table of ids (4 bytes a slot) so that hundreds of
// thousands of names cost little more than the names themselves.
#include "format/archive.h"

#include <cerrno>

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

NodeId Tree::add(std::string_view name) {
  nodes_.emplace_back();
  nodes_.back().name = intern(name);
  return static_cast<NodeId>(nodes_.size() - 1);
}

BlobRef Tree::blob(NodeId id) const {
  const Node& n = nodes_[id];
  if (n.kind != NodeKind::File || n.size == 0) return {};
  return {n.ref_, n.aux_, n.size};
}

std::pair<NodeId, NodeId> Tree::children(NodeId dir) const {
  const Node& n = nodes_[dir];
  if (n.kind != NodeKind::Directory || n.aux_ == 0) return {0, 0};
  return {n.ref_, n.ref_ + n.aux_};
}

NodeId Tree::child(NodeId dir, std::string_view name) const {
  if (dir == kNoNode) return kNoNode;
  auto [lo, hi] = children(dir);  // sorted by name: a binary search
  while (lo < hi) {
    NodeId mid = lo + (hi - lo) / 2;
    std::string_view n = str(nodes_[mid].name);
    if (n < name) lo = mid + 1;
    else if (name < n) hi = mid;
    else return mid;
  }
  return kNoNode;
}

std::string_view Tree::linkTarget(NodeId id) const {
  const Node& n = nodes_[id];
  return n.kind == NodeKind::Symlink ? str(n.ref_) : std::string_view();
}

NodeId Tree::aliasTarget(NodeId id) const {
  const Node& n = nodes_[id];
  return n.kind == NodeKind::Alias ? n.ref_ : kNoNode;
}

void Tree::setBlob(NodeId id, const BlobRef& ref) {
  Node& n = nodes_[id];
  n.ref_ = ref.chunk;
  n.aux_ = ref.offset;
  n.size = ref.size;
}

void Tree::setChildren(NodeId dir, NodeId first, uint32_t count) {
  nodes_[dir].ref_ = count ? first : 0;
  nodes_[dir].aux_ = count;
}

void Tree::setLinkTarget(NodeId id, std::string_view target) { nodes_[id].ref_ = intern(target); }

void Tree::setAlias(NodeId id, NodeId target) {
  nodes_[id].kind = NodeKind::Alias;
  nodes_[id].ref_ = target;
  nodes_[id].aux_ = 0;
}

uint32_t Tree::graft(NodeId at, const Tree& part) {
  const uint32_t shift = static_cast<uint32_t>(nodes_.size()) - 1;
  // Each of the part's strings is interned once, however many nodes name it.
  std::vector<uint32_t> ids(part.strings_.size(), Index::kEmpty);
  auto id = [&](uint32_t s) {
    if (ids[s] == Index::kEmpty) ids[s] = intern(part.str(s));
    return ids[s];
  };
  for (size_t i = 0; i < part.nodes_.size(); ++i) {
    Node n = part.nodes_[i];
    n.name = id(n.name);
    n.note = id(n.note);
    if (n.kind == NodeKind::Directory && n.aux_ > 0) n.ref_ += shift;
    if (n.kind == NodeKind::Symlink) n.ref_ = id(n.ref_);
    if (i == 0) {
      n.name = nodes_[at].name;  // the slot keeps the name its parent gave it
      nodes_[at] = n;
    } else {
      nodes_.push_back(n);
    }
  }
  return shift;
}

int OpenError(const Node& n) {
  if (NotRead(n.reason)) return ENODATA;
  if (n.error && n.size == 0) return n.error;
  return 0;
}

}  // namespace procsnap
