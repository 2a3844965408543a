// Inside format/ only: the reader behind ArchiveReader::Open, which append
// (format/append.cpp) also opens to find where an archive ends.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "format/archive.h"
#include "record.h"
#include "snapshot_codec.h"

namespace procsnap {

// A directory of segment archives read as one (recording_reader.cpp).
Result<std::shared_ptr<ArchiveReader>> OpenRecording(const std::string& dir);

class ArchiveReaderImpl final : public ArchiveReader {
 public:
  ~ArchiveReaderImpl() override;

  Status open(const std::string& path);

  const std::string& path() const override { return path_; }
  uint64_t fileSize() const override { return size_; }
  uint32_t formatVersion() const override { return version_; }
  size_t snapshotCount() const override { return index_.snapshots.size(); }
  const SnapshotSummary& summary(size_t i) const override { return index_.snapshots.at(i).summary; }
  uint64_t chunkCount() const override { return index_.chunks.size(); }
  uint64_t chunkStoredBytes() const override;
  uint64_t chunkRawBytes() const override;
  const std::string& recoveryWarning() const override { return recovery_; }
  uint64_t usedEnd() const { return usedEnd_; }  // end of the trailer in use
  const IndexData& index() const { return index_; }
  // Format 4: the index records in use, the newest last (append continues the chain).
  const std::vector<IndexLink>& indexChain() const { return indexChain_; }

  Result<std::shared_ptr<const Snapshot>> snapshot(size_t i) const override;

  Result<std::string> readBlob(const BlobRef& ref) const override;
  Result<BlobBytes> blobBytes(const BlobRef& ref) const override;

  VerifyReport verify(const std::function<void(uint64_t, uint64_t)>& progress) const override;

 private:
  Status readAt(uint64_t off, uint64_t len, std::string* out) const;

  // Reads and checks one record that the index describes.
  // A snapshot record of format 5 may hold one frame per part (DecompressSnapshotRecord).
  Result<std::string> readRecord(const RecordRef& ref, RecordType want, const std::string& whereIn,
                                 std::string_view prefix = {}) const;

  Result<std::shared_ptr<const std::string>> loadChunk(uint32_t id) const;

 public:
  // Prefixes of delta records: chunks 0..chunks-1 concatenated (the newest
  // kept), and the raw record of snapshot i (the recently used kept: in
  // format 4 the next snapshot's prefix is usually among them). Append
  // reads the keyframe's through them too.
  Result<std::shared_ptr<const std::string>> keyframeContent(uint32_t chunks) const;
  Result<std::shared_ptr<const std::string>> snapshotRecord(size_t i) const;
  // Forgets every cached chunk and snapshot: a recording reads its segments
  // one after another, and 24 segments' caches were gigabytes.
  void dropCaches() const;

 private:

  Status tryTrailer(uint64_t pos);
  // Reads the index record `ref` and, in format 4, the earlier ones it chains to.
  Status readIndex(RecordRef ref);
  // The entries of a format 3 or 4 index that may only be checked whole.
  Status checkPrefixes();

  // Offsets of byte sequences that look like trailers, newest first.
  std::vector<uint64_t> trailerCandidates() const;

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t usedEnd_ = 0;
  uint32_t version_ = 0;
  IndexData index_;
  std::string recovery_;
  mutable std::mutex chunkMu_, snapMu_, prefixMu_;
  mutable std::pair<uint32_t, std::shared_ptr<const std::string>> keyChunks_;
  mutable std::list<std::pair<size_t, std::shared_ptr<const std::string>>> rawSnapshots_;  // most recent first
  mutable uint64_t rawSnapshotBytes_ = 0;
  std::vector<IndexLink> indexChain_;
  // Most recently used first.
  mutable std::list<std::pair<uint32_t, std::shared_ptr<const std::string>>> chunkCache_;
  mutable uint64_t chunkCacheBytes_ = 0;
  struct CachedSnapshot {
    size_t index;
    std::shared_ptr<const Snapshot> snap;
    uint64_t bytes;  // what decoding charged: the tree, its strings and the metadata
  };
  mutable std::list<CachedSnapshot> snapCache_;
  mutable uint64_t snapCacheBytes_ = 0;
};

}  // namespace procsnap
