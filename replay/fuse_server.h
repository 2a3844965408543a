// A mounted FUSE session serving one View read-only (lowlevel libfuse3 API).
// Shared by Mount (serve until unmounted) and RunInSnapshot (serve while a
// command runs).
#pragma once

#include <memory>
#include <string>

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

}  // namespace procsnap
