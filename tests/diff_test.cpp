// Diff: changes planted on the live machine between two captures are each
// reported once, in the right section, with the right values; synthetic
// trees cover pid reuse and other machines.
#define BOOST_TEST_MODULE diff
#include <boost/test/unit_test.hpp>

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "diff/diff.h"
#include "test_util.h"

using namespace procsnap;
using testutil::Run;
using testutil::TempDir;

namespace {

std::string Capture(const TempDir& dir, const std::string& name, const std::vector<std::string>& extra = {}) {
  std::string out = dir / name;
  std::vector<std::string> argv = {PROCSNAP_BIN, "capture", "-q", "-o", out};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = Run(argv);
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  return out;
}

DiffResult DiffOf(const std::string& a, const std::string& b, DiffOptions opts = {}) {
  auto va = View::Open(a), vb = View::Open(b);
  BOOST_REQUIRE(va.ok() && vb.ok());
  auto d = Diff(*va, *vb, opts);
  BOOST_REQUIRE_MESSAGE(d.ok(), d.status().message());
  return *d;
}

// The changes whose subject contains `needle`.
std::vector<Change> About(const DiffResult& d, const std::string& needle) {
  std::vector<Change> out;
  for (auto& c : d.changes)
    if (c.subject.find(needle) != std::string::npos) out.push_back(c);
  return out;
}

std::string Live(const std::string& path) { return testutil::ReadFile(path); }

bool Grown(pid_t pid) {
  return Live("/proc/" + std::to_string(pid) + "/status").find("Threads:\t5\n") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diff)

BOOST_AUTO_TEST_CASE(a_snapshot_compared_with_itself_is_empty) {
  TempDir dir;
  std::string a = Capture(dir, "a.psnap");
  auto r = Run({PROCSNAP_BIN, "diff", a, a});
  BOOST_TEST(r.exitCode == 0, r.err);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(DiffOf(a, a).changes.empty());
}

BOOST_AUTO_TEST_CASE(planted_changes_are_reported_once_in_their_section) {
  if (geteuid() != 0) {
    std::printf("SKIPPED: not root (the test writes vm.swappiness)\n");
    return;
  }
  TempDir dir;
  const std::vector<std::string> env = {"LANG=C"};
  auto control = std::make_unique<testutil::Child>(std::vector<std::string>{CHILD_HELPER, "--no-listen"}, env);
  auto exiting = std::make_unique<testutil::Child>(std::vector<std::string>{CHILD_HELPER, "--no-listen"}, env);
  auto growing =
      std::make_unique<testutil::Child>(std::vector<std::string>{CHILD_HELPER, "--threads", "2", "--grow"}, env);
  std::string a = Capture(dir, "a.psnap");

  std::string swappiness = "/proc/sys/vm/swappiness";
  std::string old = Live(swappiness);
  while (!old.empty() && old.back() == '\n') old.pop_back();
  std::string planted = old == "37" ? "38" : "37";
  testutil::WriteFile(swappiness, planted + "\n");
  auto started =
      std::make_unique<testutil::Child>(std::vector<std::string>{CHILD_HELPER, "--unix", "new child"}, env);
  pid_t exitedPid = exiting->pid();
  exiting.reset();
  pid_t g = growing->pid();
  kill(g, SIGCONT);
  kill(g, SIGUSR1);
  for (int i = 0; i < 10000 && !Grown(g); ++i) usleep(1000);  // polled, bounded
  BOOST_REQUIRE_MESSAGE(Grown(g), Live("/proc/" + std::to_string(g) + "/status"));
  kill(g, SIGSTOP);
  int status;
  waitpid(g, &status, WUNTRACED);
  struct rlimit files = {512, 4096};
  BOOST_REQUIRE(prlimit(g, RLIMIT_NOFILE, &files, nullptr) == 0);
  std::string mountPoint = dir / "planted-mount";
  mkdir(mountPoint.c_str(), 0755);
  BOOST_REQUIRE(mount("procsnap-test", mountPoint.c_str(), "tmpfs", 0, "size=1m") == 0);
  std::string b = Capture(dir, "b.psnap");
  umount(mountPoint.c_str());
  testutil::WriteFile(swappiness, old + "\n");

  DiffResult d = DiffOf(a, b);
  auto sw = About(d, "vm.swappiness");
  BOOST_REQUIRE_EQUAL(sw.size(), 1u);
  BOOST_TEST((sw[0].section == Section::Sysctls));
  BOOST_TEST(sw[0].before == old);
  BOOST_TEST(sw[0].after == planted);

  std::string s = "pid " + std::to_string(started->pid()) + " ";
  auto st = About(d, s);
  BOOST_REQUIRE_EQUAL(st.size(), 1u);
  BOOST_TEST((st[0].section == Section::Processes));
  BOOST_TEST((st[0].kind == ChangeKind::Started));
  BOOST_TEST(st[0].detail.find("new child") != std::string::npos);

  auto ex = About(d, "pid " + std::to_string(exitedPid) + " ");
  BOOST_REQUIRE_EQUAL(ex.size(), 1u);
  BOOST_TEST((ex[0].kind == ChangeKind::Exited));

  auto listener = About(d, "tcp 127.0.0.1:" + std::to_string(started->port()) + " (listening)");
  BOOST_REQUIRE_EQUAL(listener.size(), 1u);
  BOOST_TEST((listener[0].section == Section::Sockets));
  BOOST_TEST((listener[0].kind == ChangeKind::Opened));
  BOOST_TEST(listener[0].detail.find("pid " + std::to_string(started->pid())) != std::string::npos);

  auto unixListener = About(d, "unix @procsnap-test-" + std::to_string(started->pid()) + " (listening)");
  BOOST_REQUIRE_EQUAL(unixListener.size(), 1u);
  BOOST_TEST(unixListener[0].detail.find("pid " + std::to_string(started->pid())) != std::string::npos);

  std::string gp = "pid " + std::to_string(g) + " ";
  auto mapped = About(d, gp + "(child_helper) /etc/hostname");
  BOOST_REQUIRE_EQUAL(mapped.size(), 1u);
  BOOST_TEST((mapped[0].kind == ChangeKind::Mapped));
  auto threads = About(d, gp + "(child_helper) threads");
  BOOST_REQUIRE_EQUAL(threads.size(), 1u);
  BOOST_TEST(threads[0].before == "2");
  BOOST_TEST(threads[0].after == "5");
  BOOST_TEST(About(d, gp + "(child_helper) rss").size() == 1u);

  auto limit = About(d, gp + "(child_helper) limit Max open files");
  BOOST_REQUIRE_EQUAL(limit.size(), 1u);
  BOOST_TEST(limit[0].after == "512 4096 files");
  auto mounted = About(d, "mount " + mountPoint + " (tmpfs)");
  BOOST_REQUIRE_EQUAL(mounted.size(), 1u);
  BOOST_TEST((mounted[0].section == Section::System));
  BOOST_TEST((mounted[0].kind == ChangeKind::Added));

  // The control child was stopped the whole time: nothing about it.
  BOOST_TEST(About(d, "pid " + std::to_string(control->pid()) + " ").empty());

  // The command line agrees and says "different".
  auto cli = Run({PROCSNAP_BIN, "diff", "--only", "sysctls", a, b});
  BOOST_TEST(cli.exitCode == 1);
  BOOST_TEST(cli.out.find("vm.swappiness: " + old + " -> " + planted) != std::string::npos, cli.out);
  auto raw = Run({PROCSNAP_BIN, "diff", "--raw", "sys/vm/swappiness", a, b});
  BOOST_TEST(raw.exitCode == 1);
  BOOST_TEST(raw.out.find("-" + old + "\n+" + planted + "\n") != std::string::npos, raw.out);
  auto json = Run({PROCSNAP_BIN, "diff", "--json", "--only", "sysctls", a, b});
  BOOST_TEST(json.out.find("\"subject\": \"vm.swappiness\"") != std::string::npos, json.out);
}

BOOST_AUTO_TEST_CASE(a_reused_pid_is_an_exit_and_a_start) {
  TempDir dir;
  std::string t1 = dir / "t1", t2 = dir / "t2";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", t1, "1", "42"}).exitCode == 0);
  BOOST_REQUIRE(Run({"/usr/bin/env", "START=900", "/bin/sh", SAMPLES "/make_fake_proc.sh", t2, "1", "42"}).exitCode ==
                0);
  // pid 1 keeps its start time in both; only 42 is new.
  testutil::WriteFile(t2 + "/1/stat", testutil::ReadFile(t1 + "/1/stat"));
  std::string a = Capture(dir, "a.psnap", {"--root", t1}), b = Capture(dir, "b.psnap", {"--root", t2});
  DiffResult d = DiffOf(a, b);
  auto p42 = About(d, "pid 42 ");
  BOOST_REQUIRE_EQUAL(p42.size(), 2u);
  BOOST_TEST((p42[0].kind == ChangeKind::Exited));
  BOOST_TEST((p42[1].kind == ChangeKind::Started));
  BOOST_TEST(About(d, "pid 1 ").empty());
}

BOOST_AUTO_TEST_CASE(other_machines_pair_processes_by_command_line) {
  TempDir dir;
  std::string t1 = dir / "t1", t2 = dir / "t2";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", t1, "100", "200"}).exitCode == 0);
  BOOST_REQUIRE(Run({"/usr/bin/env", "BOOT_ID=11111111-2222-4333-8444-555555555555", "KERNEL=6.9.0-other",
                     "/bin/sh", SAMPLES "/make_fake_proc.sh", t2, "300", "400"})
                    .exitCode == 0);
  // The same programs under other pids: fake100 runs as 300 elsewhere.
  for (auto [from, to] : {std::pair{"100", "300"}, std::pair{"200", "400"}})
    testutil::WriteFile(t2 + "/" + to + "/cmdline", testutil::ReadFile(t1 + "/" + from + "/cmdline"));
  std::string a = Capture(dir, "a.psnap", {"--root", t1}), b = Capture(dir, "b.psnap", {"--root", t2});
  DiffResult d = DiffOf(a, b);
  BOOST_TEST(About(d, "kernel release").size() == 1u);
  BOOST_TEST(About(d, "boot id").size() == 1u);
  for (auto& c : d.changes) BOOST_TEST((c.kind != ChangeKind::Started), c.subject);
  for (auto& c : d.changes) BOOST_TEST((c.kind != ChangeKind::Exited), c.subject);
}

BOOST_AUTO_TEST_CASE(changed_files_are_named_unless_only_numbers_moved) {
  TempDir dir;
  std::string t1 = dir / "t1", t2 = dir / "t2";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", t1, "1"}).exitCode == 0);
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", t2, "1"}).exitCode == 0);
  testutil::WriteFile(t1 + "/filesystems", "nodev\tsysfs\n");
  testutil::WriteFile(t2 + "/filesystems", "nodev\tsysfs\nnodev\tfuse\n");
  testutil::WriteFile(t1 + "/interrupts", "  0:        120   IO-APIC timer\n");
  testutil::WriteFile(t2 + "/interrupts", "  0:       9120   IO-APIC timer\n");
  testutil::WriteFile(t2 + "/cmdline", "root=/dev/vda2 quiet\n");  // the system section's, not a file change
  std::string a = Capture(dir, "a.psnap", {"--root", t1}), b = Capture(dir, "b.psnap", {"--root", t2});
  DiffResult d = DiffOf(a, b);
  auto fs = About(d, "filesystems");
  BOOST_REQUIRE_EQUAL(fs.size(), 1u);
  BOOST_TEST((fs[0].kind == ChangeKind::Changed));
  BOOST_TEST(About(d, "interrupts").empty());
  BOOST_TEST(About(DiffOf(a, b, {true, {}}), "interrupts").size() == 1u);  // --all shows counters
  BOOST_TEST(About(d, "cmdline").empty());
  auto cmd = About(d, "kernel command line");
  BOOST_REQUIRE_EQUAL(cmd.size(), 1u);
  BOOST_TEST(cmd[0].after == "root=/dev/vda2 quiet");
}

BOOST_AUTO_TEST_CASE(damaged_archives_end_in_an_error_never_a_signal) {
  TempDir dir;
  std::string t = dir / "t";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", t, "1", "42"}).exitCode == 0);
  std::string good = Capture(dir, "good.psnap", {"--root", t});
  std::string bytes = testutil::ReadFile(good);
  std::string bad = dir / "bad.psnap";
  for (size_t i = 0; i < 150; ++i) {
    std::string copy = bytes;
    size_t at = (i * 7919) % copy.size();
    copy[at] = char(copy[at] ^ 0x5a);
    testutil::WriteFile(bad, copy);
    auto r = Run({PROCSNAP_BIN, "diff", good, bad});
    BOOST_TEST_INFO("flipped byte " << at);
    BOOST_TEST(r.signal == 0);
    BOOST_TEST((r.exitCode == 0 || r.exitCode == 1 || r.exitCode == 2));
    if (r.exitCode == 2) BOOST_TEST(!r.err.empty());
  }
}

BOOST_AUTO_TEST_CASE(a_chunk_that_cannot_be_read_is_trouble_not_a_change) {
  TempDir dir;
  std::string t = dir / "t";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", t, "1", "42"}).exitCode == 0);
  std::string good = Capture(dir, "good.psnap", {"--root", t});
  // The first chunk's payload starts after the 16-byte file header and its
  // 32-byte record header; the snapshot record after it stays sound.
  std::string bytes = testutil::ReadFile(good);
  bytes[16 + 32 + 10] = char(bytes[16 + 32 + 10] ^ 0x5a);
  std::string bad = dir / "bad.psnap";
  testutil::WriteFile(bad, bytes);
  BOOST_REQUIRE(Run({PROCSNAP_BIN, "ls", bad}).exitCode == 0);  // the tree still loads
  auto r = Run({PROCSNAP_BIN, "diff", good, bad});
  BOOST_TEST(r.exitCode == 2, r.out);
  BOOST_TEST(r.err.find("checksum") != std::string::npos, r.err);
  BOOST_TEST(r.out.empty());
}

BOOST_AUTO_TEST_SUITE_END()
