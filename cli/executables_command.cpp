// procsnap executables: the programs a snapshot's processes ran, with their
// SHA-256, and the bytes capture kept of those no longer on disk.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct ExecutablesArgs {
  std::string archive, at = "-1", extract, output;
  bool json = false;
};

int Extract(const ExecutablesArgs& a, const View& view) {
  const Snapshot& snap = view.snapshot();
  const auto& exes = snap.metadata().executables;
  std::vector<size_t> match;
  for (size_t i = 0; i < exes.size(); ++i)
    if (!exes[i].sha256.empty() && exes[i].sha256.starts_with(a.extract)) match.push_back(i);
  if (match.empty())
    return Fail(a.archive + " snapshot " + std::to_string(view.index()) + ": no executable with SHA-256 " + a.extract +
                " (procsnap executables " + a.archive + " lists them)");
  for (size_t i : match)
    if (exes[i].sha256 != exes[match[0]].sha256)
      return Fail("SHA-256 prefix " + a.extract + " names more than one executable; give more of it");
  size_t pick = match[0];  // several files may share one hash (copies): any holding bytes will do
  for (size_t i : match)
    if (exes[i].kept.size) pick = i;
  auto bytes = snap.executableBytes(pick);
  if (!bytes.ok()) {
    Fail(bytes.status());
    return bytes.status().code() == StatusCode::NotCaptured ? kExitDifferent : kExitTrouble;
  }
  int fd = 1;
  if ((a.output.empty() || a.output == "-") && ::isatty(1))
    return Fail("refusing to write a program's bytes to a terminal; use -o FILE or redirect standard output");
  if (!a.output.empty() && a.output != "-") {
    // Bytes from another machine: never executable, never over an existing file.
    fd = ::open(a.output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Fail(Status::FromErrno(a.output + ": cannot create", errno));
  }
  Status s = WriteAll(fd, *bytes, a.output.empty() ? "standard output" : a.output);
  if (fd != 1 && ::close(fd) != 0 && s.ok()) s = Status::FromErrno(a.output + ": close", errno);
  if (!s.ok()) return Fail(s);
  if (fd != 1)
    std::fprintf(stderr, "%s: %zu bytes of %s (sha256 %s)\n", a.output.c_str(), bytes->size(),
                 Printable(exes[pick].path).c_str(), exes[pick].sha256.c_str());
  return kExitOk;
}

int Run(const ExecutablesArgs& a) {
  auto view = View::Open(a.archive, a.at);
  if (!view.ok()) return Fail(view.status());
  if (!a.extract.empty()) return Extract(a, *view);
  const Metadata& m = view->snapshot().metadata();
  if (a.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const Executable& e : m.executables) list.push_back(ExecutableJson(e));
    std::cout << JsonText({{"archive", a.archive},
                           {"snapshot", view->index()},
                           {"time", WallTime(m.startWallNs)},
                           {"executables", list}})
              << "\n";
    return kExitOk;
  }
  if (m.executables.empty())
    std::fprintf(stderr, "%s snapshot %zu records no executables (captured with --no-exe-hashes, from a folder, or "
                 "by an older procsnap)\n", a.archive.c_str(), view->index());
  for (const Executable& e : m.executables) {
    std::string pids;
    for (uint32_t p : e.pids) {
          if (!pids.empty()) pids += ',';
          pids += std::to_string(p);
        }
    PrintLine("%-64s %10llu %s %s  pids %s\n", e.sha256.empty() ? (e.error ? ErrnoName(e.error).c_str() : "-") : e.sha256.c_str(),
              static_cast<unsigned long long>(e.size), e.kept.size ? "kept" : "    ", e.path.c_str(), pids.c_str());
    if (!e.note.empty()) PrintLine("%64s note: %s\n", "", e.note.c_str());
  }
  return kExitOk;
}

}  // namespace

void SetupExecutables(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<ExecutablesArgs>();
  sub.add_option("ARCHIVE", a->archive, "archive or recording to read")->required();
  AddAtOption(sub, a->at);
  sub.add_flag("--json", a->json, "one JSON document with an executables array");
  sub.add_option("--extract", a->extract,
                 "write the kept bytes of the executable with this SHA-256 (or a unique prefix of it)");
  sub.add_option("-o,--output", a->output, "with --extract: a new file (mode 0600) instead of standard output");
  sub.footer(
      "Capture hashes every distinct program file behind /proc/PID/exe once (SHA-256) and keeps the bytes of\n"
      "those no longer on disk: deleted, memfd, /dev/shm, or a path that now names another file (up to\n"
      "--keep-exe-max each; the bugreport profile keeps none).\n"
      "Exit status: 0 ok; 1 --extract of an executable whose bytes were not kept; 2 trouble.");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
