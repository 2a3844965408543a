#include "fuzz_targets.h"

namespace procsnap::fuzz {

const std::vector<Target>& Targets() {
  static const std::vector<Target> kTargets = {
      {"archive_bytes", ArchiveBytes},
      {"archive_tree", ArchiveTree},
      {"snapshot_message", SnapshotMessage},
      {"blob_codec", BlobCodec},
      {"procfs_text", ProcfsText},
      {"redact_text", RedactText},
  };
  return kTargets;
}

}  // namespace procsnap::fuzz
