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


// The words of a shell string, a quoted group ('a b c') kept as one word:
// Join(SplitWords(s), ' ') gives back s.
std::vector<std::string> SplitWords(std::string_view s) {
  std::vector<std::string> out;
  for (std::string& w : Split(s, ' ')) {
    if (!out.empty()) {
      const std::string& open = out.back();
      const char q = open.empty() ? 0 : open[0];
      if ((q == '\'' || q == '"') && (open.size() == 1 || open.find(q, 1) == std::string::npos)) {
        out.back().append(" ").append(w);
        continue;
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

// The program a word names: its base name, up to a space (setproctitle).
std::string ProgramOf(std::string_view word) {
  std::string_view w = word.substr(0, word.find(' '));
  if (const size_t slash = w.rfind('/'); slash != std::string_view::npos) w.remove_prefix(slash + 1);
  return std::string(w);
}

// Whether a value is already a pseudonym (R- and 10 hex digits): a secret
// found by two rules is replaced once.
bool IsPseudonym(std::string_view v) {
  return v.size() == 12 && v.starts_with("R-") &&
         std::all_of(v.begin() + 2, v.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

bool LooksSecret(std::string_view key) {
  const std::string k = Lower(key);
  std::string_view bare(k);  // "--pw", "-pw", "db_pw"
  while (bare.starts_with("-")) bare.remove_prefix(1);
  if (bare == "pw" || bare.ends_with("_pw") || bare.ends_with("-pw") || bare.ends_with(".pw")) return true;
  if (bare == "sig") return true;  // Azure SAS: ?sv=...&sig=X
  for (const char* word : {"pass", "pwd", "secret", "token", "key", "auth", "credential", "cred", "private",
                           "cookie", "session", "signature", "psk"})
    if (k.find(word) != std::string::npos) return true;
  return false;
}

namespace {

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
    {"unrar", "-p", 0},    {"lftp", "-u", ','},   {"net", "-U", '%'},     {"http", "-a", ':'},
    {"https", "-a", ':'},  {"useradd", "-p", 0},  {"usermod", "-p", 0},   {"openssl", "-k", 0},
    {"openssl", "-K", 0},
};

// Programs whose secrets stand as plain words (htpasswd -b FILE USER X,
// smbclient //h/s X, rabbitmqctl add_user U X, vault login X): rules in
// ArgRedactor::positional.
constexpr const char* kPositionalPrograms[] = {"htpasswd", "smbclient", "rabbitmqctl", "nmcli", "vault",
                                               "redis-cli", "chpasswd", "aws", "gpg", "openssl", "sqlplus"};

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
  // Webhook and bot URLs: the path after the service's prefix is the secret.
  struct Hook {
    std::string_view prefix, extra;
  };
  for (const Hook& h : {Hook{"hooks.slack.com/services/", "/_-"}, Hook{"hooks.slack.com/workflows/", "/_-"},
                        Hook{"discord.com/api/webhooks/", "/_-"}, Hook{"discordapp.com/api/webhooks/", "/_-"},
                        Hook{"api.telegram.org/bot", ":_-"}, Hook{"api.telegram.org/file/bot", ":_-"},
                        Hook{".webhook.office.com/webhookb2/", "/@_-"}, Hook{"outlook.office.com/webhook/", "/@_-"}})
    if (s.substr(0, at).ends_with(h.prefix)) {
      const size_t n = RunOf(s, at, h.extra);
      if (n >= 8) return n;
    }
  // Only where a run starts: each run is measured once, so a long
  // argument costs one pass.
  auto base64 = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '+'; };
  const bool runStart = at == 0 || !(base64(s[at - 1]) || s[at - 1] == '_' || s[at - 1] == '-');
  if (runStart && std::isdigit(static_cast<unsigned char>(rest[0]))) {  // Telegram: 8-10 digits:35 of [A-Za-z0-9_-]
    size_t d = 0;
    while (d < rest.size() && std::isdigit(static_cast<unsigned char>(rest[d]))) ++d;
    if (d >= 8 && d <= 10 && d < rest.size() && rest[d] == ':') {
      const size_t n = RunOf(s, at + d + 1, "_-");
      if (n >= 35) return d + 1 + n;
    }
  }
  // An AWS secret access key alone: 40 of [A-Za-z0-9/+], mixed as random
  // base64 is (a git hash is hex; a path changes class seldom).
  if (runStart) {
    size_t n = 0;
    while (n < rest.size() && n <= 40 && base64(rest[n])) ++n;
    if (n == 40 && (rest.size() == 40 || (rest[40] != '=' && rest[40] != '_' && rest[40] != '-'))) {
      bool hexOnly = true, upper = false, lower = false, digit = false;
      int changes = 0, last = -1;
      for (size_t k = 0; k < 40; ++k) {
        const unsigned char c = rest[k];
        hexOnly = hexOnly && std::isxdigit(c);
        const int cls = std::isupper(c) ? 0 : std::islower(c) ? 1 : std::isdigit(c) ? 2 : 3;
        upper |= cls == 0, lower |= cls == 1, digit |= cls == 2;
        changes += last >= 0 && cls != last;
        last = cls;
      }
      if (!hexOnly && upper && lower && digit && changes >= 12 && rest[0] != '/' && rest[39] != '/') return 40;
    }
  }
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
  ArgRedactor(const ValuePseudonym& p, KindCounts& counts) : p_(p), counts_(counts) {}

  // Replaces s[from, from+len) and counts it under `kind`; returns the
  // replacement's length.
  // Each replacement moves the text after it: a hostile argument of a
  // million short secrets would cost a million moves of a megabyte. Past a
  // budget of bytes moved, the rest of the text becomes one pseudonym
  // (more redacted, never less) and later replacements are no-ops.
  size_t replace(std::string& s, size_t from, size_t len, const char* kind) {
    if (len == 0) return 0;
    if (IsPseudonym(std::string_view(s).substr(from, len))) return len;
    if (spend(s.size() - from)) len = s.size() - from;
    const std::string pseudonym = p_(std::string_view(s).substr(from, len), kind);
    s.replace(from, len, pseudonym);
    ++counts_[kind];
    return pseudonym.size();
  }

  // Counts `bytes` of work against the budget; true once it is spent.
  bool spend(size_t bytes) {
    moved_ += bytes;
    return moved_ > kWorkBudget;
  }
  bool saturated() const { return moved_ > kWorkBudget; }

  // Replaces a word's value, keeping the quotes and brackets around it
  // ('x', "x"}, x;): {"secret": "x"} and 'IDENTIFIED BY 'x';' keep their shape.
  void replaceValue(std::string& w, const char* kind) {
    const size_t b = std::min(w.find_first_not_of("\"'(["), w.size());
    const size_t e = w.find_last_not_of("\"')}],;");
    if (e != std::string::npos && e >= b) replace(w, b, e + 1 - b, kind);
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
      // The key: back to a list's separator or a space, at most kKeyLength
      // (a bounded look, so that a megabyte of pairs costs one pass).
      const size_t lo = std::max(start, eq > kKeyLength ? eq - kKeyLength : size_t(0));
      const std::string_view before(a.data() + lo, eq - lo);
      const size_t d = before.find_last_of(",&;? ");
      const size_t keyStart = d == std::string_view::npos ? lo : lo + d + 1;
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

  // user:password@ (or a long TOKEN@) after every "scheme://"; the
  // password may hold '/' (ftp://u:pa/ss@host/).
  bool urlPasswords(std::string& a) {
    bool any = false;
    for (size_t scheme = a.find("://"); scheme != std::string::npos; scheme = a.find("://", scheme + 3)) {
      const size_t start = scheme + 3;
      // User info is short: looked for in a bounded window after "://".
      const std::string_view win(a.data() + start, std::min(a.size() - start, kUserInfoLength));
      const size_t slash = win.find('/') == std::string_view::npos ? std::string::npos : start + win.find('/');
      const size_t endRel = win.find_first_of("?# \t");
      size_t at = win.substr(0, endRel).rfind('@');
      if (at == std::string_view::npos) continue;
      at += start;
      size_t colon = win.find(':') == std::string_view::npos ? std::string::npos : start + win.find(':');
      if (slash < at && !(colon < slash)) {  // a '@' in the path, not user info
        const size_t before = win.substr(0, slash - start).rfind('@');
        if (before == std::string_view::npos) continue;
        at = start + before;
      }
      if (colon == std::string::npos || colon > at) {
        // https://TOKEN@host: a user part that long is a token, not a name
        if (at - start < 16) continue;
        colon = start - 1;
      }
      replace(a, colon + 1, at - colon - 1, "url-password");
      any = true;
      scheme = colon + 1;
    }
    return any;
  }

  // User info without a scheme: Go's user:pass@tcp(host:3306)/db, a proxy's
  // user:pass@host:port, Oracle's user/pass@db (sqlldr userid=, JDBC
  // thin). The token starts the word or follows '=', ':' (jdbc:oracle:thin:)
  // or a quote.
  bool userInfo(std::string& a) {
    bool any = false;
    for (size_t at = a.find('@'); at != std::string::npos && at > 0; at = a.find('@', at + 1)) {
      size_t begin = at;
      while (begin > 0 && at - begin < kUserInfoLength &&
             std::string_view("= '\"(,;").find(a[begin - 1]) == std::string_view::npos)
        --begin;
      std::string_view token(a.data() + begin, at - begin);
      if (token.find("://") != std::string_view::npos || token.starts_with("R-")) continue;
      // jdbc:oracle:thin:scott/tiger: the user info is after the last ':' before a '/'
      size_t slash = token.find('/');
      size_t colon = token.find(':');
      if (slash != std::string_view::npos && (colon == std::string_view::npos || colon < slash)) {
        const size_t lastColon = token.rfind(':', slash);
        const size_t user = lastColon == std::string_view::npos ? 0 : lastColon + 1;
        const std::string_view name = token.substr(user, slash - user);
        if (!name.empty() && slash + 1 < token.size() && token.find('/', slash + 1) == std::string_view::npos &&
            std::all_of(name.begin(), name.end(), [](char c) { return AlnumOr(c, "_$#."); })) {
          at = begin + slash + 1 + replace(a, begin + slash + 1, token.size() - slash - 1, "url-password");
          any = true;
        }
        continue;
      }
      if (colon == std::string_view::npos || colon == 0 || colon + 1 >= token.size()) continue;
      const std::string_view name = token.substr(0, colon);
      if (!std::all_of(name.begin(), name.end(), [](char c) { return AlnumOr(c, "._%+-"); })) continue;
      at = begin + colon + 1 + replace(a, begin + colon + 1, token.size() - colon - 1, "url-password");
      any = true;
    }
    return any;
  }

  // SQL in an argument (mysql -e, psql -c): IDENTIFIED [WITH plugin] BY
  // 'x', [WITH] PASSWORD 'x', PASSWORD('x'), SET PASSWORD = 'x'. Quoted
  // values keep their quotes; every word of one is replaced as one.
  bool sql(std::string& a) {
    std::string l = Lower(a);
    if (l.find("identified") == std::string::npos && l.find("password") == std::string::npos) return false;
    bool any = false;
    auto wordAt = [&](size_t at, std::string_view w) {
      return l.compare(at, w.size(), w) == 0 && (at == 0 || !AlnumOr(l[at - 1], "_")) &&
             (at + w.size() >= l.size() || !AlnumOr(l[at + w.size()], "_"));
    };
    for (size_t i = 0; i < a.size(); ++i) {
      size_t v = std::string::npos;
      if (wordAt(i, "identified")) {
        for (size_t k = i + 10; k < a.size() && k < i + 80; ++k)  // [WITH plugin] BY
          if (wordAt(k, "by")) {
            v = k + 2;
            break;
          }
        if (v == std::string::npos) continue;
        while (v < a.size() && a[v] == ' ') ++v;
        if (wordAt(v, "password")) v += 8;  // IDENTIFIED BY PASSWORD '*hash'
      } else if (wordAt(i, "password")) {
        v = i + 8;
        while (v < a.size() && (a[v] == ' ' || a[v] == '=' || a[v] == '(')) ++v;
        if (v >= a.size() || (a[v] != '\'' && a[v] != '"')) continue;  // "password" as a plain word
      } else {
        continue;
      }
      while (v < a.size() && a[v] == ' ') ++v;
      if (v >= a.size()) break;
      size_t end;
      if (a[v] == '\'' || a[v] == '"') {
        end = a.find(a[v], v + 1);
        if (end == std::string::npos) end = a.size();
        ++v;
      } else {
        end = a.find_first_of(" ;)", v);
        if (end == std::string::npos) end = a.size();
      }
      if (end > v) {
        i = v + replace(a, v, end - v, "argument");
        if (saturated()) break;
        spend(a.size());
        l = Lower(a);
        any = true;
      }
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
  // anything was replaced. `depth` bounds the shells within shells.
  bool words(std::vector<std::string>& w, std::string_view first, int depth = 0) {
    bool any = false;
    const bool outerChpasswd = chpasswd_;
    chpasswd_ = std::find(w.begin(), w.end(), "chpasswd") != w.end();
    std::string program(first);
    size_t programAt = 0;  // where `program` stands in w
    for (size_t i = 0; i < w.size(); ++i) {
      std::string& a = w[i];
      // A known program anywhere in the command (behind sudo, timeout, env,
      // nice, xargs, or inside sh -c "... && mysqldump -pX"): its rules
      // apply from there on.
      if (i > 0 && !a.empty() && a[0] != '-') {
        const std::string base = a.substr(a.rfind('/') == std::string::npos ? 0 : a.rfind('/') + 1);
        bool known = false;
        for (const ProgramFlag& f : kProgramFlags) known = known || KnownProgram(base, f.program);
        for (const char* p : kPositionalPrograms) known = known || base == p;
        if (known && base != program) program = base, programAt = i;  // not a file named like it (/etc/htpasswd)
      }
      if (header(a)) {
        any = true;
        continue;
      }
      any |= urlPasswords(a);
      any |= userInfo(a);
      any |= json(a);
      any |= sql(a);
      any |= tokenShapes(a);
      const size_t eq = a.find('=');
      if (eq != std::string::npos && pairs(a)) {
        any = true;
        continue;
      }
      if (positional(w, i, program, programAt)) {
        any = true;
        continue;
      }
      // "password: x" among the words of one argument (YAML, a header's words)
      if (a.size() > 1 && a.back() == ':' && LooksSecret(std::string_view(a).substr(0, a.size() - 1)) &&
          i + 1 < w.size()) {
        size_t v = i + 1;
        for (const char* scheme : {"Bearer", "Basic", "Token", "Digest", "bearer", "basic", "token", "digest"})
          if (w[v] == scheme && v + 1 < w.size()) ++v;
        replaceValue(w[v], "header");
        i = v;
        any = true;
        continue;
      }
      // --password x, -secret x: the value is the next word (openssl's
      // pass:x keeps its "pass:"; file:, env:, fd: and stdin name no secret)
      if (a.size() > 1 && a[0] == '-' && eq == std::string::npos && LooksSecret(a) && i + 1 < w.size() &&
          !w[i + 1].starts_with("--")) {
        std::string& v = w[++i];
        if (v.starts_with("pass:")) replace(v, 5, v.size() - 5, "argument");
        else if (!(v.starts_with("file:") || v.starts_with("env:") || v.starts_with("fd:") || v == "stdin"))
          replaceValue(v, "argument");
        any = true;
        continue;
      }
      for (const ProgramFlag& f : kProgramFlags) {
        if (!KnownProgram(program, f.program)) continue;
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
    // A quoted group of words (sh -c "... sh -c 'mysql -pX'"): its words too.
    if (depth < 4)
      for (auto& a : w) {
        if (a.find(' ') == std::string::npos || a.size() < 2) continue;
        const size_t b = a.find_first_of("'\"");
        if (b == std::string::npos) continue;
        const size_t e = a.rfind(a[b]);
        if (e <= b + 1) continue;
        auto inner = SplitWords(a.substr(b + 1, e - b - 1));
        if (words(inner, ProgramOf(inner[0]), depth + 1)) {
          a = a.substr(0, b + 1) + Join(inner, ' ') + a.substr(e);
          any = true;
        }
      }
    chpasswd_ = outerChpasswd;
    return any;
  }

  // Secrets that stand as plain words of a known program, at w[i].
  bool positional(std::vector<std::string>& w, size_t& i, const std::string& program, size_t programAt) {
    const std::string& a = w[i];
    const std::string l = Lower(a);
    auto next = [&](size_t k) {  // the next word that is not a flag, from k (a few flags at most)
      for (int flags = 0; k < w.size() && w[k].starts_with("-") && flags < 8; ++flags) ++k;
      return k;
    };
    if (i == programAt || a.empty()) return false;
    if (program == "htpasswd" && a[0] != '-') {  // -b FILE USER X, -nb USER X
      std::string flags;
      size_t plain = 0;
      if (i - programAt > 16) return false;  // htpasswd takes a handful of words
      for (size_t k = programAt + 1; k <= i; ++k)
        if (w[k].starts_with("-")) flags += w[k];
        else ++plain;
      const size_t passwordAt = flags.find('n') != std::string::npos ? 2 : 3;
      if (flags.find('b') != std::string::npos && plain == passwordAt) {
        replaceValue(w[i], "argument");
        return true;
      }
      return false;
    }
    if (program == "smbclient" && a.starts_with("//")) {  // smbclient //h/s X -U u
      if (i + 1 < w.size() && !w[i + 1].starts_with("-")) {
        replaceValue(w[++i], "argument");
        return true;
      }
      return false;
    }
    if (program == "rabbitmqctl" && (l == "add_user" || l == "change_password" || l == "authenticate_user")) {
      const size_t user = next(i + 1), password = next(user + 1);
      if (password < w.size()) {
        replaceValue(w[password], "argument");
        i = password;
        return true;
      }
      return false;
    }
    if (program == "vault" && l == "login") {  // vault login TOKEN
      const size_t token = next(i + 1);
      if (token < w.size() && w[token].find('=') == std::string::npos) {
        replaceValue(w[token], "argument");
        i = token;
        return true;
      }
      return false;
    }
    if (program == "redis-cli" && l == "auth" && i + 1 < w.size()) {  // AUTH [user] X: the last word
      size_t last = i + 1;
      if (i + 2 < w.size() && !w[i + 2].starts_with("-")) last = i + 2;
      replaceValue(w[last], "argument");
      i = last;
      return true;
    }
    if (program == "nmcli" && a[0] != '-' && LooksSecret(a) && i + 1 < w.size()) {  // password X, wifi-sec.psk X
      replaceValue(w[++i], "argument");
      return true;
    }
    // SET KEY VALUE with a secret-looking KEY (aws configure set
    // aws_secret_access_key X, redis CONFIG SET requirepass X, npm config set).
    if (l == "set" && i + 2 < w.size() && LooksSecret(w[i + 1]) && !w[i + 1].starts_with("-")) {
      replaceValue(w[i + 2], "argument");
      i += 2;
      return true;
    }
    // echo "u:X" | chpasswd, chpasswd <<< 'u:X'
    if (program == "chpasswd" || chpasswd_) {
      const size_t b = std::min(a.find_first_not_of("\"'"), a.size());
      const size_t colon = a.find(':', b);
      if (colon != std::string::npos && colon > b && a.find_first_of("/=", b) == std::string::npos &&
          std::all_of(a.begin() + b, a.begin() + colon, [](char c) { return AlnumOr(c, "._-"); })) {
        std::string value = a.substr(colon + 1);
        if (value.find_first_not_of("\"'") != std::string::npos) {
          std::string& target = w[i];
          const std::string keep = target.substr(0, colon + 1);
          std::string rest = target.substr(colon + 1);
          replaceValue(rest, "argument");
          target = keep + rest;
          return true;
        }
      }
    }
    // sqlplus user/password[@db]
    if (program.starts_with("sqlplus") && a[0] != '-') {
      const size_t slash = a.find('/'), at = a.find('@');
      if (slash != std::string::npos && slash > 0 && (at == std::string::npos || at > slash + 1)) {
        replace(w[i], slash + 1, (at == std::string::npos ? a.size() : at) - slash - 1, "argument");
        return true;
      }
    }
    return false;
  }

 private:
  static constexpr size_t kWorkBudget = 64u << 20;
  static constexpr size_t kKeyLength = 256, kUserInfoLength = 1024;
  const ValuePseudonym& p_;
  KindCounts& counts_;
  size_t moved_ = 0;
  bool chpasswd_ = false;  // the words being searched name chpasswd
};

}  // namespace

std::string RedactEnviron(std::string_view environ, const ValuePseudonym& pseudonym, KindCounts& counts) {
  auto parts = Split(environ, '\0');
  for (auto& p : parts) {
    size_t eq = p.find('=');
    if (eq == std::string::npos) {  // not KEY=VALUE: all of it may be a value
      if (!p.empty()) p = pseudonym(p, "environment"), ++counts["environment"];
      continue;
    }
    if (eq + 1 == p.size()) continue;
    p = p.substr(0, eq + 1) + pseudonym(std::string_view(p).substr(eq + 1), "environment");
    ++counts["environment"];
  }
  return Join(parts, '\0');
}

std::string RedactCmdline(std::string_view cmdline, const ValuePseudonym& pseudonym, KindCounts& counts) {
  if (cmdline.empty()) return std::string();
  auto argv = Split(cmdline, '\0');
  ArgRedactor r(pseudonym, counts);
  const std::string program = ProgramOf(argv[0]);
  r.words(argv, program);
  // An argument of several words (setproctitle, sh -c "..."): word by word.
  for (auto& a : argv) {
    if (a.find(' ') == std::string::npos) continue;
    auto w = SplitWords(a);
    if (r.words(w, ProgramOf(w[0]).empty() ? program : ProgramOf(w[0]))) a = Join(w, ' ');
  }
  return Join(argv, '\0');
}

std::string RedactMountTable(std::string_view table, const ValuePseudonym& pseudonym, KindCounts& counts) {
  auto lines = Split(table, '\n');
  ArgRedactor r(pseudonym, counts);
  for (auto& line : lines) {
    if (line.find('@') == std::string::npos && line.find('=') == std::string::npos) continue;
    auto fields = Split(line, ' ');
    bool any = false;
    for (auto& f : fields) {
      any |= r.urlPasswords(f);
      any |= r.userInfo(f);
      any |= r.pairs(f);
    }
    if (any) line = Join(fields, ' ');
  }
  return Join(lines, '\n');
}

}  // namespace procsnap
