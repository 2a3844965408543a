// A recording: a directory of segment archives (record writes them, one per
// span of time, named by their UTC start so that names sort by time), read
// as one archive whose snapshots are numbered across the segments.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "reader_impl.h"

namespace procsnap {

Result<std::vector<std::string>> SegmentNames(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".psnap") == 0 && name[0] != '.' && it->is_regular_file())
      names.push_back(name);
  }
  if (ec) return Status::FromErrno(dir + ": cannot list the recording", ec.value());
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

class RecordingReader final : public ArchiveReader {
 public:
  Status open(const std::string& dir) {
    path_ = dir;
    auto listed = SegmentNames(dir);
    if (!listed.ok()) return listed.status();
    const std::vector<std::string>& names = *listed;
    if (names.empty())
      return Status::NotFound(dir + ": a directory with no .psnap segment is not a recording");
    for (size_t i = 0; i < names.size(); ++i) {
      auto seg = std::make_shared<ArchiveReaderImpl>();
      Status s = seg->open(dir + "/" + names[i]);
      if (!s.ok()) {
        // While record runs: its newest segment may not hold a committed
        // snapshot yet, and retention may delete the oldest meanwhile.
        struct stat st;
        const bool gone = ::stat((dir + "/" + names[i]).c_str(), &st) != 0 && errno == ENOENT;
        if (gone || (i + 1 == names.size() && s.code() == StatusCode::Corruption && i > 0)) continue;
        return s;
      }
      if (!seg->recoveryWarning().empty()) warning_ += (warning_.empty() ? "" : "; ") + seg->recoveryWarning();
      firstSnapshot_.push_back(count_);
      count_ += seg->snapshotCount();
      size_ += seg->fileSize();
      segments_.push_back(std::move(seg));
    }
    if (segments_.empty()) return Status::NotFound(dir + ": the recording holds no committed snapshot yet");
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
    return segments_[seg]->snapshot(local);  // reads its bytes through its own segment
  }
  // A BlobRef means something only inside its segment.
  Result<std::string> readBlob(const BlobRef&) const override { return unsupported(); }
  Result<BlobBytes> blobBytes(const BlobRef&) const override { return unsupported(); }

  VerifyReport verify(const std::function<void(uint64_t, uint64_t)>& progress) const override {
    VerifyReport all;
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
      all.problems.insert(all.problems.end(), r.problems.begin(), r.problems.end());
    }
    return all;
  }

 private:
  std::pair<size_t, size_t> locate(size_t i) const {
    size_t seg = std::upper_bound(firstSnapshot_.begin(), firstSnapshot_.end(), i) - firstSnapshot_.begin() - 1;
    return {seg, i - firstSnapshot_[seg]};
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
  std::vector<std::shared_ptr<ArchiveReaderImpl>> segments_;
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
