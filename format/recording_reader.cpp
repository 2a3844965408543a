// A recording: a directory of segment archives (record writes them, one per
// span of time, named by their UTC start so that names sort by time), read
// as one archive whose snapshots are numbered across the segments.
#include <sys/stat.h>

#include <algorithm>
#include <mutex>
#include <cerrno>
#include <filesystem>

#include "reader_impl.h"
#include "recording_segments.h"

namespace procsnap {

namespace {

class RecordingReader final : public ArchiveReader {
 public:
  Status open(const std::string& dir) {
    path_ = dir;
    auto listed = ListSegments(dir);
    if (!listed.ok()) return listed.status();
    std::vector<std::string> names;
    for (const SegmentFile& f : *listed)
      if (!f.torn) names.push_back(f.name);
    if (names.empty())
      return Status::NotFound(dir + ": a directory with no .psnap segment is not a recording");
    const bool writing = RecordingBeingWritten(dir);
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string segPath = dir + "/" + names[i];
      auto seg = std::make_shared<ArchiveReaderImpl>();
      Status s = seg->open(segPath);
      if (!s.ok()) {
        // Retention may delete the oldest segment while we list.
        struct stat st;
        if (::stat(segPath.c_str(), &st) != 0 && errno == ENOENT) continue;
        switch (ClassifyUnopened(s, i + 1 == names.size(), writing)) {
          case UnopenedSegment::InProgress:
            inProgress_ = segPath + ": being written (its first snapshot is not committed yet)";
            continue;
          case UnopenedSegment::NeverCommitted:
            notes_.push_back(segPath +
                             ": never committed a snapshot (the recorder stopped during its first); skipped, and set "
                             "aside as .torn by the next record");
            continue;
          case UnopenedSegment::Damaged:
            return s;
        }
      }
      if (!seg->recoveryWarning().empty()) {
        // The newest segment of a recording being written ends in the
        // snapshot in progress: not damage.
        if (writing && i + 1 == names.size())
          inProgress_ = segPath + ": being written (" + std::to_string(seg->fileSize() - seg->usedEnd()) +
                        " bytes of the snapshot in progress after the last commit)";
        else
          warning_ += (warning_.empty() ? "" : "; ") + seg->recoveryWarning();
      }
      firstSnapshot_.push_back(count_);
      count_ += seg->snapshotCount();
      size_ += seg->fileSize();
      segments_.push_back(std::move(seg));
    }
    if (segments_.empty())
      return Status::NotFound(dir + (writing ? ": being written, and holds no committed snapshot yet"
                                             : ": the recording holds no committed snapshot"));
    return Status::Ok();
  }

  const std::string& path() const override { return path_; }
  uint64_t fileSize() const override { return size_; }
  uint32_t formatVersion() const override { return segments_.back()->formatVersion(); }
  size_t snapshotCount() const override { return count_; }
  const SnapshotSummary& summary(size_t i) const override {
    auto [seg, local] = locate(i);
    return segments_[seg]->summary(local);
  }
  uint64_t chunkCount() const override { return sum(&ArchiveReader::chunkCount); }
  uint64_t chunkStoredBytes() const override { return sum(&ArchiveReader::chunkStoredBytes); }
  uint64_t chunkRawBytes() const override { return sum(&ArchiveReader::chunkRawBytes); }
  const std::string& recoveryWarning() const override { return warning_; }

  Result<std::shared_ptr<const Snapshot>> snapshot(size_t i) const override {
    if (i >= count_)
      return Status::NotFound(path_ + ": no snapshot " + std::to_string(i) + " (the recording holds " +
                              std::to_string(count_) + ")");
    auto [seg, local] = locate(i);
    keepCachesOf(seg);
    return segments_[seg]->snapshot(local);  // reads its bytes through its own segment
  }
  // A BlobRef means something only inside its segment.
  Result<std::string> readBlob(const BlobRef&) const override { return unsupported(); }
  Result<BlobBytes> blobBytes(const BlobRef&) const override { return unsupported(); }

  VerifyReport verify(const std::function<void(uint64_t, uint64_t)>& progress) const override {
    VerifyReport all;
    if (!inProgress_.empty()) all.notes.push_back(inProgress_);
    all.notes.insert(all.notes.end(), notes_.begin(), notes_.end());
    uint64_t before = 0;
    for (const auto& seg : segments_) {
      VerifyReport r = seg->verify([&](uint64_t done, uint64_t) {
        if (progress) progress(before + done, size_);
      });
      before += seg->fileSize();
      all.records += r.records;
      all.chunks += r.chunks;
      all.snapshots += r.snapshots;
      all.blobsChecked += r.blobsChecked;
      all.bytesChecked += r.bytesChecked;
      for (auto& p : r.problems)  // a tail being written is reported once, above, as a note
        if (seg != segments_.back() || inProgress_.empty() || p != seg->recoveryWarning()) all.problems.push_back(p);
    }
    return all;
  }

 private:
  std::pair<size_t, size_t> locate(size_t i) const {
    size_t seg = std::upper_bound(firstSnapshot_.begin(), firstSnapshot_.end(), i) - firstSnapshot_.begin() - 1;
    return {seg, i - firstSnapshot_[seg]};
  }
  // Only the two segments read last keep their caches (each may hold
  // hundreds of MiB): a reader going through a recording holds two
  // segments' worth, however long the recording.
  void keepCachesOf(size_t seg) const {
    std::lock_guard<std::mutex> lock(recentMu_);
    if (!recent_.empty() && recent_.front() == seg) return;
    recent_.erase(std::remove(recent_.begin(), recent_.end(), seg), recent_.end());  // C++17: format/ builds as such for the fuzzers
    recent_.insert(recent_.begin(), seg);
    while (recent_.size() > 2) {
      segments_[recent_.back()]->dropCaches();
      recent_.pop_back();
    }
  }
  uint64_t sum(uint64_t (ArchiveReader::*f)() const) const {
    uint64_t t = 0;
    for (const auto& seg : segments_) t += (*seg.*f)();
    return t;
  }
  Status unsupported() const {
    return Status::Unsupported(path_ + ": a recording's file contents are read through its snapshots");
  }

  std::string path_, warning_;
  std::string inProgress_;  // the newest segment's state while a writer holds the recording
  std::vector<std::string> notes_;
  std::vector<std::shared_ptr<ArchiveReaderImpl>> segments_;
  mutable std::mutex recentMu_;
  mutable std::vector<size_t> recent_;  // segments read last, most recent first
  std::vector<size_t> firstSnapshot_;  // global number of each segment's first snapshot
  size_t count_ = 0;
  uint64_t size_ = 0;
};

}  // namespace

Result<std::shared_ptr<ArchiveReader>> OpenRecording(const std::string& dir) {
  auto r = std::make_shared<RecordingReader>();
  Status s = r->open(dir);
  if (!s.ok()) return s;
  return std::shared_ptr<ArchiveReader>(r);
}

}  // namespace procsnap
