// procsnap findings against real planted processes: a program deleted after
// it started (listening, from /tmp), one running from a memfd, and a mount
// over /proc/PID in a private mount namespace.
#define BOOST_TEST_MODULE findings
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"


using testutil::Run;
using testutil::Sha256Sum;
using testutil::TempDir;

namespace {

const std::string kBin = PROCSNAP_BIN;

const std::vector<std::string> kPath = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};

std::vector<nlohmann::json> Of(const nlohmann::json& doc, const std::string& kind, long pid) {
  std::vector<nlohmann::json> out;
  for (const auto& f : doc["findings"])
    if (f["kind"] == kind && (pid < 0 || (f["pid"].is_number() && f["pid"].get<long>() == pid))) out.push_back(f);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(findings)

BOOST_AUTO_TEST_CASE(planted_deleted_memfd_and_overmount_processes_are_reported) {
  if (geteuid() != 0) {
    BOOST_TEST_MESSAGE("SKIPPED: needs root for a private mount namespace");
    return;
  }
  TempDir dir;
  // 1. A copy of child_helper in /tmp, listening, deleted once started.
  const std::string copy = dir / "helper";
  std::filesystem::copy_file(CHILD_HELPER, copy);
  std::filesystem::permissions(copy, std::filesystem::perms::owner_all);
  testutil::Child deleted({copy}, {"PROCSNAP_TEST=findings"});
  std::filesystem::remove(copy);
  // 2. sleep run from a memfd.
  testutil::Spawned memfd({"/usr/bin/python3", "-c",
                 "import os, sys\n"
                 "fd = os.memfd_create('procsnap-test')\n"
                 "os.write(fd, open('/bin/sleep', 'rb').read())\n"
                 "print('ready', flush=True)\n"
                 "os.execv('/proc/self/fd/%d' % fd, ['sleep', '600'])\n"},
                         kPath);
  BOOST_REQUIRE(memfd.line() == "ready");
  // 3. A mount over /proc/PID, seen only in a private mount namespace.
  const std::string empty = dir / "empty";
  std::filesystem::create_directory(empty);
  testutil::Spawned hidden({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                            "mount --bind " + empty + " /proc/$$ && echo ready $$ && exec sleep 600"},
                           kPath);
  BOOST_REQUIRE_MESSAGE(hidden.line().rfind("ready ", 0) == 0, hidden.line());
  const std::string hiddenPid = hidden.line().substr(6);
  // The memfd child has exec'd once its exe link names the memfd.
  const std::string memfdExe = "/proc/" + std::to_string(memfd.pid()) + "/exe";
  for (int i = 0; i < 5000 && testutil::ReadLink(memfdExe).find("memfd:") == std::string::npos; ++i) usleep(1000);

  const std::string archive = dir / "a.psnap";
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "-o", archive}).exitCode == 0);
  auto r = Run({kBin, "findings", "--json", archive});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 1, r.err);  // findings: exit 1
  auto doc = nlohmann::json::parse(r.out);

  const std::string helperSha = Sha256Sum(CHILD_HELPER), sleepSha = Sha256Sum("/bin/sleep");
  auto del = Of(doc, "deleted-executable", deleted.pid());
  BOOST_REQUIRE_EQUAL(del.size(), 1u);
  BOOST_TEST(del[0]["evidence"]["exe"] == copy + " (deleted)");
  BOOST_TEST(del[0]["evidence"]["sha256"] == helperSha);
  BOOST_TEST(del[0]["process"] == "helper");
  auto listener = Of(doc, "suspicious-listener", deleted.pid());
  BOOST_REQUIRE_EQUAL(listener.size(), 1u);
  BOOST_TEST(listener[0]["evidence"]["sha256"] == helperSha);

  auto mem = Of(doc, "memory-executable", memfd.pid());
  BOOST_REQUIRE_EQUAL(mem.size(), 1u);
  BOOST_TEST(mem[0]["evidence"]["exe"].get<std::string>().find("memfd:procsnap-test") != std::string::npos);
  BOOST_TEST(mem[0]["evidence"]["sha256"] == sleepSha);

  bool over = false;
  for (const auto& f : Of(doc, "proc-overmount", std::stol(hiddenPid)))
    over = over || (f["evidence"]["mount point"] == "/proc/" + hiddenPid && f["evidence"]["sha256"] == sleepSha);
  BOOST_TEST(over, r.out);

  // The memfd copy of sleep and the hidden process's /usr/bin/sleep: one hash, two names.
  bool twoNames = false;
  for (const auto& f : Of(doc, "same-executable-two-names", -1))
    twoNames = twoNames || (f["evidence"]["sha256"] == sleepSha && f["evidence"].size() >= 3);
  BOOST_TEST(twoNames, r.out);

  // The deleted and the memory-only programs' bytes were kept: extracted, they are the originals.
  for (const auto& [sha, name] : {std::pair(helperSha, "helper.out"), std::pair(sleepSha, "sleep.out")}) {
    const std::string out = dir / name;
    auto x = Run({kBin, "executables", archive, "--extract", sha, "-o", out});
    BOOST_TEST_REQUIRE(x.exitCode == 0, x.err);
    BOOST_TEST(Sha256Sum(out) == sha);
    BOOST_TEST(((std::filesystem::status(out).permissions() & std::filesystem::perms::owner_exec) ==
                std::filesystem::perms::none));
  }
  // A program still on disk is hashed, not kept; asking for its bytes says so (exit 1).
  auto list = nlohmann::json::parse(Run({kBin, "executables", "--json", archive}).out);
  bool sleepOnDisk = false;
  for (const auto& e : list["executables"])
    if (e["path"] == "/usr/bin/sleep") sleepOnDisk = e["sha256"] == sleepSha && e["kept_bytes"] == 0;
  BOOST_TEST(sleepOnDisk, list.dump());
  BOOST_TEST(Run({kBin, "executables", archive, "--extract", std::string(64, '0')}).exitCode == 2);

  // Text output names the same, and a snapshot with none exits 0.
  auto text = Run({kBin, "findings", archive});
  BOOST_TEST(text.exitCode == 1);
  BOOST_TEST(text.out.find("deleted-executable: pid " + std::to_string(deleted.pid())) != std::string::npos, text.out);
  const std::string tree = dir / "tree", clean = dir / "clean.psnap";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", clean}).exitCode == 0);
  auto none = Run({kBin, "findings", "--json", clean});
  BOOST_TEST(none.exitCode == 0, none.err);
  BOOST_TEST(nlohmann::json::parse(none.out)["findings"].empty());
  BOOST_TEST(Run({kBin, "findings", dir / "missing.psnap"}).exitCode == 2);
}

// A process hidden from the capturer itself: a mount over its /proc/PID in
// the capturer's own mount namespace. Capture reads its program through a
// procfs mounted privately, so the finding names it with its hash.
BOOST_AUTO_TEST_CASE(a_process_hidden_from_the_capturer_is_named_with_its_hash) {
  if (geteuid() != 0) {
    BOOST_TEST_MESSAGE("SKIPPED: needs root for a private mount namespace");
    return;
  }
  TempDir dir;
  const std::string copy = dir / "quiet";
  std::filesystem::copy_file("/bin/sleep", copy);
  std::filesystem::permissions(copy, std::filesystem::perms::owner_all);
  testutil::Spawned sleeper({"/bin/sh", "-c", "echo ready; exec " + copy + " 600"}, kPath);
  BOOST_REQUIRE(sleeper.line() == "ready");
  const std::string pid = std::to_string(sleeper.pid());
  for (int i = 0; i < 5000 && testutil::ReadLink("/proc/" + pid + "/exe") != copy; ++i) usleep(1000);
  const std::string empty = dir / "empty", archive = dir / "h.psnap";
  std::filesystem::create_directory(empty);
  auto cap = Run({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                  "mount --bind " + empty + " /proc/" + pid + " && " + kBin + " capture -q -o " + archive});
  BOOST_REQUIRE_MESSAGE(cap.exitCode == 0, cap.err);
  auto doc = nlohmann::json::parse(Run({kBin, "findings", "--json", archive}).out);
  auto over = Of(doc, "proc-overmount", sleeper.pid());
  BOOST_REQUIRE_MESSAGE(!over.empty(), doc.dump());
  BOOST_TEST(over[0]["evidence"]["sha256"] == Sha256Sum("/bin/sleep"));
  BOOST_TEST(over[0]["evidence"]["exe"] == copy);
  BOOST_TEST(over[0]["process"] == "quiet");
  // What a reader of that /proc saw stays the recorded truth: the mount's empty directory.
  BOOST_TEST(Run({kBin, "ls", archive, pid}).out.empty());
}

BOOST_AUTO_TEST_SUITE_END()
