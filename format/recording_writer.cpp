// RecordingWriter: snapshots into a directory of segment archives, each
// committed before the next begins; retention deletes whole old segments.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>

#include "reader_impl.h"

namespace procsnap {

namespace {

// "20261123T071105.250Z": WallTime without its separators, so that names
// sort by time and hold no ':' for other systems' sake.
std::string SegmentStamp(int64_t ns) {
  std::string stamp = WallTime(ns);
  stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == '-' || c == ':'; }), stamp.end());
  return stamp;
}

class RecordingWriterImpl final : public RecordingWriter {
 public:
  explicit RecordingWriterImpl(RecordingOptions opts) : opts_(std::move(opts)) {
    opts_.writer.cutDamagedTail = true;
    opts_.writer.delta = true;  // each segment's first snapshot is the keyframe of the rest
  }
  ~RecordingWriterImpl() override { (void)close(); }

  Status open(const std::string& dir) {
    dir_ = dir;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Status::FromErrno(dir + ": cannot create", errno);
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return Status::FromErrno(dir, errno);
    if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + ": not a directory (a recording is one)");
    auto listed = SegmentNames(dir);
    if (!listed.ok()) return listed.status();
    const std::vector<std::string>& names = *listed;
    for (size_t i = 0; i < names.size(); ++i) {
      Segment seg{dir + "/" + names[i], 0, 0, 0};
      ArchiveReaderImpl r;
      Status s = r.open(seg.path);
      if (!s.ok()) {
        // A newest segment with no sound trailer (killed before its first
        // commit) holds no snapshot a reader could use: it is set aside as
        // NAME.torn, not deleted, in case it is damage worth a look.
        // Damage anywhere else is reported.
        if (i + 1 == names.size() && NeverCommitted(seg.path)) {
          if (::rename(seg.path.c_str(), (seg.path + ".torn").c_str()) != 0)
            return Status::FromErrno(seg.path + ": cannot set the torn segment aside", errno);
          continue;
        }
        return s;
      }
      if (r.snapshotCount() == 0) continue;
      seg.firstStartNs = r.summary(0).startWallNs;
      seg.snapshots = r.snapshotCount();
      seg.bytes = r.fileSize();
      lastHostname_ = r.summary(r.snapshotCount() - 1).hostname;
      count_ += seg.snapshots;
      segs_.push_back(seg);
    }
    return Status::Ok();
  }

  Result<ArchiveWriter*> next(int64_t nowNs) override {
    dropOld(nowNs);
    const uint64_t segCap = opts_.maxBytes ? opts_.maxBytes / 4 : UINT64_MAX;
    // What the next snapshot may add: twice the largest seen, so that a
    // growing machine does not overshoot the bound.
    const uint64_t deltaReserve = 2 * std::max<uint64_t>(lastSnapshotBytes_, 4096);
    const uint64_t keyReserve = std::max<uint64_t>(keyframeBytes_ + keyframeBytes_ / 4, deltaReserve);
    bool rotate = segs_.empty() || segs_.back().snapshots >= std::max<size_t>(opts_.segmentSnapshots, 1) ||
                  (segs_.back().bytes + deltaReserve > segCap && segs_.back().snapshots > 0);
    const uint64_t need = rotate ? keyReserve : deltaReserve;
    if (opts_.maxBytes) {
      // Everything but the segment holding the newest snapshot may go.
      while (segs_.size() > 1 && total() + need > opts_.maxBytes) remove(0);
      if (total() + need > opts_.maxBytes)
        return Status::InvalidArgument(dir_ + ": --max-size " + std::to_string(opts_.maxBytes) +
                                       " bytes cannot hold the newest snapshot (" + std::to_string(total()) +
                                       " bytes on disk) beside the next (about " + std::to_string(need) + ")");
    }
    started_ = rotate;
    if (rotate) {
      if (open_) {
        Status s = open_->finish();
        open_.reset();
        if (!s.ok()) return s;
      }
      std::string path = dir_ + "/" + SegmentStamp(nowNs) + ".psnap";
      for (int k = 1; ::access(path.c_str(), F_OK) == 0; ++k)
        path = dir_ + "/" + SegmentStamp(nowNs) + "-" + std::to_string(k) + ".psnap";
      auto w = ArchiveWriter::Create(path, opts_.writer);
      if (!w.ok()) return w.status();
      open_ = std::move(*w);
      segs_.push_back({path, nowNs, open_->bytesWritten(), 0});
    } else if (!open_) {
      auto w = ArchiveWriter::Append(segs_.back().path, opts_.writer);
      if (!w.ok()) return w.status();
      open_ = std::move(*w);
    }
    before_ = open_->bytesWritten();
    return open_.get();
  }

  Status commit(const Metadata& meta) override {
    if (!open_) return Status::InvalidArgument(dir_ + ": commit without a snapshot begun by next()");
    Status s = open_->commit();
    if (!s.ok()) return s;
    Segment& seg = segs_.back();
    seg.bytes = open_->bytesWritten();
    lastSnapshotBytes_ = seg.bytes - before_;
    if (seg.snapshots == 0) {
      keyframeBytes_ = lastSnapshotBytes_;
      seg.firstStartNs = meta.startWallNs;
    }
    ++seg.snapshots;
    ++count_;
    lastHostname_ = meta.hostname;
    dropOld(meta.endWallNs);
    // A snapshot larger than its reserve: the bound holds again at once.
    if (opts_.maxBytes)
      while (segs_.size() > 1 && total() > opts_.maxBytes) remove(0);
    return Status::Ok();
  }

  Status close() override {
    if (!open_) return Status::Ok();
    Status s = open_->finish();
    open_.reset();
    return s;
  }

  const std::string& path() const override { return dir_; }
  uint64_t bytesOnDisk() const override { return total(); }
  size_t snapshotCount() const override { return count_; }
  size_t segmentCount() const override { return segs_.size(); }
  bool startedSegment() const override { return started_; }
  const std::string& lastHostname() const override { return lastHostname_; }

 private:
  struct Segment {
    std::string path;
    int64_t firstStartNs;
    uint64_t bytes;
    size_t snapshots;
  };

  static bool NeverCommitted(const std::string& path) {
    ArchiveReaderImpl r;
    Status s = r.open(path);
    return !s.ok() && s.code() == StatusCode::Corruption;
  }

  uint64_t total() const {
    uint64_t t = 0;
    for (const auto& s : segs_) t += s.bytes;
    return t;
  }

  void remove(size_t i) {
    ::unlink(segs_[i].path.c_str());
    count_ -= segs_[i].snapshots;
    segs_.erase(segs_.begin() + i);
  }

  // A segment whose successor began before the cut holds only older snapshots.
  void dropOld(int64_t nowNs) {
    if (!opts_.maxAgeNs) return;
    const int64_t cut = nowNs - opts_.maxAgeNs;
    while (segs_.size() > 1 && segs_[1].firstStartNs < cut && segs_[1].snapshots > 0) remove(0);
  }

  RecordingOptions opts_;
  std::string dir_, lastHostname_;
  std::vector<Segment> segs_;
  std::unique_ptr<ArchiveWriter> open_;
  uint64_t before_ = 0, lastSnapshotBytes_ = 0, keyframeBytes_ = 0;
  size_t count_ = 0;
  bool started_ = false;
};

}  // namespace

RecordingWriter::~RecordingWriter() = default;

Result<std::unique_ptr<RecordingWriter>> RecordingWriter::Open(const std::string& dir, const RecordingOptions& opts) {
  auto w = std::make_unique<RecordingWriterImpl>(opts);
  Status s = w->open(dir);
  if (!s.ok()) return s;
  return std::unique_ptr<RecordingWriter>(std::move(w));
}

}  // namespace procsnap
