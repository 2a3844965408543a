// procsnap capture: record a /proc-like tree into an archive.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>

#include "capture/capture.h"
#include "command.h"
#include "redact/redact.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct CaptureArgs {
  CaptureOptions options;
  std::string output;
  bool append = false, cutDamagedTail = false;
  bool json = false;
  bool quiet = false;
  int level = 9;
  uint64_t maxFileMiB = 64;
  std::string keyFile;
  bool newKey = false;
};

// HOST-YYYYmmddTHHMMSS.psnap; "bugreport-..." for a redacted capture,
// whose file name must not carry the host name either.
std::string DefaultOutput(Profile profile) {
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  if (profile == Profile::Bugreport) std::snprintf(host, sizeof host, "bugreport");
  time_t now = ::time(nullptr);
  struct tm tm;
  ::localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
  return std::string(host) + "-" + stamp + ".psnap";
}

void PrintSummary(const std::string& output, const Metadata& m, uint64_t archiveBytes) {
  const Counts& c = m.counts;
  double secs = (m.endMonoNs - m.startMonoNs) / 1e9;
  std::fprintf(stderr, "captured %s of %s (%s) in %.2f s -> %s\n", m.root.c_str(), m.hostname.c_str(),
               m.kernelRelease.c_str(), secs, output.c_str());
  std::fprintf(stderr,
               "  %llu files, %llu directories, %llu links, %llu namespace aliases; %s read, %s new, archive %s\n",
               (unsigned long long)c.files, (unsigned long long)c.directories, (unsigned long long)c.links,
               (unsigned long long)c.aliases, HumanBytes(c.bytes).c_str(), HumanBytes(c.uniqueBytes).c_str(),
               HumanBytes(archiveBytes).c_str());
  std::fprintf(stderr, "  %llu errors, %llu skipped or excluded, %llu truncated, %llu redactions (profile %s)\n",
               (unsigned long long)c.errors, (unsigned long long)c.skipped, (unsigned long long)c.truncated,
               (unsigned long long)c.redactions, m.profile.c_str());
  for (const auto& n : m.notes) std::fprintf(stderr, "  note: %s\n", n.c_str());
  if (output != "-") std::fprintf(stderr, "  see: procsnap info %s\n", output.c_str());
}

// SIGINT and SIGTERM end the capture early with a finished archive.
std::atomic<bool> gInterrupted{false};
volatile sig_atomic_t gSignal = 0;
void OnSignal(int sig) {
  gSignal = sig;
  gInterrupted.store(true);
}

int Run(CaptureArgs& a) {
  if (a.output.empty()) a.output = DefaultOutput(a.options.profile);
  if ((!a.keyFile.empty() || a.newKey) && a.options.profile != Profile::Bugreport)
    return Fail("--key-file and --new-key are for --profile bugreport (its redaction)");
  if (a.options.profile == Profile::Bugreport) {
    auto key = RedactionKeyFromOptions(a.keyFile, a.newKey);
    if (!key.ok()) return Fail(key.status());
    a.options.redactKey = std::move(*key);
  }
  if ((a.options.keepHostname || a.options.keepIps) && a.options.profile != Profile::Bugreport)
    return Fail("--keep-hostname and --keep-ips are for --profile bugreport (its redaction)");
  if (a.output == "-" && ::isatty(1))
    return Fail("refusing to write an archive to a terminal; redirect standard output or use -o FILE");
  if (a.output == "-" && a.append) return Fail("--append needs a file, not standard output");
  a.options.maxFileSize = a.maxFileMiB << 20;
  // Installed before the archive exists, so that a signal never finds a
  // file without its trailer.
  struct sigaction act{}, oldInt{}, oldTerm{};
  act.sa_handler = OnSignal;
  ::sigemptyset(&act.sa_mask);
  ::sigaction(SIGINT, &act, &oldInt);
  ::sigaction(SIGTERM, &act, &oldTerm);
  WriterOptions wo;
  wo.level = a.level;
  wo.cutDamagedTail = a.cutDamagedTail;
  if (a.append) {
    Status same = CheckAppend(a.output, a.options);
    if (!same.ok()) return Fail(same);
  }
  auto writer = a.append ? ArchiveWriter::Append(a.output, wo) : ArchiveWriter::Create(a.output, wo);
  if (!writer.ok()) return Fail(writer.status());

  bool showProgress = !a.quiet && StderrIsTerminal();
  auto last = std::chrono::steady_clock::now();
  auto progress = [&](const CaptureProgress& p) {
    if (!showProgress) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(100)) return;
    last = now;
    std::fprintf(stderr, "\rcapturing %s: %llu/%llu processes, %llu entries, %s   ", a.options.root.c_str(),
                 (unsigned long long)p.processesDone, (unsigned long long)p.processesTotal,
                 (unsigned long long)p.entries, HumanBytes(p.bytes).c_str());
  };
  a.options.interrupt = &gInterrupted;
  auto meta = Capture(a.options, **writer, progress);
  ::sigaction(SIGINT, &oldInt, nullptr);
  ::sigaction(SIGTERM, &oldTerm, nullptr);
  if (showProgress) std::fprintf(stderr, "\r\033[K");
  if (!meta.ok()) {
    if (a.output != "-" && !a.append) ::unlink(a.output.c_str());
    return Fail(meta.status());
  }
  Status s = (*writer)->finish();
  if (!s.ok()) return Fail(s);
  if (a.json) {
    nlohmann::json j = MetadataJson(*meta);
    j["archive"] = a.output;
    j["archive_bytes"] = (*writer)->bytesWritten();
    (a.output == "-" ? std::cerr : std::cout) << JsonText(j) << "\n";
  } else if (!a.quiet) {
    PrintSummary(a.output, *meta, (*writer)->bytesWritten());
  }
  if (gInterrupted.load()) {
    std::fprintf(stderr, "procsnap: interrupted; %s is finished, with the entries not yet read recorded unread\n",
                 a.output == "-" ? "the archive" : a.output.c_str());
    return 128 + int(gSignal);
  }
  return kExitOk;
}

}  // namespace

std::vector<std::string> OptionsGiven(const CLI::App& sub) {
  std::vector<std::string> given;
  for (auto* opt : sub.get_options())
    if (opt->count() > 0 && opt->get_name() != "--help")
      for (auto& r : opt->results()) given.push_back(opt->get_name() + "=" + r);
  return given;
}

void AddCaptureOptions(CLI::App& sub, CaptureOptions& options, uint64_t& maxFileMiB) {
  sub.add_option("--root", options.root, "directory to capture: /proc, a container's /proc, or a fixture tree")
      ->capture_default_str();
  sub.add_option_function<std::string>(
         "--profile",
         [&options](const std::string& name) {
           for (Profile p : {Profile::Full, Profile::Bugreport, Profile::Tuning})
             if (name == ProfileName(p)) options.profile = p;
         },
         "full: everything; bugreport: redacted as `procsnap redact` does (environment values, secret-looking "
         "arguments, host name and domain, the machine's IP addresses: keyed pseudonyms) and no executable bytes; "
         "tuning: system-wide files and /proc/sys only")
      ->check(CLI::IsMember({"full", "bugreport", "tuning"}).description(""))
      ->type_name("full|bugreport|tuning")
      ->default_str("full");
  sub.add_option("--exclude", options.excludes,
                 "leave out paths matching GLOB (under the root, '*' crosses '/'), e.g. '*/smaps'; repeatable")
      ->type_name("GLOB");
  sub.add_flag("!--no-threads", options.threads, "do not capture PID/task/TID directories");
  sub.add_option("--pid", options.pids,
                 "only these processes (and their threads) with every system-wide file: a small fixture; "
                 "procsnap's own pid stays, as /proc/self and /proc/net name it")
      ->delimiter(',')
      ->type_name("PID,...")
      ->check(CLI::PositiveNumber);
  sub.add_option("-j,--jobs", options.jobs, "parallel walkers (default: one per CPU)");
  sub.add_option("--max-file-size", maxFileMiB, "cut files larger than this many MiB (recorded as truncated)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub.add_option("--time-limit", options.timeLimitSeconds,
                 "seconds after which remaining entries are recorded unread, even one stuck in a read (0 = none)");
  sub.add_option("--file-timeout", options.fileTimeoutSeconds,
                 "seconds one read, listing or stat may take before its entry is recorded unread (a process stuck "
                 "in the kernel blocks reads of its cmdline, environ and maps)")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 86400.0));
  sub.add_flag("!--no-exe-hashes", options.executables,
               "do not hash the programs processes run (by default each distinct file behind PID/exe is hashed "
               "once, SHA-256; see `procsnap executables`)");
  sub.add_option_function<uint64_t>(
         "--keep-exe-max", [&options](uint64_t mib) { options.keepExecutableMax = mib << 20; },
         "keep the bytes of a program no longer on disk (deleted, memfd, /dev/shm) up to this many MiB each; "
         "0 keeps none (the bugreport profile keeps none)")
      ->type_name("MIB")
      ->default_str("64")
      ->check(CLI::Range(0, 1024));
  sub.add_option("--exe-time", options.executableSeconds,
                 "seconds allowed for hashing executables; those left are recorded as not hashed")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
}

void SetupCapture(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<CaptureArgs>();
  sub.add_option("-o,--output", a->output,
                 "archive to write; '-' for standard output (default: HOST-YYYYmmddTHHMMSS.psnap)");
  sub.add_flag("--append", a->append, "add a snapshot to an existing archive instead of creating one");
  sub.add_flag("--cut-damaged-tail", a->cutDamagedTail,
               "with --append: when the end of the archive is damaged, cut it and append after the last sound "
               "trailer (what the damaged end held is lost)");
  AddCaptureOptions(sub, a->options, a->maxFileMiB);
  sub.add_option("--key-file", a->keyFile,
                 "with --profile bugreport: the pseudonym key (at least 16 bytes; reports redacted with one key "
                 "correlate); default: this machine's key (see procsnap redact --help)");
  sub.add_flag("--new-key", a->newKey,
               "with --profile bugreport: a random key kept nowhere, for a report that must not correlate with "
               "any other");
  sub.add_flag("--keep-hostname", a->options.keepHostname, "with --profile bugreport: leave the host name and domain");
  sub.add_flag("--keep-ips", a->options.keepIps, "with --profile bugreport: leave the machine's IP addresses");
  sub.add_option("--level", a->level, "zstd compression level")->capture_default_str()->check(CLI::Range(1, 19));
  sub.add_flag("--json", a->json, "print the snapshot metadata as JSON instead of the summary");
  sub.add_flag("-q,--quiet", a->quiet, "print nothing on success");
  action = [a, &sub] {
    a->options.commandLine = OptionsGiven(sub);
    return Run(*a);
  };
}

}  // namespace procsnap
