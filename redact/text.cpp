#include "text.h"

#include <algorithm>
#include <cctype>

namespace procsnap {

namespace {

char LowerChar(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
bool WordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool HexChar(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool Digit(char c) { return c >= '0' && c <= '9'; }

bool Bounded(std::string_view t, size_t at, size_t len, TextReplacer::Match how) {
  const bool hasPrev = at > 0, hasNext = at + len < t.size();
  const char prev = hasPrev ? t[at - 1] : ' ', next = hasNext ? t[at + len] : ' ';
  switch (how) {
    case TextReplacer::Match::Word: return !WordChar(prev) && !WordChar(next);
    case TextReplacer::Match::Dotted:
      return !Digit(prev) && !(prev == '.' && at > 1 && Digit(t[at - 2])) && !Digit(next) &&
             !(next == '.' && at + len + 1 < t.size() && Digit(t[at + len + 1]));
    case TextReplacer::Match::Colon: return !HexChar(prev) && prev != ':' && !HexChar(next) && next != ':';
    default: return true;
  }
}

}  // namespace

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), LowerChar);
  return out;
}

void TextReplacer::add(std::string needle, std::string replacement, Match how, std::string kind) {
  if (needle.empty()) return;
  if (how != Match::Exact) needle = Lower(needle);
  for (const Needle& n : needles_)
    if (n.lower == needle && n.how == how) return;
  needles_.push_back({std::move(needle), std::move(replacement), std::move(kind), how});
  // Longer needles first: an FQDN before the short name inside it.
  std::stable_sort(needles_.begin(), needles_.end(),
                   [](const Needle& a, const Needle& b) { return a.lower.size() > b.lower.size(); });
}

bool TextReplacer::apply(std::string& text, unsigned where, std::map<std::string, uint64_t>& counts) const {
  if (needles_.empty() || text.empty()) return false;
  std::string lower;  // made once, when a case-insensitive needle is searched
  struct Hit {
    size_t at, len;
    const Needle* n;
  };
  std::vector<Hit> hits;
  for (const Needle& n : needles_) {
    if (n.how == Match::Hex && !(where & kNet)) continue;
    if (n.how == Match::Word && !(where & kWords)) continue;
    if (n.how != Match::Exact && lower.empty()) lower = Lower(text);
    std::string_view hay = n.how == Match::Exact ? std::string_view(text) : std::string_view(lower);
    for (size_t at = hay.find(n.lower); at != std::string_view::npos; at = hay.find(n.lower, at + 1))
      if (Bounded(hay, at, n.lower.size(), n.how)) hits.push_back({at, n.lower.size(), &n});
  }
  if (hits.empty()) return false;
  std::sort(hits.begin(), hits.end(),
            [](const Hit& a, const Hit& b) { return a.at != b.at ? a.at < b.at : a.len > b.len; });
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const Hit& h : hits) {
    if (h.at < pos) continue;  // inside a longer match already replaced
    out.append(text, pos, h.at - pos);
    std::string rep = h.n->replacement;
    if (h.n->how == Match::Hex) {  // in the case the file writes
      bool upper = true;  // no letter in it: net/tcp's uppercase
      for (size_t i = h.at; i < h.at + h.len; ++i)
        if (std::isalpha(static_cast<unsigned char>(text[i]))) {
          upper = std::isupper(static_cast<unsigned char>(text[i]));
          break;
        }
      for (char& c : rep) c = upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : LowerChar(c);
    }
    out += rep;
    ++counts[h.n->kind];
    pos = h.at + h.len;
  }
  out.append(text, pos, std::string::npos);
  text = std::move(out);
  return true;
}

}  // namespace procsnap
