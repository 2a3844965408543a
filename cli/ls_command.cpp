// procsnap ls: list a directory of a snapshot, like ls(1) on the captured tree.
#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct LsArgs {
  std::string archive;
  std::string path;
  std::string at = "-1";
  bool longFormat = false;
  bool json = false;
  bool directory = false;
};

void PrintLong(const View& v, NodeId id) {
  const Snapshot& s = v.snapshot();
  const Node& n = s.node(id);
  std::string line = ModeString(n) + " " + std::to_string(n.uid) + " " + std::to_string(n.gid) + " ";
  char size[32];
  std::snprintf(size, sizeof size, "%10llu ", (unsigned long long)(n.kind == NodeKind::File ? n.size : n.statSize));
  line += size;
  line += WallTime(n.mtimeNs).substr(0, 19) + " ";
  line += s.name(id);
  if (n.kind == NodeKind::Symlink && n.error == 0) line += " -> " + std::string(s.linkTarget(id));
  if (n.kind == NodeKind::Alias) line += "  (same namespace as " + v.display(s.resolveAlias(id)) + ")";
  if (n.error) line += "  [" + ErrnoText(n.error) + "]";
  if (n.reason != Reason::None) line += "  [" + std::string(ReasonName(n.reason)) + ": " + std::string(s.note(id)) + "]";
  std::puts(Printable(line).c_str());
}

int Run(const LsArgs& a) {
  auto view = View::Open(a.archive, a.at);
  if (!view.ok()) return Fail(view.status());
  auto id = view->resolve(a.path, false);
  if (!id.ok()) {
    std::string hint = view->suggest(a.path);
    return Fail(id.status().message() + (hint.empty() ? "" : " (did you mean " + hint + "?)"));
  }
  const Snapshot& s = view->snapshot();
  std::vector<NodeId> ids;
  const Node& n = s.node(*id);
  if (!a.directory && (n.kind == NodeKind::Directory || n.kind == NodeKind::Alias)) {
    auto [lo, hi] = s.children(*id);
    for (NodeId c = lo; c < hi; ++c) ids.push_back(c);
  } else {
    ids.push_back(*id);
  }
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (NodeId c : ids) j.push_back(NodeJson(*view, c));
    std::cout << JsonText(j) << "\n";
  } else {
    for (NodeId c : ids) {
      if (a.longFormat) PrintLong(*view, c);
      else std::puts(Printable(s.name(c)).c_str());
    }
  }
  const Node& dir = s.node(s.resolveAlias(*id));
  if (dir.error && !a.json)
    std::fprintf(stderr, "procsnap: note: %s was captured with %s; the listing may be incomplete\n",
                 view->display(*id).c_str(), ErrnoText(dir.error).c_str());
  return kExitOk;
}

}  // namespace

void SetupLs(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<LsArgs>();
  sub.add_option("ARCHIVE", a->archive, "archive to read")->required();
  sub.add_option("PATH", a->path, "path as captured, with or without the root (/proc/1/fd or 1/fd); default the root");
  AddAtOption(sub, a->at);
  sub.add_flag("-l,--long", a->longFormat, "mode, owner, size, time, link target, recorded error and reason");
  sub.add_flag("-d,--directory", a->directory, "describe a directory itself, not its entries");
  sub.add_flag("--json", a->json, "print JSON: one object per entry with every recorded attribute");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
