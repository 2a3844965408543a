#include "arguments.h"
#include "text.h"

#include <algorithm>
#include <cctype>

namespace procsnap {

namespace {

// "a\0b\0" -> {"a", "b", ""}: Join gives back the same bytes.
std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t end; (end = s.find(sep, start)) != std::string_view::npos; start = end + 1)
    parts.emplace_back(s.substr(start, end - start));
  parts.emplace_back(s.substr(start));
  return parts;
}

std::string Join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out.push_back(sep);
    out += parts[i];
  }
  return out;
}


bool LooksSecret(std::string_view key) {
  const std::string k = Lower(key);
  std::string_view bare(k);  // "--pw", "-pw", "db_pw"
  while (bare.starts_with("-")) bare.remove_prefix(1);
  if (bare == "pw" || bare.ends_with("_pw") || bare.ends_with("-pw") || bare.ends_with(".pw")) return true;
  for (const char* word : {"pass", "pwd", "secret", "token", "key", "auth", "credential", "cred", "private",
                           "cookie", "session", "signature"})
    if (k.find(word) != std::string::npos) return true;
  return false;
}

// Short flags that take a secret, per program (argv[0]'s base name).
struct ProgramFlag {
  const char* program;  // a prefix: "ldap" covers ldapsearch, ldapmodify...
  const char* flag;
  char userSeparator;   // the flag's value is USER<sep>SECRET; 0: all secret
};
constexpr ProgramFlag kProgramFlags[] = {
    {"mysql", "-p", 0},    {"mariadb", "-p", 0},  {"sshpass", "-p", 0},   {"redis-cli", "-a", 0},
    {"ldap", "-w", 0},     {"mongo", "-p", 0},    {"docker", "-p", 0},    {"podman", "-p", 0},
    {"nerdctl", "-p", 0},  {"sqlcmd", "-P", 0},   {"curl", "-u", ':'},    {"curl", "--user", ':'},
    {"curl", "-U", ':'},   {"smbclient", "-U", '%'}, {"rpcclient", "-U", '%'}, {"wget", "--user", ':'},
    {"7z", "-p", 0},       {"zip", "-P", 0},      {"unzip", "-P", 0},     {"rar", "-p", 0},
    {"unrar", "-p", 0},    {"lftp", "-u", ','},   {"net", "-U", '%'},
};

bool AlnumOr(char c, std::string_view extra) {
  return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
}

// The length of the run of characters at `at` that are alphanumeric or in `extra`.
size_t RunOf(std::string_view s, size_t at, std::string_view extra) {
  size_t n = at;
  while (n < s.size() && AlnumOr(s[n], extra)) ++n;
  return n - at;
}

// The length of a token of a known shape starting at `at`, 0 for none.
size_t TokenAt(std::string_view s, size_t at) {
  const std::string_view rest = s.substr(at);
  auto prefixed = [&](std::string_view prefix, std::string_view extra, size_t min) -> size_t {
    if (!rest.starts_with(prefix)) return 0;
    const size_t n = RunOf(s, at + prefix.size(), extra);
    return n >= min ? prefix.size() + n : 0;
  };
  if (rest.starts_with("eyJ")) {  // a JWT: three base64url parts of 8 or more
    size_t n = 0;
    for (int part = 0; part < 3; ++part) {
      const size_t run = RunOf(s, at + n, "_-");
      if (run < 8) return 0;
      n += run;
      if (part < 2) {
        if (at + n >= s.size() || s[at + n] != '.') return 0;
        ++n;
      }
    }
    return n;
  }
  for (std::string_view aws : {"AKIA", "ASIA"})
    if (rest.starts_with(aws) && rest.size() >= 20) {
      bool ok = true;
      for (size_t k = 4; k < 20 && ok; ++k) ok = std::isdigit(static_cast<unsigned char>(rest[k])) || std::isupper(static_cast<unsigned char>(rest[k]));
      if (ok) return 20;
    }
  if (rest.size() > 4 && rest.starts_with("gh") && std::string_view("pousr").find(rest[2]) != std::string_view::npos &&
      rest[3] == '_') {
    const size_t n = RunOf(s, at + 4, "");
    if (n >= 30) return 4 + n;
  }
  if (size_t n = prefixed("github_pat_", "_", 30)) return n;
  if (rest.size() > 4 && rest.starts_with("xox") && std::string_view("abprs").find(rest[3]) != std::string_view::npos &&
      rest[4] == '-') {
    const size_t n = RunOf(s, at + 5, "-");
    if (n >= 10) return 5 + n;
  }
  if (rest.starts_with("AIza") && RunOf(s, at + 4, "_-") >= 35) return 4 + 35;
  if (size_t n = prefixed("sk_live_", "", 20)) return n;
  if (size_t n = prefixed("sk-proj-", "_-", 20)) return n;  // OpenAI
  if (size_t n = prefixed("glpat-", "_-", 20)) return n;    // GitLab
  if (size_t n = prefixed("hvs.", "_-", 20)) return n;      // Vault
  constexpr std::string_view kArmour = "-----BEGIN ", kKey = "PRIVATE KEY-----";
  if (rest.starts_with(kArmour)) {  // "-----BEGIN [A-Z ]*PRIVATE KEY-----" and all that follows it
    const size_t key = rest.find(kKey, kArmour.size());
    if (key == std::string_view::npos) return 0;
    for (size_t n = kArmour.size(); n < key; ++n)
      if (!std::isupper(static_cast<unsigned char>(rest[n])) && rest[n] != ' ') return 0;
    return rest.size();
  }
  return 0;
}

// Whether a word names the program of a ProgramFlag: exactly, or one of a
// family (mysqldump, ldapsearch, mongodump, mariadb-dump). A positional
// word that merely starts like one ("netdb", "zipfile") is not it.
bool KnownProgram(std::string_view word, std::string_view program) {
  if (word == program) return true;
  for (std::string_view family : {"mysql", "mariadb", "ldap", "mongo"})
    if (program == family && word.starts_with(family)) return true;
  return false;
}

class ArgRedactor {
 public:
  ArgRedactor(const ValuePseudonym& p, KindCounts& counts, std::vector<std::string>* found)
      : p_(p), counts_(counts), found_(found) {}

  // Replaces s[from, from+len) and counts it under `kind`; returns the
  // replacement's length.
  size_t replace(std::string& s, size_t from, size_t len, const char* kind) {
    if (len == 0) return 0;
    std::string original = s.substr(from, len);
    const std::string pseudonym = p_(original);
    s.replace(from, len, pseudonym);
    ++counts_[kind];
    if (found_ && original.size() >= 4) found_->push_back(std::move(original));
    return pseudonym.size();
  }

  // KEY=VALUE pairs with a secret-looking KEY: a whole word (PASSWORD=x,
  // --password=x, -Dx.keyStorePassword=x: the value runs to the end), or
  // one of a list (mount -o user=a,password=x; a URL's ?token=x&y=z).
  bool pairs(std::string& a) {
    bool any = false;
    size_t start = 0;
    while (start < a.size()) {
      const size_t eq = a.find('=', start);
      if (eq == std::string::npos) break;
      const size_t d = a.find_last_of(",&;?", eq);
      const size_t keyStart = d == std::string::npos || d < start ? start : d + 1;
      const std::string key = a.substr(keyStart, eq - keyStart);
      const bool secret = !key.empty() && LooksSecret(key) && key.find("://") == std::string::npos;
      if (!secret) {  // the value may itself be KEY=VALUE: --from-literal=password=x, --env=DB_PASSWORD=x
        start = eq + 1;
        continue;
      }
      size_t end = keyStart == 0 ? a.size() : a.find_first_of(",&;", eq + 1);
      if (end == std::string::npos) end = a.size();
      if (end > eq + 1) {
        end = eq + 1 + replace(a, eq + 1, end - eq - 1, "argument");
        any = true;
      }
      start = std::max(end, eq + 1);
    }
    return any;
  }

  // Tokens whose shape gives them away wherever they stand: JWTs, cloud and
  // chat API keys, a private key's armour. A scanner, not std::regex: the
  // library's matcher recurses per character and a 30 KB argument
  // overflowed the stack; this costs one pass with a bounded look at each
  // candidate.
  bool tokenShapes(std::string& a) {
    bool any = false;
    for (size_t at = 0; at < a.size();) {
      const size_t len = TokenAt(a, at);
      if (!len) {
        ++at;
        continue;
      }
      at += replace(a, at, len, "argument");
      any = true;
    }
    return any;
  }

  // user:password@ (or a long TOKEN@) after every "scheme://".
  bool urlPasswords(std::string& a) {
    bool any = false;
    for (size_t scheme = a.find("://"); scheme != std::string::npos; scheme = a.find("://", scheme + 3)) {
      size_t start = scheme + 3;
      size_t end = a.find_first_of("/?# \t", start);
      size_t at = a.rfind('@', end == std::string::npos ? std::string::npos : end);
      if (at == std::string::npos || at < start) continue;
      size_t colon = a.find(':', start);
      if (colon == std::string::npos || colon > at) {
        // https://TOKEN@host: a user part that long is a token, not a name
        if (at - start < 16) continue;
        colon = start - 1;
      }
      replace(a, colon + 1, at - colon - 1, "url-password");
      any = true;
    }
    return any;
  }

  // "Authorization: Bearer x", "X-Api-Key: x", "Cookie: a=b".
  bool header(std::string& a) {
    size_t colon = a.find(':');
    if (colon == std::string::npos || colon == 0) return false;
    std::string name = a.substr(0, colon);
    // --header=Authorization: x, -HAuthorization: x (curl's attached form)
    if (size_t eq = name.rfind('='); eq != std::string::npos) name.erase(0, eq + 1);
    else if (name.starts_with("-H")) name.erase(0, 2);
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    if (name.empty() || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
                            std::string::npos)
      return false;
    const std::string lower = Lower(name);
    if (!LooksSecret(lower) && lower != "cookie" && lower != "set-cookie") return false;
    size_t v = a.find_first_not_of(' ', colon + 1);
    if (v == std::string::npos) return false;
    if (lower.find("authorization") != std::string::npos) {  // keep the scheme word: "Bearer", "Basic"
      size_t sp = a.find(' ', v);
      if (sp != std::string::npos) v = a.find_first_not_of(' ', sp);
      if (v == std::string::npos) return false;
    }
    replace(a, v, a.size() - v, "header");
    return true;
  }

  // "key": "value" pairs of JSON with a secret-looking key (a scanner:
  // see tokenShapes).
  bool json(std::string& a) {
    if (a.find('"') == std::string::npos) return false;
    bool any = false;
    for (size_t q = a.find('"'); q != std::string::npos; q = a.find('"', q + 1)) {
      // A key: up to 128 bytes without quotes or backslashes.
      const size_t keyEnd = a.find_first_of("\"\\", q + 1);
      if (keyEnd == std::string::npos || a[keyEnd] != '"' || keyEnd == q + 1 || keyEnd - q - 1 > 128) continue;
      size_t v = a.find_first_not_of(" \t\n", keyEnd + 1);
      if (v == std::string::npos || a[v] != ':') {
        q = keyEnd;  // not a key: the next string starts after its closing quote
        continue;
      }
      v = a.find_first_not_of(" \t\n", v + 1);
      if (v == std::string::npos || a[v] != '"') continue;
      size_t end = v + 1;  // the value, escapes included, up to its closing quote
      while (end < a.size() && a[end] != '"') end += a[end] == '\\' ? 2 : 1;
      if (end >= a.size()) break;
      if (LooksSecret(std::string_view(a).substr(q + 1, keyEnd - q - 1)) && end > v + 1) {
        end = v + 1 + replace(a, v + 1, end - v - 1, "argument");
        any = true;
      }
      q = end;
    }
    return any;
  }

  // One list of words (argv, or the words of one argument); returns whether
  // anything was replaced.
  bool words(std::vector<std::string>& w, std::string_view first) {
    bool any = false;
    std::string program(first);
    for (size_t i = 0; i < w.size(); ++i) {
      std::string& a = w[i];
      // A known program anywhere in the command (behind sudo, timeout, env,
      // nice, xargs, or inside sh -c "... && mysqldump -pX"): its flags apply
      // from there on.
      if (i > 0 && !a.empty() && a[0] != '-') {
        const std::string base = a.substr(a.rfind('/') == std::string::npos ? 0 : a.rfind('/') + 1);
        for (const ProgramFlag& f : kProgramFlags)
          if (KnownProgram(base, f.program)) program = base;
      }
      if (header(a)) {
        any = true;
        continue;
      }
      any |= urlPasswords(a);
      any |= json(a);
      any |= tokenShapes(a);
      const size_t eq = a.find('=');
      if (eq != std::string::npos && pairs(a)) {
        any = true;
        continue;
      }
      // "password: x" among the words of one argument (YAML, a header's words)
      if (a.size() > 1 && a.back() == ':' && LooksSecret(std::string_view(a).substr(0, a.size() - 1)) &&
          i + 1 < w.size()) {
        size_t v = i + 1;
        for (const char* scheme : {"Bearer", "Basic", "Token", "Digest", "bearer", "basic", "token", "digest"})
          if (w[v] == scheme && v + 1 < w.size()) ++v;
        // The value without the quotes and brackets around it ({"secret": "x"} keeps its shape).
        const size_t b = std::min(w[v].find_first_not_of("\"'"), w[v].size());
        const size_t e = w[v].find_last_not_of("\"'}],;");
        if (e != std::string::npos && e >= b) replace(w[v], b, e + 1 - b, "header");
        i = v;
        any = true;
        continue;
      }
      // --password x, -secret x: the value is the next word
      if (a.size() > 1 && a[0] == '-' && eq == std::string::npos && LooksSecret(a) && i + 1 < w.size() &&
          !w[i + 1].starts_with("--")) {
        replace(w[i + 1], 0, w[i + 1].size(), "argument");
        ++i;
        any = true;
        continue;
      }
      // sqlplus user/password@db
      if (program.starts_with("sqlplus") && i > 0 && !a.starts_with("-")) {
        size_t slash = a.find('/'), at = a.find('@');
        if (slash != std::string::npos && slash > 0 && (at == std::string::npos || at > slash + 1)) {
          replace(a, slash + 1, (at == std::string::npos ? a.size() : at) - slash - 1, "argument");
          any = true;
          continue;
        }
      }
      for (const ProgramFlag& f : kProgramFlags) {
        if (!program.starts_with(f.program)) continue;
        const std::string_view flag = f.flag;
        std::string* target = nullptr;
        size_t from = 0;
        if (a == flag && i + 1 < w.size()) {
          target = &w[++i];
        } else if (a.size() > flag.size() && a.starts_with(flag) && flag.size() == 2) {
          target = &a;  // attached: -pSECRET
          from = 2;
        }
        if (!target) continue;
        if (f.userSeparator) {
          size_t sep = target->find(f.userSeparator, from);
          if (sep == std::string::npos) break;  // a user name alone
          from = sep + 1;
        }
        replace(*target, from, target->size() - from, "argument");
        any = true;
        break;
      }
    }
    return any;
  }

 private:
  const ValuePseudonym& p_;
  KindCounts& counts_;
  std::vector<std::string>* found_;
};

}  // namespace

std::string RedactEnviron(std::string_view environ, const ValuePseudonym& pseudonym, KindCounts& counts) {
  auto parts = Split(environ, '\0');
  for (auto& p : parts) {
    size_t eq = p.find('=');
    if (eq == std::string::npos) {  // not KEY=VALUE: all of it may be a value
      if (!p.empty()) p = pseudonym(p), ++counts["environment"];
      continue;
    }
    if (eq + 1 == p.size()) continue;
    p = p.substr(0, eq + 1) + pseudonym(std::string_view(p).substr(eq + 1));
    ++counts["environment"];
  }
  return Join(parts, '\0');
}

std::string RedactCmdline(std::string_view cmdline, const ValuePseudonym& pseudonym, KindCounts& counts,
                          std::vector<std::string>* found) {
  if (cmdline.empty()) return std::string();
  auto argv = Split(cmdline, '\0');
  ArgRedactor r(pseudonym, counts, found);
  auto base = [](const std::string& a) {
    std::string w = a.substr(0, a.find(' '));
    return w.substr(w.rfind('/') == std::string::npos ? 0 : w.rfind('/') + 1);
  };
  const std::string program = base(argv[0]);
  r.words(argv, program);
  // An argument of several words (setproctitle, sh -c "..."): word by word.
  for (auto& a : argv) {
    if (a.find(' ') == std::string::npos) continue;
    auto w = Split(a, ' ');
    if (r.words(w, base(w[0]).empty() ? program : base(w[0]))) a = Join(w, ' ');
  }
  return Join(argv, '\0');
}

}  // namespace procsnap
