#include "arguments.h"
#include "text.h"

#include <algorithm>
#include <cctype>
#include <regex>

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
      size_t end = secret && keyStart == 0 ? a.size() : a.find_first_of(",&;", eq + 1);
      if (end == std::string::npos) end = a.size();
      if (secret && end > eq + 1) {
        end = eq + 1 + replace(a, eq + 1, end - eq - 1, "argument");
        any = true;
      }
      start = std::max(end, eq + 1);
    }
    return any;
  }

  // Tokens whose shape gives them away wherever they stand: JWTs, cloud and
  // chat API keys, a private key's armour.
  bool tokenShapes(std::string& a) {
    static const std::regex shapes(
        R"re(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|sk_live_[0-9A-Za-z]{20,}|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*)re");
    bool any = false;
    std::smatch m;
    size_t from = 0;
    std::string rest;
    while (from < a.size()) {
      rest = a.substr(from);
      if (!std::regex_search(rest, m, shapes)) break;
      const size_t at = from + m.position(0);
      from = at + replace(a, at, m.length(0), "argument");
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

  // "key": "value" pairs of JSON with a secret-looking key.
  bool json(std::string& a) {
    if (a.find('"') == std::string::npos) return false;
    static const std::regex pair(R"re("([^"\\]{1,128})"\s*:\s*"((?:[^"\\]|\\.)*)")re");
    bool any = false;
    std::string out;
    size_t last = 0;
    for (auto it = std::sregex_iterator(a.begin(), a.end(), pair); it != std::sregex_iterator(); ++it) {
      const std::smatch& m = *it;
      if (!LooksSecret(m.str(1)) || m.length(2) == 0) continue;
      out.append(a, last, m.position(2) - last);
      std::string value = m.str(2);
      ++counts_["argument"];
      if (found_ && value.size() >= 4) found_->push_back(value);
      out += p_(value);
      last = m.position(2) + m.length(2);
      any = true;
    }
    if (any) a = out + a.substr(last);
    return any;
  }

  // One list of words (argv, or the words of one argument); returns whether
  // anything was replaced.
  bool words(std::vector<std::string>& w, std::string_view program) {
    bool any = false;
    for (size_t i = 0; i < w.size(); ++i) {
      std::string& a = w[i];
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
        replace(w[v], 0, w[v].size(), "header");
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
