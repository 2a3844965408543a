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
#include <vector>

#include "format/archive.h"

namespace procsnap {

struct RedactOptions {
  std::string key;            // HMAC-SHA-256 key; empty: a random one, kept nowhere
  bool keepHostname = false;  // leave the host name and domain
  bool keepIps = false;       // leave the machine's addresses
  bool map = false;           // collect each original with its pseudonym (RedactSummary::map)
};

// The machine's default key, made on first use (32 random bytes, mode
// 0600 in a 0700 directory, like sos clean's default mapping): reports of
// one machine share pseudonyms, so diff of two shows changes, not churn.
// $PROCSNAP_REDACTION_KEY names it; else /var/lib/procsnap/redaction.key
// for root, $XDG_STATE_HOME/procsnap/redaction.key (~/.local/state) for
// others. Refused when it is not the user's own or others may read it.
Result<std::string> DefaultRedactionKey(std::string* path = nullptr);

// Reads the key file for --key-file: at least 16 bytes, at most 1 MiB.
Result<std::string> ReadKeyFile(const std::string& path);

// How a redacted snapshot names its key: "fingerprint 1a2b3c4d" (8 hex of
// a SHA-256 of the key, never the key), or "random" for a key kept
// nowhere; RedactionKeyOf reads it back from a snapshot's metadata ("" when
// the snapshot is not redacted).
std::string RedactionKeyLabel(const std::string& key);
std::string RedactionKeyOf(const Metadata& m);

struct RedactMapEntry {
  std::string kind, original, pseudonym;
};

struct RedactSummary {
  size_t snapshots = 0;
  std::map<std::string, uint64_t> replaced;  // kind -> values replaced, all snapshots
  std::vector<RedactMapEntry> map;           // with RedactOptions::map: what became what
};

// Writes `map` to `path` as tab-separated kind, original, pseudonym (C
// escapes for tabs, newlines, backslashes and bytes outside printable
// ASCII), one line each, mode 0600; never over an existing file.
Status WriteRedactMap(const std::string& path, const std::vector<RedactMapEntry>& map);

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
