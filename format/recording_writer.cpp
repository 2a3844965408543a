// RecordingWriter: snapshots into a directory of segment archives, each
// committed before the next begins; retention deletes whole old segments.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>

#include "reader_impl.h"
#include "record.h"
#include "recording_segments.h"

namespace procsnap {

namespace {

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
    // One writer, for its whole life: nothing below renames or deletes
    // what another writer holds.
    auto lock = LockRecording(dir);
    if (!lock.ok()) return lock.status();
    lock_ = std::move(*lock);
    auto listed = ListSegments(dir);
    if (!listed.ok()) return listed.status();
    for (size_t i = 0; i < listed->size(); ++i) {
      const SegmentFile& f = (*listed)[i];
      nextSequence_ = std::max(nextSequence_, SegmentSequence(f.name) + 1);
      Segment seg{dir + "/" + f.name, 0, f.bytes, 0, f.torn};
      if (f.torn) {  // counted against --max-size, deleted first
        segs_.push_back(seg);
        continue;
      }
      ArchiveReaderImpl r;
      Status s = r.open(seg.path);
      if (!s.ok()) {
        switch (ClassifyUnopened(s, i + 1 == listed->size(), false)) {
          case UnopenedSegment::NeverCommitted:
            // Set aside as NAME.torn, not deleted, in case it is damage worth a look.
            if (::rename(seg.path.c_str(), (seg.path + ".torn").c_str()) != 0)
              return Status::FromErrno(seg.path + ": cannot set the torn segment aside", errno);
            seg.path += ".torn";
            seg.torn = true;
            segs_.push_back(seg);
            continue;
          case UnopenedSegment::InProgress:  // not while we hold the lock
          case UnopenedSegment::Damaged:
            return s;
        }
      }
      seg.snapshots = r.snapshotCount();
      seg.bytes = r.fileSize();
      if (seg.snapshots) {
        seg.firstStartNs = r.summary(0).startWallNs;
        lastHostname_ = r.summary(seg.snapshots - 1).hostname;
        // What a keyframe and a delta cost here, for the reserve of the next.
        const RecordRef& key = r.index().snapshots[0].record;
        keyframeBytes_ = std::min(seg.bytes, key.offset + kRecordHeaderSize + key.storedSize);
        if (seg.snapshots > 1) largestDelta_ = 2 * (seg.bytes - keyframeBytes_) / (seg.snapshots - 1);
      }
      count_ += seg.snapshots;
      segs_.push_back(seg);
    }
    return Status::Ok();
  }

  Result<ArchiveWriter*> next(int64_t nowNs) override {
    dropOld(nowNs);
    // What the next snapshot may add: a delta, twice the largest seen (a
    // guess from the keyframe until one is), so that a growing machine does
    // not overshoot the bound; a keyframe, 1.25x the last.
    const uint64_t delta = largestDelta_ ? largestDelta_ : keyframeBytes_ / 8;
    const uint64_t deltaReserve = 2 * std::max<uint64_t>(delta, 4096);
    const uint64_t keyReserve = std::max<uint64_t>(keyframeBytes_ + keyframeBytes_ / 4, deltaReserve);
    // A segment is at most a quarter of the bound (old data goes a quarter
    // at a time), but a bound of a few keyframes still gives each segment
    // room for deltas: as much as leaves room for the next keyframe beside
    // it, up to 16 deltas' reserve.
    uint64_t segCap = UINT64_MAX;
    if (opts_.maxBytes) {
      const uint64_t room = opts_.maxBytes > keyReserve ? opts_.maxBytes - keyReserve : 0;
      segCap = std::max(opts_.maxBytes / 4, std::min(room, keyframeBytes_ + 16 * deltaReserve));
    }
    Segment* last = newest();
    bool rotate = !last || last->snapshots >= std::max<size_t>(opts_.segmentSnapshots, 1) ||
                  (last->bytes + deltaReserve > segCap && last->snapshots > 0);
    const uint64_t need = rotate ? keyReserve : deltaReserve;
    if (opts_.maxBytes) {
      // Everything but the segment holding the newest snapshot may go, oldest first.
      while (total() + need > opts_.maxBytes && removeOldest()) {
      }
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
      const std::string path = dir_ + "/" + SegmentName(nextSequence_++, nowNs);
      auto w = ArchiveWriter::Create(path, opts_.writer);
      if (!w.ok()) return w.status();
      open_ = std::move(*w);
      segs_.push_back({path, nowNs, open_->bytesWritten(), 0, false});
    } else if (!open_) {
      auto w = ArchiveWriter::Append(last->path, opts_.writer);
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
    Segment& seg = *newest();
    seg.bytes = open_->bytesWritten();
    const uint64_t added = seg.bytes - before_;
    if (seg.snapshots == 0) {
      keyframeBytes_ = seg.bytes;  // the file so far: header, chunks and the snapshot
      seg.firstStartNs = meta.startWallNs;
    } else {
      largestDelta_ = std::max(largestDelta_, added);
    }
    ++seg.snapshots;
    ++count_;
    lastHostname_ = meta.hostname;
    dropOld(meta.endWallNs);
    // A snapshot larger than its reserve: the bound holds again at once.
    if (opts_.maxBytes)
      while (total() > opts_.maxBytes && removeOldest()) {
      }
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
  size_t segmentCount() const override {
    return std::count_if(segs_.begin(), segs_.end(), [](const Segment& s) { return !s.torn; });
  }
  bool startedSegment() const override { return started_; }
  const std::string& lastHostname() const override { return lastHostname_; }

 private:
  struct Segment {
    std::string path;
    int64_t firstStartNs;
    uint64_t bytes;
    size_t snapshots;
    bool torn;  // set aside (NAME.torn): counted, never read, deleted first
  };

  uint64_t total() const {
    uint64_t t = 0;
    for (const auto& s : segs_) t += s.bytes;
    return t;
  }

  // The segment snapshots go to: the last one that is not torn.
  Segment* newest() {
    for (auto it = segs_.rbegin(); it != segs_.rend(); ++it)
      if (!it->torn) return &*it;
    return nullptr;
  }

  // Deletes the oldest file that may go: a torn one, or the oldest segment
  // that is not the one holding the newest snapshot. False when none may.
  bool removeOldest() {
    auto victim = std::find_if(segs_.begin(), segs_.end(), [](const Segment& s) { return s.torn; });
    if (victim == segs_.end()) {
      const Segment* keep = newest();
      victim = std::find_if(segs_.begin(), segs_.end(), [&](const Segment& s) { return &s != keep; });
      if (victim == segs_.end()) return false;
    }
    ::unlink(victim->path.c_str());
    count_ -= victim->snapshots;
    segs_.erase(victim);
    return true;
  }

  // A segment whose successor began before the cut holds only older
  // snapshots; torn ones older than the cut go too.
  void dropOld(int64_t nowNs) {
    if (!opts_.maxAgeNs) return;
    const int64_t cut = nowNs - opts_.maxAgeNs;
    for (size_t i = 0; i + 1 < segs_.size();) {
      const Segment* next = nullptr;
      for (size_t j = i + 1; j < segs_.size() && !next; ++j)
        if (!segs_[j].torn && segs_[j].snapshots > 0) next = &segs_[j];
      if (!next || next->firstStartNs >= cut) break;
      ::unlink(segs_[i].path.c_str());
      count_ -= segs_[i].snapshots;
      segs_.erase(segs_.begin() + i);
    }
  }

  RecordingOptions opts_;
  std::string dir_, lastHostname_;
  OwnedFd lock_;
  std::vector<Segment> segs_;  // in recording order
  std::unique_ptr<ArchiveWriter> open_;
  uint64_t nextSequence_ = 1;
  uint64_t before_ = 0, largestDelta_ = 0, keyframeBytes_ = 0;
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
