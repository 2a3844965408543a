// procsnap replay: a snapshot behaves like the tree it was captured from.
// Export writes a snapshot as a plain folder that never escapes its target;
// Mount serves it as a read-only FUSE file system; RunInSnapshot runs a
// command whose /proc is that file system. All three read through a View.
// Thread safety: Export and Mount only read the View they are given.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/archive.h"
#include "view/view.h"

namespace procsnap {

// ---- export -------------------------------------------------------------------

// The file at the top of an export that lists what a folder cannot say is
// kManifestName (format/archive.h).

struct ExportOptions {
  // Give files the recorded owner (needs root; otherwise the exporter owns them).
  bool keepOwners = true;
  // A tree a repository can hold: files 0644 and directories 0755 (no
  // recorded modes or owners), kEmptyDirMarker in each empty directory,
  // a manifest without the archive's path; capture --root gives back the
  // errors it lists, so a fixture survives export, git and capture.
  bool fixture = false;
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct ExportReport {
  uint64_t files = 0, directories = 0, links = 0, hardLinks = 0, bytes = 0;
  uint64_t emptyDirMarkers = 0;  // --fixture: directories holding only kEmptyDirMarker
  // Entries of the manifest: recorded errors, truncations, skipped files,
  // and nodes a folder cannot hold (devices, unsafe names).
  uint64_t manifestEntries = 0, notWritten = 0;
  std::string manifestPath;
};

// Writes the snapshot under `dir`, which must be empty or not exist. Every
// write goes through a directory descriptor opened beneath `dir` without
// following links, so hostile names or links cannot lead outside it.
// Namespace aliases become directories of hard links to the first copy.
Result<ExportReport> Export(const View& view, const std::string& dir, const ExportOptions& opts = {});

// ---- mount and run -------------------------------------------------------------

// What a mounted file reports as st_size. procfs reports 0 for most files,
// and a file of size 0 can only be served direct_io: every open then costs
// a read request and an end-of-file request. Reporting the content length
// lets the kernel keep the bytes in its page cache for the whole mount
// (ps aux with 1,000 processes: see bench/RESULTS.md).
enum class FileSizes {
  Content,  // st_size = the recorded content length; served from the page cache
  Procfs,   // st_size = what stat() reported at capture (0 for most of procfs); direct_io
};

// When a file whose capture failed reports its recorded errno. With
// content sizes the kernel can open every file itself (FUSE's zero-message
// open: the server answers the first OPEN with ENOSYS) and keep its bytes
// cached across opens, so an open costs no round trip to the server; the
// errno then comes from read(), and such a file reports st_size 1 so that
// the read reaches the server. The caller's own live /proc/PID files then
// report their current length and the time of the stat as mtime.
// --sizes procfs always opens through the server (direct_io is per open).
enum class OpenErrors {
  AtRead,  // opens never reach the server; the errno comes from read() (the fast default)
  AtOpen,  // every open is a round trip; open() fails with the errno, as on the machine
};

struct MountOptions {
  FileSizes sizes = FileSizes::Content;
  OpenErrors errors = OpenErrors::AtRead;
  bool foreground = false;   // otherwise detach once mounted
  bool allowOther = false;   // let other users read (root only)
  bool debug = false;        // libfuse request tracing
  // Called once the file system is mounted, before requests are served.
  std::function<void()> mounted;
};

// Serves the view read-only at `dir` until it is unmounted (fusermount3 -u,
// SIGINT or SIGTERM). Modes and owners are the recorded ones, sizes as
// `opts.sizes` says; readers get every byte whatever size is reported; a
// file whose capture failed fails with its errno, at open or at read as
// `opts.errors` says.
// Any number of processes may read at once; requests are served in order.
Status Mount(std::shared_ptr<const View> view, const std::string& dir, const MountOptions& opts = {});

// Serves every snapshot of `archive` (a recording, or an archive of many)
// read-only at `dir`: a directory per snapshot named by its UTC start
// ("2026-11-23T07:11:05.250Z", "-2" added to a start another shares), each
// the /proc of that moment as Mount serves one, and `latest`, a link to the
// newest. At most 65,535 snapshots of at most 16.7M nodes each.
Status MountTimeline(std::shared_ptr<ArchiveReader> archive, const std::string& dir, const MountOptions& opts = {});

// Runs argv in a private mount namespace whose /proc is the snapshot and
// returns its exit status (128+signal if killed). Without CAP_SYS_ADMIN it
// makes a user namespace first (our uid and gid mapped to themselves).
// NotFound means argv[0] could not be executed; other errors are trouble.
Result<int> RunInSnapshot(std::shared_ptr<const View> view, const std::vector<std::string>& argv,
                          FileSizes sizes = FileSizes::Content, OpenErrors errors = OpenErrors::AtRead);

// ---- play ---------------------------------------------------------------------

struct PlayOptions {
  size_t from = 0, to = SIZE_MAX;  // snapshot indices, inclusive (clamped to the archive)
  double speed = 1;                // recorded seconds per real second
  bool loop = false;               // after the last snapshot, again from `from`; else stay
  bool paused = false;             // start paused at `from`
  // When standard input is a terminal: the command runs on a pseudo-
  // terminal and keys after Ctrl-] steer (space, n, p, +, -, 0, $, g, i).
  bool keyboard = false;
  std::string control;             // a FIFO of lines: pause, resume, step, back, seek TIME, speed F
  bool fakeClock = true;           // the command's clock follows the recording (libfaketime, when installed)
  FileSizes sizes = FileSizes::Content;
  OpenErrors errors = OpenErrors::AtRead;
  // A switch waits for `quiet` without a request (between two refreshes of
  // a tool), or at most `longest` of unbroken requests.
  std::chrono::milliseconds quiet{40}, longest{2000};
  std::function<void(const std::string&)> say;                    // a message for the user
  // The moment changed, or a prompt (`typing`, else "") is being typed.
  std::function<void(size_t snapshot, bool paused, double speed, const std::string& typing)> title;
};

struct PlayEnd {
  int status;       // the command's exit status (128+signal if killed)
  size_t snapshot;  // the snapshot served when it ended
};

// Runs argv in a private mount namespace whose /proc is `archive` moving in
// time: at recorded time from + elapsed x speed, the newest snapshot taken
// at or before it (see PlayOptions). Namespaces as RunInSnapshot. NotFound means argv[0] could not be executed.
Result<PlayEnd> PlayRecording(std::shared_ptr<ArchiveReader> archive, const std::vector<std::string>& argv,
                              const PlayOptions& options);

// Whether libfaketime is installed (Debian package libfaketime).
bool FakeClockAvailable();

}  // namespace procsnap
