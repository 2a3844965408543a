// procsnap cat: the captured bytes of one file.
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct CatArgs {
  std::string archive;
  std::vector<std::string> paths;
  std::string at = "-1";
};

int Run(const CatArgs& a) {
  auto view = View::Open(a.archive, a.at);
  if (!view.ok()) return Fail(view.status());
  int status = kExitOk;
  for (const std::string& path : a.paths) {
    auto id = view->resolve(path, true);
    if (!id.ok()) {
      std::string hint = view->suggest(path);
      Fail(id.status().message() + (hint.empty() ? "" : " (did you mean " + hint + "?)"));
      status = kExitTrouble;
      continue;
    }
    auto bytes = view->read(*id);
    if (!bytes.ok()) {
      Fail(bytes.status());
      status = std::max(status, bytes.status().code() == StatusCode::NotCaptured ? kExitDifferent : kExitTrouble);
      continue;
    }
    if (Status s = WriteAll(1, *bytes, "standard output"); !s.ok()) return Fail(s);
    const Node& n = view->snapshot().node(*id);
    if (n.reason == Reason::Truncated)
      std::fprintf(stderr, "procsnap: note: %s was %s\n", view->display(*id).c_str(),
                   std::string(view->snapshot().note(*id)).c_str());
    if (n.error)
      std::fprintf(stderr, "procsnap: note: reading %s stopped with %s at capture\n", view->display(*id).c_str(),
                   ErrnoText(n.error).c_str());
  }
  return status;
}

}  // namespace

void SetupCat(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<CatArgs>();
  sub.add_option("ARCHIVE", a->archive, "archive to read")->required();
  sub.add_option("PATH", a->paths, "file as captured, with or without the root (/proc/1/status or 1/status)")
      ->required();
  AddAtOption(sub, a->at);
  sub.footer("Exit status: 0 ok; 1 the archive holds no bytes for a file (its read failed at capture, or capture did "
      "not read it: the reason is printed); 2 trouble (unknown path, damaged archive...).");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
