// Inside format/ only: what ArchiveWriter::Append needs from the archive it
// continues.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "checksum.h"
#include "format/archive.h"
#include "snapshot_codec.h"

namespace procsnap {

// Where the sound part of the archive ends (the trailer in use), its index,
// and the digest of every blob of the newest snapshot, which seeds
// deduplication so that a timeline stores only what changed.
// `damage` says what is wrong with the end of the file ("" when nothing).
// With `keyContent` and `keySnapshot` (delta writers), also the keyframe's
// chunk contents and snapshot record of a format 3 archive.
Status LoadForAppend(const std::string& path, uint64_t* end, IndexData* index,
                     std::vector<std::pair<Digest, BlobRef>>* blobs, std::string* damage,
                     std::string* keyContent = nullptr, std::string* keySnapshot = nullptr,
                     std::vector<std::string>* keyStrings = nullptr);

}  // namespace procsnap
