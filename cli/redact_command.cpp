// procsnap redact: a copy of an archive or recording with secrets replaced
// by keyed pseudonyms, that still replays.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "exit_codes.h"
#include "redact/redact.h"
#include "view/view.h"

namespace procsnap {

namespace {

struct RedactArgs {
  std::string in, out, at, keyFile;
  RedactOptions options;
  bool json = false, quiet = false;
};

int Run(RedactArgs& a) {
  if (!a.keyFile.empty()) {
    auto key = ReadKeyFile(a.keyFile);
    if (!key.ok()) return Fail(key.status());
    a.options.key = std::move(*key);
  }
  std::optional<size_t> at;
  if (!a.at.empty()) {
    auto reader = ArchiveReader::Open(a.in);
    if (!reader.ok()) return Fail(reader.status());
    auto i = FindSnapshot(**reader, a.at);
    if (!i.ok()) return Fail(i.status());
    at = *i;
  }
  const bool tty = ::isatty(2) && !a.quiet && !a.json;
  auto progress = [&](size_t done, size_t total) {
    if (tty) std::fprintf(stderr, "\rredacting: %zu/%zu snapshots", done, total);
  };
  auto r = RedactArchive(a.in, a.out, a.options, at, progress);
  if (tty) std::fprintf(stderr, "\n");
  if (!r.ok()) return Fail(r.status());
  uint64_t total = 0;
  for (const auto& [kind, n] : r->replaced) total += n;
  if (a.json) {
    nlohmann::json kinds = nlohmann::json::object();
    for (const auto& [kind, n] : r->replaced) kinds[kind] = n;
    std::cout << JsonText({{"input", a.in}, {"output", a.out}, {"snapshots", r->snapshots}, {"replaced", kinds},
                           {"replaced_total", total}})
              << "\n";
  } else if (!a.quiet) {
    std::string kinds;
    for (const auto& [kind, n] : r->replaced) {
      if (!kinds.empty()) kinds += ", ";
      kinds.append(kind).append(" ").append(std::to_string(n));
    }
    std::fprintf(stderr, "%s: %zu snapshot(s) redacted, %llu values replaced (%s)\n", a.out.c_str(), r->snapshots,
                 static_cast<unsigned long long>(total), kinds.empty() ? "none" : kinds.c_str());
  }
  return kExitOk;
}

}  // namespace

void SetupRedact(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<RedactArgs>();
  sub.add_option("IN", a->in, "archive or recording to redact (never changed)")->required();
  sub.add_option("OUT", a->out, "new archive (a new directory for a recording); must not exist")->required();
  sub.add_option("--at", a->at, "only this snapshot (index, or time as for other commands), into an archive");
  sub.add_option("--key-file", a->keyFile,
                 "pseudonym key, at least 16 bytes: reports redacted with one key give one secret one pseudonym, "
                 "so they correlate with no mapping file (default: a random key, kept nowhere)");
  sub.add_flag("--keep-hostname", a->options.keepHostname, "leave the host name and domain");
  sub.add_flag("--keep-ips", a->options.keepIps, "leave the machine's IP addresses");
  sub.add_flag("--json", a->json, "print what was replaced as one JSON document");
  sub.add_flag("-q,--quiet", a->quiet, "print nothing on success");
  sub.footer(
      "Replaced by keyed pseudonyms (HMAC-SHA-256), the same secret getting the same pseudonym in every file\n"
      "and snapshot: every environment value (names stay); values of secret-looking arguments (--password,\n"
      "--token, --secret, --key and their =forms, KEY=VALUE with such a key, user:password@ in URLs,\n"
      "Authorization and other secret headers, \"secret\": \"x\" in JSON, mysql -pX, sshpass -p X, redis-cli -a X,\n"
      "ldapsearch -w X, curl -u user:X, smbclient -U user%X), and such a value wherever else it occurs; the host\n"
      "name and domain everywhere (kernel.hostname, arguments, environments, the metadata); the machine's own\n"
      "IP addresses in every form /proc writes them (dotted and colon text, the hex of net/tcp, udp, route,\n"
      "if_inet6, ipv6_route); the kernel's tcp_fastopen_key and stable_secret. Pseudonyms keep their shape:\n"
      "an IPv4 address becomes one in 198.18.0.0/15, an IPv6 one in 2001:db8::/32, a host name host-<hex>,\n"
      "a number a number, a key hex of its length. Each snapshot's metadata counts\n"
      "what was replaced, per kind (procsnap info). Bytes kept of deleted executables are left out.\n"
      "Not replaced: other machines' addresses (peers, neighbours), MAC addresses, user names and uids.\n"
      "Exit status: 0 done, 2 trouble (nothing is left at OUT).");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
