#include "text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "format/archive.h"

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
    case TextReplacer::Match::Word:
    case TextReplacer::Match::ExactWord: return !WordChar(prev) && !WordChar(next);
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
  if (how != Match::Exact && how != Match::ExactWord) needle = Lower(needle);
  for (const Needle& n : needles_)
    if (n.lower == needle && n.how == how) return;
  needles_.push_back({std::move(needle), std::move(replacement), std::move(kind), how});
  // Longer needles first: an FQDN before the short name inside it.
  std::stable_sort(needles_.begin(), needles_.end(),
                   [](const Needle& a, const Needle& b) { return a.lower.size() > b.lower.size(); });
}

std::string Text4(const Ipv4& a) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, a.data(), buf, sizeof buf);
}

std::string Text6(const Ipv6& a) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
}

namespace {

// a.b.c.d (or a-b-c-d with '-') at `at`: its length, 0 for none.
size_t DottedAt(std::string_view t, size_t at, char sep, Ipv4& out) {
  size_t i = at;
  for (int part = 0; part < 4; ++part) {
    if (part) {
      if (i >= t.size() || t[i] != sep) return 0;
      ++i;
    }
    unsigned v = 0;
    size_t digits = 0;
    while (i < t.size() && Digit(t[i]) && digits < 4) v = v * 10 + (t[i++] - '0'), ++digits;
    if (digits == 0 || digits > 3 || v > 255) return 0;
    out[part] = static_cast<uint8_t>(v);
  }
  if (i < t.size() && (Digit(t[i]) || (t[i] == sep && i + 1 < t.size() && Digit(t[i + 1])))) return 0;
  return i - at;
}

int HexValue(char c) { return Digit(c) ? c - '0' : LowerChar(c) - 'a' + 10; }

// Hex of `n` bytes, in the case of `like`.
std::string HexLike(const uint8_t* b, size_t n, std::string_view like) {
  std::string h = HexOf(b, n);
  bool upper = true;  // no letter in it: net/tcp's uppercase
  for (char c : like)
    if (std::isalpha(static_cast<unsigned char>(c))) {
      upper = std::isupper(static_cast<unsigned char>(c));
      break;
    }
  if (upper)
    for (char& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return h;
}

}  // namespace

void TextReplacer::addressHits(std::string_view t, unsigned where, std::vector<Hit>& hits) const {
  if (!v4_ && !v6_) return;
  for (size_t i = 0; i < t.size();) {
    const char c = t[i];
    const char prev = i ? t[i - 1] : ' ';
    // IPv4, dotted: not inside a longer run of digits and dots.
    if (v4_ && Digit(c) && !Digit(prev) && !(prev == '.' && i > 1 && Digit(t[i - 2])) && !HexChar(prev)) {
      Ipv4 a;
      if (size_t n = DottedAt(t, i, '.', a)) {
        if (auto q = v4_(a)) {
          hits.push_back({i, n, Text4(*q), "ipv4"});
          i += n;
          continue;
        }
      }
    }
    // ip-10-1-2-3: an EC2-style host name of the address.
    if (v4_ && (c == 'i' || c == 'I') && i + 3 < t.size() && LowerChar(t[i + 1]) == 'p' && t[i + 2] == '-' &&
        !WordChar(prev)) {
      Ipv4 a;
      if (size_t n = DottedAt(t, i + 3, '-', a)) {
        if (auto q = v4_(a)) {
          std::string rep = "ip-" + Text4(*q);
          std::replace(rep.begin(), rep.end(), '.', '-');
          hits.push_back({i, n + 3, rep, "ipv4"});
          i += n + 3;
          continue;
        }
      }
    }
    // IPv6 text: a maximal run of hex digits, colons and dots with two colons or more.
    const bool hexStart = (HexChar(c) || c == ':') && !HexChar(prev) && prev != ':' && prev != '.';
    if (v6_ && hexStart) {
      size_t end = i, colons = 0;
      while (end < t.size() && (HexChar(t[end]) || t[end] == ':' || t[end] == '.') && end - i < 64)
        colons += t[end++] == ':';
      if (colons >= 2) {
        std::string run(t.substr(i, end - i));
        while (!run.empty() && (run.back() == '.' || (run.back() == ':' && !run.ends_with("::")))) run.pop_back();
        bool done = false;
        for (int attempt = 0; attempt < 2 && !done && !run.empty(); ++attempt) {
          Ipv6 a;
          if (inet_pton(AF_INET6, run.c_str(), a.data()) == 1) {
            if (auto q = v6_(a)) {
              hits.push_back({i, run.size(), Text6(*q), "ipv6"});
              i += run.size();
              done = true;
              break;
            }
          }
          // addr:port unbracketed: the address without its last group
          const size_t colon = run.rfind(':');
          if (colon == std::string::npos || colon == 0 || run[colon - 1] == ':' ||
              run.find_first_not_of("0123456789", colon + 1) != std::string::npos)
            break;
          run.resize(colon);
        }
        if (done) continue;
      }
    }
    if ((where & kNet) && hexStart && HexChar(c)) {  // net/: 8 or 32 hex digits, bounded
        size_t h = i;
        while (h < t.size() && HexChar(t[h]) && h - i <= 32) ++h;
        const size_t n = h - i;
        if ((n == 8 || n == 32) && (h == t.size() || !WordChar(t[h]))) {
          std::vector<uint8_t> bytes(n / 2);
          for (size_t k = 0; k < n / 2; ++k) bytes[k] = static_cast<uint8_t>(HexValue(t[i + 2 * k]) * 16 + HexValue(t[i + 2 * k + 1]));
          std::vector<uint8_t> words(bytes);  // each 32-bit word as the host writes it
          for (size_t w = 0; w < words.size(); w += 4) std::reverse(words.begin() + w, words.begin() + w + 4);
          std::optional<std::string> rep;
          if (n == 8 && v4_) {
            Ipv4 le, be;
            std::copy(words.begin(), words.end(), le.begin());
            std::copy(bytes.begin(), bytes.end(), be.begin());
            if (auto q = v4_(le)) {
              Ipv4 r = *q;
              std::reverse(r.begin(), r.end());
              rep = HexLike(r.data(), 4, t.substr(i, n));
            } else if (auto q2 = v4_(be)) {
              rep = HexLike(q2->data(), 4, t.substr(i, n));
            }
          } else if (n == 32 && v6_) {
            Ipv6 inOrder, asWords;
            std::copy(bytes.begin(), bytes.end(), inOrder.begin());
            std::copy(words.begin(), words.end(), asWords.begin());
            if (auto q = v6_(inOrder)) {
              rep = HexLike(q->data(), 16, t.substr(i, n));
            } else if (auto q2 = v6_(asWords)) {
              Ipv6 r = *q2;
              for (size_t w = 0; w < 16; w += 4) std::reverse(r.begin() + w, r.begin() + w + 4);
              rep = HexLike(r.data(), 16, t.substr(i, n));
            }
          }
          if (rep) {
            hits.push_back({i, n, *rep, n == 8 ? "ipv4" : "ipv6"});
            i = h;
            continue;
          }
        }
    }
    ++i;
  }
}

bool TextReplacer::apply(std::string& text, unsigned where, std::map<std::string, uint64_t>& counts) const {
  if ((needles_.empty() && !v4_ && !v6_) || text.empty()) return false;
  std::string lower;  // made once, when a case-insensitive needle is searched
  std::vector<Hit> hits;
  for (const Needle& n : needles_) {
    if ((n.how == Match::Word || n.how == Match::ExactWord) && !(where & kWords)) continue;
    const bool exact = n.how == Match::Exact || n.how == Match::ExactWord;
    if (!exact && lower.empty()) lower = Lower(text);
    std::string_view hay = exact ? std::string_view(text) : std::string_view(lower);
    for (size_t at = hay.find(n.lower); at != std::string_view::npos; at = hay.find(n.lower, at + 1))
      if (Bounded(hay, at, n.lower.size(), n.how)) {
        hits.push_back({at, n.lower.size(), n.replacement, n.kind.c_str()});
      }
  }
  addressHits(text, where, hits);
  if (hits.empty()) return false;
  std::sort(hits.begin(), hits.end(),
            [](const Hit& a, const Hit& b) { return a.at != b.at ? a.at < b.at : a.len > b.len; });
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const Hit& h : hits) {
    if (h.at < pos) continue;  // inside a longer match already replaced
    out.append(text, pos, h.at - pos);
    out += h.replacement;
    ++counts[h.kind];
    pos = h.at + h.len;
  }
  out.append(text, pos, std::string::npos);
  text = std::move(out);
  return true;
}

}  // namespace procsnap
