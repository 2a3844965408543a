// ArchiveWriter: deduplicates blobs into chunks, compresses sealed chunks on
// a background thread while capture goes on, and writes records strictly
// forward so that the output can be a pipe.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "blob_codec.h"
#include "checksum.h"
#include "codec.h"
#include "format/archive.h"
#include "record.h"
#include "snapshot_codec.h"

namespace procsnap {

namespace {

struct DigestHash {
  size_t operator()(const Digest& d) const noexcept {
    size_t v;
    std::memcpy(&v, d.data(), sizeof v);
    return v;
  }
};

// kj output stream that feeds a zstd stream, so a large snapshot message is
// never held twice in memory.
class ZstdSink : public kj::OutputStream {
 public:
  ZstdSink(int level, uint64_t pledged) : ctx_(ZSTD_createCCtx()) {
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level);
    // Tables capped as for chunks: level 9's own would cost 10x the memory.
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_hashLog, 20);
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_chainLog, 20);
    ZSTD_CCtx_setPledgedSrcSize(ctx_, pledged);
  }
  ~ZstdSink() { ZSTD_freeCCtx(ctx_); }
  void write(const void* buffer, size_t size) override { feed(buffer, size, ZSTD_e_continue); }
  std::string finish() {
    feed(nullptr, 0, ZSTD_e_end);
    return std::move(out_);
  }
  uint64_t rawBytes() const { return raw_; }

 private:
  void feed(const void* data, size_t size, ZSTD_EndDirective mode) {
    raw_ += size;
    ZSTD_inBuffer in{data, size, 0};
    char buf[64 * 1024];
    for (;;) {
      ZSTD_outBuffer out{buf, sizeof buf, 0};
      size_t left = ZSTD_compressStream2(ctx_, &out, &in, mode);
      if (ZSTD_isError(left)) KJ_FAIL_REQUIRE("zstd compression failed", ZSTD_getErrorName(left));
      out_.append(buf, out.pos);
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) break;
    }
  }
  ZSTD_CCtx* ctx_;
  std::string out_;
  uint64_t raw_ = 0;
};

// The snapshot message is large and columnar. Level 9 with capped tables
// saves 9% of it over level 6 (215 -> 196 KiB with 1000 extra processes)
// for +5 MiB; higher levels and larger windows gain under 1% more.
constexpr int kMessageLevel = 9;

class WriterImpl final : public ArchiveWriter {
 public:
  WriterImpl(std::string path, int fd, bool ownsFd, WriterOptions opts)
      : path_(std::move(path)), fd_(fd), ownsFd_(ownsFd), opts_(opts) {}

  ~WriterImpl() override {
    stopCompressor();
    if (ownsFd_ && fd_ >= 0) ::close(fd_);
  }

  Status start(uint64_t offset, IndexData previous, const std::string& header) {
    offset_ = offset;
    index_ = std::move(previous);
    if (!header.empty()) {
      Status s = writeAll(header);
      if (!s.ok()) return s;
    }
    compressor_ = std::thread([this] { compressLoop(); });
    return Status::Ok();
  }

  void seedBlob(const Digest& d, BlobRef ref) { blobs_.emplace(d, ref); }

  Result<BlobRef> putBlob(std::string_view bytes) override {
    if (bytes.empty()) return BlobRef{};
    Digest d = Sha256(bytes);
    // Encoded before taking the lock: kallsyms takes milliseconds, and
    // every other walker would wait on it.
    std::string encoded;
    bool addressLines = bytes.size() >= kEncodeAtLeast && EncodeAddressLines(bytes, &encoded);
    std::unique_lock<std::mutex> lock(mu_);
    if (!ioStatus_.ok()) return ioStatus_;
    auto it = blobs_.find(d);
    if (it != blobs_.end()) return it->second;
    if (!open_.empty() && open_.size() + bytes.size() > opts_.chunkSize) sealLocked();
    BlobRef ref{openId(), static_cast<uint32_t>(open_.size()), bytes.size()};
    if (addressLines) {
      // A chunk of its own, so the encoding applies to the whole chunk.
      if (!open_.empty()) sealLocked();
      ref = BlobRef{openId(), 0, bytes.size()};
      queue_.push_back({std::move(encoded), ChunkEncoding::AddressLines, bytes.size()});
      ++sealed_;
      workCv_.notify_one();
    } else {
      open_.append(bytes);
    }
    uniqueBytes_ += bytes.size();
    blobs_.emplace(d, ref);
    if (open_.size() >= opts_.chunkSize) sealLocked();
    // Backpressure: at most one chunk waits for the compressor.
    spaceCv_.wait(lock, [&] { return queue_.size() <= 1 || !ioStatus_.ok(); });
    return ref;
  }

  Status addSnapshot(Metadata& meta, Tree tree) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!open_.empty()) sealLocked();
      idleCv_.wait(lock, [&] { return (queue_.empty() && !busy_) || !ioStatus_.ok(); });
      if (!ioStatus_.ok()) return ioStatus_;
      meta.counts.uniqueBytes = uniqueBytes_;
      uniqueBytes_ = 0;
    }
    IndexData::Snap snap;
    snap.summary.startWallNs = meta.startWallNs;
    snap.summary.hostname = meta.hostname;
    snap.summary.nodeCount = tree.nodes.size();
    std::string payload;
    uint64_t raw = 0;
    kj::Maybe<kj::Exception> e = kj::runCatchingExceptions([&]() {
      // One segment sized for the columns: growth by doubling could hold
      // twice the message at the moment memory peaks.
      capnp::MallocMessageBuilder mb(EstimateSnapshotWords(tree), capnp::AllocationStrategy::FIXED_SIZE);
      EncodeSnapshot(mb, meta, std::move(tree));
      uint64_t words = capnp::computeSerializedSizeInWords(mb);
      ZstdSink sink(kMessageLevel, words * sizeof(capnp::word));
      capnp::writeMessage(sink, mb);
      raw = sink.rawBytes();
      payload = sink.finish();
    });
    KJ_IF_MAYBE(ex, e) {
      return Status::IoError(path_ + ": cannot encode snapshot: " + std::string(ex->getDescription().cStr()));
    }
    Result<RecordRef> ref = writeRecord(RecordType::Snapshot, payload, raw);
    if (!ref.ok()) return ref.status();
    snap.record = *ref;
    snap.summary.storedSize = ref->storedSize;
    index_.snapshots.push_back(std::move(snap));
    return Status::Ok();
  }

  Status finish() override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!open_.empty()) sealLocked();
      idleCv_.wait(lock, [&] { return (queue_.empty() && !busy_) || !ioStatus_.ok(); });
      if (!ioStatus_.ok()) return ioStatus_;
    }
    stopCompressor();
    std::string payload;
    uint64_t raw = 0;
    {
      capnp::MallocMessageBuilder mb;
      EncodeIndex(mb, index_);
      kj::Array<capnp::word> flat = capnp::messageToFlatArray(mb);
      raw = flat.asBytes().size();
      Result<std::string> c = Compress(std::string_view(reinterpret_cast<const char*>(flat.begin()), raw), opts_.level);
      if (!c.ok()) return c.status();
      payload = std::move(*c);
    }
    Trailer t;
    t.indexOffset = offset_;
    Result<RecordRef> ref = writeRecord(RecordType::Index, payload, raw);
    if (!ref.ok()) return ref.status();
    t.indexEnd = offset_;
    t.snapshotCount = index_.snapshots.size();
    t.formatVersion = kFormatVersion;
    Status s = writeAll(EncodeTrailer(t));
    if (!s.ok()) return s;
    if (ownsFd_ && ::fsync(fd_) != 0 && errno != EINVAL) return Status::FromErrno(path_ + ": fsync", errno);
    return Status::Ok();
  }

  uint64_t bytesWritten() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return offset_;
  }

 private:
  uint32_t openId() const { return static_cast<uint32_t>(index_.chunks.size() + sealed_); }

  void sealLocked() {
    queue_.push_back({std::move(open_), ChunkEncoding::Plain, 0});
    open_.clear();
    ++sealed_;
    workCv_.notify_one();
  }

  void compressLoop() {
    // Tables no larger than a chunk needs: level 9's defaults would cost
    // 16 MiB of memory for no gain on 2 MiB inputs.
    ZSTD_CCtx* ctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_hashLog, 20);
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_chainLog, 20);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      workCv_.wait(lock, [&] { return !queue_.empty() || stop_; });
      if (queue_.empty()) break;
      Pending job = std::move(queue_.front());
      queue_.pop_front();
      std::string& raw = job.raw;
      busy_ = true;
      spaceCv_.notify_all();
      lock.unlock();
      // Encoded chunks are large and already columnar; level 6 gets them
      // within 1% of level 9 in half the time.
      ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel,
                             job.encoding == ChunkEncoding::Plain ? opts_.level : std::min(opts_.level, 6));
      std::string stored(ZSTD_compressBound(raw.size()), '\0');
      size_t n = ZSTD_compress2(ctx, stored.data(), stored.size(), raw.data(), raw.size());
      Status s;
      if (ZSTD_isError(n)) {
        s = Status::IoError(path_ + ": zstd compression failed: " + ZSTD_getErrorName(n));
      } else {
        stored.resize(n);
        Result<RecordRef> ref = writeRecord(RecordType::Chunk, stored, raw.size());
        if (ref.ok()) {
          ref->encoding = static_cast<uint32_t>(job.encoding);
          ref->plainSize = job.plainSize;
          std::lock_guard<std::mutex> g(mu_);
          index_.chunks.push_back(*ref);
          --sealed_;
        } else {
          s = ref.status();
        }
      }
      lock.lock();
      busy_ = false;
      if (!s.ok() && ioStatus_.ok()) ioStatus_ = s;
      spaceCv_.notify_all();
      idleCv_.notify_all();
    }
    ZSTD_freeCCtx(ctx);
  }

  void stopCompressor() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    workCv_.notify_all();
    if (compressor_.joinable()) compressor_.join();
  }

  Result<RecordRef> writeRecord(RecordType type, std::string_view payload, uint64_t raw) {
    RecordRef ref;
    std::string header = EncodeRecordHeader(type, payload, raw, &ref.checksum);
    ref.storedSize = payload.size();
    ref.rawSize = raw;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ref.offset = offset_;
    }
    Status s = writeAll(header);
    if (s.ok()) s = writeAll(payload);
    if (!s.ok()) return s;
    return ref;
  }

  Status writeAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(path_ + ": write failed", errno);
      }
      data.remove_prefix(n);
      std::lock_guard<std::mutex> lock(mu_);
      offset_ += n;
    }
    return Status::Ok();
  }

  const std::string path_;
  const int fd_;
  const bool ownsFd_;
  const WriterOptions opts_;

  mutable std::mutex mu_;
  std::condition_variable workCv_, spaceCv_, idleCv_;
  struct Pending {
    std::string raw;
    ChunkEncoding encoding;
    uint64_t plainSize;
  };
  static constexpr size_t kEncodeAtLeast = 256 * 1024;
  std::deque<Pending> queue_;
  std::string open_;
  uint32_t sealed_ = 0;  // sealed chunks not yet in index_.chunks
  bool busy_ = false, stop_ = false;
  Status ioStatus_;
  std::unordered_map<Digest, BlobRef, DigestHash> blobs_;
  uint64_t uniqueBytes_ = 0;
  uint64_t offset_ = 0;
  IndexData index_;
  std::thread compressor_;
};

}  // namespace

ArchiveWriter::~ArchiveWriter() = default;

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::Create(const std::string& path, WriterOptions opts) {
  int fd = 1;
  bool owns = false;
  if (path != "-") {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST)
        return Status::InvalidArgument(path + ": already exists (use --append to add a snapshot, or remove it)");
      return Status::FromErrno(path + ": cannot create", errno);
    }
    owns = true;
  }
  auto w = std::make_unique<WriterImpl>(path == "-" ? "<stdout>" : path, fd, owns, opts);
  Status s = w->start(0, IndexData{}, EncodeFileHeader(kFormatVersion));
  if (!s.ok()) return s;
  return std::unique_ptr<ArchiveWriter>(std::move(w));
}

// Declared in reader.cpp: what an appender needs from the existing archive.
Status LoadForAppend(const std::string& path, uint64_t* end, IndexData* index,
                     std::vector<std::pair<Digest, BlobRef>>* blobs);

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::Append(const std::string& path, WriterOptions opts) {
  uint64_t end = 0;
  IndexData index;
  std::vector<std::pair<Digest, BlobRef>> blobs;
  Status s = LoadForAppend(path, &end, &index, &blobs);
  if (!s.ok()) return s;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(path + ": cannot open for append", errno);
  // A torn tail after the last good trailer is cut off before appending.
  if (::ftruncate(fd, end) != 0 || ::lseek(fd, end, SEEK_SET) < 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno(path + ": cannot position for append", e);
  }
  auto w = std::make_unique<WriterImpl>(path, fd, true, opts);
  for (auto& [d, ref] : blobs) w->seedBlob(d, ref);
  s = w->start(end, std::move(index), "");
  if (!s.ok()) return s;
  return std::unique_ptr<ArchiveWriter>(std::move(w));
}

}  // namespace procsnap
