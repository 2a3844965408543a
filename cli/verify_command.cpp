// procsnap verify: check every checksum and reference of an archive.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct VerifyArgs {
  std::string archive;
  bool json = false;
  bool quiet = false;
};

int Run(const VerifyArgs& a) {
  auto archive = ArchiveReader::Open(a.archive);
  if (!archive.ok()) {
    if (a.json) std::cout << JsonText({{"archive", a.archive}, {"ok", false}, {"problems", {archive.status().message()}}}) << "\n";
    return Fail(archive.status());
  }
  bool tty = !a.quiet && StderrIsTerminal();
  auto last = std::chrono::steady_clock::now();
  VerifyReport rep = (*archive)->verify([&](uint64_t done, uint64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (!tty || now - last < std::chrono::milliseconds(100)) return;
    last = now;
    std::fprintf(stderr, "\rverifying: %3.0f%%", total ? 100.0 * done / total : 100.0);
  });
  if (tty) std::fprintf(stderr, "\r\033[K");
  bool ok = rep.problems.empty();
  if (a.json) {
    std::cout << JsonText({{"archive", a.archive},
                           {"ok", ok},
                           {"records", rep.records},
                           {"chunks", rep.chunks},
                           {"snapshots", rep.snapshots},
                           {"blobs", rep.blobsChecked},
                           {"bytes", rep.bytesChecked},
                           {"problems", rep.problems},
                           {"notes", rep.notes}})
              << "\n";
  }
  for (auto& p : rep.problems) std::fprintf(stderr, "procsnap: %s\n", p.c_str());
  if (!a.json)
    for (auto& n : rep.notes) std::fprintf(stderr, "procsnap: note: %s\n", n.c_str());
  if (!ok) {
    if (!a.json) std::fprintf(stderr, "procsnap: %s: %zu problem(s) found\n", a.archive.c_str(), rep.problems.size());
    return kExitTrouble;
  }
  if (!a.json && !a.quiet)
    std::printf("%s: ok: %llu records, %llu chunks, %llu snapshots, %llu file contents, %s checked\n", a.archive.c_str(),
                (unsigned long long)rep.records, (unsigned long long)rep.chunks, (unsigned long long)rep.snapshots,
                (unsigned long long)rep.blobsChecked, HumanBytes(rep.bytesChecked).c_str());
  return kExitOk;
}

}  // namespace

void SetupVerify(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<VerifyArgs>();
  sub.add_option("ARCHIVE", a->archive, "archive to check")->required();
  sub.add_flag("--json", a->json, "print JSON");
  sub.add_flag("-q,--quiet", a->quiet, "print only problems");
  sub.footer("Exit status: 0 the archive is sound; 2 damaged or unreadable (each problem is printed).");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
