// Rows as JSON Lines or CSV.
#include <cmath>
#include <cstdio>

#include "tables.h"

namespace procsnap {

namespace {

// Length of the valid UTF-8 sequence at s[i], 0 if there is none.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  if (n == 2 && c < 0xC2) return 0;                                   // overlong
  if (n == 3 && ((c == 0xE0 && b(i + 1) < 0xA0) || (c == 0xED && b(i + 1) >= 0xA0))) return 0;  // overlong, surrogate
  if (n == 4 && ((c == 0xF0 && b(i + 1) < 0x90) || c > 0xF4 || (c == 0xF4 && b(i + 1) >= 0x90))) return 0;
  return n;
}

void JsonString(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      char buf[8];
      const char* named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : nullptr;
      if (!named) std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += named ? named : buf;
      ++i;
    } else if (size_t n = Utf8Length(s, i)) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
      ++i;
    }
  }
  out += '"';
}

void Number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  // Shortest form that reads back the same: most values are short decimals.
  for (int p = 1; p < 17; ++p) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", p, d);
    if (std::strtod(shorter, nullptr) == d) {
      out += shorter;
      return;
    }
  }
  out += buf;
}

}  // namespace

std::string JsonLine(TableKind t, const Row& row) {
  const auto& cols = TableColumns(t);
  std::string out = "{";
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) out += ',';
    JsonString(out, cols[i]);
    out += ':';
    const Value& v = i < row.size() ? row[i] : Value();
    if (auto* n = std::get_if<int64_t>(&v)) out += std::to_string(*n);
    else if (auto* d = std::get_if<double>(&v)) Number(out, *d);
    else if (auto* s = std::get_if<std::string>(&v)) JsonString(out, *s);
    else out += "null";
  }
  out += "}\n";
  return out;
}

namespace {

void CsvField(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string CsvHeader(TableKind t) {
  std::string out;
  for (const auto& c : TableColumns(t)) {
    if (!out.empty()) out += ',';
    CsvField(out, c);
  }
  return out + "\n";
}

std::string CsvLine(const Row& row) {
  std::string out;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) out += ',';
    const Value& v = row[i];
    if (auto* n = std::get_if<int64_t>(&v)) {
      out += std::to_string(*n);
    } else if (auto* d = std::get_if<double>(&v)) {
      std::string num;
      Number(num, *d);
      if (num != "null") out += num;
    } else if (auto* s = std::get_if<std::string>(&v)) {
      CsvField(out, *s);
    }
  }
  return out + "\n";
}

}  // namespace procsnap
