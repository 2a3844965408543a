// procsnap record: real recordings of a fixture tree and of the real /proc.
// Planted changes land in the snapshot after them; kill -9 at random moments
// loses no committed snapshot; --max-size holds at every moment; --max-age
// drops old segments; overrunning captures skip ticks and say so; a
// recording continues only on its own host; SIGTERM ends it cleanly.
#define BOOST_TEST_MODULE record
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "test_util.h"

using testutil::Run;
using testutil::TempDir;

namespace {

const std::string kBin = PROCSNAP_BIN;

// `procsnap record --json ...` running in the background; its stdout lines
// (one per committed snapshot) are read as they come.
class Recorder {
 public:
  explicit Recorder(std::vector<std::string> args) {
    args.insert(args.begin(), {kBin, "record", "--json"});
    int p[2];
    BOOST_REQUIRE(pipe(p) == 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(p[1], 1);
      close(p[0]);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(p[1]);
    fd_ = p[0];
  }
  ~Recorder() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(fd_);
  }
  // Blocks until n lines in all have come (false if the recorder ended first).
  bool waitLines(size_t n) {
    while (lines.size() < n) {
      char c;
      std::string line;
      while (read(fd_, &c, 1) == 1 && c != '\n') line += c;
      if (line.empty()) return false;
      lines.push_back(nlohmann::json::parse(line));
    }
    return true;
  }
  // Sends sig and returns the exit status (-1 when killed by a signal).
  int stop(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  int wait() {
    while (waitLines(lines.size() + 1)) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::vector<nlohmann::json> lines;

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

nlohmann::json Info(const std::string& path) {
  auto r = Run({kBin, "info", "--json", path});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  return nlohmann::json::parse(r.out);
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t t = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) t += e.file_size(ec);
  return t;
}

std::string FakeTree(const TempDir& dir) {
  std::string tree = dir / "tree";
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1", "42"}).exitCode == 0);
  return tree;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(record)

BOOST_AUTO_TEST_CASE(planted_changes_land_in_the_snapshots_after_them) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  Recorder r({"-o", rec, "--root", tree, "--interval", "50ms", "--count", "12"});
  BOOST_REQUIRE(r.waitLines(3));
  // Snapshots committed before the change began (at least these: lines
  // not read yet are more), and (below) by the time it ended.
  const size_t committed = r.lines.size();
  // Between ticks: a tunable changes and a process starts.
  testutil::WriteFile(tree + "/sys/vm/swappiness", "10\n");
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", dir / "tree2", "777"}).exitCode == 0);
  std::filesystem::rename(dir / "tree2/777", tree + "/777");
  // The recorder may be ahead of the lines read from it: ask the recording.
  const size_t before = Info(rec)["snapshots"].size();
  BOOST_REQUIRE(r.wait() == 0);
  BOOST_REQUIRE(r.lines.size() == 12u);
  BOOST_TEST(Info(rec)["snapshots"].size() == 12u);
  for (size_t i = 0; i < 12; ++i) {
    auto swp = Run({kBin, "cat", "--at", std::to_string(i), rec, "sys/vm/swappiness"});
    auto pid = Run({kBin, "ls", "--at", std::to_string(i), rec, "777"});
    if (i < committed) {
      BOOST_TEST(swp.out == "60\n", i);
      BOOST_TEST(pid.exitCode == 2, i);
    }
    if (i > before) {  // snapshot `before` may have started before the change or after
      BOOST_TEST(swp.out == "10\n", i);
      BOOST_TEST(pid.exitCode == 0, i);
    }
  }
  auto d = Run({kBin, "diff", rec + "@" + std::to_string(committed - 1), rec + "@-1"});
  BOOST_TEST(d.exitCode == 1);
  BOOST_TEST(d.out.find("vm.swappiness") != std::string::npos, d.out);
  BOOST_TEST(d.out.find("777") != std::string::npos, d.out);
  // Each line's start is a time that names its snapshot.
  for (size_t i = 0; i < 12; i += 5) {
    std::string at = r.lines[i]["start"];
    BOOST_TEST(Run({kBin, "info", "--json", "--at", at, rec}).out.find("\"index\": " + std::to_string(i)) !=
               std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_started_process_of_the_real_proc_shows_up_after_it_started) {
  TempDir dir;
  std::string rec = dir / "rec";
  Recorder r({"-o", rec, "--interval", "100ms", "--count", "4", "--no-threads", "--exclude", "*/smaps*"});
  BOOST_REQUIRE(r.waitLines(1));
  testutil::Child child({CHILD_HELPER, "--threads", "1"}, {"PROCSNAP_TEST=record"});
  const size_t before = r.lines.size();
  BOOST_REQUIRE(r.wait() == 0);
  const std::string pid = std::to_string(child.pid());
  for (size_t i = 0; i < r.lines.size(); ++i) {
    auto ls = Run({kBin, "ls", "--at", std::to_string(i), rec, pid});
    if (i < before) BOOST_TEST(ls.exitCode == 2, i);
    if (i > before) BOOST_TEST(ls.exitCode == 0, i);
  }
}

BOOST_AUTO_TEST_CASE(kill_9_at_random_moments_loses_no_committed_snapshot) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  std::mt19937 rng(20261123);
  size_t committed = 0;
  for (int k = 0; k < 8; ++k) {
    Recorder r({"-o", rec, "--root", tree, "--interval", "10ms", "--segment-snapshots", "7"});
    BOOST_REQUIRE(r.waitLines(1 + rng() % 6));
    BOOST_TEST(r.stop(SIGKILL) == -1);
    committed += r.lines.size();
    // Between kills the recording reads (the torn tail falls back).
    auto info = Run({kBin, "info", "--json", rec});
    BOOST_REQUIRE_MESSAGE(info.exitCode == 0, info.err);
    BOOST_TEST(nlohmann::json::parse(info.out)["snapshots"].size() >= committed);
  }
  // Continuing cuts the torn tail; then every byte verifies.
  Recorder last({"-o", rec, "--root", tree, "--interval", "10ms", "--count", "2", "--segment-snapshots", "7"});
  BOOST_REQUIRE(last.wait() == 0);
  committed += 2;
  auto verify = Run({kBin, "verify", rec});
  BOOST_TEST(verify.exitCode == 0, verify.out << verify.err);
  const size_t held = Info(rec)["snapshots"].size();
  BOOST_TEST(held >= committed);
  BOOST_TEST(held <= committed + 8);  // a kill may land after a commit, before its line
}

BOOST_AUTO_TEST_CASE(max_size_holds_at_every_moment_while_old_segments_go) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  // One capture of the tree, for scale.
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", dir / "one.psnap"}).exitCode == 0);
  const uint64_t one = std::filesystem::file_size(dir / "one.psnap");
  const uint64_t max = 24 * one;
  Recorder r({"-o", rec, "--root", tree, "--interval", "10ms", "--count", "150", "--segment-snapshots", "4",
              "--max-size", std::to_string(max)});
  uint64_t peak = 0;
  while (r.waitLines(r.lines.size() + 1)) {
    peak = std::max(peak, DirBytes(rec));
    BOOST_TEST(r.lines.back()["recording_bytes"].get<uint64_t>() <= max);
  }
  BOOST_REQUIRE(r.lines.size() == 150u);
  BOOST_TEST(peak <= max, "peak " << peak << " > " << max);
  auto info = Info(rec);
  BOOST_TEST(info["snapshots"].size() < 150u);  // old segments went
  BOOST_TEST(info["snapshots"].size() >= 4u);
  BOOST_TEST(info["snapshots"].back()["start"] == r.lines.back()["start"]);  // the newest is there
  BOOST_TEST(Run({kBin, "verify", rec}).exitCode == 0);
  // A bound that cannot hold two snapshots is refused with a reason.
  auto tiny = Run({kBin, "record", "-o", dir / "tiny", "--root", tree, "--count", "3", "--interval", "10ms",
                   "--max-size", "1K"});
  BOOST_TEST(tiny.exitCode == 2);
  BOOST_TEST(tiny.err.find("--max-size") != std::string::npos, tiny.err);
}

BOOST_AUTO_TEST_CASE(max_age_drops_whole_old_segments) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  Recorder r({"-o", rec, "--root", tree, "--interval", "50ms", "--count", "30", "--segment-snapshots", "3",
              "--max-age", "500ms"});
  BOOST_REQUIRE(r.wait() == 0);
  auto snaps = Info(rec)["snapshots"];
  BOOST_TEST(snaps.size() < 30u);
  BOOST_TEST(snaps.size() >= 3u);
  BOOST_TEST(snaps.back()["start"] == r.lines.back()["start"]);
  BOOST_TEST(snaps.front()["start"] != r.lines.front()["start"]);
}

// --interval as people write it: 0.2s is 200 ms between ticks.
BOOST_AUTO_TEST_CASE(a_decimal_interval_is_taken_as_written) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  Recorder r({"-o", rec, "--root", tree, "--interval", "0.2s", "--count", "3"});
  BOOST_REQUIRE(r.wait() == 0);
  BOOST_REQUIRE(r.lines.size() == 3u);
  auto bad = Run({kBin, "record", "-o", dir / "bad", "--root", tree, "--interval", "1.x"});
  BOOST_TEST(bad.exitCode != 0);
  BOOST_TEST(bad.err.find("after the point") != std::string::npos, bad.err);
  auto snaps = Info(rec)["snapshots"];
  BOOST_REQUIRE(snaps.size() == 3u);
  // Ticks stay on the 200 ms grid: starts 0.2 s apart, give or take a scheduling delay.
  const auto ms = [&](size_t i) {  // "2026-12-04T20:13:30.351Z": milliseconds of the day
    const std::string t = snaps[i]["start"];
    return ((std::stoll(t.substr(11, 2)) * 60 + std::stoll(t.substr(14, 2))) * 60 + std::stoll(t.substr(17, 2))) * 1000 +
           std::stoll(t.substr(20, 3));
  };
  for (size_t i = 1; i < 3; ++i) {
    const long long gap = (ms(i) - ms(i - 1) + 86400000) % 86400000;
    BOOST_TEST(gap >= 150, "snapshot " << i << ": " << gap << " ms after the one before");
    BOOST_TEST(gap < 5000, "snapshot " << i << ": " << gap << " ms after the one before");
  }
}

BOOST_AUTO_TEST_CASE(an_overrunning_capture_skips_ticks_and_says_so) {
  TempDir dir;
  std::string rec = dir / "rec";
  // A capture of the real /proc takes far longer than 10 ms.
  Recorder r({"-o", rec, "--interval", "10ms", "--count", "2", "--no-threads"});
  BOOST_REQUIRE(r.wait() == 0);
  BOOST_REQUIRE(r.lines.size() == 2u);
  BOOST_TEST(r.lines[0]["skipped_ticks"].get<uint64_t>() > 0u);
  auto summary = Info(rec);  // many snapshots: the summaries, no notes
  BOOST_TEST(summary["snapshots"][1].count("notes") == 0u);
  BOOST_TEST(summary["timeline"]["gaps"].get<uint64_t>() == 0u);  // one interval: no gap
  auto detail = Run({kBin, "info", "--json", "--at", "1", rec});
  auto second = nlohmann::json::parse(detail.out)["snapshots"][0]["notes"].dump();
  BOOST_TEST(second.find("skipped") != std::string::npos, second);
}

BOOST_AUTO_TEST_CASE(continuing_adds_to_a_recording_of_the_same_host_only) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  BOOST_REQUIRE(Run({kBin, "record", "-q", "-o", rec, "--root", tree, "--count", "2", "--interval", "10ms"}).exitCode == 0);
  BOOST_REQUIRE(Run({kBin, "record", "-q", "-o", rec, "--root", tree, "--count", "3", "--interval", "10ms"}).exitCode == 0);
  BOOST_TEST(Info(rec)["snapshots"].size() == 5u);
  auto text = Run({kBin, "info", rec});  // a recording: its timeline, then the newest
  BOOST_TEST(text.out.find("recording " + rec) == 0u, text.out);
  BOOST_TEST(text.out.find("5 snapshots from") != std::string::npos, text.out);
  BOOST_TEST(text.out.find("snapshot 4:") != std::string::npos);
  BOOST_TEST(text.out.find("snapshot 3:") == std::string::npos);
  BOOST_TEST(Run({kBin, "info", "--all", rec}).out.find("snapshot 3:") != std::string::npos);
  testutil::WriteFile(tree + "/sys/kernel/hostname", "another-host\n");
  auto other = Run({kBin, "record", "-o", rec, "--root", tree, "--count", "1"});
  BOOST_TEST(other.exitCode == 2);
  BOOST_TEST(other.err.find("another-host") != std::string::npos, other.err);
  BOOST_TEST(Info(rec)["snapshots"].size() == 5u);
  // A newest segment killed before its first commit (a header, no trailer):
  // readers skip it, and continuing sets it aside as .torn, deleting nothing.
  testutil::WriteFile(tree + "/sys/kernel/hostname", "fake-host\n");
  std::string first;
  for (auto& e : std::filesystem::directory_iterator(rec))
    if (e.path().extension() == ".psnap") first = e.path().string();
  const std::string torn = rec + "/s999999999-29991231T000000.000Z.psnap";
  testutil::WriteFile(torn, testutil::ReadFile(first).substr(0, 16));
  BOOST_TEST(Info(rec)["snapshots"].size() == 5u);
  auto cont = Run({kBin, "record", "-q", "-o", rec, "--root", tree, "--count", "1"});
  BOOST_TEST(cont.exitCode == 0, cont.err);
  BOOST_TEST(std::filesystem::exists(torn + ".torn"));
  BOOST_TEST(Info(rec)["snapshots"].size() == 6u);
  BOOST_TEST(Run({kBin, "verify", rec}).exitCode == 0);
  testutil::WriteFile(tree + "/sys/kernel/hostname", "another-host\n");
  // Bad arguments: clear errors.
  auto bad = Run({kBin, "record", "-o", rec, "--interval", "fast"});
  BOOST_TEST(bad.exitCode == 2);
  BOOST_TEST(bad.err.find("--interval") != std::string::npos, bad.err);
  auto size = Run({kBin, "record", "-o", rec, "--max-size", "2X"});
  BOOST_TEST(size.exitCode == 2);
  BOOST_TEST(size.err.find("not a size") != std::string::npos, size.err);
  // An older format's archive reads inside a recording.
  std::string old = dir / "old";
  std::filesystem::create_directories(old);
  std::filesystem::copy_file(SAMPLES "/format1.psnap", old + "/20200101T000000.000Z.psnap");
  BOOST_TEST(Run({kBin, "info", old}).exitCode == 0);
}

// One writer per recording: a second record on the directory is refused
// while the first runs, renames nothing, and the first's snapshots all stay.
BOOST_AUTO_TEST_CASE(a_second_record_on_one_directory_is_refused) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  Recorder first({"-o", rec, "--root", tree, "--interval", "20ms", "--count", "20"});
  BOOST_REQUIRE(first.waitLines(1));
  auto second = Run({kBin, "record", "-o", rec, "--root", tree, "--interval", "20ms", "--count", "3"});
  BOOST_TEST(second.exitCode == 2);
  BOOST_TEST(second.err.find("another procsnap record is writing") != std::string::npos, second.err);
  BOOST_REQUIRE(first.wait() == 0);
  BOOST_TEST(Info(rec)["snapshots"].size() == 20u);
  for (auto& e : std::filesystem::directory_iterator(rec))
    BOOST_TEST(e.path().string().find(".torn") == std::string::npos, e.path());
  BOOST_TEST(Run({kBin, "verify", rec}).exitCode == 0);
}

// The clock steps back an hour mid-recording (libfaketime): snapshots stay
// in the order they were taken, the newest is the last one taken, and
// --max-size deletes the oldest, not the most recent.
BOOST_AUTO_TEST_CASE(a_clock_stepped_back_changes_no_order) {
  const char* lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
  if (::access(lib, R_OK) != 0) {
    BOOST_TEST_MESSAGE("skipped: libfaketime is not installed (apt-get install faketime)");
    return;
  }
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec", clock = dir / "offset";
  testutil::WriteFile(clock, "+0\n");
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", dir / "one.psnap"}).exitCode == 0);
  const uint64_t one = std::filesystem::file_size(dir / "one.psnap");
  ::setenv("LD_PRELOAD", lib, 1);
  ::setenv("FAKETIME_TIMESTAMP_FILE", clock.c_str(), 1);
  ::setenv("FAKETIME_NO_CACHE", "1", 1);
  ::setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
  // In the sanitizer build, ASan refuses to run after a preloaded library.
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string asanBefore = asan ? asan : "";
  ::setenv("ASAN_OPTIONS", (asanBefore + (asanBefore.empty() ? "" : ":") + "verify_asan_link_order=0").c_str(), 1);
  Recorder r({"-o", rec, "--root", tree, "--interval", "30ms", "--count", "16", "--segment-snapshots", "2",
              "--max-size", std::to_string(8 * one)});
  ::unsetenv("LD_PRELOAD");
  if (asan)
    ::setenv("ASAN_OPTIONS", asanBefore.c_str(), 1);
  else
    ::unsetenv("ASAN_OPTIONS");
  BOOST_REQUIRE(r.waitLines(6));
  testutil::WriteFile(clock, "-3600\n");  // an hour back
  BOOST_REQUIRE(r.wait() == 0);
  BOOST_REQUIRE(r.lines.size() == 16u);
  BOOST_TEST(r.lines[15]["start"].get<std::string>() < r.lines[0]["start"].get<std::string>());  // it did step
  auto info = Info(rec);
  auto snaps = info["snapshots"];
  BOOST_REQUIRE(snaps.size() >= 2u);
  BOOST_TEST(snaps.size() < 16u);  // --max-size deleted some
  // The held snapshots are the last ones taken, in the order taken.
  const size_t skip = 16 - snaps.size();
  for (size_t i = 0; i < snaps.size(); ++i) BOOST_TEST(snaps[i]["start"] == r.lines[skip + i]["start"], i);
  auto newest = Run({kBin, "info", "--json", "--at", "-1", rec});
  BOOST_TEST(nlohmann::json::parse(newest.out)["snapshots"][0]["start"] == r.lines[15]["start"]);
  BOOST_TEST(Run({kBin, "verify", rec}).exitCode == 0);
}

// What --max-size needs beside the newest snapshot is a delta's reserve,
// not the keyframe's: a bound of a few keyframes still takes many
// snapshots per segment. Torn and empty segments count and go first.
BOOST_AUTO_TEST_CASE(max_size_reserves_for_a_delta_and_counts_every_file) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "--root", tree, "-o", dir / "one.psnap"}).exitCode == 0);
  const uint64_t one = std::filesystem::file_size(dir / "one.psnap");
  std::filesystem::create_directories(rec);
  // Left by an earlier crash: a torn segment as large as two keyframes.
  testutil::WriteFile(rec + "/s000000001-20260101T000000.000Z.psnap.torn", std::string(2 * one, 'x'));
  const uint64_t max = 8 * one;
  Recorder r({"-o", rec, "--root", tree, "--interval", "10ms", "--count", "30", "--max-size", std::to_string(max)});
  while (r.waitLines(r.lines.size() + 1)) BOOST_TEST(DirBytes(rec) <= max);
  BOOST_REQUIRE(r.lines.size() == 30u);
  size_t segments = 0;
  for (auto& e : std::filesystem::directory_iterator(rec)) segments += e.path().extension() == ".psnap";
  BOOST_TEST(segments <= 3u, segments << " segments for 30 snapshots");
  BOOST_TEST(!std::filesystem::exists(rec + "/s000000001-20260101T000000.000Z.psnap.torn"));
  // A bound of a few keyframes (this machine's /proc): each segment still
  // takes deltas (room for the next keyframe beside it), not a keyframe per tick.
  const std::vector<std::string> small = {"--no-threads", "--exclude", "*/smaps*", "--no-exe-hashes"};
  std::vector<std::string> cap = {kBin, "capture", "-q", "-o", dir / "proc.psnap"};
  cap.insert(cap.end(), small.begin(), small.end());
  BOOST_REQUIRE(Run(cap).exitCode == 0);
  const uint64_t key = std::filesystem::file_size(dir / "proc.psnap");
  const std::string tight = dir / "tight";
  std::vector<std::string> args = {"-o", tight, "--interval", "10ms", "--count", "20", "--max-size",
                                   std::to_string(4 * key)};
  args.insert(args.end(), small.begin(), small.end());
  Recorder t(args);
  while (t.waitLines(t.lines.size() + 1)) BOOST_TEST(DirBytes(tight) <= 4 * key);
  BOOST_REQUIRE(t.lines.size() == 20u);
  size_t keyframes = 0;  // a segment's first snapshot is read whole
  for (const auto& l : t.lines) keyframes += l["full"].get<bool>();
  BOOST_TEST(keyframes <= 5u, keyframes << " of 20 snapshots were keyframes");
  // Continuing knows the keyframe's size: the bound still holds.
  Recorder more({"-o", rec, "--root", tree, "--interval", "10ms", "--count", "30", "--max-size",
                 std::to_string(max), "--segment-snapshots", "5"});
  while (more.waitLines(more.lines.size() + 1)) BOOST_TEST(DirBytes(rec) <= max);
  BOOST_TEST(more.lines.size() == 30u);
}

// While record holds a recording, its newest segment's tail is the
// snapshot in progress: verify says so and passes; before the first
// commit, readers say the recording is being written.
BOOST_AUTO_TEST_CASE(a_recording_being_written_is_not_damaged) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  BOOST_REQUIRE(Run({kBin, "record", "-q", "-o", rec, "--root", tree, "--count", "2", "--interval", "10ms"}).exitCode == 0);
  std::string seg;
  for (auto& e : std::filesystem::directory_iterator(rec))
    if (e.path().extension() == ".psnap") seg = e.path().string();
  // A writer holds the lock, and has written part of its next snapshot.
  int lock = ::open((rec + "/.lock").c_str(), O_RDWR);
  BOOST_REQUIRE(lock >= 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  BOOST_REQUIRE(::fcntl(lock, F_OFD_SETLK, &fl) == 0);
  {
    std::ofstream tail(seg, std::ios::app | std::ios::binary);
    tail << std::string(300, 'z');
  }
  auto v = Run({kBin, "verify", rec});
  BOOST_TEST(v.exitCode == 0, v.err);
  BOOST_TEST(v.err.find("being written") != std::string::npos, v.err);
  auto busy = Run({kBin, "record", "-o", rec, "--root", tree, "--count", "1"});
  BOOST_TEST(busy.exitCode == 2);
  // A new recording whose first snapshot is not committed yet.
  std::string fresh = dir / "fresh";
  std::filesystem::create_directories(fresh);
  testutil::WriteFile(fresh + "/s000000001-20261204T000000.000Z.psnap", testutil::ReadFile(seg).substr(0, 16));
  int lock2 = ::open((fresh + "/.lock").c_str(), O_RDWR | O_CREAT, 0644);
  BOOST_REQUIRE(::fcntl(lock2, F_OFD_SETLK, &fl) == 0);
  auto info = Run({kBin, "info", fresh});
  BOOST_TEST(info.exitCode == 2);
  BOOST_TEST(info.err.find("being written") != std::string::npos, info.err);
  BOOST_TEST(info.err.find("trailer") == std::string::npos, info.err);
  ::close(lock);
  ::close(lock2);
  // Once the writer is gone, the same tail is damage the reader falls back from.
  BOOST_TEST(Run({kBin, "verify", rec}).exitCode == 2);
}

BOOST_AUTO_TEST_CASE(sigterm_ends_a_recording_that_verifies) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  Recorder r({"-o", rec, "--root", tree, "--interval", "20ms"});
  BOOST_REQUIRE(r.waitLines(3));
  BOOST_TEST(r.stop(SIGTERM) == 0);
  BOOST_TEST(Run({kBin, "verify", rec}).exitCode == 0);
  BOOST_TEST(Info(rec)["snapshots"].size() >= 3u);
}

// log's rates against the values the raw files give, on a fixture whose
// counters the test sets between two ticks.
BOOST_AUTO_TEST_CASE(log_rates_match_the_raw_counters) {
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec";
  auto counters = [&](uint64_t cpuUser, uint64_t cpuIdle, uint64_t rx, uint64_t sectors, uint64_t nice = 0,
                      uint64_t irq = 0) {
    testutil::WriteFile(tree + "/stat", "cpu  " + std::to_string(cpuUser) + " " + std::to_string(nice) + " 100 " +
                                            std::to_string(cpuIdle) + " 10 " + std::to_string(irq) + " " +
                                            std::to_string(irq) + " 5 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\nprocesses 10\n");
    testutil::WriteFile(tree + "/net/dev",
                        "Inter-| Receive | Transmit\n face |bytes packets|bytes\n"
                        "    lo: 999999 1 0 0 0 0 0 0 999999 1 0 0 0 0 0 0\n"
                        "  eth0: " + std::to_string(rx) + " 1 0 0 0 0 0 0 " + std::to_string(2 * rx) +
                            " 1 0 0 0 0 0 0\n");
    testutil::WriteFile(tree + "/diskstats", "   8 0 sda 1 0 " + std::to_string(sectors) + " 0 1 0 " +
                                                 std::to_string(3 * sectors) + " 0 0 0 0\n"
                                                 "   8 1 sda1 1 0 7 0 1 0 7 0 0 0 0\n");
    testutil::WriteFile(tree + "/meminfo", "MemTotal: 2000 kB\nMemAvailable: 500 kB\nSwapTotal: 100 kB\nSwapFree: 40 kB\n");
  };
  std::filesystem::create_directories(tree + "/net");
  counters(1000, 5000, 1000000, 2048);
  BOOST_REQUIRE(Run({kBin, "record", "-q", "-o", rec, "--root", tree, "--count", "1"}).exitCode == 0);
  counters(1600, 5300, 4000000, 6144, 300, 50);  // +600 user, +300 nice, +100 irq, +300 idle
  BOOST_REQUIRE(Run({kBin, "record", "-q", "-o", rec, "--root", tree, "--count", "1"}).exitCode == 0);
  auto info = Info(rec);
  const std::string t0 = info["snapshots"][0]["start"], t1 = info["snapshots"][1]["start"];
  auto js = Run({kBin, "log", "--json", rec});
  BOOST_REQUIRE_MESSAGE(js.exitCode == 0, js.err);
  auto rows = nlohmann::json::parse(js.out);
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0]["user_pct"].is_null());  // no snapshot before the first
  BOOST_TEST(rows[0]["mem_used_bytes"].get<uint64_t>() == 1500u * 1024);
  BOOST_TEST(rows[0]["swap_used_bytes"].get<uint64_t>() == 60u * 1024);
  BOOST_TEST(rows[0]["processes"].get<uint64_t>() == 2u);
  const auto& r = rows[1];
  // Nice is its own column (a nice-19 hog was invisible inside user).
  BOOST_TEST(r["user_pct"].get<double>() == 100.0 * 600 / 1300, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(r["nice_pct"].get<double>() == 100.0 * 300 / 1300, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(r["irq_pct"].get<double>() == 100.0 * 100 / 1300, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(r["system_pct"].get<double>() == 0.0);
  // The seconds between the two starts, from what info prints (ms): the
  // log uses nanoseconds, so allow a millisecond's difference.
  auto ms = [](const std::string& iso) {
    return std::stoll(iso.substr(11, 2)) * 3600000 + std::stoll(iso.substr(14, 2)) * 60000 +
           std::stoll(iso.substr(17, 2)) * 1000 + std::stoll(iso.substr(20, 3));
  };
  const double seconds = (ms(t1) - ms(t0)) / 1000.0;
  BOOST_REQUIRE(seconds > 0);
  const double rx = r["net_rx_bytes_per_s"].get<double>(), tx = r["net_tx_bytes_per_s"].get<double>();
  BOOST_TEST(rx * seconds == 3000000.0, boost::test_tools::tolerance(0.01 + 0.001 / seconds));
  BOOST_TEST(tx == 2 * rx, boost::test_tools::tolerance(1e-9));  // lo left out
  const double rd = r["disk_read_bytes_per_s"].get<double>(), wr = r["disk_write_bytes_per_s"].get<double>();
  BOOST_TEST(rd * seconds == 4096.0 * 512, boost::test_tools::tolerance(0.01 + 0.001 / seconds));  // sda1 left out
  BOOST_TEST(wr == 3 * rd, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(r["started"].get<uint64_t>() == 0u);
  // Text: a header and a line per snapshot; --from/--to narrow it.
  auto text = Run({kBin, "log", rec});
  BOOST_TEST(std::count(text.out.begin(), text.out.end(), '\n') == 3);
  BOOST_TEST(text.out.find(" 46.2  23.1   0.0   7.7 ") != std::string::npos, text.out);  // usr nice sys irq
  auto one = Run({kBin, "log", "--json", "--from", "1", rec});
  BOOST_TEST(nlohmann::json::parse(one.out).size() == 1u);
  BOOST_TEST(nlohmann::json::parse(one.out)[0]["user_pct"].is_number());  // still against snapshot 0
  BOOST_TEST(Run({kBin, "log", "--from", "1", "--to", "0", rec}).exitCode == 2);
}

// mount --timeline: a directory per snapshot, each a whole /proc of its
// moment (the same bytes cat --at gives), and latest -> the newest.
BOOST_AUTO_TEST_CASE(mount_timeline_shows_one_whole_proc_per_moment) {
  if (!testutil::CanMount()) {
    std::puts("SKIPPED: mount --timeline needs root and /dev/fuse");
    return;
  }
  TempDir dir;
  std::string tree = FakeTree(dir), rec = dir / "rec", mnt = dir / "mnt";
  std::filesystem::create_directories(mnt);
  for (int k = 0; k < 4; ++k) {
    testutil::WriteFile(tree + "/uptime", std::to_string(100 + k) + ".00 1.00\n");
    if (k == 2) {  // a process that starts at the third moment
      BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", dir / "t2", "777"}).exitCode == 0);
      std::filesystem::rename(dir / "t2/777", tree + "/777");
    }
    BOOST_REQUIRE(Run({kBin, "record", "-q", "-o", rec, "--root", tree, "--count", "1", "--segment-snapshots", "3"}).exitCode == 0);
  }
  auto m = Run({kBin, "mount", "--timeline", rec, mnt});
  BOOST_REQUIRE_MESSAGE(m.exitCode == 0, m.err);
  struct Unmount {
    std::string dir;
    ~Unmount() { Run({"/usr/bin/fusermount3", "-u", dir}); }
  } unmount{mnt};
  auto info = Info(rec);
  std::vector<std::string> names = testutil::ListDir(mnt);
  BOOST_TEST(names.size() == 5u);  // four moments and latest
  for (int k = 0; k < 4; ++k) {
    std::string stamp = info["snapshots"][k]["start"];
    BOOST_TEST_CONTEXT(stamp) {
      BOOST_TEST(testutil::ReadFile(mnt + "/" + stamp + "/uptime") == std::to_string(100 + k) + ".00 1.00\n");
      BOOST_TEST(testutil::ReadFile(mnt + "/" + stamp + "/42/status") ==
                 Run({kBin, "cat", "--at", std::to_string(k), rec, "42/status"}).out);
      BOOST_TEST(std::filesystem::exists(mnt + "/" + stamp + "/777") == (k >= 2));
      BOOST_TEST(testutil::ReadLink(mnt + "/" + stamp + "/self") == "1");
    }
  }
  BOOST_TEST(testutil::ReadLink(mnt + "/latest") == info["snapshots"][3]["start"].get<std::string>());
  BOOST_TEST(testutil::ReadFile(mnt + "/latest/uptime") == "103.00 1.00\n");
  // Read-only like any mount of procsnap.
  BOOST_TEST(::open((mnt + "/latest/uptime").c_str(), O_WRONLY) == -1);
  BOOST_TEST(errno == EROFS);
  BOOST_TEST(!std::filesystem::exists(mnt + "/2001-01-01T00:00:00.000Z"));
  // --at and --timeline name different things.
  BOOST_TEST(Run({kBin, "mount", "--timeline", "--at", "0", rec, mnt}).exitCode == 2);
}

// Between full snapshots, a process that has not run (its stat line and
// run counts are unchanged: here one asleep in pause()) is carried from the
// snapshot before, and says so in ls -l, info and the export manifest; its
// bytes are the ones read then. What others change (limits, status...) is
// read. A process that ran is read again; --full carries none.
BOOST_AUTO_TEST_CASE(processes_that_did_not_run_are_carried_and_say_so) {
  TempDir dir;
  std::string rec = dir / "rec", full = dir / "full";
  testutil::Child stopped({CHILD_HELPER, "--threads", "1"}, {"PROCSNAP_TEST=carried"});
  const std::string pid = std::to_string(stopped.pid());
  Recorder r({"-o", rec, "--interval", "100ms", "--count", "3", "--exclude", "*/smaps*"});
  BOOST_REQUIRE(r.wait() == 0);
  BOOST_TEST(r.lines[0]["full"].get<bool>());
  BOOST_TEST(!r.lines[1]["full"].get<bool>());
  auto ls = Run({kBin, "ls", "-l", "--at", "2", rec, pid});
  BOOST_REQUIRE_MESSAGE(ls.exitCode == 0, ls.err);
  // Read at the first snapshot, carried through the second into the third.
  BOOST_TEST(ls.out.find("[carried: read at " + r.lines[0]["start"].get<std::string>() +
                         "; its process had not run since") != std::string::npos,
             ls.out);
  BOOST_TEST(ls.out.find("carried: carried") == std::string::npos, ls.out);
  // Carried bytes are the bytes read at the full snapshot.
  BOOST_TEST(Run({kBin, "cat", "--at", "2", rec, pid + "/environ"}).out ==
             Run({kBin, "cat", "--at", "0", rec, pid + "/environ"}).out);
  // What another process may change is read at every snapshot.
  for (const char* f : {"/limits", "/status", "/oom_score_adj", "/cgroup", "/mountinfo", "/fdinfo"})
    BOOST_TEST(Run({kBin, "ls", "-l", "--at", "2", rec, pid + f}).out.find("carried") == std::string::npos, f);
  auto info = Run({kBin, "info", "--at", "2", rec});
  BOOST_TEST(info.out.find("carried from earlier snapshots") != std::string::npos, info.out);
  BOOST_TEST(info.out.find("none before the full snapshot of " + r.lines[0]["start"].get<std::string>()) !=
                 std::string::npos,
             info.out);
  // The recorder itself ran between ticks: its files are read at each.
  auto self = Run({kBin, "ls", "-l", "--at", "2", rec, "self/"});
  BOOST_TEST(self.out.find("carried") == std::string::npos, self.out);
  // The export manifest says which files were not read again.
  std::string out = dir / "export";
  BOOST_REQUIRE(Run({kBin, "export", "--at", "2", rec, out}).exitCode == 0);
  auto manifest = testutil::ReadFile(out + "/.procsnap-manifest.json");
  BOOST_TEST(manifest.find("\"carried\"") != std::string::npos);
  // --full reads every snapshot whole.
  Recorder f({"-o", full, "--interval", "100ms", "--count", "2", "--full", "--exclude", "*/smaps*"});
  BOOST_REQUIRE(f.wait() == 0);
  BOOST_TEST(f.lines[1]["full"].get<bool>());
  BOOST_TEST(Run({kBin, "ls", "-l", "--at", "1", full, pid}).out.find("carried") == std::string::npos);
  BOOST_TEST(Run({kBin, "verify", rec}).exitCode == 0);
  // Executables are hashed once and carried: the same record at every tick.
  for (const char* at : {"0", "2"}) {
    auto exes = nlohmann::json::parse(Run({kBin, "executables", "--json", "--at", at, rec}).out);
    bool found = false;
    for (const auto& e : exes["executables"])
      for (const auto& p : e["pids"])
        found = found || (p.get<long>() == stopped.pid() && e["sha256"] == testutil::Sha256Sum(CHILD_HELPER));
    BOOST_TEST(found, "snapshot " << at << ": " << exes.dump());
  }
}

// A process that runs has its threads that did not carried, one by one: a
// busy main thread beside three asleep. What they share with the busy one
// (descriptor table, memory map, name, limits) is read.
BOOST_AUTO_TEST_CASE(threads_that_did_not_run_are_carried_in_a_process_that_did) {
  TempDir dir;
  testutil::Spawned busy({"/usr/bin/python3", "-c",
                          "import threading, time\n"
                          "ts = [threading.Thread(target=time.sleep, args=(3600,), daemon=True) for _ in range(3)]\n"
                          "[t.start() for t in ts]\n"
                          "print('ready', flush=True)\n"
                          "x = 0\n"
                          "while True: x += 1\n"},
                         {});
  BOOST_REQUIRE(busy.line() == "ready");
  const std::string pid = std::to_string(busy.pid()), rec = dir / "rec";
  Recorder r({"-o", rec, "--interval", "200ms", "--count", "3", "--exclude", "*/smaps*"});
  BOOST_REQUIRE(r.wait() == 0);
  auto tids = testutil::ListDir("/proc/" + pid + "/task");
  BOOST_REQUIRE_EQUAL(tids.size(), 4u);
  size_t carried = 0;
  for (const auto& tid : tids) {
    auto ls = Run({kBin, "ls", "-l", "--at", "2", rec, pid + "/task/" + tid});
    BOOST_REQUIRE_MESSAGE(ls.exitCode == 0, ls.err);
    const bool says = ls.out.find("the thread had not run since") != std::string::npos;
    if (tid == pid) {
      BOOST_TEST(!says, "the busy thread was read again: " << ls.out);
    } else if (says) {
      ++carried;
      // What it shares with the busy thread was read: descriptors, memory map.
      for (const char* f : {"/fd", "/maps", "/comm", "/limits"}) {
        auto shared = Run({kBin, "ls", "-l", "--at", "2", rec, pid + "/task/" + tid + f});
        BOOST_TEST(shared.out.find("carried") == std::string::npos, f << ": " << shared.out);
      }
      auto own = Run({kBin, "ls", "-l", "--at", "2", rec, pid + "/task/" + tid + "/wchan"});
      BOOST_TEST(own.out.find("carried") != std::string::npos, own.out);
    }
  }
  BOOST_TEST(carried == 3u, carried << " sleeping threads carried");
  // The process itself ran: its own files were read again.
  for (const char* f : {"/status", "/limits", "/mountinfo", "/cmdline"})
    BOOST_TEST(Run({kBin, "ls", "-l", "--at", "2", rec, pid + f}).out.find("carried") == std::string::npos, f);
  BOOST_TEST(Run({kBin, "verify", rec}).exitCode == 0);
}

// A process that wakes for a moment (one open() and back to sleep: its
// stat line, counted in 10 ms ticks, stays byte-identical) is read again,
// and what another process changes in one that never runs (prlimit,
// oom_score_adj) shows at the next snapshot, not at the next full one.
BOOST_AUTO_TEST_CASE(a_recording_never_carries_what_changed) {
  TempDir dir;
  testutil::Spawned opener({"/usr/bin/python3", "-c",
                            "import os, sys, time\n"
                            "print('ready', flush=True)\n"
                            "held = []\n"
                            "while True:\n"
                            "    time.sleep(0.12)\n"
                            "    held.append(os.open('/dev/null', os.O_RDONLY))\n"},
                           {});
  BOOST_REQUIRE(opener.line() == "ready");
  testutil::Child sleeper({CHILD_HELPER, "--no-listen"}, {"PROCSNAP_TEST=sleeper"});
  const std::string op = std::to_string(opener.pid()), sp = std::to_string(sleeper.pid()), rec = dir / "rec";
  Recorder r({"-o", rec, "--interval", "200ms", "--count", "8", "--exclude", "*/smaps*"});
  BOOST_REQUIRE(r.waitLines(2));
  // After the second snapshot: another process changes the sleeper.
  BOOST_REQUIRE(Run({"/usr/bin/prlimit", "--pid", sp, "--nofile=1234:5678"}).exitCode == 0);
  testutil::WriteFile("/proc/" + sp + "/oom_score_adj", "777\n");
  BOOST_REQUIRE(r.wait() == 0);
  for (size_t k = 0; k < 8; ++k) BOOST_TEST(!(k > 0 && r.lines[k]["full"].get<bool>()), "snapshot " << k << " full");
  const std::string last = std::to_string(r.lines.size() - 1);
  auto limits = Run({kBin, "cat", "--at", last, rec, sp + "/limits"});
  BOOST_TEST(limits.out.find("1234") != std::string::npos, limits.out);
  BOOST_TEST(Run({kBin, "cat", "--at", last, rec, sp + "/oom_score_adj"}).out == "777\n");
  // The opener's descriptors grow from snapshot to snapshot.
  auto fds = [&](size_t k) {
    auto ls = Run({kBin, "ls", "--at", std::to_string(k), rec, op + "/fd"});
    return std::count(ls.out.begin(), ls.out.end(), '\n');
  };
  const long first = fds(0), final = fds(r.lines.size() - 1);
  BOOST_TEST(final - first >= 4, "fds at the first snapshot " << first << ", at the last " << final);
  // Every carried node's note is true: the sleeper had not run; it is carried.
  auto ls = Run({kBin, "ls", "-l", "--at", last, rec, sp + "/environ"});
  BOOST_TEST(ls.out.find("its process had not run since") != std::string::npos, ls.out);
}

// record --light: between full snapshots each process and thread is read
// only for what moves (stat, statm, status, io, schedstat, the thread
// list), the rest carried and marked; new threads and processes, and one
// that exec'd, are read whole; system counters are read, sys/ carried but
// for the few counters sar shows.
BOOST_AUTO_TEST_CASE(a_light_recording_reads_what_moves_and_carries_the_rest) {
  TempDir dir;
  const std::string flag = dir / "exec-now", rec = dir / "rec";
  // Busy; three sleeping threads more when the flag file appears.
  testutil::Spawned busy({"/usr/bin/python3", "-c",
                          "import os, sys, threading, time\n"
                          "def spawn():\n"
                          "    while not os.path.exists(sys.argv[1]): time.sleep(0.02)\n"
                          "    for _ in range(3):\n"
                          "        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n"
                          "    time.sleep(3600)\n"
                          "print('ready', flush=True)\n"
                          "threading.Thread(target=spawn, daemon=True).start()\n"
                          "x = 0\n"
                          "while True: x += 1\n",
                          flag},
                         {});
  BOOST_REQUIRE(busy.line() == "ready");
  // Execs into sleep when the flag file appears (made after the second snapshot).
  testutil::Spawned execer({"/usr/bin/python3", "-c",
                            "import os, sys, time\n"
                            "print('ready', flush=True)\n"
                            "while not os.path.exists(sys.argv[1]): time.sleep(0.02)\n"
                            "os.execv('/bin/sleep', ['sleep', '3600'])\n",
                            flag},
                           {});
  BOOST_REQUIRE(execer.line() == "ready");
  const std::string bp = std::to_string(busy.pid()), ep = std::to_string(execer.pid());
  Recorder r({"-o", rec, "--light", "--full-every", "6", "--interval", "200ms", "--count", "7", "--exclude",
              "*/smaps*"});
  BOOST_REQUIRE(r.waitLines(2));
  testutil::WriteFile(flag, "");
  for (int i = 0; i < 500 && testutil::ReadFile("/proc/" + ep + "/comm") != "sleep\n"; ++i) usleep(10000);
  BOOST_REQUIRE(testutil::ReadFile("/proc/" + ep + "/comm") == "sleep\n");
  for (int i = 0; i < 500 && testutil::ListDir("/proc/" + bp + "/task").size() < 5; ++i) usleep(10000);
  BOOST_REQUIRE_EQUAL(testutil::ListDir("/proc/" + bp + "/task").size(), 5u);
  testutil::Child started({CHILD_HELPER, "--no-listen"}, {"PROCSNAP_TEST=started-late"});
  const std::string sp = std::to_string(started.pid());
  const size_t after = r.lines.size();  // snapshots from here on began after the exec and the start
  BOOST_REQUIRE(r.waitLines(after + 2));
  BOOST_REQUIRE(r.wait() == 0);
  BOOST_REQUIRE_EQUAL(r.lines.size(), 7u);
  for (size_t k = 0; k < 7; ++k) BOOST_TEST(r.lines[k]["full"].get<bool>() == (k == 0 || k == 6), "snapshot " << k);
  const std::string at = std::to_string(after + 1);  // light, after both
  BOOST_REQUIRE(!r.lines[after + 1]["full"].get<bool>());
  auto carried = [&](const std::string& path) {
    auto ls = Run({kBin, "ls", "-ld", "--at", at, rec, path});
    BOOST_REQUIRE_MESSAGE(ls.exitCode == 0, path << ": " << ls.err);
    return ls.out.find("[carried: read at") != std::string::npos;
  };
  // What moves is read; the rest is carried, saying why.
  for (const char* f : {"/stat", "/statm", "/status", "/io", "/schedstat"}) BOOST_TEST(!carried(bp + f), f);
  for (const char* f : {"/environ", "/limits", "/cgroup", "/maps", "/cmdline"}) BOOST_TEST(carried(bp + f), f);
  auto note = Run({kBin, "ls", "-l", "--at", at, rec, bp + "/environ"}).out;
  BOOST_TEST(note.find("a light snapshot (record --light)") != std::string::npos, note);
  // The busy process's CPU time moves from light snapshot to light snapshot.
  auto utime = [&](size_t k) {
    auto stat = Run({kBin, "cat", "--at", std::to_string(k), rec, bp + "/stat"}).out;
    std::istringstream in(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 14 && in >> field; ++i) {
    }
    return std::stoul(field);
  };
  BOOST_TEST(utime(after + 1) > utime(1));
  // Threads: each one's counters read, its own files carried; the ones that
  // came since the full snapshot are listed.
  auto tids = Run({kBin, "ls", "--at", at, rec, bp + "/task"}).out;
  const long listed = std::count(tids.begin(), tids.end(), '\n');
  auto firstTids = Run({kBin, "ls", "--at", "0", rec, bp + "/task"}).out;
  BOOST_TEST(listed > std::count(firstTids.begin(), firstTids.end(), '\n'), firstTids << " then " << tids);
  std::istringstream tidList(tids);
  std::string tid;
  while (tidList >> tid)
    BOOST_TEST(!carried(bp + "/task/" + tid + "/stat"), Run({kBin, "ls", "-l", "--at", at, rec, bp + "/task/" + tid}).out);
  // One that was there at the full snapshot carries its own files.
  std::istringstream oldList(firstTids);
  std::string oldTid;
  oldList >> oldTid;
  BOOST_TEST(carried(bp + "/task/" + oldTid + "/wchan"));
  // A process that exec'd and one that started are read whole at the first
  // snapshot that sees them so, carried after.
  auto firstWith = [&](const std::string& path, const std::string& content) {
    for (size_t k = 1; k < r.lines.size(); ++k) {
      auto c = Run({kBin, "cat", "--at", std::to_string(k), rec, path});
      if (c.exitCode == 0 && (content.empty() || c.out == content)) return k;
    }
    return size_t(0);
  };
  for (size_t k : {firstWith(ep + "/cmdline", std::string("sleep\0" "3600\0", 11)), firstWith(sp + "/stat", "")}) {
    BOOST_REQUIRE(k > 0 && k < 6);
    for (const char* f : {"/cmdline", "/environ", "/maps"}) {
      const std::string p = (k == firstWith(sp + "/stat", "") ? sp : ep) + f;
      auto ls = Run({kBin, "ls", "-l", "--at", std::to_string(k), rec, p});
      BOOST_TEST(ls.out.find("carried") == std::string::npos, "snapshot " << k << ": " << ls.out);
    }
  }
  // The system: counters read, the rest carried.
  for (const char* f : {"meminfo", "stat", "loadavg", "vmstat", "sys/fs/file-nr"}) BOOST_TEST(!carried(f), f);
  for (const char* f : {"sys/kernel/hostname", "cpuinfo", "sys/vm/swappiness"})
    BOOST_TEST(carried(f), Run({kBin, "ls", "-l", "--at", at, rec, f}).out);
  auto info = Run({kBin, "info", "--at", at, rec});
  BOOST_TEST(info.out.find("a light snapshot (record --light)") != std::string::npos, info.out);
  // The full snapshot reads everything again.
  auto full = Run({kBin, "ls", "-l", "--at", "6", rec, bp});
  BOOST_TEST(full.out.find("carried") == std::string::npos, full.out);
  BOOST_TEST(Run({kBin, "verify", rec}).exitCode == 0);
}

// Threads that share their process's descriptor table (kcmp says so) are
// given its fd/ and fdinfo/ entries, and the metadata says how many.
BOOST_AUTO_TEST_CASE(threads_sharing_the_descriptor_table_take_the_process_entries) {
  TempDir dir;
  testutil::Child child({CHILD_HELPER, "--threads", "2"}, {"PROCSNAP_TEST=fds"});
  const std::string pid = std::to_string(child.pid()), archive = dir / "a.psnap";
  BOOST_REQUIRE(Run({kBin, "capture", "-q", "-o", archive}).exitCode == 0);
  auto tids = testutil::ListDir("/proc/" + pid + "/task");
  BOOST_REQUIRE(tids.size() >= 2u);
  const std::string other = tids[0] == pid ? tids[1] : tids[0];
  auto mine = Run({kBin, "ls", "-l", archive, pid + "/fd"});
  auto theirs = Run({kBin, "ls", "-l", archive, pid + "/task/" + other + "/fd"});
  BOOST_REQUIRE(mine.exitCode == 0 && theirs.exitCode == 0);
  auto targets = [](const std::string& listing) {
    std::vector<std::string> out;
    std::istringstream in(listing);
    for (std::string l; std::getline(in, l);)
      if (l.find(" -> ") != std::string::npos) out.push_back(l.substr(l.find(" -> ")));
    return out;
  };
  BOOST_TEST(!targets(mine.out).empty());
  BOOST_TEST((targets(mine.out) == targets(theirs.out)), theirs.out);
  BOOST_TEST(Run({kBin, "info", archive}).out.find("kcmp KCMP_FILES") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
