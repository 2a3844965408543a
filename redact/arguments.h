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

using ValuePseudonym = std::function<std::string(std::string_view)>;
using KindCounts = std::map<std::string, uint64_t>;

// Every KEY=VALUE's VALUE (counted as "environment").
std::string RedactEnviron(std::string_view environ, const ValuePseudonym& pseudonym, KindCounts& counts);

// Values of --password=x, --token x, -Dx.secret=y, KEY=VALUE with a secret-
// looking KEY, user:password@ in URLs, Authorization and other secret
// headers, "secret": "x" in JSON, and known programs' short flags (mysql
// -pX, sshpass -p X, redis-cli -a X, ldapsearch -w X, curl -u user:X,
// smbclient -U user%X...). Arguments holding spaces (setproctitle, sh -c)
// are searched word by word too. `found` gets each replaced original.
std::string RedactCmdline(std::string_view cmdline, const ValuePseudonym& pseudonym, KindCounts& counts,
                          std::vector<std::string>* found);

}  // namespace procsnap
