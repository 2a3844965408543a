// procsnap run: a command that sees the snapshot as its /proc.
#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct RunArgs {
  std::string archive;
  std::vector<std::string> command;
  std::string at = "-1";
  FileSizes sizes = FileSizes::Content;
  OpenErrors errors = OpenErrors::AtRead;
};

int Run(RunArgs& a, const std::vector<std::string>& rest) {
  a.command = rest;
  a.command.insert(a.command.end(), CommandTail().begin(), CommandTail().end());
  if (a.command.empty()) return Fail("run: no COMMAND given (procsnap run ARCHIVE -- CMD [ARGS...])"), kRunTrouble;
  auto view = View::Open(a.archive, a.at);
  if (!view.ok()) return Fail(view.status()), kRunTrouble;
  auto status = RunInSnapshot(std::make_shared<const View>(std::move(*view)), a.command, a.sizes, a.errors);
  if (!status.ok()) {
    Fail(status.status());
    return status.status().code() == StatusCode::NotFound ? kRunNotFound : kRunTrouble;
  }
  return *status;
}

}  // namespace

std::vector<std::string>& CommandTail() {
  static std::vector<std::string> tail;
  return tail;
}

void SetupRun(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<RunArgs>();
  sub.add_option("ARCHIVE", a->archive, "archive to serve as /proc")->required();
  AddAtOption(sub, a->at);
  AddSizesOption(sub, a->sizes);
  AddOpenErrorsOption(sub, a->errors);
  // Everything after ARCHIVE belongs to COMMAND, options included: ps -o pid.
  sub.prefix_command();
  sub.footer(
      "Usage: procsnap run [--at N] [--sizes content|procfs] [--open-errors read|open] ARCHIVE [--] COMMAND [ARGS...]\n"
      "Example: procsnap run box.psnap -- ps aux\n"
      "Runs COMMAND in a private mount namespace where /proc is the snapshot (nothing else on the machine "
      "sees it). Without root it first makes a user namespace of its own (where the kernel allows "
      "unprivileged ones): COMMAND runs as you, sees what you would see, and files of other users "
      "stat() as uid 65534 (their status files keep the recorded uids, so ps names them).\n"
      "COMMAND gets PROC_ROOT=/proc, so that ss reads the snapshot's sockets from /proc/net; tools that ask "
      "the live kernel over netlink whatever /proc holds (ip, ss -K, conntrack) show this machine, not the "
      "snapshot.\n"
      "Exit status: COMMAND's own; 125 trouble in procsnap; 127 COMMAND not found or not runnable.");
  action = [a, &sub] { return Run(*a, sub.remaining()); };
}

}  // namespace procsnap
