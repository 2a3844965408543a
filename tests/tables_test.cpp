// procsnap tables: rows agree with ps, netstat and sysctl on the live
// machine; a fixture gives the same files on every run; odd files give
// nulls and a warning; nothing is written outside the output folder.
#define BOOST_TEST_MODULE tables
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tables/tables.h"
#include "test_util.h"

using namespace procsnap;
using testutil::Run;
using testutil::TempDir;

namespace {

const std::string kBin = PROCSNAP_BIN;

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  return s;
}

// Sets a sysctl for the life of the object.
class Tunable {
 public:
  Tunable(std::string path, std::string value) : path_(std::move(path)) {
    old_ = testutil::ReadFile(path_);
    std::ofstream(path_) << value;
  }
  ~Tunable() { std::ofstream(path_) << old_; }

 private:
  std::string path_, old_;
};

std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[std::filesystem::relative(e.path(), dir).string()] = testutil::ReadFile(e.path());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tables)

BOOST_AUTO_TEST_CASE(live_rows_agree_with_ps_netstat_and_sysctl) {
  if (geteuid() != 0) {
    BOOST_TEST_MESSAGE("SKIPPED: needs root to change a tunable");
    return;
  }
  TempDir dir;
  testutil::Child child({CHILD_HELPER, "--threads", "2"}, {"PATH=/usr/bin:/bin"});
  const std::string old = Trimmed(testutil::ReadFile("/proc/sys/vm/swappiness"));
  const std::string planted = old == "37" ? "38" : "37";
  Tunable swappiness("/proc/sys/vm/swappiness", planted);
  const std::string live = dir / "live.psnap", fixture = dir / "fixture.psnap";
  // Processes alive before and after the capture, and TCP listeners, as ps and ss see them.
  auto psBefore = Run({"/usr/bin/ps", "-e", "-o", "pid="}).out;
  auto ssBefore = Run({"/usr/bin/ss", "-H", "-t", "-l", "-n"}).out;
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "-o", live}).exitCode == 0);
  auto psAfter = Run({"/usr/bin/ps", "-e", "-o", "pid="}).out;
  auto ssAfter = Run({"/usr/bin/ss", "-H", "-t", "-l", "-n"}).out;
  auto pids = [](const std::string& text) {
    std::set<long> out;
    std::istringstream in(text);
    for (long pid; in >> pid;) out.insert(pid);
    return out;
  };
  auto ports = [](const std::string& text) {  // "LISTEN 0 4 127.0.0.1:4444 0.0.0.0:*"
    std::set<long> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      std::istringstream f(line);
      std::string state, rq, sq, local;
      if (f >> state >> rq >> sq >> local) out.insert(std::atol(local.substr(local.rfind(':') + 1).c_str()));
    }
    return out;
  };
  std::vector<long> stablePids, stablePorts;
  for (long p : pids(psBefore))
    if (pids(psAfter).count(p)) stablePids.push_back(p);
  for (long p : ports(ssBefore))
    if (ports(ssAfter).count(p)) stablePorts.push_back(p);
  // What the live tools say, the child being stopped: nothing moves.
  const std::string threads = Trimmed(Run({"/usr/bin/ps", "-o", "nlwp=", "-p", std::to_string(child.pid())}).out);
  const std::string rssKb = Trimmed(Run({"/usr/bin/ps", "-o", "rss=", "-p", std::to_string(child.pid())}).out);
  const std::string sysctl = Trimmed(Run({"/usr/sbin/sysctl", "-n", "vm.swappiness"}).out);
  BOOST_TEST(sysctl == planted);
  auto netstat = Run({"/usr/bin/netstat", "-tlnp"});
  const std::string portText = ":" + std::to_string(child.port()) + " ";
  bool listed = false;
  for (size_t at = netstat.out.find(portText); at != std::string::npos; at = netstat.out.find(portText, at + 1)) {
    size_t eol = netstat.out.find('\n', at);
    listed = listed || netstat.out.substr(at, eol - at).find(std::to_string(child.pid()) + "/") != std::string::npos;
  }
  BOOST_TEST(listed, "netstat shows the child's listener");
  const std::string tree = dir / "tree";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", fixture}).exitCode == 0);

  const std::string out = dir / "tables";
  auto r = Run({kBin, "tables", live, fixture, "-o", out});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  nlohmann::json expect = {{"live_host", Trimmed(testutil::ReadFile("/proc/sys/kernel/hostname"))},
                           {"fixture_host", "fake-host"},
                           {"child_pid", child.pid()},
                           {"child_sha256", testutil::Sha256Sum(CHILD_HELPER)},
                           {"child_rss_kb", std::stol(rssKb)},
                           {"child_threads", std::stol(threads)},
                           {"port", child.port()},
                           {"swappiness", planted},
                           {"pids", stablePids},
                           {"listen_ports", stablePorts}};
  auto check = Run({"/usr/bin/python3", TABLES_CHECK, out, expect.dump()});
  BOOST_TEST(check.exitCode == 0, check.out + check.err);
}

BOOST_AUTO_TEST_CASE(a_fixture_gives_the_same_files_on_every_run) {
  TempDir dir;
  const std::string tree = dir / "tree", archive = dir / "fixture.psnap";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", archive}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "tables", "-q", archive, "-o", dir / "a"}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "tables", "-q", "-j", "1", archive, "-o", dir / "b"}).exitCode == 0);
  auto a = Files(dir / "a"), b = Files(dir / "b");
  BOOST_TEST(a.size() >= 4u);  // processes, threads, sysctls, system: the tree has no net/ or mounts
  BOOST_TEST((a == b));
  BOOST_TEST(a.count("processes/host=fake-host/fixture.jsonl") == 1u);
  // The rows the tree holds, typed.
  std::istringstream lines(a["processes/host=fake-host/fixture.jsonl"]);
  std::string line;
  std::map<long, nlohmann::json> byPid;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    byPid[j["pid"].get<long>()] = j;
  }
  BOOST_REQUIRE_EQUAL(byPid.size(), 2u);
  const auto& p = byPid[42];
  BOOST_TEST(p["comm"] == "fake42");
  BOOST_TEST(p["cmdline"] == "fake42 --flag");
  BOOST_TEST(p["ppid"] == 1);
  BOOST_TEST(p["state"] == "S");
  BOOST_TEST(p["fds"] == 1);
  BOOST_TEST(p["rss_bytes"].is_null());  // the fixture's status has no VmRSS
  BOOST_TEST(p["snapshot"] == 0);
  // CSV of the same table: a header, then a line per process.
  BOOST_REQUIRE(Run({kBin, "tables", "-q", "--format", "csv", "--table", "processes", archive, "-o", dir / "c"}).exitCode == 0);
  std::string csv = testutil::ReadFile(dir / "c/processes/host=fake-host/fixture.csv");
  BOOST_TEST(csv.rfind("host,boot_id,time,snapshot,pid,ppid,comm,", 0) == 0u);
  BOOST_TEST(std::count(csv.begin(), csv.end(), '\n') == 3);
  // CSV to standard output is CSV too, the same bytes as the file.
  auto csvOut = Run({kBin, "tables", "-q", "--format", "csv", "--table", "processes", archive, "-o", "-"});
  BOOST_REQUIRE(csvOut.exitCode == 0);
  BOOST_TEST(csvOut.out == csv);
  // One table to standard output; more than one there is refused.
  auto one = Run({kBin, "tables", "--table", "sysctls", archive, "-o", "-"});
  BOOST_REQUIRE(one.exitCode == 0);
  BOOST_TEST(one.out.find("\"name\":\"vm.swappiness\",\"value\":\"60\"") != std::string::npos, one.out);
  auto two = Run({kBin, "tables", archive, "-o", "-"});
  BOOST_TEST(two.exitCode == 2);
  BOOST_TEST(two.err.find("--table") != std::string::npos, two.err);
  auto bad = Run({kBin, "tables", "--table", "nope", archive, "-o", dir / "d"});
  BOOST_TEST(bad.exitCode == 2);
  BOOST_TEST(bad.err.find("processes") != std::string::npos, bad.err);
}

BOOST_AUTO_TEST_CASE(odd_files_give_nulls_and_a_warning_and_stay_inside_the_output) {
  TempDir dir;
  const std::string tree = dir / "tree", archive = dir / "odd.psnap";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  testutil::WriteFile(tree + "/42/stat", "42 (fake42");  // cut short
  std::filesystem::remove(tree + "/42/status");
  std::filesystem::create_directory(tree + "/42/status");  // not a file: unreadable
  std::filesystem::create_directory(tree + "/77");         // exited mid-capture: nothing inside
  testutil::WriteFile(tree + "/sys/kernel/hostname", "../../escape\n");
  testutil::WriteFile(tree + "/loadavg", "not a loadavg\n");
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", archive}).exitCode == 0);
  const std::string out = dir / "out/tables";
  auto r = Run({kBin, "tables", "--json", archive, "-o", out});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  BOOST_TEST(r.err.find("42/stat") != std::string::npos, r.err);
  BOOST_TEST(!std::filesystem::exists(dir / "escape"));
  BOOST_TEST(!std::filesystem::exists(dir / "out/escape"));
  for (auto& e : std::filesystem::recursive_directory_iterator(dir / "out"))
    BOOST_TEST(e.path().string().rfind(out, 0) == 0u, e.path());
  std::string procs = testutil::ReadFile(out + "/processes/host=.._.._escape/odd.jsonl");
  std::istringstream lines(procs);
  std::string line;
  std::map<long, nlohmann::json> byPid;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    byPid[j["pid"].get<long>()] = j;
    BOOST_TEST(j["host"] == "../../escape");
  }
  BOOST_REQUIRE_EQUAL(byPid.size(), 3u);  // 1, 42 and 77: no process dropped
  BOOST_TEST(byPid[42]["ppid"].is_null());
  BOOST_TEST(byPid[42]["state"].is_null());
  BOOST_TEST(byPid[42]["cmdline"] == "fake42 --flag");
  BOOST_TEST(byPid[77]["comm"].is_null());
  BOOST_TEST(byPid[1]["comm"] == "fake1");
  std::string system = testutil::ReadFile(out + "/system/host=.._.._escape/odd.jsonl");
  auto s = nlohmann::json::parse(system);
  BOOST_TEST(s["load1"].is_null());
  BOOST_TEST(s["mem_total_bytes"] == 2048000LL * 1024);
}

BOOST_AUTO_TEST_CASE(from_and_to_pick_snapshots_by_time) {
  TempDir dir;
  const std::string tree = dir / "tree", archive = dir / "two.psnap";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1"}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", archive}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--append", "--root", tree, "-o", archive}).exitCode == 0);
  auto info = nlohmann::json::parse(Run({kBin, "info", "--all", "--json", archive}).out);
  const std::string second = info["snapshots"][1]["start"].get<std::string>();
  auto count = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {kBin, "tables", "--table", "system", archive, "-o", "-"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = Run(argv);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    return std::count(r.out.begin(), r.out.end(), '\n');
  };
  BOOST_TEST(count({}) == 2);
  BOOST_TEST(count({"--from", second}) == 1);
  auto bad = Run({kBin, "tables", "--from", "yesterday", archive, "-o", dir / "x"});
  BOOST_TEST(bad.exitCode == 2);
}

BOOST_AUTO_TEST_SUITE_END()
