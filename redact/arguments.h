// Redaction of process arguments and environments (cmdline, environ: NUL-
// separated lists): every environment value, and the values of arguments
// that look secret, are replaced by a pseudonym; names and structure stay.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace procsnap {

// The pseudonym of one value, and the kind of place it was found in
// ("environment", "argument", "url-password", "header").
using ValuePseudonym = std::function<std::string(std::string_view value, const char* kind)>;
using KindCounts = std::map<std::string, uint64_t>;

// Whether a name (of an option, a variable, a header) says its value is
// secret: password, pass, pwd, pw, secret, token, key, auth, credential,
// private, cookie, session, signature, sig, psk.
bool LooksSecret(std::string_view key);

// Every KEY=VALUE's VALUE (counted as "environment").
std::string RedactEnviron(std::string_view environ, const ValuePseudonym& pseudonym, KindCounts& counts);

// Values of --password=x, --token x, -Dx.secret=y, KEY=VALUE with a secret-
// looking KEY (also inside an option's value), user info of URLs and DSNs
// (u:p@host, u:p@tcp(h), u/p@db), Authorization and other secret headers,
// "secret": "x" in JSON, SQL's IDENTIFIED BY 'x' and PASSWORD 'x', token
// shapes (JWT, cloud, chat and webhook keys), known programs' flags and
// positional secrets (mysql -pX, sshpass -p X, htpasswd -b F U X,
// rabbitmqctl add_user U X, vault login X, SET KEY X...) wherever the
// program stands. Arguments holding spaces (setproctitle, sh -c) are
// searched word by word, a quoted group as one value.
std::string RedactCmdline(std::string_view cmdline, const ValuePseudonym& pseudonym, KindCounts& counts);

// A mount table (mountinfo, mounts, mountstats): user:password@ in sources
// (ftp://u:p@h/ of curlftpfs) and secret-looking options (password=x).
std::string RedactMountTable(std::string_view table, const ValuePseudonym& pseudonym, KindCounts& counts);

}  // namespace procsnap
