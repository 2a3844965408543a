// Redaction for the bugreport profile: environment values and secret-looking
// command-line values are replaced, names and structure kept.
#pragma once

#include <string>

namespace procsnap {

constexpr const char* kRedacted = "<redacted>";

// NUL-separated KEY=VALUE list; returns how many values were replaced.
unsigned RedactEnviron(std::string& environ);
// NUL-separated argv; replaces values of --password=x, --token x, user:pass@ in
// URLs and KEY=VALUE arguments whose key looks secret.
unsigned RedactCmdline(std::string& cmdline);

}  // namespace procsnap
