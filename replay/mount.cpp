// Mount: serve a snapshot at a directory until it is unmounted.
#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>

#include "fuse_server.h"

namespace procsnap {

namespace {

// Until unmounted: detach once mounted (unless foreground), then serve.
Status Serve(Result<std::unique_ptr<FuseServer>> server, const std::string& dir, const MountOptions& opts) {
  if (!server.ok()) return server.status();
  if (opts.mounted) opts.mounted();
  // Detach only once the mount exists, so the caller's "mounted" is true.
  if (!opts.foreground && fuse_daemonize(0) != 0) return Status::IoError(dir + ": cannot detach from the terminal");
  (*server)->handleSignals();
  if ((*server)->loop() != 0) return Status::IoError(dir + ": the FUSE session ended with an error");
  return Status::Ok();
}

}  // namespace

Status Mount(std::shared_ptr<const View> view, const std::string& dir, const MountOptions& opts) {
  return Serve(FuseServer::Mount(std::move(view), dir, opts), dir, opts);
}

Status MountTimeline(std::shared_ptr<ArchiveReader> archive, const std::string& dir, const MountOptions& opts) {
  return Serve(FuseServer::MountTimeline(std::move(archive), dir, opts), dir, opts);
}

}  // namespace procsnap
