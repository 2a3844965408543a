// The procsnap executable end to end: capture, info, ls, cat, verify, their
// errors and exit statuses, and damaged archives.
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.h"

using testutil::Run;
using testutil::TempDir;

namespace {

const std::string kBin = PROCSNAP_BIN;

struct LiveArchive {
  TempDir dir;
  std::string path = dir / "live.psnap";
  LiveArchive(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {kBin, "capture", "-q", "-o", path};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = Run(argv);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(version_and_help) {
  auto v = Run({kBin, "--version"});
  BOOST_TEST(v.exitCode == 0);
  BOOST_TEST(v.out.find("procsnap") != std::string::npos);
  for (const char* cmd : {"capture", "info", "ls", "cat", "verify"}) {
    auto h = Run({kBin, cmd, "--help"});
    BOOST_TEST(h.exitCode == 0, cmd);
    BOOST_TEST(h.out.find("Usage") != std::string::npos, cmd);
  }
  auto none = Run({kBin});
  BOOST_TEST(none.exitCode == 2);
  auto unknown = Run({kBin, "frobnicate"});
  BOOST_TEST(unknown.exitCode == 2);
}

BOOST_AUTO_TEST_CASE(cat_ls_info_verify_on_a_live_capture) {
  testutil::Child child({CHILD_HELPER, "--threads", "2", "arg-one"}, {"KEY=value"});
  LiveArchive a;
  std::string pid = std::to_string(child.pid());
  auto version = Run({kBin, "cat", a.path, "/proc/version"});
  BOOST_TEST(version.exitCode == 0);
  BOOST_TEST(version.out == testutil::ReadFile("/proc/version"));
  for (const char* f : {"cmdline", "environ", "status"}) {
    auto r = Run({kBin, "cat", a.path, "/proc/" + pid + "/" + f});
    // status counts context switches, which a busy machine's scheduler moves on between capture and now
    auto steady = [](std::string t) {
      std::string out, line;
      std::istringstream in(t);
      while (std::getline(in, line))
        if (line.find("ctxt_switches") == std::string::npos) out += line + "\n";
      return out;
    };
    BOOST_TEST(steady(r.out) == steady(testutil::ReadFile("/proc/" + pid + "/" + f)), f);
    auto rel = Run({kBin, "cat", a.path, pid + "/" + f});  // without the root's prefix
    BOOST_TEST(rel.out == r.out);
  }
  BOOST_TEST(Run({kBin, "cat", a.path, "/proc/sys/kernel/ostype"}).out ==
             testutil::ReadFile("/proc/sys/kernel/ostype"));

  auto ls = Run({kBin, "ls", "-l", a.path, "/proc/" + pid + "/fd"});
  BOOST_TEST(ls.exitCode == 0);
  for (auto& fd : testutil::ListDir("/proc/" + pid + "/fd"))
    BOOST_TEST(ls.out.find(fd + " -> " + testutil::ReadLink("/proc/" + pid + "/fd/" + fd)) != std::string::npos);
  auto lsJson = Run({kBin, "ls", "--json", a.path, "/proc/" + pid + "/fd"});
  BOOST_TEST(lsJson.out.find("\"target\"") != std::string::npos);

  auto info = Run({kBin, "info", a.path});
  BOOST_TEST(info.exitCode == 0);
  BOOST_TEST(info.out.find("errors:") != std::string::npos);
  BOOST_TEST(info.out.find("/proc/kmsg") != std::string::npos);  // skipped, with its reason
  auto infoJson = Run({kBin, "info", "--json", a.path});
  BOOST_TEST(infoJson.out.find("\"boot_id\"") != std::string::npos);

  auto verify = Run({kBin, "verify", a.path});
  BOOST_TEST(verify.exitCode == 0);
  BOOST_TEST(verify.out.find("ok") != std::string::npos);
}

// A small fixture: the processes asked for (their threads too), procsnap's
// own (/proc/self, /proc/net), every system-wide file; a pid not there is noted.
BOOST_AUTO_TEST_CASE(capture_only_the_pids_asked_for) {
  testutil::Child child({CHILD_HELPER, "--threads", "2"}, {});
  TempDir dir;
  const std::string archive = dir / "small.psnap";
  auto r = Run({kBin, "capture", "-q", "--pid", std::to_string(child.pid()) + ",999999999", "-o", archive});
  BOOST_REQUIRE_MESSAGE(r.exitCode <= 1, r.err);
  auto ls = Run({kBin, "ls", archive});
  std::vector<std::string> pids;
  std::istringstream names(ls.out);
  for (std::string name; std::getline(names, name);)
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) pids.push_back(name);
  BOOST_REQUIRE_EQUAL(pids.size(), 2u);  // the child and procsnap
  BOOST_TEST((pids[0] == std::to_string(child.pid()) || pids[1] == std::to_string(child.pid())));
  auto tasks = Run({kBin, "ls", archive, std::to_string(child.pid()) + "/task"});
  const auto live = testutil::ListDir("/proc/" + std::to_string(child.pid()) + "/task");  // stopped: no change
  BOOST_TEST(size_t(std::count(tasks.out.begin(), tasks.out.end(), '\n')) == live.size());
  BOOST_TEST(live.size() >= 2u);
  BOOST_TEST(Run({kBin, "cat", archive, "meminfo"}).exitCode == 0);
  BOOST_TEST(Run({kBin, "cat", archive, "net/tcp"}).exitCode == 0);  // through /proc/self/net
  auto info = Run({kBin, "info", archive});
  BOOST_TEST(info.out.find("--pid 999999999: no such process") != std::string::npos, info.out);
}

BOOST_AUTO_TEST_CASE(errors_are_one_line_with_exit_status_2) {
  LiveArchive a({"--exclude", "[0-9]*", "--exclude", "kallsyms"});
  auto missing = Run({kBin, "info", "/nonexistent/x.psnap"});
  BOOST_TEST(missing.exitCode == 2);
  BOOST_TEST(missing.err.find("/nonexistent/x.psnap") != std::string::npos);
  auto unknown = Run({kBin, "cat", a.path, "/proc/meminfx"});
  BOOST_TEST(unknown.exitCode == 2);
  BOOST_TEST(unknown.err.find("did you mean /proc/meminfo") != std::string::npos);
  auto dir = Run({kBin, "cat", a.path, "/proc/sys"});
  BOOST_TEST(dir.exitCode == 2);
  auto badAt = Run({kBin, "ls", "--at", "5", a.path});
  BOOST_TEST(badAt.exitCode == 2);
  auto exists = Run({kBin, "capture", "-q", "-o", a.path});
  BOOST_TEST(exists.exitCode == 2);
  BOOST_TEST(exists.err.find("already exists") != std::string::npos);
  auto notArchive = Run({kBin, "verify", "/etc/hostname"});
  BOOST_TEST(notArchive.exitCode == 2);
  BOOST_TEST(notArchive.err.find("bad magic") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(capture_to_stdout_and_append) {
  TempDir dir;
  std::string out = dir / "piped.psnap";
  // -o - writes the archive to standard output (here redirected by Run).
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    execl(kBin.c_str(), kBin.c_str(), "capture", "-q", "-o", "-", "--exclude", "[0-9]*", nullptr);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  BOOST_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  BOOST_TEST(Run({kBin, "verify", out}).exitCode == 0);
  BOOST_TEST(Run({kBin, "capture", "-q", "--append", "-o", out, "--exclude", "[0-9]*"}).exitCode == 0);
  auto info = Run({kBin, "info", "--json", out});
  BOOST_TEST(info.out.find("\"snapshot_count\": 2") != std::string::npos);
  BOOST_TEST(Run({kBin, "cat", "--at", "0", out, "/proc/version"}).out == testutil::ReadFile("/proc/version"));
  // Any index picks one snapshot, -2 (the first of two) included.
  auto second = Run({kBin, "info", "--at", "-2", "--json", out});
  BOOST_TEST(second.exitCode == 0, second.err);
  BOOST_TEST(second.out.find("\"index\": 0") != std::string::npos, second.out);
  BOOST_TEST(second.out.find("\"index\": 1") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(cat_tells_a_file_without_bytes_from_trouble) {
  LiveArchive a({"--exclude", "[0-9]*", "--exclude", "kallsyms"});
  // The policy skipped kmsg: the archive is sound and holds no bytes for it.
  auto skipped = Run({kBin, "cat", a.path, "/proc/kmsg"});
  BOOST_TEST(skipped.exitCode == 1);
  BOOST_TEST(skipped.err.find("not captured") != std::string::npos, skipped.err);
  // An unknown path is trouble.
  BOOST_TEST(Run({kBin, "cat", a.path, "/proc/no-such-file"}).exitCode == 2);
}

BOOST_AUTO_TEST_CASE(damaged_archives_exit_2_never_a_signal) {
  LiveArchive a({"--exclude", "[0-9]*", "--exclude", "kallsyms"});
  std::string good = testutil::ReadFile(a.path);
  BOOST_REQUIRE(good.size() > 1000u);
  std::string bad = a.dir / "bad.psnap";
  unsigned caught = 0;
  for (unsigned i = 0; i < 1000; ++i) {
    size_t off = (uint64_t(i) * 7919 * 104729) % good.size();
    std::string b = good;
    b[off] = static_cast<char>(b[off] ^ (1u << (i % 8)));
    testutil::WriteFile(bad, b);
    auto r = Run({kBin, "verify", "-q", bad});
    BOOST_TEST(r.signal == 0, "signal " << r.signal << " at offset " << off);
    BOOST_TEST(r.exitCode == 2, "flip at offset " << off << " exited " << r.exitCode);
    caught += r.exitCode == 2 && r.err.find("procsnap: ") != std::string::npos;
  }
  BOOST_TEST(caught == 1000u);
  for (unsigned i = 0; i < 100; ++i) {
    size_t len = uint64_t(i) * good.size() / 100;
    testutil::WriteFile(bad, good.substr(0, len));
    auto r = Run({kBin, "verify", bad});
    BOOST_TEST(r.signal == 0);
    BOOST_TEST(r.exitCode == 2, "truncation to " << len << " exited " << r.exitCode);
    BOOST_TEST(!r.err.empty());
    // Reading commands fail the same way.
    auto c = Run({kBin, "cat", bad, "/proc/version"});
    BOOST_TEST(c.signal == 0);
    BOOST_TEST(c.exitCode == 2);
  }
}

// A process may put any bytes in its name, arguments and environment: text
// output escapes them, JSON stays valid.
BOOST_AUTO_TEST_CASE(hostile_process_text_is_escaped_and_json_stays_valid) {
  TempDir dir;
  std::string before = dir / "before.psnap", after = dir / "after.psnap";
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "-o", before, "--exclude", "*/task"}).exitCode == 0);
  const std::string esc = "\x1b]0;pwned\x07\x1b[2J";
  // comm with an escape, ')' and a newline; arguments with an escape,
  // bytes that are not UTF-8 and a 100 KiB line (a single argument may hold 128 KiB); an environment likewise.
  testutil::Child child({CHILD_HELPER, "--threads", "1", "--comm", "\x1b[31m) x\n", "arg" + esc + "\xff\xfe",
                         std::string(100 << 10, 'L')},
                        {"BAD=" + esc + "\xff", "PROCSNAP_TEST=hostile"});
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "-o", after, "--exclude", "*/task"}).exitCode == 0);
  const std::string pid = std::to_string(child.pid());

  auto text = Run({kBin, "diff", "--only", "processes", before, after});
  BOOST_TEST(text.exitCode == 1, text.err);
  BOOST_TEST(text.out.find("pid " + pid) != std::string::npos, text.out);
  BOOST_TEST(text.out.find('\x1b') == std::string::npos);
  BOOST_TEST(text.out.find("\\x1b") != std::string::npos);  // shown escaped
  auto json = Run({kBin, "diff", "--json", before, after});
  BOOST_TEST(json.exitCode == 1, json.err);
  BOOST_CHECK_NO_THROW(nlohmann::json::parse(json.out));
  BOOST_TEST(json.out.find('\x1b') == std::string::npos);  // JSON escapes control characters

  auto lsText = Run({kBin, "ls", "-l", after, pid});
  BOOST_TEST(lsText.exitCode == 0);
  BOOST_TEST(lsText.out.find('\x1b') == std::string::npos);
  auto lsJson = Run({kBin, "ls", "--json", after, pid});
  BOOST_CHECK_NO_THROW(nlohmann::json::parse(lsJson.out));
  auto info = Run({kBin, "info", after});
  BOOST_TEST(info.out.find('\x1b') == std::string::npos);
  auto infoJson = Run({kBin, "info", "--json", after});
  BOOST_CHECK_NO_THROW(nlohmann::json::parse(infoJson.out));
  // cat still gives the bytes as they were.
  BOOST_TEST(Run({kBin, "cat", after, pid + "/environ"}).out.find("BAD=" + esc + "\xff") != std::string::npos);

  // Export: the manifest is valid JSON whatever the names in it.
  std::string target = dir / "export";
  auto ex = Run({kBin, "export", after, target});
  BOOST_REQUIRE_MESSAGE(ex.exitCode == 0, ex.err);
  BOOST_CHECK_NO_THROW(nlohmann::json::parse(testutil::ReadFile(target + "/.procsnap-manifest.json")));
}

// Every read command, mount (through run) included, meets damaged archives:
// an exit status and a message, never a signal (the sanitized build turns
// any memory error into one).
BOOST_AUTO_TEST_CASE(every_read_command_survives_damaged_archives) {
  TempDir dir;
  std::string tree = dir / "t";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  std::string good = dir / "good.psnap";
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", good}).exitCode == 0);
  const std::string bytes = testutil::ReadFile(good);
  std::string bad = dir / "bad.psnap";
  const bool mount = testutil::CanMount();
  if (!mount) std::puts("SKIPPED (in part): run over damaged archives needs root and /dev/fuse");
  unsigned runs = 0;
  for (size_t k = 0; k < 100; ++k) {
    std::string copy = bytes;
    size_t at = (k * 7919 + 13) % copy.size();
    copy[at] = char(copy[at] ^ (1 << (k % 8)));
    testutil::WriteFile(bad, copy);
    std::string out = dir / ("export" + std::to_string(k));
    for (std::vector<std::string> cmd : {std::vector<std::string>{"ls", "-l", bad, "1"},
                                         {"info", "--json", bad},
                                         {"cat", bad, "1/status"},
                                         {"export", bad, out},
                                         {"diff", good, bad},
                                         // The FUSE server reads every file of the damaged tree.
                                         {"run", bad, "--", "/bin/sh", "-c",
                                          "find /proc -type f -exec cat {} + >/dev/null 2>&1; cat /proc/1/status"}}) {
      if (cmd[0] == "run" && !mount) continue;
      cmd.insert(cmd.begin(), kBin);
      auto r = Run(cmd);
      ++runs;
      BOOST_TEST_INFO(cmd[1] << " with byte " << at << " flipped");
      BOOST_TEST(r.signal == 0);
      if (cmd[1] == "run") {  // the command's status, or 125 for procsnap's trouble
        BOOST_TEST((r.exitCode == 0 || r.exitCode == 1 || r.exitCode == 125), r.exitCode << " " << r.err);
        if (r.exitCode == 125) BOOST_TEST(r.err.find("procsnap: ") != std::string::npos);
        continue;
      }
      BOOST_TEST((r.exitCode >= 0 && r.exitCode <= 2));
      if (r.exitCode == 2) BOOST_TEST(r.err.find("procsnap: ") != std::string::npos);
    }
  }
  BOOST_TEST(runs == (mount ? 600u : 500u));
}

BOOST_AUTO_TEST_SUITE_END()
