// procsnap mount: a snapshot as a read-only FUSE file system.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct MountArgs {
  std::string archive, dir;
  std::string at = "-1";
  bool foreground = false, debug = false, timeline = false;
  FileSizes sizes = FileSizes::Content;
  OpenErrors errors = OpenErrors::AtRead;
};

int Run(const MountArgs& a) {
  struct stat st;
  if (::stat(a.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Fail(a.dir + ": not a directory (create the mount point first)");
  MountOptions opts;
  opts.foreground = a.foreground || a.debug;
  opts.debug = a.debug;
  opts.sizes = a.sizes;
  opts.errors = a.errors;
  opts.allowOther = ::geteuid() == 0;
  if (a.timeline) {
    auto archive = ArchiveReader::Open(a.archive);
    if (!archive.ok()) return Fail(archive.status());
    const size_t count = (*archive)->snapshotCount();
    opts.mounted = [&] {
      std::fprintf(stderr, "procsnap: %zu snapshots of %s are mounted read-only at %s, a directory each and latest; %s\n",
                   count, a.archive.c_str(), a.dir.c_str(),
                   opts.foreground ? "Ctrl-C or `fusermount3 -u DIR` unmounts them" : "`fusermount3 -u DIR` unmounts them");
    };
    Status s = MountTimeline(*archive, a.dir, opts);
    if (!s.ok()) return Fail(s);
    return kExitOk;
  }
  auto view = View::Open(a.archive, a.at);
  if (!view.ok()) return Fail(view.status());
  auto shared = std::make_shared<const View>(std::move(*view));
  size_t index = shared->index();
  opts.mounted = [&] {
    std::fprintf(stderr, "procsnap: snapshot %zu of %s is mounted read-only at %s; %s\n", index, a.archive.c_str(),
                 a.dir.c_str(),
                 opts.foreground ? "Ctrl-C or `fusermount3 -u DIR` unmounts it"
                                 : "`fusermount3 -u DIR` unmounts it");
  };
  Status s = Mount(shared, a.dir, opts);
  if (!s.ok()) return Fail(s);
  return kExitOk;
}

}  // namespace

void SetupMount(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<MountArgs>();
  sub.add_option("ARCHIVE", a->archive, "archive or recording to serve")->required();
  sub.add_option("DIR", a->dir, "mount point (an existing directory)")->required();
  AddAtOption(sub, a->at);
  sub.add_flag("--timeline", a->timeline,
               "every snapshot at once: a directory per snapshot named by its UTC start "
               "(2026-11-23T07:11:05.250Z), each a whole /proc of that moment, and latest -> the newest")
      ->excludes("--at");
  AddSizesOption(sub, a->sizes);
  AddOpenErrorsOption(sub, a->errors);
  sub.add_flag("-f,--foreground", a->foreground, "stay in the foreground; Ctrl-C unmounts");
  sub.add_flag("--debug", a->debug, "trace every FUSE request on stderr (implies --foreground)");
  sub.footer(
      "Serves the snapshot like the /proc it came from: recorded modes and owners, every byte of every file, "
      "the errno recorded at capture, EROFS on any write. Files report their content length as st_size and "
      "are kept in the page cache, and the kernel opens them without asking procsnap: a file whose capture "
      "failed then opens and gives its errno at read() (and reports st_size 1). --open-errors open gives it "
      "at open(), as on the machine, at a round trip per open; --sizes procfs reports the sizes stat() gave "
      "at capture (0 for most of /proc) at the cost of read requests on every open (see bench/RESULTS.md).\n"
      "As root, other users may read it (allow_other, with the recorded permissions enforced); any "
      "other user mounts it through fusermount3 (package fuse3) for themselves only.\n"
      "Exit status: 0 after a clean unmount; 2 trouble.");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
