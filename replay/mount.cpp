// Mount: serve a snapshot at a directory until it is unmounted.
#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>

#include "fuse_server.h"

namespace procsnap {

Status Mount(std::shared_ptr<const View> view, const std::string& dir, const MountOptions& opts) {
  auto server = FuseServer::Mount(std::move(view), dir, opts);
  if (!server.ok()) return server.status();
  if (opts.mounted) opts.mounted();
  // Detach only once the mount exists, so the caller's "mounted" is true.
  if (!opts.foreground && fuse_daemonize(0) != 0) return Status::IoError(dir + ": cannot detach from the terminal");
  (*server)->handleSignals();
  if ((*server)->loop() != 0) return Status::IoError(dir + ": the FUSE session ended with an error");
  return Status::Ok();
}

}  // namespace procsnap
