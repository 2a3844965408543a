// procsnap record: a snapshot every interval into a recording.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>

#include "capture/capture.h"
#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct RecordArgs {
  RecordOptions options;
  std::string output;
  std::string interval = "10s", duration, maxSize, maxAge;
  uint64_t maxFileMiB = 64;
  int level = 9;
  bool json = false, quiet = false;
  bool fullEveryGiven = false;
};

int Run(RecordArgs& a) {
  RecordOptions& o = a.options;
  if (o.capture.profile == Profile::Bugreport)
    return Fail("record does not take --profile bugreport (redaction learns the host's names and addresses from "
                "a whole snapshot); record, then `procsnap redact DIR OUT`");
  o.capture.maxFileSize = a.maxFileMiB << 20;
  o.recording.writer.level = a.level;
  auto interval = ParseDuration(a.interval);
  if (!interval.ok()) return Fail("--interval: " + interval.status().message());
  if (*interval < 10'000'000) return Fail("--interval must be at least 10ms");
  o.intervalNs = *interval;
  // --light reads everything once every five minutes unless told: a full
  // snapshot at 1 s would otherwise come every 30 s, and cost as much as
  // the 29 light ones between.
  if (o.capture.light && !a.fullEveryGiven)
    o.fullEvery = static_cast<unsigned>(std::max<int64_t>(30, (300'000'000'000 + o.intervalNs - 1) / o.intervalNs));
  if (!a.duration.empty()) {
    auto d = ParseDuration(a.duration);
    if (!d.ok()) return Fail("--duration: " + d.status().message());
    o.durationNs = *d;
  }
  if (!a.maxAge.empty()) {
    auto d = ParseDuration(a.maxAge);
    if (!d.ok()) return Fail("--max-age: " + d.status().message());
    o.recording.maxAgeNs = *d;
  }
  if (!a.maxSize.empty()) {
    auto n = ParseSize(a.maxSize);
    if (!n.ok()) return Fail("--max-size: " + n.status().message());
    o.recording.maxBytes = *n;
  }
  std::atomic<bool>* stop = StopOnSignals();  // ends the run; what is done is kept
  o.stop = stop;
  const bool progress = !a.quiet && !a.json && StderrIsTerminal();
  double cpuTotal = 0;
  auto onSnapshot = [&](const RecordedSnapshot& r) {
    cpuTotal += r.cpuSeconds;
    if (a.json) {
      nlohmann::json j = {{"index", r.index},
                          {"start", WallTime(r.meta->startWallNs)},
                          {"added_bytes", r.addedBytes},
                          {"recording_bytes", r.recordingBytes},
                          {"segments", r.segments},
                          {"cpu_seconds", r.cpuSeconds},
                          {"wall_seconds", r.wallSeconds},
                          {"skipped_ticks", r.skippedTicks},
                          {"full", r.full},
                          {"errors", r.meta->counts.errors}};
      std::cout << JsonText(j, -1) << std::endl;  // a line per snapshot, as it is taken
    } else if (progress) {
      std::fprintf(stderr, "\rrecording %s: snapshot %zu at %s, +%s, %s on disk in %zu segment(s), CPU %.2f s%s   ",
                   a.output.c_str(), r.index, WallTime(r.meta->startWallNs).c_str(), HumanBytes(r.addedBytes).c_str(),
                   HumanBytes(r.recordingBytes).c_str(), r.segments, r.cpuSeconds,
                   r.skippedTicks ? (", " + std::to_string(r.skippedTicks) + " tick(s) skipped").c_str() : "");
    }
  };
  auto taken = Record(a.output, o, onSnapshot);
  if (progress) std::fprintf(stderr, "\n");
  if (!taken.ok()) return Fail(taken.status());
  if (!a.quiet && !a.json)
    std::fprintf(stderr, "recorded %llu snapshot(s) into %s (CPU %.2f s per snapshot)%s\n  see: procsnap info %s\n",
                 (unsigned long long)*taken, a.output.c_str(), *taken ? cpuTotal / *taken : 0.0,
                 stop->load() ? "; stopped by a signal" : "", a.output.c_str());
  return kExitOk;
}

}  // namespace

void SetupRecord(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<RecordArgs>();
  sub.add_option("-o,--output", a->output,
                 "the recording: a directory of segment archives, created if missing, continued if there")
      ->required();
  sub.add_option("--interval", a->interval, "time between snapshots: 500ms, 0.3s, 10s, 1.5m, 1h (ticks stay aligned to "
                                            "the first; a capture that overruns skips ticks and says so)")
      ->capture_default_str();
  sub.add_option("--count", a->options.count, "stop after this many snapshots (default: no limit)");
  sub.add_option("--duration", a->duration, "stop after this long: 30s, 1h, 7d (default: no limit)");
  sub.add_option("--max-size", a->maxSize,
                 "the recording never holds more: 512K, 2M, 1G; the oldest segments go first")
      ->type_name("SIZE");
  sub.add_option("--max-age", a->maxAge, "drop snapshots older than this: 1h, 7d (whole segments)")->type_name("AGE");
  sub.add_flag_function(
      "--full", [a](int64_t) { a->options.fullEvery = 1; },
      "read everything at every snapshot (by default every 30th reads everything; between them the files of "
      "processes that have not run are carried from the snapshot before, marked carried)");
  sub.add_flag("--light", a->options.capture.light,
               "between full snapshots read only what moves: per process and thread stat, statm, status, io, "
               "schedstat and the thread list, the system-wide counters and net/; new processes whole. The rest "
               "(fd/, maps, smaps, environ, sys/...) is carried from the full snapshot before, marked carried. "
               "About atop's cost; what changes outside those files shows at the next full snapshot (every five "
               "minutes unless --full-every says)");
  sub.add_option("--full-every", a->options.fullEvery,
                 "read everything at every Nth snapshot (with --light: by default every five minutes' worth, at "
                 "least 30)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  sub.add_option("--segment-snapshots", a->options.recording.segmentSnapshots,
                 "snapshots per segment file (each opens with a full snapshot)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  AddCaptureOptions(sub, a->options.capture, a->maxFileMiB);
  // One walker: a tick has the whole interval, one thread costs less CPU
  // (no hand-offs) and the recorder's own /proc/PID holds fewer threads to read.
  a->options.capture.jobs = 1;
  sub.get_option("--jobs")->description("parallel walkers (default 1 for record: a tick has the whole interval)");
  sub.add_option("--level", a->level, "zstd compression level")->capture_default_str()->check(CLI::Range(1, 19));
  sub.add_flag("--json", a->json, "a JSON line per snapshot on standard output, as it is taken");
  sub.add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  sub.footer(
      "Usage: procsnap record -o DIR [--interval 10s] [--count N | --duration 1h] [--max-size 2G] [--max-age 7d]\n"
      "Ends on --count, --duration, SIGINT or SIGTERM; every snapshot is committed (index, trailer, fsync) before\n"
      "the next begins, so a crash loses at most the one in flight. Running it again on DIR continues the\n"
      "recording (the same host only). A recorder left running wants --light (about atop's cost; the\n"
      "procsnap-record service runs it); the default tick reads everything that changed, at 3-7x atop's CPU.\n"
      "Every command reads DIR as an archive: procsnap info DIR,\n"
      "procsnap cat --at 2026-11-23T07:11:05Z DIR loadavg, procsnap diff DIR@-5m DIR@-1.");
  action = [a, &sub] {
    a->fullEveryGiven = sub.get_option("--full-every")->count() > 0 || sub.get_option("--full")->count() > 0;
    a->options.capture.commandLine = OptionsGiven(sub);
    return Run(*a);
  };
}

}  // namespace procsnap
