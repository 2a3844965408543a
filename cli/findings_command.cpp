// procsnap findings: what in a snapshot deserves a responder's look.
#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "exit_codes.h"
#include "findings/findings.h"

namespace procsnap {

namespace {

struct FindingsArgs {
  std::string archive, at = "-1";
  bool json = false;
};

int Run(const FindingsArgs& a) {
  auto view = View::Open(a.archive, a.at);
  if (!view.ok()) return Fail(view.status());
  std::vector<std::string> warnings;
  auto found = FindingsOf(*view, &warnings);
  if (!found.ok()) return Fail(found.status());
  if (a.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const Finding& f : *found) {
      nlohmann::json evidence = nlohmann::json::object();
      for (const auto& [k, v] : f.evidence) evidence[k] = v;
      list.push_back({{"kind", f.kind},
                      {"pid", f.pid < 0 ? nlohmann::json(nullptr) : nlohmann::json(f.pid)},
                      {"process", f.process},
                      {"user", f.user},
                      {"evidence", evidence},
                      {"why", f.why}});
    }
    nlohmann::json doc = {{"archive", a.archive},
                          {"snapshot", view->index()},
                          {"time", WallTime(view->snapshot().metadata().startWallNs)},
                          {"findings", list},
                          {"warnings", warnings}};
    std::cout << JsonText(doc) << "\n";
  } else {
    for (const Finding& f : *found) {
      PrintLine("%s: pid %s %s (uid %s)\n", f.kind.c_str(), f.pid < 0 ? "-" : std::to_string(f.pid).c_str(),
                f.process.c_str(), f.user.empty() ? "?" : f.user.c_str());
      for (const auto& [k, v] : f.evidence) PrintLine("    %s: %s\n", k.c_str(), v.c_str());
      PrintLine("    why: %s\n", f.why.c_str());
    }
    if (found->empty()) std::fprintf(stderr, "no findings in %s snapshot %zu\n", a.archive.c_str(), view->index());
    for (const auto& w : warnings) std::fprintf(stderr, "procsnap: warning: %s\n", Printable(w).c_str());
  }
  return found->empty() ? kExitOk : kExitDifferent;
}

}  // namespace

void SetupFindings(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<FindingsArgs>();
  sub.add_option("ARCHIVE", a->archive, "archive or recording to read")->required();
  AddAtOption(sub, a->at);
  sub.add_flag("--json", a->json, "one JSON document with a findings array");
  sub.footer(
      "Kinds: deleted-executable, memory-executable (memfd, /dev/shm), hidden-pid (missing from readdir),\n"
      "proc-overmount (a mount over /proc or /proc/PID in any mount namespace), kernel-name-mismatch (named\n"
      "like a kernel thread, runs a program), suspicious-listener (a listener whose program is in /tmp,\n"
      "/dev/shm, deleted or in memory), same-executable-two-names (one SHA-256 under two paths).\n"
      "Evidence includes the SHA-256 capture recorded of each program (procsnap executables).\n"
      "Exit status: 0 no findings, 1 findings, 2 trouble.");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
