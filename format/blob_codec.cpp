#include "blob_codec.h"

#include "record.h"

namespace procsnap {

namespace {

// Layout: u32 width, u64 lines, u64 varint bytes, varints, then each line's
// rest (after the address and one space) terminated by '\n'.
constexpr size_t kHeader = 4 + 8 + 8;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

bool EncodeAddressLines(std::string_view plain, std::string* out) {
  if (plain.size() < 4096 || plain.back() != '\n') return false;
  size_t width = plain.find(' ');
  if (width == std::string_view::npos || width == 0 || width > 16) return false;
  // The text column goes straight into `out` behind the header and the
  // address column is slipped in before it at the end: the output's pages
  // are touched once (fresh pages are slow on some VMs).
  std::string varints;
  varints.reserve(plain.size() / 8);
  out->clear();
  out->reserve(kHeader + plain.size() + plain.size() / 8);
  out->resize(kHeader);
  uint64_t prev = 0, lines = 0;
  for (size_t pos = 0; pos < plain.size();) {
    size_t nl = plain.find('\n', pos);
    if (nl - pos <= width || plain[pos + width] != ' ') return false;
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) {
      int h = HexValue(plain[pos + i]);
      if (h < 0) return false;
      v = (v << 4) | h;
    }
    uint64_t d = v - prev;  // wraps for descending addresses; decoding wraps back
    prev = v;
    while (d >= 0x80) {
      varints.push_back(static_cast<char>(d | 0x80));
      d >>= 7;
    }
    varints.push_back(static_cast<char>(d));
    out->append(plain.substr(pos + width + 1, nl - pos - width));
    ++lines;
    pos = nl + 1;
  }
  std::string header;
  PutU32(header, static_cast<uint32_t>(width));
  PutU64(header, lines);
  PutU64(header, varints.size());
  out->replace(0, kHeader, header);
  out->insert(kHeader, varints);
  return true;
}

Result<std::string> DecodeAddressLines(std::string_view enc, uint64_t plainSize, const std::string& where) {
  auto bad = [&](const char* what) { return Status::Corruption(where + ": address-lines chunk: " + what); };
  if (enc.size() < kHeader) return bad("header cut short");
  uint32_t width = GetU32(enc.data());
  uint64_t lines = GetU64(enc.data() + 4);
  uint64_t vbytes = GetU64(enc.data() + 12);
  if (width == 0 || width > 16) return bad("bad address width");
  if (vbytes > enc.size() - kHeader) return bad("address column runs past the chunk");
  std::string_view v = enc.substr(kHeader, vbytes);
  std::string_view rest = enc.substr(kHeader + vbytes);
  // Each line takes at least one address byte and one newline from the
  // chunk and adds at most width + 1 bytes to them: a larger declared size
  // is a lie, refused before it is allocated (found by fuzz/blob_codec).
  if (plainSize > v.size() * (width + 1) + rest.size()) return bad("declares more bytes than it can decode to");
  std::string out;
  out.reserve(plainSize);
  uint64_t prev = 0;
  size_t vi = 0, ri = 0;
  static const char kHex[] = "0123456789abcdef";
  for (uint64_t line = 0; line < lines; ++line) {
    uint64_t d = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (vi >= v.size() || shift > 63) return bad("address column cut short");
      uint8_t b = static_cast<uint8_t>(v[vi++]);
      d |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    prev += d;
    size_t nl = rest.find('\n', ri);
    if (nl == std::string_view::npos) return bad("line column cut short");
    if (out.size() + width + 1 + (nl - ri + 1) > plainSize) return bad("decodes to more than its declared size");
    for (int i = static_cast<int>(width) - 1; i >= 0; --i) out.push_back(kHex[(prev >> (4 * i)) & 0xf]);
    out.push_back(' ');
    out.append(rest.substr(ri, nl - ri + 1));
    ri = nl + 1;
  }
  if (out.size() != plainSize || ri != rest.size() || vi != v.size()) return bad("size does not match the index");
  return out;
}

}  // namespace procsnap
