// ExportManifest: what an export's manifest (kManifestName) says its folder
// could not, read back when that folder is captured (capture --root of an
// export or a fixture), so that recorded errors do not become empty files.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/archive.h"

namespace procsnap {

struct ExportManifest {
  struct Entry {
    int error = 0;                  // the errno recorded at capture
    Reason reason = Reason::None;   // skipped, truncated, redacted...
    std::string note;
    bool lostLink = false;          // a link whose readlink failed: not in the folder
  };
  std::unordered_map<std::string, Entry> byPath;                       // "1/environ"
  std::unordered_map<std::string, std::vector<std::string>> lostLinks;  // directory ("" the root) -> names
  int64_t startWallNs = 0;  // the moment the folder shows

  const Entry* find(const std::string& rel) const {
    auto it = byPath.find(rel);
    return it == byPath.end() ? nullptr : &it->second;
  }
  // Whether `name` in directory `dir` is the manifest's own (the manifest,
  // an empty-directory marker), not the captured tree's.
  static bool Ours(const std::string& dir, const std::string& name) {
    return name == kEmptyDirMarker || (dir.empty() && name == kManifestName);
  }
};

// Reads ROOT/kManifestName: nullptr when there is none; an error names the
// file and what is wrong with it.
Result<std::unique_ptr<ExportManifest>> ReadExportManifest(int rootFd, const std::string& root);

}  // namespace procsnap
