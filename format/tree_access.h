// Inside format/ only: the snapshot codec and the reader copy trees column
// by column and need the raw links that Tree otherwise types by kind.
#pragma once

#include <deque>
#include <string>

#include "format/archive.h"

namespace procsnap {

struct TreeAccess {
  static std::deque<Node>& nodes(Tree& t) { return t.nodes_; }
  static void pushString(Tree& t, std::string s) { t.strings_.push_back(std::move(s)); }
  static uint32_t& ref(Node& n) { return n.ref_; }
  static uint32_t& aux(Node& n) { return n.aux_; }
  static uint32_t ref(const Node& n) { return n.ref_; }
  static uint32_t aux(const Node& n) { return n.aux_; }
};

}  // namespace procsnap
