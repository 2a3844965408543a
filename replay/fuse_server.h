// A mounted FUSE session serving one View read-only (lowlevel libfuse3 API).
// Shared by Mount (serve until unmounted) and RunInSnapshot (serve while a
// command runs).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "replay/replay.h"

struct fuse_session;

namespace procsnap {

class FuseServer {
 public:
  // Mounts at dir; requests are served once loop() runs.
  static Result<std::unique_ptr<FuseServer>> Mount(std::shared_ptr<const View> view, const std::string& dir,
                                                   const MountOptions& opts);
  // Every snapshot of `archive`, a directory each, and `latest` (see
  // MountTimeline in replay.h).
  static Result<std::unique_ptr<FuseServer>> MountTimeline(std::shared_ptr<ArchiveReader> archive,
                                                           const std::string& dir, const MountOptions& opts);
  // A recording in motion (procsnap play): the root serves one snapshot
  // at a time, from `first`; show() asks for another, served from the
  // first request after `quiet` without one (or after `longest` of
  // unbroken requests); `now`: from the next request (a user's step is a
  // boundary of its own).
  static Result<std::unique_ptr<FuseServer>> MountPlaying(std::shared_ptr<ArchiveReader> archive,
                                                          const std::string& dir, const MountOptions& opts,
                                                          size_t first, std::chrono::milliseconds quiet,
                                                          std::chrono::milliseconds longest);
  void show(size_t snapshot, bool now = false);  // any thread
  size_t showing() const;      // the snapshot served now
  // Decodes a snapshot ahead, on the calling thread (not the serving one),
  // so that showing it later costs no decode.
  void prefetch(size_t snapshot);
  ~FuseServer();

  // Serves requests, in arrival order, until unmounted or stop() is called.
  int loop();
  // Makes loop() return soon, from another thread; the caller joins the
  // thread that runs loop(), and the destructor then unmounts. Only the
  // loop's thread touches the session's device while it runs.
  void stop();
  // Installs SIGINT/SIGTERM/SIGHUP handlers that end loop().
  void handleSignals();

 private:
  FuseServer() = default;
  static Result<std::unique_ptr<FuseServer>> Start(void* fsState, const std::string& label, const std::string& dir,
                                                   const MountOptions& opts);
  std::shared_ptr<void> state_;  // what the request handlers see
  struct fuse_session* se_ = nullptr;
  int wakeFd_ = -1;  // an eventfd that stop() writes and loop() polls
  bool mounted_ = false, signals_ = false;
};

// Runs argv (with `env` added, and ReplayEnvironment) in a private mount
// namespace whose /proc is what `mountProc` mounts there, serving it until
// argv ends; `started` runs once argv is started, `ended` once it has
// ended. `terminal` (>= 0): the slave of a pseudo-terminal that becomes
// argv's controlling terminal and standard streams. Returns argv's exit
// status (128+signal if killed).
Result<int> RunWithProc(const std::function<Result<std::unique_ptr<FuseServer>>()>& mountProc,
                        const std::vector<std::string>& argv, const std::vector<std::string>& env,
                        const std::function<void(FuseServer&)>& started, const std::function<void()>& ended,
                        int terminal);

// NAME=VALUE pairs every replayed command gets (PROC_ROOT=/proc, so that
// ss reads the snapshot's /proc/net rather than the live kernel).
const std::vector<std::string>& ReplayEnvironment();

}  // namespace procsnap
