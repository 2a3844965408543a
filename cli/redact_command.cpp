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
  std::string in, out, at, keyFile, mapFile;
  RedactOptions options;
  bool json = false, quiet = false, newKey = false;
};

int Run(RedactArgs& a) {
  auto key = RedactionKeyFromOptions(a.keyFile, a.newKey);
  if (!key.ok()) return Fail(key.status());
  a.options.key = std::move(*key);
  a.options.map = !a.mapFile.empty();
  if (a.options.map && ::access(a.mapFile.c_str(), F_OK) == 0)
    return Fail(a.mapFile + ": exists; --map writes a new file");
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
  if (a.options.map) {
    Status written = WriteRedactMap(a.mapFile, r->map);
    if (!written.ok()) return Fail(written);
  }
  uint64_t total = 0;
  for (const auto& [kind, n] : r->replaced) total += n;
  if (a.json) {
    nlohmann::json kinds = nlohmann::json::object();
    for (const auto& [kind, n] : r->replaced) kinds[kind] = n;
    nlohmann::json j = {{"input", a.in}, {"output", a.out}, {"snapshots", r->snapshots}, {"replaced", kinds},
                        {"replaced_total", total}, {"key", RedactionKeyLabel(a.options.key)}};
    if (a.options.map) j["map"] = {{"file", a.mapFile}, {"entries", r->map.size()}};
    std::cout << JsonText(j) << "\n";
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
                 "so they correlate with no mapping file (default: this machine's key, below)");
  sub.add_flag("--new-key", a->newKey, "a random key kept nowhere: pseudonyms that match no other report");
  sub.add_option("--map", a->mapFile,
                 "also write FILE (mode 0600, never in the archive; must not exist): each original with its "
                 "pseudonym and kind, tab-separated, to review what goes");
  sub.add_flag("--keep-hostname", a->options.keepHostname, "leave the host name and domain");
  sub.add_flag("--keep-ips", a->options.keepIps, "leave the machine's IP addresses");
  sub.add_flag("--json", a->json, "print what was replaced as one JSON document");
  sub.add_flag("-q,--quiet", a->quiet, "print nothing on success");
  sub.footer(
      "Replaced by keyed pseudonyms (HMAC-SHA-256), the same secret getting the same pseudonym in every file\n"
      "and snapshot:\n"
      "  every environment value (names stay);\n"
      "  secret values of arguments: --password, --token, --secret, --key and their =forms, KEY=VALUE with\n"
      "    such a key (also inside an option: --env=DB_PASSWORD=x), user info of URLs and DSNs (u:p@host,\n"
      "    u:p@tcp(h), u/p@db, a password holding '/'), secret headers, \"secret\": \"x\" in JSON, SQL's\n"
      "    IDENTIFIED BY 'x' and PASSWORD 'x', token shapes (JWT, AWS, GitHub, GitLab, Slack, OpenAI, Vault,\n"
      "    Google, Stripe, Telegram, Slack/Discord/Teams webhooks, a private key's armour), Azure's sig=, and the\n"
      "    flags and positional secrets of known programs wherever they stand (behind sudo, env, timeout, in\n"
      "    sh -c): mysql -pX, sshpass -p X, redis-cli -a X / AUTH X / CONFIG SET requirepass X, ldapsearch -w X,\n"
      "    curl -u u:X, http -a u:X, smbclient -U u%X and //h/s X, htpasswd -b F U X, rabbitmqctl add_user U X,\n"
      "    nmcli password X, chpasswd's u:X, useradd -p X, openssl -k X / pass:X, gpg --passphrase 'X Y',\n"
      "    vault login X, aws configure set aws_secret_access_key X;\n"
      "  each such value wherever else it occurs: 6 characters or more anywhere, shorter or all-digit ones\n"
      "    as whole words in arguments and environments (so '1234' does not change inside other numbers),\n"
      "    1-2 characters only where found; token-shaped environment values in other processes' arguments;\n"
      "  user:password@ and password= of mount sources (mountinfo, mounts, mountstats);\n"
      "  the host name and domain everywhere, also as LVM writes it (db--primary7--vg) and with '_', the\n"
      "    domain learned from mount sources, arguments and socket paths, and its parent domains;\n"
      "  machine-id and boot_id (metadata, sys/kernel/random/boot_id, anywhere else): keyed ids of one shape;\n"
      "  the machine's addresses in every form: dotted, ip-10-1-2-3, IPv6 in any spelling, addr:port, the\n"
      "    hex of net/tcp, udp, route, if_inet6, ipv6_route; learned from fib_trie, if_inet6, route,\n"
      "    ipv6_route and the local addresses of sockets; with its subnets' network and broadcast\n"
      "    addresses, its IPv6 prefixes and every address of a local route (ip route add local);\n"
      "  the kernel's tcp_fastopen_key and stable_secret.\n"
      "Pseudonyms keep their shape: an IPv4 address becomes one in 198.18.0.0/15, an IPv6 one in\n"
      "2001:db8::/32, a host name host-<hex>, a number a number, a key hex of its length. Each snapshot's\n"
      "metadata counts what was replaced, per kind (procsnap info). Bytes kept of deleted executables\n"
      "are left out.\n"
      "Not replaced: other machines' addresses (peers, neighbours), MAC addresses, user names and uids,\n"
      "secrets of forms not listed (a bare password with no name or known program around it).\n"
      "Key: --key-file, else --new-key, else this machine's default key, made on first use:\n"
      "/var/lib/procsnap/redaction.key for root, $XDG_STATE_HOME/procsnap/redaction.key (~/.local/state)\n"
      "for others, $PROCSNAP_REDACTION_KEY if set. Reports of one machine then share pseudonyms.\n"
      "Exit status: 0 done, 2 trouble (nothing is left at OUT).");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
