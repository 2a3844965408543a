// procsnap export: a snapshot written as a plain folder.
#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct ExportArgs {
  std::string archive, dir;
  std::string at = "-1";
  bool json = false, noOwners = false, fixture = false;
};

int Run(const ExportArgs& a) {
  auto view = View::Open(a.archive, a.at);
  if (!view.ok()) return Fail(view.status());
  ExportOptions opts;
  opts.keepOwners = !a.noOwners;
  opts.fixture = a.fixture;
  bool progress = StderrIsTerminal();
  if (progress)
    opts.progress = [](uint64_t done, uint64_t total) {
      std::fprintf(stderr, "\rprocsnap: exported %llu of %llu entries", (unsigned long long)done,
                   (unsigned long long)total);
    };
  auto report = Export(*view, a.dir, opts);
  if (progress) std::fputs("\r\033[K", stderr);
  if (!report.ok()) return Fail(report.status());
  const ExportReport& r = *report;
  if (a.json) {
    nlohmann::json j = {{"archive", a.archive},     {"snapshot", view->index()},   {"dir", a.dir},
                        {"files", r.files},         {"directories", r.directories}, {"links", r.links},
                        {"hard_links", r.hardLinks}, {"bytes", r.bytes},            {"manifest", r.manifestPath},
                        {"manifest_entries", r.manifestEntries}, {"not_written", r.notWritten},
                        {"fixture", a.fixture}, {"empty_directory_markers", r.emptyDirMarkers}};
    std::cout << JsonText(j) << "\n";
  } else {
    std::printf("exported snapshot %zu of %s to %s: %llu files (%s), %llu directories, %llu links, "
                "%llu hard links for shared namespaces\n",
                view->index(), a.archive.c_str(), a.dir.c_str(), (unsigned long long)r.files,
                HumanBytes(r.bytes).c_str(), (unsigned long long)r.directories, (unsigned long long)r.links,
                (unsigned long long)r.hardLinks);
    std::printf("%llu entries a folder cannot express (errors recorded at capture, skipped or truncated files) "
                "are listed in %s\n",
                (unsigned long long)r.manifestEntries, r.manifestPath.c_str());
    if (a.fixture)
      std::printf("a fixture: files 0644, directories 0755, %llu empty directories hold %s (procsnap capture "
                  "--root DIR gives back the tree and the errors)\n",
                  (unsigned long long)r.emptyDirMarkers, kEmptyDirMarker);
  }
  if (r.notWritten)
    std::fprintf(stderr, "procsnap: warning: %llu entries were not written; the manifest says why\n",
                 (unsigned long long)r.notWritten);
  return kExitOk;
}

}  // namespace

void SetupExport(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<ExportArgs>();
  sub.add_option("ARCHIVE", a->archive, "archive to read")->required();
  sub.add_option("DIR", a->dir, "target directory; must be empty or not exist")->required();
  AddAtOption(sub, a->at);
  sub.add_flag("--no-owners", a->noOwners, "do not give files their recorded owners (only root can)");
  sub.add_flag("--fixture", a->fixture,
               "a tree a repository can hold: every file 0644 and directory 0755, owners not kept, an empty "
               "directory keeps a .procsnap-empty-dir file, the manifest names no local path");
  sub.add_flag("--json", a->json, "print the report as JSON");
  sub.footer(
      "Writes files, directories and links with their recorded modes (and owners, as root) so that tools with a "
      "/proc path option can read DIR, e.g. psutil.PROCFS_PATH = DIR. Network namespace aliases become hard "
      "links to one copy. What a folder cannot express - errors recorded at capture, skipped and truncated "
      "files - is listed in DIR/.procsnap-manifest.json; `procsnap mount` reproduces those too, and "
      "`procsnap capture --root DIR` gives them back.\n"
      "--fixture, for test suites: export, commit, clone, `capture --root` and export again give the same bytes, "
      "errors included. Readers that list a directory kept by the marker see that one file in it.\n"
      "Exit status: 0 exported; 2 trouble.");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
