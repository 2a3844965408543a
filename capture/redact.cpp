#include "redact.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

namespace procsnap {

namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    parts.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts, bool trailingNul) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    out += parts[i];
    if (i + 1 < parts.size() || trailingNul) out.push_back('\0');
  }
  return out;
}

bool LooksSecret(std::string_view key) {
  std::string k(key);
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"pass", "secret", "token", "key", "auth", "credential", "cred", "private", "cookie",
                           "session"})
    if (k.find(word) != std::string::npos) return true;
  return false;
}

// "scheme://user:pass@host" -> "scheme://user:<redacted>@host"
bool RedactUrlPassword(std::string& arg) {
  size_t scheme = arg.find("://");
  if (scheme == std::string::npos) return false;
  size_t at = arg.find('@', scheme + 3);
  size_t slash = arg.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return false;
  size_t colon = arg.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return false;
  arg.replace(colon + 1, at - colon - 1, kRedacted);
  return true;
}

}  // namespace

unsigned RedactEnviron(std::string& environ) {
  bool trailing = !environ.empty() && environ.back() == '\0';
  auto parts = Split(environ);
  unsigned n = 0;
  for (auto& p : parts) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq + 1 == p.size()) continue;
    p.replace(eq + 1, std::string::npos, kRedacted);
    ++n;
  }
  if (n) environ = Join(parts, trailing);
  return n;
}

unsigned RedactCmdline(std::string& cmdline) {
  bool trailing = !cmdline.empty() && cmdline.back() == '\0';
  auto parts = Split(cmdline);
  unsigned n = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string& a = parts[i];
    size_t eq = a.find('=');
    if (eq != std::string::npos && eq + 1 < a.size() && LooksSecret(std::string_view(a).substr(0, eq))) {
      a.replace(eq + 1, std::string::npos, kRedacted);
      ++n;
    } else if (a.size() > 1 && a[0] == '-' && eq == std::string::npos && LooksSecret(a) && i + 1 < parts.size() &&
               !parts[i + 1].empty() && parts[i + 1][0] != '-') {
      parts[++i] = kRedacted;  // "--password x": the value is the next argument
      ++n;
    } else if (RedactUrlPassword(a)) {
      ++n;
    }
  }
  if (n) cmdline = Join(parts, trailing);
  return n;
}

}  // namespace procsnap
