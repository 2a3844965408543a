// procsnap play against a real recording of this machine with a process
// burning one CPU for known snapshots: top, vmstat and a kept-open
// /proc/stat see the recording move, at speed 1 and 10; --control steps
// deterministically; the clock follows the recording.
#define BOOST_TEST_MODULE play
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <algorithm>
#include <map>
#include <set>
#include <iterator>
#include <sstream>

#include "test_util.h"

using testutil::Run;
using testutil::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kBin = PROCSNAP_BIN;

// A recording at 0.5 s of 14 snapshots; a busy loop (sh -c 'while :...')
// runs in the middle of it. Which snapshots hold it is read back.
struct Fixture {
  TempDir dir;
  std::string rec = dir / "rec";
  std::vector<bool> burning;  // per snapshot: the burner is alive
  std::vector<double> userPct;  // per snapshot, as `log` computes it (-1: the first)
  std::vector<double> user, nice, total;  // /proc/stat's cpu line per snapshot: user, nice, all ticks
  Fixture() {
    // The workload's own timing (not a wait for a condition): it starts
    // after about three snapshots and runs for about seven, ahead of other
    // work on a loaded machine (nice -10).
    auto r = Run({"/bin/sh", "-c",
                  "(sleep 1.6; nice -n -10 timeout 3.6 sh -c 'while :; do :; done') & " + kBin + " record -q -o " + rec +
                      " --interval 500ms --count 14; wait"});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    for (int i = 0; i < 14; ++i) {
      auto out = Run({kBin, "run", "--at", std::to_string(i), rec, "--", "/usr/bin/ps", "-eo", "args="});
      burning.push_back(("\n" + out.out).find("\nsh -c while :; do :; done\n") != std::string::npos);
    }
    auto log = nlohmann::json::parse(Run({kBin, "log", "--json", rec}).out);
    for (const auto& row : log) userPct.push_back(row["user_pct"].is_null() ? -1.0 : row["user_pct"].get<double>());
    for (int i = 0; i < 14; ++i) {  // the cpu line: user nice system idle iowait irq softirq steal
      std::istringstream cpu(Run({kBin, "cat", "--at", std::to_string(i), rec, "stat"}).out);
      std::string label;
      double v[8] = {};
      cpu >> label;
      for (double& x : v) cpu >> x;
      user.push_back(v[0]);
      nice.push_back(v[1]);
      total.push_back(v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]);
    }
  }
  // Whether a frame's us% (top's, from one refresh to the next) is what
  // the recording gives between two of its snapshots: a refresh late on a
  // loaded machine spans several intervals, never a moment not recorded.
  // vmstat's us counts nice too and is a whole number.
  bool FromRecording(double us, bool withNice = false, double tolerance = 0.2) const {
    if (us == 0.0) return true;  // the first frame, or no new snapshot between two refreshes
    for (size_t k = 0; k < user.size(); ++k)
      for (size_t j = k + 1; j < user.size(); ++j) {
        const double u = user[j] - user[k] + (withNice ? nice[j] - nice[k] : 0);
        if (total[j] > total[k] && std::abs(100.0 * u / (total[j] - total[k]) - us) <= tolerance) return true;
      }
    return false;
  }
};

bool Playable() {
  if (geteuid() != 0 || !testutil::CanMount()) {
    BOOST_TEST_MESSAGE("SKIPPED: play needs root (a private mount namespace) and /dev/fuse");
    return false;
  }
  return true;
}

// (header time, us, burner %CPU or -1) per top iteration.
struct TopFrame {
  std::string time;
  double us = -1, burner = -1;
};
std::vector<TopFrame> TopFrames(const std::string& out) {
  std::vector<TopFrame> frames;
  std::istringstream in(out);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, std::regex("^top - (\\d\\d:\\d\\d:\\d\\d)"))) frames.push_back({m.str(1)});
    else if (!frames.empty() && std::regex_search(line, m, std::regex("^%Cpu\\(s\\):\\s*([\\d.]+) us")))
      frames.back().us = std::stod(m.str(1));
    else if (!frames.empty() && line.find("while :") != std::string::npos &&
             std::regex_search(line, m, std::regex("[RSD]\\s+([\\d.]+)\\s+[\\d.]+\\s+\\S+\\s+\\S*sh -c while")))
      frames.back().burner = std::max(frames.back().burner, std::stod(m.str(1)));
  }
  return frames;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(play)

BOOST_AUTO_TEST_CASE(top_and_vmstat_show_the_recorded_burner_at_speed_1_and_10) {
  if (!Playable()) return;
  Fixture f;
  size_t burningSnapshots = 0;
  for (bool b : f.burning) burningSnapshots += b;
  BOOST_REQUIRE_MESSAGE(burningSnapshots >= 3, "the burner was seen in " << burningSnapshots << " snapshots");
  BOOST_REQUIRE(!f.burning.front() && !f.burning.back());

  // top, refreshing once a recorded snapshot: the burner at >= 70% while it
  // ran and absent before and after; the totals (a kept-open /proc/stat)
  // move with it.
  auto top = Run({kBin, "play", f.rec, "--", "/usr/bin/top", "-b", "-c", "-d", "0.5", "-n", "14", "-w", "200"});
  BOOST_REQUIRE_MESSAGE(top.exitCode == 0, top.err);
  auto frames = TopFrames(top.out);
  BOOST_REQUIRE(frames.size() == 14u);
  size_t hot = 0;
  for (const auto& fr : frames) {
    hot += fr.burner >= 70;
    // The totals come from the recording (a kept-open /proc/stat read
    // again): each frame's us is one of the recorded intervals'.
    BOOST_TEST(f.FromRecording(fr.us), "us " << fr.us << " at " << fr.time << " is no recorded interval's");
  }
  // The burner at a CPU while it ran, and frames without it (it came or
  // went); how many of each depends on how late top starts on a loaded
  // machine, so the totals above are what is checked exactly.
  BOOST_TEST(hot >= 2u, top.out);
  BOOST_TEST(std::count_if(frames.begin(), frames.end(), [](const TopFrame& fr) { return fr.burner < 0; }) >= 1,
             top.out);
  BOOST_TEST(std::regex_search(top.err, std::regex("ended at snapshot \\d+ of 14 \\(20")), top.err);
  // The clock follows the recording: top's header shows the recorded time.
  if (access("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", R_OK) == 0) {
    auto first = Run({kBin, "info", "--json", "--all", f.rec}).out;
    BOOST_TEST(first.find("T" + frames.front().time) != std::string::npos,
               "top's first header " << frames.front().time << " is a recorded time");
  } else {
    BOOST_TEST_MESSAGE("SKIPPED the clock check: libfaketime is not installed");
  }

  // At --speed 4 (a refresh each recorded second, a quarter second of real
  // time) the same percentages: the burner near a CPU, the totals the
  // recording's over those two intervals.
  auto fast = Run({kBin, "play", "--speed", "4", f.rec, "--", "/usr/bin/top", "-b", "-c", "-d", "1", "-n", "6",
                   "-w", "200"});
  BOOST_REQUIRE_MESSAGE(fast.exitCode == 0, fast.err);
  size_t fastHot = 0;
  for (const auto& fr : TopFrames(fast.out)) {
    fastHot += fr.burner >= 70;
    BOOST_TEST(f.FromRecording(fr.us), "at --speed 4, us " << fr.us << " at " << fr.time << " is no recorded interval's");
  }
  BOOST_TEST(fastHot >= 1u, fast.out);

  // vmstat at --speed 10: one sample a recorded second; us rises and falls.
  auto vm = Run({kBin, "play", "--speed", "10", f.rec, "--", "/usr/bin/vmstat", "-n", "1", "6"});
  BOOST_REQUIRE_MESSAGE(vm.exitCode == 0, vm.err);
  std::vector<int> us;
  std::istringstream in(vm.out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::vector<std::string> cols{std::istream_iterator<std::string>(w), {}};
    if (cols.size() >= 17 && std::isdigit(static_cast<unsigned char>(cols[12][0]))) us.push_back(std::stoi(cols[12]));
  }
  BOOST_REQUIRE(us.size() == 6u);
  // Rises with the burner and falls after it, as the recording did (vmstat's
  // us is over one recorded second: two intervals).
  const int peak = *std::max_element(us.begin() + 1, us.end());
  BOOST_TEST(peak >= 35, vm.out);
  // It falls where the recording fell: on a machine busy with other work
  // the whole recording may stay high (vmstat's us counts nice too, over
  // two recorded intervals).
  auto usOver = [&](size_t a, size_t b) {
    return 100.0 * (f.user[b] - f.user[a] + f.nice[b] - f.nice[a]) / (f.total[b] - f.total[a]);
  };
  double recordedPeak = 0;
  for (size_t k = 2; k < f.user.size(); ++k) recordedPeak = std::max(recordedPeak, usOver(k - 2, k));
  const size_t n = f.user.size();
  if (usOver(n - 3, n - 1) + 10 < recordedPeak) BOOST_TEST(us.back() < peak, vm.out);
  for (size_t k = 1; k < us.size(); ++k)
    BOOST_TEST(f.FromRecording(us[k], true, 1.0), "vmstat's us " << us[k] << " is no recorded interval's");

  // A recorder becomes a converter: sadc under play writes a sysstat file
  // whose sar -u shows the busy period at the recorded times.
  if (access("/usr/lib/sysstat/sadc", X_OK) != 0 || access("/usr/bin/sar", X_OK) != 0) {
    BOOST_TEST_MESSAGE("SKIPPED sadc: sysstat is not installed");
    return;
  }
  const std::string sa = f.dir / "out.sa";
  auto sadc = Run({kBin, "play", "--speed", "2", f.rec, "--", "/usr/lib/sysstat/sadc", "2", "4", sa});
  BOOST_REQUIRE_MESSAGE(sadc.exitCode == 0, sadc.err);
  auto sar = Run({"/usr/bin/env", "TZ=UTC", "LC_ALL=C", "/usr/bin/sar", "-u", "-f", sa});
  BOOST_REQUIRE_MESSAGE(sar.exitCode == 0, sar.err);
  // The recorded seconds (HH:MM:SS of each snapshot's start, and the next).
  std::set<int> recorded;
  const auto info = nlohmann::json::parse(Run({kBin, "info", "--json", "--all", f.rec}).out);
  for (const auto& snap : info["snapshots"]) {
    const std::string t = snap["start"].get<std::string>().substr(11, 8);
    const int sec = std::stoi(t.substr(0, 2)) * 3600 + std::stoi(t.substr(3, 2)) * 60 + std::stoi(t.substr(6, 2));
    recorded.insert(sec), recorded.insert(sec + 1);
  }
  bool busyAtRecordedTime = false;
  std::istringstream rows(sar.out);
  for (std::string row; std::getline(rows, row);) {
    std::istringstream w(row);
    std::vector<std::string> cols{std::istream_iterator<std::string>(w), {}};
    if (cols.size() != 8 || cols[1] != "all" || cols[0].size() != 8 || cols[0][2] != ':' || std::stod(cols[2]) < 35)
      continue;  // not a sample's row (the header, Average:), or not busy
    const int sec = std::stoi(cols[0].substr(0, 2)) * 3600 + std::stoi(cols[0].substr(3, 2)) * 60 +
                    std::stoi(cols[0].substr(6, 2));
    busyAtRecordedTime = busyAtRecordedTime || recorded.count(sec);
  }
  BOOST_TEST(busyAtRecordedTime, sar.out);
}

// --control: step moves exactly one snapshot and pauses; back returns; the
// command itself drives it and polls /proc until the moment changes.
BOOST_AUTO_TEST_CASE(control_steps_one_snapshot_at_a_time) {
  if (!Playable()) return;
  TempDir dir;
  const std::string rec = dir / "rec", fifo = dir / "control";
  BOOST_REQUIRE(Run({kBin, "record", "-q", "-o", rec, "--interval", "200ms", "--count", "4"}).exitCode == 0);
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // uptime differs in every snapshot: it names the moment served.
  const std::string script =
      "u() { cat /proc/uptime; }; wait_change() { a=$1; n=0; while [ \"$(u)\" = \"$a\" ]; do n=$((n+1)); "
      "[ $n -lt 2000 ] || exit 3; sleep 0.01; done; }; "
      "echo pause > " + fifo + "; a=$(u); echo \"0 $a\"; "
      "echo step > " + fifo + "; wait_change \"$a\"; b=$(u); echo \"1 $b\"; "
      "echo step > " + fifo + "; wait_change \"$b\"; c=$(u); echo \"2 $c\"; "
      "echo back > " + fifo + "; wait_change \"$c\"; d=$(u); echo \"3 $d\"; "
      "echo 'speed x' > " + fifo + "; echo 'seek -1' > " + fifo + "; wait_change \"$d\"; e=$(u); echo \"4 $e\"";
  auto r = Run({kBin, "play", "--control", fifo, rec, "--", "/bin/sh", "-c", script});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.out + r.err);
  std::vector<std::string> up;
  for (int i = 0; i < 4; ++i) up.push_back(Run({kBin, "cat", "--at", std::to_string(i), rec, "uptime"}).out);
  std::map<int, std::string> seen;  // step -> the uptime line the command read
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (line.size() > 2 && line[1] == ' ') seen[line[0] - '0'] = line.substr(2) + "\n";
  auto at = [&](int k) { return seen[k]; };
  BOOST_TEST(at(0) == up[0], r.out);
  BOOST_TEST(at(1) == up[1], r.out);
  BOOST_TEST(at(2) == up[2], r.out);
  BOOST_TEST(at(3) == up[1], r.out);
  BOOST_TEST(at(4) == up[3], r.out << up[0] << up[1] << up[2] << up[3]);
  BOOST_TEST(r.err.find("speed: a number above 0") != std::string::npos, r.err);

  // --loop: after the last snapshot, the first again (polled, bounded).
  const std::string loop =
      "first=$(cat /proc/uptime); n=0; seen_other=0; while :; do u=$(cat /proc/uptime); "
      "[ \"$u\" != \"$first\" ] && seen_other=1; [ $seen_other = 1 ] && [ \"$u\" = \"$first\" ] && break; "
      "n=$((n+1)); [ $n -lt 3000 ] || exit 3; sleep 0.01; done; echo looped";
  auto looped = Run({kBin, "play", "--loop", "--speed", "4", rec, "--", "/bin/sh", "-c", loop});
  BOOST_TEST(looped.exitCode == 0, looped.err);
  BOOST_TEST(looped.out == "looped\n");
}

// Without root, play goes through a user namespace of its own, as run does
// (replay_test): the command reads the recording as its own user.
BOOST_AUTO_TEST_CASE(play_without_root_serves_the_recording) {
  if (!Playable()) return;
  if (!testutil::FuseOpenToUsers()) return;
  TempDir dir;
  const std::string bin = testutil::ReachableCopy(kBin, dir);
  const std::string rec = dir / "rec";
  BOOST_REQUIRE(Run({kBin, "record", "-q", "-o", rec, "--interval", "200ms", "--count", "2"}).exitCode == 0);
  BOOST_REQUIRE(Run({"/bin/chmod", "-R", "a+rX", rec}).exitCode == 0);
  auto r = Run({bin, "play", "--paused", rec, "--", "/bin/sh", "-c", "id -u; cat /proc/uptime"}, "", 4242);
  if (r.exitCode != 0 && r.err.find("user.max_user_namespaces") != std::string::npos) {
    BOOST_TEST_MESSAGE("SKIPPED: this kernel forbids user namespaces to unprivileged users: " << r.err);
    std::printf("SKIPPED: no unprivileged user namespaces\n");
    return;
  }
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  BOOST_TEST(r.out == "4242\n" + Run({kBin, "cat", "--at", "0", rec, "uptime"}).out);
}

// ss under run reads the snapshot's sockets (PROC_ROOT), not this machine's:
// the snapshot's listener, closed before the replay, is shown; a live one
// opened after is not.
BOOST_AUTO_TEST_CASE(ss_shows_the_snapshots_listener_not_the_live_ones) {
  if (!Playable()) return;
  TempDir dir;
  const std::string snap = dir / "s.psnap";
  auto r = Run({"/usr/bin/unshare", "-n", "/bin/sh", "-c",
                "ip link set lo up; python3 -c 'import socket,sys,time; s=socket.socket(); s.bind((\"127.0.0.1\", 45671)); "
                "s.listen(); open(sys.argv[1],\"w\").close(); time.sleep(30)' " + dir / "ready" + " & p=$!; "
                "n=0; while [ ! -e " + dir / "ready" + " ]; do n=$((n+1)); [ $n -lt 3000 ] || exit 3; sleep 0.01; done; " +
                kBin + " capture -q -o " + snap + "; kill $p"});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  // A listener of this machine opened after the capture is not shown.
  auto ss = Run({"/bin/sh", "-c",
                 "python3 -c 'import socket,sys,time; s=socket.socket(); s.bind((\"127.0.0.1\", 45672)); s.listen(); "
                 "open(sys.argv[1],\"w\").close(); time.sleep(30)' " + dir / "live" + " & p=$!; "
                 "n=0; while [ ! -e " + dir / "live" + " ]; do n=$((n+1)); [ $n -lt 3000 ] || exit 3; sleep 0.01; done; " +
                 kBin + " run " + snap + " -- /usr/bin/ss -tln; r=$?; kill $p; exit $r"});
  BOOST_REQUIRE_MESSAGE(ss.exitCode == 0, ss.err);
  BOOST_TEST(ss.out.find("127.0.0.1:45671") != std::string::npos, ss.out);
  BOOST_TEST(ss.out.find(":45672") == std::string::npos, ss.out);
}

// On a terminal play owns it: keys reach the command, but those after
// Ctrl-] step, go back and jump to a typed time (driven through a
// pseudo-terminal by Python's pty).
BOOST_AUTO_TEST_CASE(keys_after_the_prefix_step_and_the_rest_reach_the_command) {
  if (!Playable()) return;
  TempDir dir;
  const std::string rec = dir / "rec", driver = dir / "drive.py";
  BOOST_REQUIRE(Run({kBin, "record", "-q", "-o", rec, "--interval", "200ms", "--count", "3"}).exitCode == 0);
  testutil::WriteFile(driver, R"PY(
import os, pty, re, sys, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "play", "--paused", sys.argv[2], "--", "/bin/sh", "-c",
             "stty -echo; read a; echo \"got $a\"; echo U1 $(cat /proc/uptime); read b; echo U2 $(cat /proc/uptime); "
             "read c; echo U3 $(cat /proc/uptime); read d; echo \"D=$d\"; echo U4 $(cat /proc/uptime)"])
out = b""
def expect(what):
    global out
    while not re.search(what, out):
        r, _, _ = select.select([fd], [], [], 20)
        if not r: sys.exit("timed out waiting for %r in %r" % (what, out))
        try: chunk = os.read(fd, 4096)
        except OSError: break
        if not chunk: break
        out += chunk
os.write(fd, b"hello\r"); expect(rb"U1 [^\r\n]*\r?\n")
os.write(fd, b"\x1dn" + b"x\r"); expect(rb"U2 [^\r\n]*\r?\n")
os.write(fd, b"\x1dp" + b"y\r"); expect(rb"U3 [^\r\n]*\r?\n")
os.write(fd, b"\x1dg" + b"-1\r" + b"z\r"); expect(rb"U4 [^\r\n]*\r?\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(status))
)PY");
  auto r = Run({"/usr/bin/python3", driver, kBin, rec});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.out + r.err);
  std::vector<std::string> up, seen;
  for (int i = 0; i < 3; ++i) up.push_back(Run({kBin, "cat", "--at", std::to_string(i), rec, "uptime"}).out);
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (const size_t u = line.find("U"); u != std::string::npos && line.size() > u + 3 && line[u + 2] == ' ' &&
                                          std::isdigit(static_cast<unsigned char>(line[u + 1])))
      seen.push_back(line.substr(u + 3) + "\n");
  }
  BOOST_TEST(r.out.find("got hello") != std::string::npos, r.out);
  BOOST_REQUIRE_MESSAGE(seen.size() == 4u, r.out);
  BOOST_TEST(seen[0] == up[0]);  // paused at the first
  BOOST_TEST(seen[1] == up[1]);  // Ctrl-] n: one forward
  BOOST_TEST(seen[2] == up[0]);  // Ctrl-] p: one back
  BOOST_TEST(seen[3] == up[2]);  // Ctrl-] g -1 Enter: the last
  BOOST_TEST(r.out.find("D=z") != std::string::npos, "the typed time went to play, not the command: " << r.out);
}

BOOST_AUTO_TEST_SUITE_END()
