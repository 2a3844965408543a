// procsnap diff: what changed between two snapshots.
#include <fnmatch.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>

#include "command.h"
#include "common.h"
#include "diff/diff.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct DiffArgs {
  std::string a, b;
  std::string at = "-1";
  bool all = false, json = false;
  std::vector<std::string> only, raw;
};

// "box.psnap@0" names snapshot 0 of box.psnap, "box.psnap@-5m" the one five
// minutes before its newest; a file that exists under the whole name is
// taken as it is.
Result<View> OpenSpec(const std::string& spec, const std::string& at) {
  size_t sign = spec.rfind('@');
  if (sign != std::string::npos && ::access(spec.c_str(), F_OK) != 0)
    return View::Open(spec.substr(0, sign), spec.substr(sign + 1));
  return View::Open(spec, at);
}

// Runs diff(1) without a shell: paths come from a snapshot that may be hostile.
int DiffFiles(const std::string& labelA, const std::string& labelB, const std::string& fa, const std::string& fb) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("diff", "diff", "-u", "--label", labelA.c_str(), "--label", labelB.c_str(), fa.c_str(), fb.c_str(),
             (char*)nullptr);
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0) return 2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

// --raw: unified diffs of the matching files, by diff(1).
int RawDiffs(const View& a, const View& b, const std::vector<std::string>& globs) {
  std::set<std::string> paths;
  for (const View* v : {&a, &b}) {
    const Snapshot& s = v->snapshot();
    for (NodeId i = 0; i < s.nodeCount(); ++i) {
      if (s.node(i).kind != NodeKind::File) continue;
      std::string rel = s.path(i), shown = v->display(i);
      for (auto& g : globs)
        if (fnmatch(g.c_str(), rel.c_str(), 0) == 0 || fnmatch(g.c_str(), shown.c_str(), 0) == 0) paths.insert(rel);
    }
  }
  char dir[] = "/tmp/procsnap-diff-XXXXXX";
  if (!::mkdtemp(dir)) return Fail(std::string("cannot make a temporary directory: ") + std::strerror(errno));
  std::string fa = std::string(dir) + "/a", fb = std::string(dir) + "/b";
  int status = kExitOk;
  for (const std::string& rel : paths) {
    for (auto [view, file] : {std::pair{&a, fa}, std::pair{&b, fb}}) {
      auto bytes = view->read(rel);
      FILE* f = std::fopen(file.c_str(), "w");
      if (f && bytes.ok()) std::fwrite(bytes->data(), 1, bytes->size(), f);
      if (f) std::fclose(f);
    }
    int rc = DiffFiles("a/" + rel, "b/" + rel, fa, fb);
    if (rc == 1) status = std::max(status, kExitDifferent);
    if (rc > 1) status = kExitTrouble;
  }
  ::unlink(fa.c_str());
  ::unlink(fb.c_str());
  ::rmdir(dir);
  if (paths.empty()) return Fail("--raw: no file matches");
  return status;
}

int Run(const DiffArgs& args) {
  auto a = OpenSpec(args.a, args.at);
  if (!a.ok()) return Fail(a.status());
  auto b = OpenSpec(args.b, args.at);
  if (!b.ok()) return Fail(b.status());
  if (!args.raw.empty()) return RawDiffs(*a, *b, args.raw);
  DiffOptions opts;
  opts.all = args.all;
  for (const std::string& list : args.only) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      auto s = ParseSection(list.substr(start, comma - start));
      if (!s.ok()) return Fail("--only: " + s.status().message());
      opts.only.push_back(*s);
      start = comma + 1;
    }
  }
  auto result = Diff(*a, *b, opts);
  if (!result.ok()) return Fail(result.status());
  for (auto& p : result->problems) std::fprintf(stderr, "procsnap: warning: %s\n", Printable(p).c_str());
  if (args.json) {
    nlohmann::json j = nlohmann::json::array();
    for (auto& c : result->changes)
      j.push_back({{"section", SectionName(c.section)}, {"kind", ChangeKindName(c.kind)}, {"subject", c.subject},
                   {"before", c.before}, {"after", c.after}, {"detail", c.detail}});
    std::cout << JsonText({{"changes", j}, {"problems", result->problems}}) << "\n";
  } else {
    const char* current = nullptr;
    for (auto& c : result->changes) {
      if (!current || std::strcmp(current, SectionName(c.section)) != 0) {
        current = SectionName(c.section);
        std::printf("%s\n", current);  // a section name: plain text
      }
      const std::string kind = ChangeKindName(c.kind);
      std::string line = "  " + kind + std::string(kind.size() < 9 ? 9 - kind.size() : 1, ' ') + c.subject;
      if (!c.before.empty() && !c.after.empty()) line += ": " + c.before + " -> " + c.after;
      else if (!c.before.empty() || !c.after.empty()) line += ": " + c.before + c.after;
      if (!c.detail.empty()) line += "  " + c.detail;
      std::puts(Printable(line).c_str());
    }
  }
  return result->changes.empty() ? kExitOk : kExitDifferent;
}

}  // namespace

void SetupDiff(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<DiffArgs>();
  sub.add_option("A", a->a, "the earlier snapshot: ARCHIVE or ARCHIVE@X (X as --at)")->required();
  sub.add_option("B", a->b, "the later snapshot: ARCHIVE or ARCHIVE@X (X as --at)")->required();
  sub.add_option("--at", a->at, "snapshot of an ARCHIVE given without @X: index (0 first, -1 last), time (2026-11-23T07:11:05Z, local without Z) or -5m")->capture_default_str();
  sub.add_flag("--all", a->all, "also counters that always move (volatile tunables, small memory changes, cpu ticks)");
  std::string names, sections;
  for (const SectionInfo& i : Sections()) {
    names += (names.empty() ? "" : ",") + std::string(i.name);
    sections += "\n  " + std::string(i.name) + ": " + i.summary;
  }
  sub.add_option("--only", a->only, "sections to show: " + names)->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub.add_option("--raw", a->raw, "unified diffs of the files matching this glob (as under the root, e.g. 'net/tcp')")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub.add_flag("--json", a->json, "the same content as JSON");
  sub.footer("Sections:" + sections + "\nExit status as diff(1): 0 no differences, 1 differences, 2 trouble.");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
