// Redaction against secrets planted in real processes of a private network
// and UTS namespace: after the bugreport profile and after `procsnap
// redact`, not one planted secret remains in any file, name, link target or
// the metadata, in any encoding /proc uses; one secret has one pseudonym;
// ps, pgrep, netstat, sysctl and psutil work on the replay.
#define BOOST_TEST_MODULE redact
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "test_util.h"

using testutil::Run;
using testutil::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kBin = PROCSNAP_BIN;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Every planted secret (redact_plant.sh), in every form /proc writes it
// (lowercase; searched case-insensitively).
std::vector<std::string> Needles(bool ipv6, const std::string& bootId) {
  std::vector<std::string> n = {
      "planted-env-secret-11", "planted-pw-22", "planted-tok-33", "planted-url-44", "planted-bearer-55",
      "planted-json-66", "planted-mysql-77", "planted-sshpass-88", "planted-opt-99", "planted-jwt-sig-100",
      "akiaplanted000000001", "planted-hdr-111", "planted-tokenuser-222", "planted-shell-333", "planted-mnt-ftp-12",
      "planted-wrap-401", "planted-pair-402", "planted/slash-403", "planted-dsn-404", "planted-oracle-405",
      "planted-proxy-406", "planted-httpie-407", "planted-htpasswd-408", "planted-smb-409", "planted-rabbit-410",
      "planted-nmcli-411", "planted-redis-412", "planted-sql-413", "planted-sql-414", "planted-chpasswd-415",
      "planted-useradd-416", "planted-openssl-417", "planted-openssl-418", "planted-gpg-419", "planted-gpg-420",
      "planted-vault-421", "planted-aws-422", "plantedslack423", "planteddiscord424", "planted-azure-425",
      "bpxrficyplanted426", "plantedopenai427", "vb71mqp9xzk",
      "db-plant7", "db--plant7", "db_plant7", "corp-secret.example" /* the domain and its parent */,
      "feedfacecafebeef" /* machine-id */, bootId, bootId.substr(0, 8) + "-" + bootId.substr(8, 4),
      "10.77.0.5", "ip-10-77-0-5", "05004d0a" /* net/tcp: little-endian hex */, "10.98.3.4" /* a local route */,
      "10.77.0.255", "10.77.0.0" /* its subnet's broadcast and network */,
      "deadbee1", "deadbee4" /* tcp_fastopen_key */,
      "706c616e746564" /* "planted" in hex */};
  if (ipv6) {
    n.push_back("fd77:");     // any spelling: fd77::5, FD77::5, fd77:0000:0:0::0005, fd77::/64, stable_secret
    n.push_back("fd770000");  // if_inet6, ipv6_route (the address and its /64)
    n.push_back("000077fd");  // tcp6: four little-endian words
  }
  return n;
}

// Short and all-digit secrets: replaced as whole words in arguments and
// environments only (elsewhere they are ordinary numbers and text).
const std::vector<std::string> kWordNeedles = {"73915", "qz4x"};

// What of `needles` occurs in the export at `dir` (contents, names, link
// targets), as "path: needle"; `words` in cmdline and environ files only.
std::vector<std::string> Leaks(const std::string& dir, const std::vector<std::string>& needles,
                               const std::vector<std::string>& words = kWordNeedles) {
  std::vector<std::string> found;
  auto check = [&](const std::string& where, const std::string& text, bool args) {
    const std::string l = Lower(text);
    for (const auto& n : needles)
      if (l.find(n) != std::string::npos) found.push_back(where + ": " + n);
    if (args)
      for (const auto& n : words)
        if (l.find(n) != std::string::npos) found.push_back(where + ": " + n);
  };
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path p = it->path();
    const bool args = p.filename() == "cmdline" || p.filename() == "environ";
    check(p.string() + " (name)", p.filename().string(), false);
    if (it->is_symlink()) check(p.string() + " (link)", fs::read_symlink(p).string(), false);
    else if (it->is_regular_file()) check(p.string(), testutil::ReadFile(p.string()), args);
  }
  return found;
}

std::string Field(const std::string& text, const std::string& re) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(re)) ? m.str(1) : "";
}

}  // namespace

// The machine's default redaction key of these tests lives in a temporary
// folder, never in /var/lib/procsnap.
struct DefaultKeyInTemp {
  TempDir dir;
  DefaultKeyInTemp() { ::setenv("PROCSNAP_REDACTION_KEY", (dir / "redaction.key").c_str(), 1); }
};
BOOST_TEST_GLOBAL_FIXTURE(DefaultKeyInTemp);

BOOST_AUTO_TEST_SUITE(redact)

BOOST_AUTO_TEST_CASE(planted_secrets_are_gone_and_the_replay_still_works) {
  if (geteuid() != 0 || !testutil::CanMount()) {
    BOOST_TEST_MESSAGE("SKIPPED: needs root (new network and UTS namespaces) and /dev/fuse");
    return;
  }
  TempDir dir;
  const std::string key = dir / "key";
  testutil::WriteFile(key, "0123456789abcdef0123456789abcdef");
  auto planted = Run({"/usr/bin/unshare", "-n", "-u", "-m", "-p", "--fork", "--mount-proc", "/bin/sh", REDACT_PLANT,
                      dir.path, kBin, key});
  BOOST_REQUIRE_MESSAGE(planted.exitCode == 0 && planted.out.find("done") != std::string::npos,
                        planted.out + planted.err);
  const bool ipv6 = testutil::ReadFile(dir / "ipv6").rfind("yes", 0) == 0;
  std::string bootId;
  for (char c : testutil::ReadFile("/proc/sys/kernel/random/boot_id"))
    if (std::isxdigit(static_cast<unsigned char>(c))) bootId.push_back(static_cast<char>(std::tolower(c)));
  const auto needles = Needles(ipv6, bootId);
  const std::string bug = dir / "bug.psnap", full = dir / "full.psnap", red = dir / "red.psnap";

  // The full capture holds them all: the search finds what it looks for.
  const std::string fullOut = dir / "full-export";
  BOOST_REQUIRE(Run({kBin, "export", full, fullOut}).exitCode <= 1);
  auto fullLeaks = Leaks(fullOut, needles);
  for (const auto& n : kWordNeedles) fullLeaks.push_back("-: " + n);  // checked below, where they are
  for (const auto& n : needles) {
    if (n == "706c616e746564") continue;  // hex of a secret: no file holds one
    if (n == "feedfacecafebeef") {        // the machine-id is in the metadata
      BOOST_TEST(Run({kBin, "info", "--json", full}).out.find(n) != std::string::npos);
      continue;
    }
    bool seen = false;
    for (const auto& l : fullLeaks) seen = seen || l.ends_with(": " + n);
    BOOST_TEST(seen, "the unredacted capture shows " << n);
  }

  const std::string mapFile = dir / "map.tsv";
  auto r = Run({kBin, "redact", "--key-file", key, "--json", "--map", mapFile, full, red});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  auto summary = nlohmann::json::parse(r.out);
  // The map: private, outside the archive, each original with its pseudonym and kind.
  BOOST_TEST(((fs::status(mapFile).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write)));
  const std::string map = testutil::ReadFile(mapFile);
  BOOST_TEST(map.find("argument\tPlanted-Pw-22\tR-") != std::string::npos, map.substr(0, 2000));
  BOOST_TEST(map.find("ipv4\t10.77.0.5\t198.1") != std::string::npos);
  BOOST_TEST(map.find("hostname\tdb-plant7\thost-") != std::string::npos);
  BOOST_TEST(summary["map"]["entries"].get<int>() > 20);
  BOOST_TEST(Run({kBin, "redact", "--key-file", key, "--map", mapFile, full, dir / "again.psnap"}).exitCode == 2);
  BOOST_TEST(summary["replaced"]["environment"].get<int>() > 0);
  BOOST_TEST(summary["replaced"]["ipv4"].get<int>() > 0);
  BOOST_TEST(summary["replaced"]["hostname"].get<int>() > 0);
  BOOST_TEST(Run({kBin, "verify", full}).exitCode == 0);  // IN untouched and sound

  for (const std::string& archive : {bug, red}) {
    BOOST_TEST_CONTEXT(archive) {
      const std::string out = archive + ".export";
      BOOST_REQUIRE(Run({kBin, "export", archive, out}).exitCode <= 1);
      auto leaks = Leaks(out, needles);
      BOOST_TEST(leaks.empty(), [&] {
        std::string s;
        for (size_t i = 0; i < leaks.size() && i < 20; ++i) s += leaks[i] + "\n";
        return s;
      }());
      auto info = Run({kBin, "info", "--json", archive});
      BOOST_REQUIRE(info.exitCode == 0);
      for (const auto& n : needles) BOOST_TEST(Lower(info.out).find(n) == std::string::npos, "info --json shows " << n);
      auto meta = nlohmann::json::parse(info.out)["snapshots"][0];
      BOOST_TEST(meta["counts"]["redactions"].get<int>() > 0);
      BOOST_TEST(meta["redactions_by_kind"]["argument"].get<int>() >= 10);
      for (const char* kind : {"environment", "url-password", "hostname", "domain", "ipv4", "machine-id"})
        BOOST_TEST(meta["redactions_by_kind"][kind].get<int>() > 0, kind);
      BOOST_TEST(meta["machine_id"].get<std::string>().size() == 32u);
      BOOST_TEST(meta["boot_id"].get<std::string>().size() == 36u);
      // Link targets as ls -l shows them on the replay.
      auto ls = Run({kBin, "run", archive, "--", "/bin/sh", "-c",
                     "ls -l /proc/[0-9]*/fd/ /proc/[0-9]*/cwd /proc/[0-9]*/exe /proc/[0-9]*/root 2>/dev/null"});
      BOOST_TEST(ls.out.find(" -> ") != std::string::npos, ls.out + ls.err);
      for (const auto& n : needles) BOOST_TEST(Lower(ls.out).find(n) == std::string::npos, "ls -l shows " << n);
      BOOST_TEST(meta["hostname"].get<std::string>().rfind("host-", 0) == 0);

      // The replay: ps shows pseudonyms where the secrets were.
      auto ps = Run({kBin, "run", archive, "--", "/usr/bin/ps", "-eo", "pid=,args="});
      BOOST_REQUIRE_MESSAGE(ps.exitCode == 0, ps.err);
      const std::string pw = Field(ps.out, "--password=(\\S+)");
      BOOST_TEST(pw.rfind("R-", 0) == 0, ps.out);
      BOOST_TEST(Field(ps.out, "mysql .*-p(R-\\S+)") != "", ps.out);
      BOOST_TEST(ps.out.find("IDENTIFIED BY 'R-") != std::string::npos, ps.out);
      BOOST_TEST(ps.out.find("Authorization: Bearer R-") != std::string::npos, ps.out);
      // One secret, one pseudonym: the password given as an argument and as
      // another process's environment value.
      auto env = Run({kBin, "run", archive, "--", "/bin/sh", "-c",
                      "for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null; done"});
      BOOST_TEST(env.out.find("OTHER=" + pw + "\n") != std::string::npos, env.out);
      BOOST_TEST(env.out.find("DB_PASSWORD=R-") != std::string::npos);
      BOOST_TEST(env.out.find("HOSTNAME=" + meta["hostname"].get<std::string>().substr(0, 15)) != std::string::npos,
                 env.out);
      // netstat lists the listener at the pseudonym the address has in fib_trie.
      auto netstat = Run({kBin, "run", archive, "--", "/usr/bin/netstat", "-tlnp"});
      BOOST_REQUIRE_MESSAGE(netstat.exitCode == 0, netstat.err);
      const std::string addr = Field(netstat.out, "(198\\.1[89]\\.\\d+\\.\\d+):4567");
      BOOST_TEST(!addr.empty(), netstat.out);
      auto fib = Run({kBin, "cat", archive, "net/fib_trie"});
      BOOST_TEST(fib.out.find("|-- " + addr + "\n") != std::string::npos, fib.out);
      if (ipv6) BOOST_TEST(Field(netstat.out, "(2001:db8:[0-9a-f:]+):4568") != "", netstat.out);
      auto sysctl = Run({kBin, "run", archive, "--", "/usr/sbin/sysctl", "-n", "kernel.hostname"});
      BOOST_TEST(sysctl.out == meta["hostname"].get<std::string>() + "\n");
      BOOST_TEST(Run({kBin, "run", archive, "--", "/usr/sbin/sysctl", "-a"}).exitCode == 0);
      BOOST_TEST(Run({kBin, "run", archive, "--", "/usr/bin/pgrep", "-f", "sshpass"}).exitCode == 0);
      auto psutil = Run({kBin, "run", archive, "--", "/usr/bin/python3", "-c",
                         "import psutil\n"
                         "print(sum(1 for p in psutil.process_iter(['cmdline', 'environ']) if p.info['cmdline']))\n"
                         "print(len(psutil.net_connections()))"});
      BOOST_TEST(psutil.exitCode == 0, psutil.err);
    }
  }
  // Two runs with one key file agree: the bugreport capture and the redact
  // of the full one give the password the same pseudonym.
  auto psBug = Run({kBin, "run", bug, "--", "/usr/bin/ps", "-eo", "args="});
  auto psRed = Run({kBin, "run", red, "--", "/usr/bin/ps", "-eo", "args="});
  BOOST_TEST(Field(psBug.out, "--password=(\\S+)") == Field(psRed.out, "--password=(\\S+)"));
  BOOST_TEST(Field(psBug.out, "--token (\\S+)") != Field(psBug.out, "--password=(\\S+)"));
  // The input stays; the output is refused when it exists; a short key is refused.
  BOOST_TEST(Run({kBin, "redact", full, red}).exitCode == 2);
  testutil::WriteFile(dir / "short", "abc");
  auto shortKey = Run({kBin, "redact", "--key-file", dir / "short", full, dir / "x.psnap"});
  BOOST_TEST(shortKey.exitCode == 2);
  BOOST_TEST(shortKey.err.find("at least 16 bytes") != std::string::npos, shortKey.err);
}

// A recording gives a recording: the same segments, every snapshot
// redacted, with one pseudonym for one secret across snapshots.
BOOST_AUTO_TEST_CASE(a_recording_is_redacted_into_a_recording) {
  TempDir dir;
  const std::string tree = dir / "tree", rec = dir / "rec", out = dir / "out";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  static const char environ[] = "TOKEN=Planted-Rec-1\0HOME=/root\0", cmdline[] = "db\0--secret\0Planted-Rec-2\0";
  testutil::WriteFile(tree + "/42/environ", std::string(environ, sizeof environ - 1));
  testutil::WriteFile(tree + "/42/cmdline", std::string(cmdline, sizeof cmdline - 1));
  auto r = Run({kBin, "record", "--root", tree, "-o", rec, "--interval", "50ms", "--count", "3", "-q"});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  BOOST_REQUIRE(Run({kBin, "redact", "-q", rec, out}).exitCode == 0);
  BOOST_TEST(fs::is_directory(out));
  size_t segments = 0;
  for (const auto& e : fs::directory_iterator(out)) segments += e.path().extension() == ".psnap";
  BOOST_TEST(segments >= 1u);
  auto info = nlohmann::json::parse(Run({kBin, "info", "--json", "--all", out}).out);
  BOOST_TEST(info["snapshots"].size() == 3u);
  std::set<std::string> pseudonyms;
  for (const char* at : {"0", "1", "2"}) {
    auto env = Run({kBin, "cat", "--at", at, out, "42/environ"}).out;
    auto cmd = Run({kBin, "cat", "--at", at, out, "42/cmdline"}).out;
    BOOST_TEST(env.find("Planted-Rec") == std::string::npos);
    BOOST_TEST(cmd.find("Planted-Rec") == std::string::npos);
    BOOST_TEST(Run({kBin, "cat", "--at", at, out, "sys/kernel/hostname"}).out.find("fake-host") == std::string::npos);
    pseudonyms.insert(cmd.substr(cmd.rfind("--secret") + 9));
  }
  BOOST_TEST(pseudonyms.size() == 1u);
  BOOST_TEST(Run({kBin, "verify", out}).exitCode == 0);
  // One snapshot of it, into an archive.
  BOOST_REQUIRE(Run({kBin, "redact", "-q", "--at", "1", rec, dir / "one.psnap"}).exitCode == 0);
  BOOST_TEST(nlohmann::json::parse(Run({kBin, "info", "--json", dir / "one.psnap"}).out)["snapshots"].size() == 1u);
  // record takes no bugreport profile: it says what to do instead.
  auto refused = Run({kBin, "record", "--root", tree, "-o", dir / "rec2", "--profile", "bugreport", "--count", "1"});
  BOOST_TEST(refused.exitCode == 2);
  BOOST_TEST(refused.err.find("procsnap redact") != std::string::npos, refused.err);
}

// A bug report never takes an unredacted snapshot, nor one redacted with
// another key (issue 20): --append checks the archive's newest snapshot.
BOOST_AUTO_TEST_CASE(an_append_never_mixes_redacted_and_unredacted_snapshots) {
  TempDir dir;
  const std::string tree = dir / "tree", report = dir / "report.psnap", key = dir / "key", other = dir / "other";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  static const char cmdline[] = "db\0--password=Planted-Append-1\0";
  testutil::WriteFile(tree + "/42/cmdline", std::string(cmdline, sizeof cmdline - 1));
  testutil::WriteFile(key, "a key of sixteen bytes or more\n");
  testutil::WriteFile(other, "another key, also long enough\n");
  auto base = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {kBin, "capture", "-q", "--root", tree, "-o", report};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Run(argv);
  };
  BOOST_REQUIRE(base({"--profile", "bugreport", "--key-file", key}).exitCode == 0);
  auto full = base({"--append"});
  BOOST_TEST(full.exitCode == 2);
  BOOST_TEST(full.err.find("part redacted, part not") != std::string::npos, full.err);
  auto random = base({"--append", "--profile", "bugreport"});
  BOOST_TEST(random.exitCode == 2);
  BOOST_TEST(random.err.find("key") != std::string::npos, random.err);
  BOOST_TEST(base({"--append", "--profile", "bugreport", "--key-file", other}).exitCode == 2);
  auto same = base({"--append", "--profile", "bugreport", "--key-file", key});
  BOOST_TEST(same.exitCode == 0, same.err);
  auto info = nlohmann::json::parse(Run({kBin, "info", "--json", "--all", report}).out);
  BOOST_TEST(info["snapshots"].size() == 2u);
  BOOST_TEST(Run({kBin, "cat", "--at", "0", report, "42/cmdline"}).out.find("Planted-Append") == std::string::npos);
  BOOST_TEST(Run({kBin, "cat", "--at", "1", report, "42/cmdline"}).out.find("Planted-Append") == std::string::npos);
  // redact labels what it redacted: a full capture becomes a bugreport one.
  const std::string plain = dir / "plain.psnap", red = dir / "red.psnap";
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", plain}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "redact", "-q", "--key-file", key, plain, red}).exitCode == 0);
  auto redInfo = nlohmann::json::parse(Run({kBin, "info", "--json", red}).out);
  BOOST_TEST(redInfo["snapshots"][0]["profile"] == "bugreport", redInfo["snapshots"][0].dump());
}

// Arguments of a megabyte (a PEM key, a JWT) are scanned in one pass with
// bounded stack (std::regex recursed per character and died at 30 KB), and
// a JSON value in a shell string keeps its quotes and braces.
BOOST_AUTO_TEST_CASE(megabyte_arguments_are_redacted_without_a_crash_and_json_keeps_its_shape) {
  TempDir dir;
  const std::string tree = dir / "tree", plain = dir / "plain.psnap", red = dir / "red.psnap";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  std::string pem = "-----BEGIN RSA PRIVATE KEY-----\n";
  while (pem.size() < (1u << 20)) pem += "MIIEowIBAAKCAQEAPlantedPemBody0123456789abcdefghij\n";
  pem += "-----END RSA PRIVATE KEY-----";
  std::string jwt = "eyJhbGciOiJIUzI1NiJ9.";
  while (jwt.size() < (1u << 20)) jwt += "PlantedJwtBodyABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  jwt += ".SignatureOfThePlantedJwt";
  const std::string json = R"(echo {"secret": "Planted-Json-Value"} > /tmp/x)";
  // Hostile shapes that cost a move of the whole text per secret, or a
  // look back over all of it per separator, unless bounded.
  std::string users, pairs, words, schemes;
  while (users.size() < (1u << 20)) users += "u:Planted-Many@h,";
  while (pairs.size() < (1u << 20)) pairs += "password=PlantedPair&";
  while (words.size() < (1u << 20)) words += "htpasswd -b f u PlantedWord rabbitmqctl add_user u PlantedWord echo chpasswd ";
  while (schemes.size() < (1u << 20)) schemes += "a://b";
  std::string cmdline = std::string("tool") + '\0' + pem + '\0' + jwt + '\0' + "sh" + '\0' + "-c" + '\0' + json + '\0' +
                        users + '\0' + pairs + '\0' + words + '\0' + schemes + '\0';
  testutil::WriteFile(tree + "/42/cmdline", cmdline);
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", plain}).exitCode == 0);
  auto r = Run({kBin, "redact", "-q", plain, red});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, "exit " << r.exitCode << " signal " << r.signal << ": " << r.err);
  const std::string out = Run({kBin, "cat", red, "42/cmdline"}).out;
  BOOST_TEST(out.find("PlantedPemBody") == std::string::npos);
  BOOST_TEST(out.find("PlantedJwtBody") == std::string::npos);
  BOOST_TEST(out.find("Planted-Json-Value") == std::string::npos);
  for (const char* planted : {"Planted-Many", "PlantedPair", "PlantedWord"})
    BOOST_TEST(out.find(planted) == std::string::npos, planted);
  BOOST_TEST(out.find(R"({"secret": "R-)") != std::string::npos, out.substr(out.size() > 200 ? out.size() - 200 : 0));
  BOOST_TEST(out.find(R"("} > /tmp/x)") != std::string::npos, out.substr(out.size() > 200 ? out.size() - 200 : 0));
  BOOST_TEST(out.find(R"({"secret": "R-)") != std::string::npos);
}

// The cmdline of pid 42 of a fake tree holding `forms` (each a list of
// words, joined by "then"), after capture and redact (random key).
std::string RedactedCmdline(const std::vector<std::vector<std::string>>& forms) {
  TempDir dir;
  const std::string tree = dir / "tree", plain = dir / "plain.psnap", red = dir / "red.psnap";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  std::string cmdline;
  for (const auto& f : forms) {
    for (const auto& w : f) cmdline += w + '\0';
    cmdline += "then" + std::string(1, '\0');
  }
  testutil::WriteFile(tree + "/42/cmdline", cmdline);
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", plain}).exitCode == 0);
  auto r = Run({kBin, "redact", "-q", "--new-key", plain, red});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  return Run({kBin, "cat", red, "42/cmdline"}).out;
}

// Forms real servers carry (issue 20): a known program behind a wrapper or
// inside sh -c, KEY=VALUE after an option's =, token shapes.
BOOST_AUTO_TEST_CASE(programs_behind_wrappers_and_pairs_inside_options_are_redacted) {
  const std::string out = RedactedCmdline({
      {"sh", "-c", "cd /srv && mysqldump -uroot -pKq3Wrapped1 db > dump.sql"},
      {"timeout", "300", "mysqldump", "-pKq3Wrapped2"},
      {"sudo", "sshpass", "-p", "Kq3Wrapped3", "ssh", "host"},
      {"kubectl", "create", "secret", "generic", "x", "--from-literal=password=Kq3Wrapped4"},
      {"docker", "run", "--env=DB_PASSWORD=Kq3Wrapped5", "img"},
      {"app", "sk-proj-Kq3Wrapped6abcdefghijklmnop"},
      {"app", "glpat-Kq3Wrapped7abcdefghijk"},
      {"vault", "login", "hvs.Kq3Wrapped8abcdefghijklmn"},
  });
  for (int k = 1; k <= 8; ++k)
    BOOST_TEST(out.find("Kq3Wrapped" + std::to_string(k)) == std::string::npos, k << ": " << out);
  BOOST_TEST(out.find("--from-literal=password=R-") != std::string::npos, out);
  BOOST_TEST(out.find("mysqldump -uroot -pR-") != std::string::npos, out);
}

// User info of URLs and DSNs, positional and SQL secrets of well-known
// programs, webhook and bare token shapes (issue 20, items 3-5); what is
// around them stays.
BOOST_AUTO_TEST_CASE(dsns_positional_sql_and_webhook_secrets_are_redacted) {
  const std::vector<std::vector<std::string>> forms = {
      {"lftp", "ftp://bob:Zr8/Slash1@files.example/x"},
      {"app", "--dsn", "root:Zr8Dsn2@tcp(db:3306)/app"},
      {"sqlldr", "userid=scott/Zr8Oracle3@orcl", "control=x.ctl"},
      {"java", "-jar", "x.jar", "jdbc:oracle:thin:scott/Zr8Jdbc4@db:1521:orcl"},
      {"app", "--proxy", "alice:Zr8Proxy5@proxy.example:3128"},
      {"http", "-a", "bob:Zr8Httpie6", "https://api.example/"},
      {"htpasswd", "-b", "/etc/htpasswd", "bob", "Zr8Htpasswd7"},
      {"smbclient", "//fs/share", "Zr8Smb8", "-U", "bob"},
      {"rabbitmqctl", "add_user", "bob", "Zr8Rabbit9"},
      {"nmcli", "dev", "wifi", "connect", "home", "password", "Zr8Nmcli10"},
      {"redis-cli", "CONFIG", "SET", "requirepass", "Zr8Redis11"},
      {"mysql", "-e", "CREATE USER 'u'@'%' IDENTIFIED BY 'Zr8Sql12';"},
      {"psql", "-c", "ALTER ROLE u WITH PASSWORD 'Zr8Sql13'"},
      {"sh", "-c", "echo \"bob:Zr8Chpasswd14\" | chpasswd"},
      {"useradd", "-p", "$6$Zr8Useradd15$abc", "bob"},
      {"openssl", "enc", "-k", "Zr8Openssl16", "-in", "x"},
      {"openssl", "rsa", "-passin", "pass:Zr8Openssl17"},
      {"sh", "-c", "gpg --batch --passphrase 'Zr8Gpg18 two words' -c file"},
      {"vault", "login", "Zr8Vault19"},
      {"aws", "configure", "set", "aws_secret_access_key", "Zr8Aws20"},
      {"curl", "https://hooks.slack.com/services/T000/B000/Zr8Slack21"},
      {"curl", "https://discord.com/api/webhooks/123/Zr8Discord22"},
      {"curl", "https://api.telegram.org/bot123456789:Zr8Telegram23abcdefghijklmnopqrstuvw/sendMessage"},
      {"azcopy", "https://acct.blob.core.windows.net/c?sv=2020&sig=Zr8Azure24"},
      {"app", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYZr8Aws5KEY"},
      {"mysql", "-e", "SET PASSWORD FOR u = PASSWORD('Zr8Sql26')"},
  };
  const std::string out = RedactedCmdline(forms);
  BOOST_TEST(out.find("Zr8") == std::string::npos, out);
  // Structure stays: the names, the hosts, the quotes.
  for (const char* kept : {"ftp://bob:R-", "@files.example/x", "root:R-", "@tcp(db:3306)/app", "userid=scott/R-",
                           "@orcl", "thin:scott/R-", "alice:R-", "bob:R-", "/etc/htpasswd\0bob\0R-", "//fs/share\0R-",
                           "add_user\0bob\0R-", "IDENTIFIED BY 'R-", "';", "PASSWORD 'R-", "\"bob:R-", "pass:R-",
                           "--passphrase 'R-", "' -c file", "/services/R-", "/webhooks/R-", "/bot", "/sendMessage",
                           "&sig=R-"})
    BOOST_TEST(out.find(kept) != std::string::npos, "kept " << kept << " in " << out);
  // Not secrets: a git hash, a path, a version.
  const std::string plain = RedactedCmdline({{"git", "checkout", "0123456789abcdef0123456789abcdef01234567"},
                                             {"ls", "/usr/lib/x86_64-linux-gnu/libQt5Core.so.5"},
                                             {"ssh", "git@github.com:org/repo.git"},
                                             {"npm", "install", "@scope/pkg@1.2.3"}});
  for (const char* kept : {"0123456789abcdef0123456789abcdef01234567", "/usr/lib/x86_64-linux-gnu/libQt5Core.so.5",
                           "git@github.com:org/repo.git", "@scope/pkg@1.2.3"})
    BOOST_TEST(plain.find(kept) != std::string::npos, "changed " << kept << " in " << plain);
}

// Without --key-file, this machine's default key (made once, private):
// two bug reports agree, so diff shows changes rather than pseudonym
// churn; --new-key gives a one-off random key (issue 20, item 13).
BOOST_AUTO_TEST_CASE(the_default_key_gives_two_reports_one_pseudonym) {
  TempDir dir;
  const std::string tree = dir / "tree", keyPath = dir / "state/procsnap/redaction.key";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  static const char cmdline[] = "db\0--password=Planted-Default-1\0";
  testutil::WriteFile(tree + "/42/cmdline", std::string(cmdline, sizeof cmdline - 1));
  auto capture = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> argv = {"/usr/bin/env", "PROCSNAP_REDACTION_KEY=" + keyPath, kBin, "capture", "-q",
                                     "--root", tree, "--profile", "bugreport", "-o", out};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = Run(argv);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    return Run({kBin, "cat", out, "42/cmdline"}).out;
  };
  const std::string one = capture(dir / "one.psnap", {}), two = capture(dir / "two.psnap", {});
  BOOST_TEST(one.find("Planted-Default") == std::string::npos);
  BOOST_TEST(one == two);
  BOOST_TEST(fs::file_size(keyPath) == 32u);
  BOOST_TEST(((fs::status(keyPath).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write)));
  BOOST_TEST(((fs::status(dir / "state/procsnap").permissions() & fs::perms::all) == fs::perms::owner_all));
  const std::string other = capture(dir / "three.psnap", {"--new-key"});
  BOOST_TEST(other != one);
  auto info = nlohmann::json::parse(Run({kBin, "info", "--json", dir / "three.psnap"}).out);
  BOOST_TEST(info["snapshots"][0].dump().find("key random") != std::string::npos);
  // A key others may read is refused, with what to do.
  fs::permissions(keyPath, fs::perms::group_read, fs::perm_options::add);
  auto refused = Run({"/usr/bin/env", "PROCSNAP_REDACTION_KEY=" + keyPath, kBin, "redact", dir / "one.psnap",
                      dir / "x.psnap"});
  BOOST_TEST(refused.exitCode == 2);
  BOOST_TEST(refused.err.find("chmod 600") != std::string::npos, refused.err);
}

// The machine's addresses are learned from every file that names them, not
// only fib_trie (which --max-file-size may cut): a socket's local address,
// a directly connected route's network and broadcast.
BOOST_AUTO_TEST_CASE(addresses_are_learned_without_fib_trie) {
  TempDir dir;
  const std::string tree = dir / "tree", plain = dir / "plain.psnap", red = dir / "red.psnap";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  fs::create_directories(tree + "/net");
  testutil::WriteFile(tree + "/net/tcp",
                      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                      "   0: 0742000A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n");
  testutil::WriteFile(tree + "/net/route",
                      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                      "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
  static const char cmdline[] = "app\0--listen=10.0.66.7:22\0--peer=10.0.66.8\0--net=192.168.0.0/24\0--bcast=192.168.0.255\0";
  testutil::WriteFile(tree + "/42/cmdline", std::string(cmdline, sizeof cmdline - 1));
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", plain}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "redact", "-q", "--new-key", plain, red}).exitCode == 0);
  const std::string out = Run({kBin, "cat", red, "42/cmdline"}).out, tcp = Run({kBin, "cat", red, "net/tcp"}).out;
  BOOST_TEST(out.find("10.0.66.7") == std::string::npos, out);
  BOOST_TEST(out.find("--peer=10.0.66.8") != std::string::npos, "another machine's address stays: " << out);
  BOOST_TEST(out.find("192.168.0.0") == std::string::npos, out);
  BOOST_TEST(out.find("192.168.0.255") == std::string::npos, out);
  BOOST_TEST(tcp.find("0742000A") == std::string::npos, tcp);
  BOOST_TEST(tcp.find(":0016 00000000:0000 0A") != std::string::npos, tcp);
}

BOOST_AUTO_TEST_SUITE_END()
