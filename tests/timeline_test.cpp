// top, events, log and report over a recording of this machine made
// snapshot by snapshot around a known workload: a CPU burner in snapshots
// 1-3, a memory holder and a nice-19 hog in 4-5, a TCP listener in 6-7.
#define BOOST_TEST_MODULE timeline
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "test_util.h"

using testutil::Run;
using testutil::TempDir;

namespace {

const std::string kBin = PROCSNAP_BIN;
const std::string kChromium = "/usr/bin/chromium";
const std::vector<std::string> kEnv = {"PATH=/usr/bin:/bin", "LC_ALL=C"};

// The workload's own duration (not a wait for a condition): the burner
// and the hog run for this long between two snapshots.
void Work(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

struct Recording {
  TempDir dir;
  std::string rec = dir / "rec";
  pid_t burner = 0, holder = 0, hog = 0, listener = 0;
  int port = 0;
  uint64_t holderRss = 0;  // bytes, read live once it had touched its memory

  void snap() {
    auto r = Run({kBin, "record", "-q", "-o", rec, "--count", "1"});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  }
  Recording() {
    snap();  // 0
    {
      testutil::Spawned burn({"/usr/bin/nice", "-n", "-10", "/bin/sh", "-c",
                              "echo ready; while :; do :; done # <b>burner</b>"},
                             kEnv);
      burner = burn.pid();
      Work(300);
      snap();  // 1
      Work(500);
      snap();  // 2
      Work(500);
      snap();  // 3
    }
    {
      testutil::Spawned hold({"/usr/bin/python3", "-c",
                              "import time\nb = bytearray(200 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
                              "print('ready', flush=True)\ntime.sleep(600)"},
                             kEnv);
      holder = hold.pid();
      std::istringstream statm(testutil::ReadFile("/proc/" + std::to_string(holder) + "/statm"));
      uint64_t size = 0, resident = 0;
      statm >> size >> resident;
      holderRss = resident * sysconf(_SC_PAGESIZE);
      testutil::Spawned nice19({"/usr/bin/nice", "-n", "19", "/bin/sh", "-c", "echo ready; while :; do :; done # hog19"},
                               kEnv);
      hog = nice19.pid();
      snap();  // 4
      Work(500);
      snap();  // 5
    }
    {
      testutil::Spawned listen({CHILD_HELPER}, kEnv);
      BOOST_REQUIRE(listen.line().rfind("ready ", 0) == 0);
      listener = listen.pid();
      port = std::atoi(listen.line().c_str() + 6);
      snap();  // 6
      snap();  // 7
    }
    snap();  // 8
  }
};

Recording& Fixture() {
  static Recording r;  // made once for the suite: it takes a few seconds
  return r;
}

nlohmann::json Json(const std::vector<std::string>& argv) {
  auto r = Run(argv);
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  return nlohmann::json::parse(r.out);
}

// The JSON data of chart `id` as the page embeds it (what is drawn).
nlohmann::json ChartData(const std::string& html, const std::string& id) {
  size_t at = html.find("<figure class=\"chart\" id=\"" + id + "\">");
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, "no chart " << id);
  const std::string open = "<script type=\"application/json\" class=\"chart-data\">";
  size_t b = html.find(open, at) + open.size(), e = html.find("</script>", b);
  return nlohmann::json::parse(html.substr(b, e - b));
}

bool HaveChromium() {
  if (access(kChromium.c_str(), X_OK) != 0) {
    BOOST_TEST_MESSAGE("SKIPPED: no " << kChromium << " (scripts/setup.sh --test installs it)");
    return false;
  }
  return true;
}

// The page's DOM after its scripts ran, and Chromium's log.
testutil::RunResult Dom(const std::string& page, const TempDir& dir) {
  return Run({kChromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--user-data-dir=" + dir / "chromium", "--enable-logging=stderr", "--v=0", "--dump-dom",
              "file://" + page});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(timeline)

BOOST_AUTO_TEST_CASE(top_names_the_burner_first_in_exactly_the_intervals_it_ran) {
  auto& f = Fixture();
  auto top = Json({kBin, "top", "--json", "-n", "3", f.rec});
  BOOST_REQUIRE_EQUAL(top.size(), 8u);  // a pair of consecutive snapshots each
  for (const auto& interval : top) {
    const size_t last = interval["last_index"].get<size_t>();
    BOOST_REQUIRE(!interval["processes"].empty());
    const auto& first = interval["processes"][0];
    const bool burner = first["pid"].get<long>() == f.burner;
    if (last == 2 || last == 3) {
      BOOST_TEST(burner, "interval to " << last << " names pid " << first["pid"] << " first");
      BOOST_TEST(first["cpu_pct"].get<double>() >= 70.0, "burner at " << first["cpu_pct"]);
      BOOST_TEST(first["command"].get<std::string>().find("<b>burner</b>") != std::string::npos);
      BOOST_TEST(first["user_pct"].get<double>() >= first["system_pct"].get<double>());
    } else if (last >= 4) {
      BOOST_TEST(!burner, "the burner first in interval to " << last << ", after it ended");
    }
  }
  // The nice-19 hog shows with its nice value while it ran.
  bool hogSeen = false;
  for (const auto& interval : Json({kBin, "top", "--json", "-n", "50", "--from", "5", "--to", "5", f.rec}))
    for (const auto& p : interval["processes"])
      if (p["pid"].get<long>() == f.hog) hogSeen = p["nice"].get<long>() == 19 && p["cpu_pct"].get<double>() > 0;
  BOOST_TEST(hogSeen);
  // By RSS: largest first, the holder among them while it held its
  // memory (another suite running beside this one may hold more).
  for (const auto& interval : Json({kBin, "top", "--json", "--by", "rss", "-n", "5", "--from", "5", "--to", "5", f.rec})) {
    bool holder = false;
    uint64_t previous = UINT64_MAX;
    for (const auto& p : interval["processes"]) {
      const uint64_t rss = p["rss_bytes"].get<uint64_t>();
      BOOST_TEST(rss <= previous);
      previous = rss;
      holder = holder || (p["pid"].get<long>() == f.holder && rss >= 200u << 20);
    }
    BOOST_TEST(holder, "the holder is not among the 5 largest");
  }
  // Buckets: one bucket spanning everything counts the burner's CPU once.
  auto all = Json({kBin, "top", "--json", "--interval", "1h", f.rec});
  BOOST_REQUIRE_EQUAL(all.size(), 1u);
  BOOST_TEST(all[0]["first_index"].get<size_t>() == 0u);
  BOOST_TEST(all[0]["last_index"].get<size_t>() == 8u);
  // Bad input: an order that does not exist.
  auto bad = Run({kBin, "top", "--by", "colour", f.rec});
  BOOST_TEST(bad.exitCode == 2);
  BOOST_TEST(bad.err.find("colour") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(events_give_the_listener_and_the_holder_with_their_snapshots) {
  auto& f = Fixture();
  auto events = Json({kBin, "events", "--json", f.rec});
  const std::string listener = "tcp 127.0.0.1:" + std::to_string(f.port);
  int found = 0;
  for (const auto& e : events) {
    const std::string kind = e["kind"], subject = e["subject"];
    const long pid = e.contains("pid") ? e["pid"].get<long>() : 0;
    if (kind == "listening" && subject == listener) {
      ++found;
      BOOST_TEST(e["index"].get<size_t>() == 6u);
      BOOST_TEST(pid == f.listener);
    } else if (kind == "stopped listening" && subject == listener) {
      ++found;
      BOOST_TEST(e["index"].get<size_t>() == 8u);
      BOOST_TEST(e["first_index"].get<size_t>() == 6u);
      BOOST_TEST(e["last_index"].get<size_t>() == 7u);
      BOOST_TEST(pid == f.listener);
    } else if (kind == "started" && pid == f.holder) {
      ++found;
      BOOST_TEST(e["index"].get<size_t>() == 4u);
      BOOST_TEST(e["last_index"].get<size_t>() == 5u);
    } else if (kind == "exited" && pid == f.holder) {
      ++found;
      BOOST_TEST(e["index"].get<size_t>() == 6u);
      BOOST_TEST(e["first_index"].get<size_t>() == 4u);
      BOOST_TEST(e["last_index"].get<size_t>() == 5u);
      const double peak = e["peak_rss_bytes"].get<double>();
      BOOST_TEST(std::abs(peak - double(f.holderRss)) <= 0.05 * double(f.holderRss),
                 "peak RSS " << peak << " against " << f.holderRss << " read live");
      BOOST_TEST(peak >= 200.0 * (1 << 20));
      BOOST_TEST(e["lifetime_seconds"].get<double>() > 0);
      BOOST_TEST(e["command"].get<std::string>().find("bytearray") != std::string::npos);
    } else if (kind == "exited" && pid == f.burner) {
      ++found;
      BOOST_TEST(e["index"].get<size_t>() == 4u);
      BOOST_TEST(e["cpu_seconds"].get<double>() >= 0.7);  // most of ~1.5 s it ran
    }
  }
  BOOST_TEST(found == 5, "found " << found << " of the 5 events");
  // Text output: a line per event with its time.
  auto text = Run({kBin, "events", f.rec});
  BOOST_TEST(text.out.find("listening          " + listener) != std::string::npos, text.out);
}

BOOST_AUTO_TEST_CASE(log_shows_the_nice_hog_in_nice_and_psi_columns) {
  auto& f = Fixture();
  auto log = Json({kBin, "log", "--json", "--cpus", f.rec});
  BOOST_REQUIRE_EQUAL(log.size(), 9u);
  BOOST_TEST(log[5]["nice_pct"].get<double>() > 0.5, "nice " << log[5]["nice_pct"]);
  BOOST_TEST(log[5]["cpus"].size() == std::thread::hardware_concurrency());
  BOOST_TEST(log[2]["user_pct"].get<double>() > log[7]["user_pct"].get<double>());
  if (access("/proc/pressure/memory", R_OK) == 0) BOOST_TEST(log[3]["psi_cpu_some_avg10"].is_number());
  BOOST_TEST(log[3]["context_switches_per_s"].get<double>() > 0);
}

BOOST_AUTO_TEST_CASE(report_renders_in_chromium_with_the_recordings_points) {
  auto& f = Fixture();
  TempDir out;
  const std::string page = out / "report.html";
  auto r = Run({kBin, "report", f.rec, "-o", page, "--json"});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  const std::string html = testutil::ReadFile(page);
  BOOST_TEST(html.size() < 10u << 20);
  const auto summary = nlohmann::json::parse(r.out);
  BOOST_TEST(summary["bytes"].get<size_t>() == html.size());
  BOOST_TEST(summary["snapshots"].get<size_t>() == 9u);
  // Self-contained: nothing fetched from anywhere.
  for (const char* external : {"src=\"http", "href=\"http", "url(http", "@import", "src=\"//"})
    BOOST_TEST(html.find(external) == std::string::npos, "the page loads " << external);
  // A hostile name stays text.
  BOOST_TEST(html.find("<b>burner</b>") == std::string::npos);
  BOOST_TEST(html.find("&lt;b&gt;burner&lt;/b&gt;") != std::string::npos);
  // The CPU chart's points are the recording's: log's rows, snapshot by snapshot.
  auto log = Json({kBin, "log", "--json", f.rec});
  auto cpu = ChartData(html, "cpu");
  BOOST_REQUIRE_EQUAL(cpu["times"].size(), log.size());
  for (size_t i = 0; i < log.size(); ++i) {
    BOOST_TEST(cpu["times"][i] == log[i]["start"]);
    BOOST_TEST(cpu["snapshots"][i].get<size_t>() == i);
    for (const auto& s : cpu["series"]) {
      const std::string key = s["name"].get<std::string>() + "_pct";
      if (!log[i].contains(key)) continue;
      if (log[i][key].is_null()) BOOST_TEST(s["values"][i].is_null());
      else BOOST_TEST(std::abs(s["values"][i].get<double>() - log[i][key].get<double>()) < 1e-9, key << " at " << i);
    }
  }
  // The top CPU chart has the burner's line at >= 70% where it ran.
  bool burnerLine = false;
  const auto topCpu = ChartData(html, "top-cpu");  // kept: a range-for over a temporary's member dangles
  for (const auto& s : topCpu["series"])
    if (s["name"].get<std::string>().rfind(std::to_string(f.burner) + " ", 0) == 0)
      burnerLine = s["values"][2].get<double>() >= 70 && s["values"][3].get<double>() >= 70;
  BOOST_TEST(burnerLine);
  BOOST_TEST(html.find(std::to_string(f.listener)) != std::string::npos);

  if (!HaveChromium()) return;
  auto dom = Dom(page, out);
  BOOST_REQUIRE_MESSAGE(dom.exitCode == 0, dom.err);
  // The script ran to its end (it marks the body) and logged no error.
  BOOST_TEST(dom.out.find("data-ready=\"9\"") != std::string::npos, "the page's script did not finish");
  BOOST_TEST(dom.err.find("Uncaught") == std::string::npos, dom.err);
  BOOST_TEST(dom.out.find("&lt;b&gt;burner&lt;/b&gt;") != std::string::npos);
  BOOST_TEST(dom.out.find("<svg class=\"plot\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(report_of_a_redacted_recording_and_of_one_snapshot) {
  auto& f = Fixture();
  TempDir out;
  auto red = Run({kBin, "redact", "-q", "--new-key", f.rec, out / "red"});
  BOOST_REQUIRE_MESSAGE(red.exitCode == 0, red.err);
  auto r = Run({kBin, "report", out / "red", "-o", out / "red.html"});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  const std::string html = testutil::ReadFile(out / "red.html");
  BOOST_TEST(html.find("<b>redacted</b>") != std::string::npos);
  BOOST_TEST(html.find("id=\"top-cpu\"") != std::string::npos);

  // One snapshot: the process tree, listeners with their process.
  testutil::Spawned listen({CHILD_HELPER}, kEnv);
  const int port = std::atoi(listen.line().c_str() + 6);
  auto cap = Run({kBin, "capture", "-q", "-o", out / "one.psnap"});
  BOOST_REQUIRE_MESSAGE(cap.exitCode <= 1, cap.err);
  auto one = Run({kBin, "report", out / "one.psnap", "-o", out / "one.html"});
  BOOST_REQUIRE_MESSAGE(one.exitCode == 0, one.err);
  const std::string page = testutil::ReadFile(out / "one.html");
  BOOST_TEST(page.find("id=\"tree\"") != std::string::npos);
  BOOST_TEST(page.find("id=\"cpu\"") == std::string::npos);  // no charts of one snapshot
  BOOST_TEST(page.find("<td class=\"num\">" + std::to_string(port) + "</td><td class=\"num\">" +
                       std::to_string(listen.pid()) + "</td>") != std::string::npos);
  if (HaveChromium()) {
    auto dom = Dom(out / "one.html", out);
    BOOST_TEST(dom.out.find("data-ready=\"0\"") != std::string::npos);
  }
  // Bad input names the file; nothing half-written is left.
  auto missing = Run({kBin, "report", out / "nothing.psnap", "-o", out / "x.html"});
  BOOST_TEST(missing.exitCode == 2);
  BOOST_TEST(missing.err.find("nothing.psnap") != std::string::npos);
  auto unwritable = Run({kBin, "report", out / "one.psnap", "-o", out / "no/such/dir/x.html"});
  BOOST_TEST(unwritable.exitCode == 2);
  BOOST_TEST(unwritable.err.find("no/such/dir") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
