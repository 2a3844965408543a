// The subcommand table: each command file registers its options on a CLI11
// subcommand and leaves the action to run once arguments are parsed.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "replay/replay.h"

namespace procsnap {

using CommandAction = std::function<int()>;
using CommandSetup = void (*)(CLI::App& sub, CommandAction& action);

struct Command {
  const char* name;
  const char* summary;
  CommandSetup setup;
};

void SetupCapture(CLI::App& sub, CommandAction& action);
void SetupInfo(CLI::App& sub, CommandAction& action);
void SetupLs(CLI::App& sub, CommandAction& action);
void SetupCat(CLI::App& sub, CommandAction& action);
void SetupVerify(CLI::App& sub, CommandAction& action);
void SetupExport(CLI::App& sub, CommandAction& action);
void SetupMount(CLI::App& sub, CommandAction& action);
void SetupRun(CLI::App& sub, CommandAction& action);
void SetupPlay(CLI::App& sub, CommandAction& action);
void SetupDiff(CLI::App& sub, CommandAction& action);
void SetupRecord(CLI::App& sub, CommandAction& action);
void SetupLog(CLI::App& sub, CommandAction& action);
void SetupTop(CLI::App& sub, CommandAction& action);
void SetupEvents(CLI::App& sub, CommandAction& action);
void SetupReport(CLI::App& sub, CommandAction& action);
void SetupTables(CLI::App& sub, CommandAction& action);
void SetupFindings(CLI::App& sub, CommandAction& action);
void SetupExecutables(CLI::App& sub, CommandAction& action);
void SetupRedact(CLI::App& sub, CommandAction& action);
// What to capture and how (--root, --profile, --exclude, --no-threads,
// --jobs, --max-file-size, --time-limit, --file-timeout): capture and record.
// The caller turns maxFileMiB into options.maxFileSize.
void AddCaptureOptions(CLI::App& sub, CaptureOptions& options, uint64_t& maxFileMiB);
// "--name=value" of every option given: the metadata's record of options.
std::vector<std::string> OptionsGiven(const CLI::App& sub);
// --at N, the snapshot a command reads, as every command spells it.
void AddAtOption(CLI::App& sub, std::string& at);
// --sizes content|procfs, what a mounted file reports as st_size (mount, run).
void AddSizesOption(CLI::App& sub, FileSizes& sizes);
// --open-errors read|open, when a failed file gives its errno (mount, run).
void AddOpenErrorsOption(CLI::App& sub, OpenErrors& errors);

// `procsnap run|play ... -- CMD ARGS`: main() hands over what follows "--" as is.
std::vector<std::string>& CommandTail();
// As env(1) and chroot(1): trouble in procsnap itself, command not runnable.
constexpr int kRunTrouble = 125;
constexpr int kRunNotFound = 127;

}  // namespace procsnap
