// procsnap redact: a copy of an archive (or recording) in which every
// environment value, secret-looking argument, the host name and domain,
// and the machine's own IP addresses (in every form /proc writes them) are
// replaced by keyed pseudonyms: one secret, one pseudonym, everywhere; the
// copy still replays (an address stays an address, a number a number).
// The input is never changed. What was replaced is counted per kind in
// each snapshot's metadata.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "format/archive.h"

namespace procsnap {

struct RedactOptions {
  std::string key;            // HMAC-SHA-256 key; empty: a random one, kept nowhere
  bool keepHostname = false;  // leave the host name and domain
  bool keepIps = false;       // leave the machine's addresses
};

// Reads the key file for --key-file: at least 16 bytes, at most 1 MiB.
Result<std::string> ReadKeyFile(const std::string& path);

// How a redacted snapshot names its key: "fingerprint 1a2b3c4d" (8 hex of
// a SHA-256 of the key, never the key), or "random" for a key kept
// nowhere; RedactionKeyOf reads it back from a snapshot's metadata ("" when
// the snapshot is not redacted).
std::string RedactionKeyLabel(const std::string& key);
std::string RedactionKeyOf(const Metadata& m);

struct RedactSummary {
  size_t snapshots = 0;
  std::map<std::string, uint64_t> replaced;  // kind -> values replaced, all snapshots
};

// Redacts `in` (an archive, or a recording directory) into `out`, which
// must not exist: an archive, or for a recording a directory of the same
// segments. `at`: only that snapshot (of the whole input), into an archive.
// `progress(done, total)` after each snapshot.
Result<RedactSummary> RedactArchive(const std::string& in, const std::string& out, const RedactOptions& options,
                                    std::optional<size_t> at = std::nullopt,
                                    const std::function<void(size_t, size_t)>& progress = {});

// Redacts snapshot `index` of `reader` into `writer` (what capture's
// bugreport profile does with the capture it has just taken). Returns the
// redacted metadata as written.
Result<Metadata> RedactSnapshot(const ArchiveReader& reader, size_t index, ArchiveWriter& writer,
                                const RedactOptions& options);

}  // namespace procsnap
