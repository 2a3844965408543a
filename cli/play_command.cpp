// procsnap play: a command whose /proc is a recording moving in time.
#include <unistd.h>

#include <cstdio>

#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct PlayArgs {
  std::string archive, from, to;
  PlayOptions options;
  bool realClock = false;
};

int Run(PlayArgs& a, const std::vector<std::string>& rest) {
  std::vector<std::string> command = rest;
  command.insert(command.end(), CommandTail().begin(), CommandTail().end());
  if (command.empty()) return Fail("play: no COMMAND given (procsnap play ARCHIVE -- CMD [ARGS...])"), kRunTrouble;
  auto archive = ArchiveReader::Open(a.archive);
  if (!archive.ok()) return Fail(archive.status()), kRunTrouble;
  std::shared_ptr<ArchiveReader> reader = std::move(*archive);
  for (auto [text, index] : {std::pair{&a.from, &a.options.from}, std::pair{&a.to, &a.options.to}}) {
    if (text->empty()) continue;
    auto i = FindSnapshot(*reader, *text);
    if (!i.ok()) return Fail(i.status()), kRunTrouble;
    *index = *i;
  }
  a.options.fakeClock = !a.realClock;
  if (a.options.fakeClock && !FakeClockAvailable())
    std::fprintf(stderr,
                 "play: libfaketime is not installed (apt-get install faketime): COMMAND reads the real clock, so "
                 "headers and timestamps show now, not the recorded time\n");
  a.options.keyboard = ::isatty(0) && ::isatty(1);
  // On a raw terminal a line needs its carriage return.
  a.options.say = [keys = a.options.keyboard](const std::string& line) {
    std::fprintf(stderr, keys ? "%s\r\n" : "%s\n", line.c_str());
  };
  if (::isatty(2)) {  // the moment in the terminal's title: a full-screen tool is not disturbed
    a.options.title = [reader](size_t i, bool paused, double speed, const std::string& typing) {
      if (!typing.empty())
        std::fprintf(stderr, "\033]0;procsnap play: %s\007", Printable(typing).c_str());
      else
        std::fprintf(stderr, "\033]0;procsnap play: %s (snapshot %zu)%s x%g\007",
                     WallTime(reader->summary(i).startWallNs).c_str(), i, paused ? " paused" : "", speed);
      std::fflush(stderr);
    };
  }
  auto end = PlayRecording(reader, command, a.options);
  if (!end.ok()) {
    Fail(end.status());
    return end.status().code() == StatusCode::NotFound ? kRunNotFound : kRunTrouble;
  }
  std::fprintf(stderr, "play: %s ended at snapshot %zu of %zu (%s)\n", command[0].c_str(), end->snapshot,
               reader->snapshotCount(), WallTime(reader->summary(end->snapshot).startWallNs).c_str());
  return end->status;
}

}  // namespace

void SetupPlay(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<PlayArgs>();
  sub.add_option("ARCHIVE", a->archive, "a recording (directory) or an archive of several snapshots")->required();
  sub.add_option("--from", a->from, "start at this snapshot (index, negative from the end, or time as --at takes it)");
  sub.add_option("--to", a->to, "end at this snapshot (default: the last)");
  sub.add_option("--speed", a->options.speed, "recorded seconds per real second (default 1; 10 plays 10x faster)")
      ->check(CLI::Range(1e-6, 1e6));
  sub.add_flag("--loop", a->options.loop, "after --to, start again from --from (default: stay at --to)");
  sub.add_flag("--paused", a->options.paused, "start paused at --from (step with Ctrl-] n, or --control)");
  sub.add_option("--control", a->options.control,
                 "a FIFO (mkfifo) taking lines: pause, resume, step, back, seek TIME, speed F");
  sub.add_flag("--real-clock", a->realClock, "leave COMMAND's clock alone (no libfaketime)");
  AddSizesOption(sub, a->options.sizes);
  AddOpenErrorsOption(sub, a->options.errors);
  sub.prefix_command();
  sub.footer(
      "Usage: procsnap play [--from X] [--to X] [--speed F] [--loop] [--paused] [--control FIFO] ARCHIVE [--]\n"
      "                     COMMAND [ARGS...]\n"
      "Examples:\n"
      "  procsnap play rec/ -- top -d 2                 # top as the machine looked, in recorded time\n"
      "  procsnap play rec/ --speed 10 -- vmstat -t 1   # ten recorded seconds a second\n"
      "  procsnap play rec/ --speed 10 -- /usr/lib/sysstat/sadc 10 60 out.sa; sar -u -f out.sa\n"
      "Runs COMMAND in a private mount namespace whose /proc is the recording moving in time: at recorded\n"
      "time from + elapsed x speed, the newest snapshot taken at or before it; processes appear and vanish\n"
      "as recorded. One refresh of a tool sees one snapshot: the switch waits for 40 ms without a read of\n"
      "/proc (between two refreshes), or at most 2 s of unbroken reads. At --to COMMAND keeps the last\n"
      "snapshot (--loop: from --from again); play exits with COMMAND's status and says where it ended.\n"
      "The clock: with libfaketime (Debian package faketime) COMMAND's clock starts at the recorded time\n"
      "of --from and runs at --speed, so top's header, vmstat -t and sar show recorded times and sleeps\n"
      "scale (vmstat 1 at --speed 10 samples every recorded second). pause, step, seek and speed move the\n"
      "snapshots, not that clock. Statically linked tools and the kernel's own timers keep the real clock.\n"
      "Rates: top, htop, vmstat, sar/sadc and mpstat divide /proc's counters by /proc/uptime or by\n"
      "/proc/stat's ticks, both recorded, so they are right at any speed; a tool that divides by its own\n"
      "clock (iotop, nethogs, pidstat's per-process rates under the real clock) is right at --speed 1 with\n"
      "libfaketime only.\n"
      "COMMAND gets PROC_ROOT=/proc (ss reads the recording's /proc/net); ip and other netlink tools show\n"
      "this machine.\n"
      "Keys: on a terminal COMMAND runs on a pseudo-terminal of play's and gets every key but those after\n"
      "Ctrl-] (as telnet's escape): space pause/resume, n one snapshot forward (paused), p one back,\n"
      "+ and - speed x2 and /2, 0 and $ the first and last snapshot, g a time typed then Enter (as --at;\n"
      "shown in the title, Esc cancels), i a line saying where the recording is, Ctrl-] again the key\n"
      "itself. The moment is shown in the terminal's title, and on stderr when\n"
      "COMMAND ends. --control FIFO takes lines for scripts: pause, resume, step, back, seek TIME (as --at),\n"
      "speed F.\n"
      "sadc: libfaketime scales alarm() in whole seconds, so give sadc an interval of at least --speed\n"
      "seconds (play --speed 10 -- sadc 10 N out.sa: one sample per 10 recorded seconds).\n"
      "Without root, a user namespace of its own first, as `procsnap run` does.\n"
      "Exit status: COMMAND's own; 125 trouble in procsnap; 127 COMMAND not found or not runnable.");
  action = [a, &sub] { return Run(*a, sub.remaining()); };
}

}  // namespace procsnap
