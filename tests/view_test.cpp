// The view library's naming of moments: durations, --at by index, ISO time
// (UTC, offset, local), precision and time before the newest; and --at on
// real appended archives and recordings through the commands.
#define BOOST_TEST_MODULE view
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "test_util.h"
#include "view/view.h"

using namespace procsnap;
using testutil::Run;
using testutil::TempDir;

namespace {
const std::string kBin = PROCSNAP_BIN;
constexpr int64_t kS = 1000000000;
// 2026-11-23T07:11:05Z
constexpr int64_t kT = 1795417865 * kS;

size_t Pick(const std::string& at, const std::vector<int64_t>& starts) {
  auto spec = ParseSnapshotSpec(at);
  BOOST_REQUIRE_MESSAGE(spec.ok(), spec.status().message());
  auto i = PickSnapshot(*spec, starts, "rec");
  BOOST_REQUIRE_MESSAGE(i.ok(), at << ": " << i.status().message());
  return *i;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(view)

BOOST_AUTO_TEST_CASE(durations_take_their_unit) {
  BOOST_TEST(*ParseDuration("500ms") == kS / 2);
  BOOST_TEST(*ParseDuration("10s") == 10 * kS);
  BOOST_TEST(*ParseDuration("10") == 10 * kS);
  BOOST_TEST(*ParseDuration("5m") == 300 * kS);
  BOOST_TEST(*ParseDuration("1h") == 3600 * kS);
  BOOST_TEST(*ParseDuration("7d") == 7 * 86400 * kS);
  // Decimals, as people write them.
  BOOST_TEST(*ParseDuration("0.3s") == 3 * kS / 10);
  BOOST_TEST(*ParseDuration("1.5m") == 90 * kS);
  BOOST_TEST(*ParseDuration("2.25") == 9 * kS / 4);
  BOOST_TEST(*ParseDuration("0.5ms") == 500000);
  BOOST_TEST(*ParseDuration("1.000000001s") == kS + 1);
  BOOST_TEST(*ParseDuration("0.1d") == 8640 * kS);
  for (const char* bad : {"", "s", "10x", "1.s", ".5s", "1.5.5s", "1.0000000001s", "-1s", "99999999999999d"})
    BOOST_TEST(!ParseDuration(bad).ok(), bad);
  BOOST_TEST(WallTime(kT + 250 * 1000000) == "2026-11-23T07:11:05.250Z");
  BOOST_TEST(WallTime(-1) == "1969-12-31T23:59:59.999Z");
}

BOOST_AUTO_TEST_CASE(a_time_names_the_newest_snapshot_at_or_before_it_at_its_precision) {
  // Snapshots at :05.250, :15.250, :25.250 (10 s apart).
  const std::vector<int64_t> starts = {kT + kS / 4, kT + 10 * kS + kS / 4, kT + 20 * kS + kS / 4};
  BOOST_TEST(Pick("0", starts) == 0u);
  BOOST_TEST(Pick("-1", starts) == 2u);
  BOOST_TEST(Pick("-3", starts) == 0u);
  // What info prints names that very snapshot, at every precision.
  BOOST_TEST(Pick("2026-11-23T07:11:15.250Z", starts) == 1u);
  BOOST_TEST(Pick("2026-11-23T07:11:15Z", starts) == 1u);
  BOOST_TEST(Pick("2026-11-23T07:11:15.249Z", starts) == 0u);
  BOOST_TEST(Pick("2026-11-23T07:11:14Z", starts) == 0u);
  BOOST_TEST(Pick("2026-11-23 07:11:24,9Z", starts) == 1u);
  BOOST_TEST(Pick("2026-11-23T07:11Z", starts) == 2u);  // the whole minute
  BOOST_TEST(Pick("2026-11-23T08:11:15+01:00", starts) == 1u);
  BOOST_TEST(Pick("2026-11-23T02:11:15-05:00", starts) == 1u);
  // Before the newest: 10 s before :25.250 is :15.250 itself.
  BOOST_TEST(Pick("-10s", starts) == 1u);
  BOOST_TEST(Pick("-11s", starts) == 0u);
  BOOST_TEST(Pick("-0s", starts) == 2u);
  // Outside the recording: errors that name the span.
  for (const char* outside : {"2026-11-23T07:11:04Z", "2026-11-23T07:12:05Z", "-21s", "3", "-4"}) {
    auto i = PickSnapshot(*ParseSnapshotSpec(outside), starts, "rec");
    BOOST_REQUIRE(!i.ok());
    BOOST_TEST(i.status().message().find("rec: ") == 0u, i.status().message());
  }
  auto late = PickSnapshot(*ParseSnapshotSpec("2026-11-23T09:00:00Z"), starts, "rec");
  BOOST_TEST(late.status().message().find("2026-11-23T07:11:05.250Z .. 2026-11-23T07:11:25.250Z") != std::string::npos,
             late.status().message());
  for (const char* bad : {"yesterday", "2026-13-01T00:00Z", "2026-11-23", "2026-11-23T07:11:05Q", "--5m", "@"})
    BOOST_TEST(!ParseSnapshotSpec(bad).ok(), bad);
}

BOOST_AUTO_TEST_CASE(a_timeline_has_a_span_an_interval_and_gaps) {
  // Every 10 s, one tick missed (a 20 s gap), then a 60 s pause.
  const std::vector<int64_t> starts = {kT, kT + 10 * kS, kT + 30 * kS, kT + 40 * kS, kT + 100 * kS, kT + 110 * kS};
  TimelineShape t = ShapeOf(starts);
  BOOST_TEST(t.count == 6u);
  BOOST_TEST(t.firstNs == kT);
  BOOST_TEST(t.lastNs == kT + 110 * kS);
  BOOST_TEST(t.intervalNs == 10 * kS);
  BOOST_TEST(t.gaps == 2u);
  BOOST_TEST(t.longestGapNs == 60 * kS);
  BOOST_TEST(t.longestGapEndNs == kT + 100 * kS);
  BOOST_TEST(ShapeOf({kT}).intervalNs == 0);
  BOOST_TEST(ShapeOf({INT64_MIN, INT64_MAX}).intervalNs == INT64_MAX);  // hostile times do not wrap
}

BOOST_AUTO_TEST_CASE(local_time_follows_tz) {
  const std::vector<int64_t> starts = {kT, kT + 10 * kS};
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  setenv("TZ", "Asia/Kolkata", 1);  // +05:30, no daylight saving
  tzset();
  size_t i = Pick("2026-11-23T12:41:15", starts);
  if (old) setenv("TZ", saved.c_str(), 1); else unsetenv("TZ");
  tzset();
  BOOST_TEST(i == 1u);
}

// Through the commands, on a real archive of three captures and on a
// recording (a directory of segment archives) of the same three.
BOOST_AUTO_TEST_CASE(every_command_takes_at_as_a_time_on_archives_and_recordings) {
  TempDir dir;
  std::string tree = dir / "t", archive = dir / "a.psnap", rec = dir / "rec";
  std::filesystem::create_directories(rec);
  BOOST_REQUIRE(Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", tree, "1"}).exitCode == 0);
  for (int k = 0; k < 3; ++k) {
    testutil::WriteFile(tree + "/uptime", std::to_string(k) + "\n");
    std::filesystem::create_directories(tree + "/sys/kernel");
    testutil::WriteFile(tree + "/sys/kernel/domainname", "moment" + std::string(1, char('a' + k)) + "\n");
    for (const std::string& out : {archive, rec + (k < 2 ? "/1-first.psnap" : "/2-second.psnap")}) {
      std::vector<std::string> argv = {kBin, "capture", "-q", "--root", tree, "-o", out};
      if (std::filesystem::exists(out)) argv.push_back("--append");
      auto c = Run(argv);
      BOOST_REQUIRE_MESSAGE(c.exitCode == 0, c.err);
    }
  }
  for (const std::string& path : {archive, rec}) {
    BOOST_TEST_CONTEXT(path) {
      auto info = Run({kBin, "info", "--json", path});
      BOOST_REQUIRE_MESSAGE(info.exitCode == 0, info.err);
      auto j = nlohmann::json::parse(info.out);
      BOOST_REQUIRE(j["snapshots"].size() == 3u);
      for (int k = 0; k < 3; ++k) {
        std::string start = j["snapshots"][k]["start"];
        auto cat = Run({kBin, "cat", "--at", start, path, "uptime"});
        BOOST_TEST(cat.out == std::to_string(k) + "\n", start << ": " << cat.err);
        BOOST_TEST(Run({kBin, "cat", "--at", std::to_string(k), path, "uptime"}).out == std::to_string(k) + "\n");
        auto diff = Run({kBin, "diff", path + "@" + start, path + "@-1"});
        BOOST_TEST(diff.exitCode == (k == 2 ? 0 : 1), diff.err);
      }
      BOOST_TEST(Run({kBin, "cat", "--at", "-0s", path, "uptime"}).out == "2\n");
      auto one = Run({kBin, "info", "--json", "--at", "1", path});
      BOOST_TEST(nlohmann::json::parse(one.out)["snapshots"].size() == 1u);
      BOOST_TEST(Run({kBin, "verify", path}).exitCode == 0);
      auto outside = Run({kBin, "cat", "--at", "2001-01-01T00:00Z", path, "uptime"});
      BOOST_TEST(outside.exitCode == 2);
      BOOST_TEST(outside.err.find("snapshots span") != std::string::npos, outside.err);
      auto bad = Run({kBin, "ls", "--at", "noon", path});
      BOOST_TEST(bad.exitCode == 2);
      BOOST_TEST(bad.err.find("names no snapshot") != std::string::npos, bad.err);
    }
  }
  // A directory without segments is not a recording.
  auto empty = Run({kBin, "info", tree + "/sys"});
  BOOST_TEST(empty.exitCode == 2);
  BOOST_TEST(empty.err.find("not a recording") != std::string::npos, empty.err);
}

BOOST_AUTO_TEST_SUITE_END()
