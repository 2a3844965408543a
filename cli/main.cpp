// procsnap: record /proc into one archive, look inside it, check it.
#include <CLI/CLI.hpp>

#include <iostream>

#include "command.h"
#include "exit_codes.h"
#include "format/archive.h"

namespace procsnap {

const Command kCommands[] = {
    {"capture", "record /proc (or any /proc-like tree) into an archive", SetupCapture},
    {"record", "take a snapshot every interval into a recording (a directory), with retention", SetupRecord},
    {"log", "a line per snapshot of a recording: load, CPU, memory, network and disk rates, processes", SetupLog},
    {"top", "the busiest processes of each interval of a recording: CPU, RSS, disk, faults", SetupTop},
    {"events", "what happened in a recording, in time order: processes, listeners, sysctls, mounts, OOM kills",
     SetupEvents},
    {"report", "one self-contained HTML file with charts of a recording (or a snapshot) for any browser",
     SetupReport},
    {"info", "describe an archive: snapshots, metadata, counts, errors by reason", SetupInfo},
    {"ls", "list a directory of a snapshot", SetupLs},
    {"cat", "print the captured bytes of a file", SetupCat},
    {"verify", "check every checksum of an archive (exit 0 sound, 2 damaged)", SetupVerify},
    {"export", "write a snapshot as a plain folder that tools can read as /proc", SetupExport},
    {"mount", "serve a snapshot as a read-only /proc-like file system (FUSE)", SetupMount},
    {"run", "run a command whose /proc is a snapshot (private mount namespace)", SetupRun},
    {"play", "run a command whose /proc is a recording moving in time: top, vmstat, sar show what happened",
     SetupPlay},
    {"diff", "what changed between two snapshots: system, sysctls, processes, sockets, files", SetupDiff},
    {"tables", "snapshots of many hosts as JSON Lines tables (processes, sockets, sysctls...) for query engines",
     SetupTables},
    {"findings", "what deserves a responder's look: deleted or memory-only programs, hidden pids, mounts over /proc",
     SetupFindings},
    {"executables", "the programs processes ran: SHA-256, size, pids; --extract the kept bytes of deleted ones",
     SetupExecutables},
    {"redact", "a copy with secrets, host names and addresses replaced by keyed pseudonyms, that still replays",
     SetupRedact},
};

}  // namespace procsnap

int main(int argc, char** argv) {
  using namespace procsnap;
  CLI::App app{"procsnap " PROCSNAP_VERSION
               ": records the whole /proc tree into one compressed, checksummed archive "
               "and serves any recorded moment back as a read-only /proc."};
  app.set_version_flag("--version", std::string("procsnap ") + PROCSNAP_VERSION + " (archive format " +
                                        std::to_string(kFormatVersion) + ")");
  app.require_subcommand(1);
  app.footer("Run 'procsnap COMMAND --help' for the options of a command.");
  CommandAction action;
  std::vector<std::pair<CLI::App*, CommandAction>> actions;
  for (const Command& c : kCommands) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    actions.emplace_back(sub, CommandAction{});
    c.setup(*sub, actions.back().second);
  }
  // After "--", run's and play's command line is not ours to parse.
  if (argc > 1 && (std::string(argv[1]) == "run" || std::string(argv[1]) == "play")) {
    for (int i = 2; i < argc; ++i) {
      if (std::string(argv[i]) != "--") continue;
      CommandTail() = std::vector<std::string>(argv + i + 1, argv + argc);
      argc = i;
      break;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitTrouble;
  }
  for (auto& [sub, act] : actions)
    if (sub->parsed()) return act();
  return kExitTrouble;
}
