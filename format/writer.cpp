// ArchiveWriter: deduplicates blobs into chunks, compresses sealed chunks on
// a background thread while capture goes on, and writes records strictly
// forward so that the output can be a pipe.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fcntl.h>
#include <sys/file.h>
#include <malloc.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_createCDict_advanced2: a raw-content dictionary by reference
#include <zstd.h>
#include <zstd_errors.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "append.h"
#include "blob_codec.h"
#include "checksum.h"
#include "codec.h"
#include "format/archive.h"
#include "record.h"
#include "snapshot_codec.h"

namespace procsnap {

namespace {

// Small tables: 2^18 entries compress chunks and snapshot messages about as
// well as level 9's own sizes, and touch a quarter of the memory. What
// indexes at most 4 MiB (a light tick's part and its prefix, ~0.6 MB; the
// light keyframe prefix's dictionary, 1 MiB) loses nothing with 2^17, and
// holds 1 MiB less each (with 1,000 processes, 8.5 KiB a tick either way;
// peak RSS 33.5 -> 30.7 MiB over 45 ticks).
int TableLog(size_t indexed) { return indexed <= (4u << 20) ? 17 : 18; }
void SetTableSizes(ZSTD_CCtx* ctx, int log) {
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_hashLog, log);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_chainLog, log);
}

// Gives a string's buffer back. `s = std::string()` does not: libstdc++
// copies a short (here empty) source into the buffer it already has.
void Release(std::string& s) { std::string().swap(s); }

// Raw bytes a held snapshot stands for: its own message and its parts'.
uint64_t HeldSize(const HeldSnapshot& h) {
  uint64_t n = h.rawSize;
  for (const HeldPart& p : h.parts) n += p.rawSize;
  return n;
}

constexpr int kDeltaLevel = 3;  // the most a record compressed against a prefix gets
constexpr size_t kLargeRecord = 4u << 20;  // a snapshot record of a busy machine (20 MB with 1,000 processes)

struct DigestHash {
  size_t operator()(const Digest& d) const noexcept {
    size_t v;
    std::memcpy(&v, d.data(), sizeof v);
    return v;
  }
};

class WriterImpl final : public ArchiveWriter {
 public:
  WriterImpl(std::string path, int fd, bool ownsFd, WriterOptions opts)
      : path_(std::move(path)), fd_(fd), ownsFd_(ownsFd), opts_(opts) {}

  ~WriterImpl() override {
    stopCompressor();
    if (ownsFd_ && fd_ >= 0) ::close(fd_);
  }

  // `state`: what an appended archive leaves for deltas and its index chain.
  Status start(uint64_t offset, IndexData previous, const std::string& header, AppendState* state = nullptr) {
    offset_ = offset;
    index_ = std::move(previous);
    if (state) links_ = std::move(state->links);
    if (opts_.delta && index_.formatVersion >= 3) {
      collectingKey_ = index_.snapshots.empty();
      keyChunks_ = collectingKey_ ? 0 : index_.keyframeChunks;
      if (state) {
        keyDict_.reset();  // it refers to the contents replaced here
        keyContent_ = std::move(state->keyContent);
        held_ = std::move(state->held);
        std::unique_ptr<char[]> out;
        size_t outCap = 0;
        for (HeldSnapshot& h : held_) {  // loaded whole; held packed as any
          // A parted record: its own message serves the next one's; its
          // parts' next ones are compressed alone (their runs are not known).
          auto messages = SplitMessages(h.raw, path_ + ": held snapshot " + std::to_string(h.index));
          if (!messages.ok()) return messages.status();
          if (messages->size() > 1) h.raw = std::string(messages->back());
          Status s = pack(h.raw, h, out, outCap);
          if (!s.ok()) return s;
          heldBytes_ += h.rawSize;
        }
      }
    }
    if (!header.empty()) {
      Status s = writeAll(header);
      if (!s.ok()) return s;
    }
    compressor_ = std::thread([this] { compressLoop(); });
    return Status::Ok();
  }

  void seedBlob(const Digest& d, BlobRef ref) { blobs_.emplace(d, KnownBlob{ref, snapshotsBegun_}); }

  Result<BlobRef> putBlob(std::string_view bytes) override {
    if (bytes.empty()) return BlobRef{};
    Digest d = Sha256(bytes);
    std::unique_lock<std::mutex> lock(mu_);
    auto known = [&]() -> const BlobRef* {
      auto it = blobs_.find(d);
      if (it == blobs_.end()) return nullptr;
      it->second.met = snapshotsBegun_;
      return &it->second.ref;
    };
    if (!ioStatus_.ok()) return ioStatus_;
    if (const BlobRef* ref = known()) return *ref;
    // Encoded outside the lock (kallsyms takes milliseconds, and every
    // other walker would wait on it), and only when new: a recording's
    // full tick meets the keyframe's kallsyms again.
    std::string encoded;
    bool addressLines = false;
    if (bytes.size() >= kEncodeAtLeast) {
      lock.unlock();
      addressLines = EncodeAddressLines(bytes, &encoded);
      lock.lock();
      if (!ioStatus_.ok()) return ioStatus_;
      if (const BlobRef* ref = known()) return *ref;
    }
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
      // Reserved whole: growth by doubling would copy and touch twice the pages.
      if (open_.capacity() < opts_.chunkSize) open_.reserve(opts_.chunkSize);
      open_.append(bytes);
    }
    uniqueBytes_ += bytes.size();
    blobs_.emplace(d, KnownBlob{ref, snapshotsBegun_});
    if (open_.size() >= opts_.chunkSize) sealLocked();
    // Backpressure: at most one chunk waits for the compressor.
    spaceCv_.wait(lock, [&] { return queue_.size() <= 1 || !ioStatus_.ok(); });
    return ref;
  }

  Status addSnapshot(Metadata& meta, Tree tree, Tree* keep = nullptr) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!open_.empty()) sealLocked();
      idleCv_.wait(lock, [&] { return (queue_.empty() && !busy_) || !ioStatus_.ok(); });
      if (!ioStatus_.ok()) return ioStatus_;
      meta.counts.uniqueBytes = uniqueBytes_;
      uniqueBytes_ = 0;
      forgetOldBlobs();
      // Chunk buffers are for the snapshot that fills them: a recording's
      // light tick stores ~30 KiB idle, and a trim after a full snapshot
      // (capture/record.cpp) can give their megabytes back only when freed.
      Release(open_);
      Release(spare_);
      // The first snapshot's chunks are the keyframe that later chunks are
      // compressed against (delta writers, format 3).
      if (collectingKey_) {
        collectingKey_ = false;
        if (keyContent_.size() <= kMaxPrefixBytes) {
          keyChunks_ = keyPrefixChunks_;
          index_.keyframeChunks = keyChunks_;
          // Held for the segment: not the slack of its doublings.
          if (keyContent_.capacity() > keyContent_.size() + keyContent_.size() / 8) keyContent_.shrink_to_fit();
        } else {
          Release(keyContent_);
        }
      }
    }
    // A delta record is compressed against an earlier snapshot's record
    // (PrefixSnapshot), or the keyframe when that one is not held.
    const uint32_t number = static_cast<uint32_t>(index_.snapshots.size());
    meta.formatVersion = index_.formatVersion;  // an appended older archive keeps its format
    const bool delta = opts_.delta && index_.formatVersion >= 3;
    if (delta && number > 0) {
      const uint32_t want = PrefixSnapshot(index_.formatVersion, number);
      while (!held_.empty() && held_.back().index > want) {  // off the new snapshot's chain
        heldBytes_ -= HeldSize(held_.back());
        held_.pop_back();
      }
    }
    const HeldSnapshot* base = baseOf(number, !parts_.empty());
    std::string baseRaw;
    if (base) {
      auto r = Decompress(base->packed, base->rawSize, path_ + ": held snapshot " + std::to_string(base->index));
      if (!r.ok()) return r.status();
      baseRaw = std::move(*r);
    }
    // Its string table starts with its prefix's (read from the record, not held twice).
    const std::vector<std::string> baseStrings = base ? StringTableOf(baseRaw) : std::vector<std::string>();
    // A parted snapshot (format 5): its parts' places among the root's children.
    for (size_t k = 0; k < parts_.size(); ++k) {
      PartEntry& e = parts_[k];
      const NodeId at = tree.child(0, partFirst_[k]);
      auto [lo, hi] = tree.children(0);
      if (at == kNoNode || uint64_t(at) + e.count > hi || (k > 0 && at < parts_[k - 1].firstNode + parts_[k - 1].count)) {
        dropParts();
        return Status::InvalidArgument(path_ + ": the snapshot's tree has no place for part " + std::to_string(k) +
                                       " (" + partFirst_[k] + ")");
      }
      e.firstNode = at;
    }
    IndexData::Snap snap;
    snap.summary.startWallNs = meta.startWallNs;
    snap.summary.hostname = meta.hostname;
    snap.summary.nodeCount = tree.size() + partNodes_;
    // The walk's freed memory (fragments, read buffers) goes back before
    // the message takes as much again as the tree: the peak of a capture.
    if (opts_.trimMemory) malloc_trim(0);
    std::unique_ptr<char[]> out;
    size_t outCap = 0;
    Result<std::string_view> payload = Status::Ok();
    uint64_t raw = 0;
    HeldSnapshot mine;  // this record, kept as a later one's prefix
    mine.index = number;
    Status built = buildMessage(
        meta, std::move(tree), base ? &baseStrings : nullptr, nullptr, keep, &parts_,
        nullptr, [&](std::string_view message) {
          raw = partRaw_ + message.size();
          // Readers refuse records over kMaxRecordRaw: never write one.
          if (raw > kMaxRecordRaw) {
            payload = Status::InvalidArgument(path_ + ": the snapshot record would be " + std::to_string(raw) +
                                              " bytes, over the " + std::to_string(kMaxRecordRaw) +
                                              " a reader accepts; capture less (--exclude, --no-threads)");
            return;
          }
          payload = compress(message, opts_.level, out, outCap, baseRaw);
          Release(baseRaw);
          if (payload.ok() && !parts_.empty()) {  // the parts' frames first, then this one's
            partFrames_ += *payload;
            payload = std::string_view(partFrames_);
          }
          // Held only if a later snapshot may take it as prefix, as the next one
          // would (format 4: an even one; format 3: the keyframe). Packing the
          // others was a level-1 pass over the whole message for nothing.
          if (payload.ok() && holdsThis(number, message.size()) && heldBytes_ + raw <= kMaxHeldBytes) {
            std::unique_ptr<char[]> packOut;
            size_t packCap = 0;
            if (Status p = pack(message, mine, packOut, packCap); !p.ok()) payload = p;
          }
        });
    if (!built.ok()) payload = built;
    if (!payload.ok()) {
      dropParts();
      return payload.status();
    }
    Result<RecordRef> ref = writeRecord(RecordType::Snapshot, *payload, raw);
    if (!ref.ok()) {
      dropParts();
      return ref.status();
    }
    snap.record = *ref;
    snap.record.prefix = base ? base->index + 1 : 0;
    snap.summary.storedSize = ref->storedSize;
    index_.snapshots.push_back(std::move(snap));
    if (!mine.packed.empty()) {
      mine.parts = std::move(heldParts_);
      heldBytes_ += HeldSize(mine);
      held_.push_back(std::move(mine));
      dropHeldParts();
    }
    dropParts();
    return Status::Ok();
  }

  bool acceptsParts() const override { return index_.formatVersion >= 5; }

  Status addPart(Tree part, const std::vector<PartAlias>& foreign, PackedPart* packed) override {
    if (!acceptsParts())
      return Status::InvalidArgument(path_ + ": a format " + std::to_string(index_.formatVersion) +
                                     " archive holds no parted snapshots");
    auto [lo, hi] = part.children(0);
    if (lo == hi) return Status::InvalidArgument(path_ + ": a part with no directories");
    const uint32_t number = static_cast<uint32_t>(index_.snapshots.size());
    std::string first(part.str(part.node(lo).name));
    // Against the prefix snapshot's part of the same run: the last that
    // begins at or before this one (pid directories in name order).
    const HeldSnapshot* base = baseOf(number, true);
    const HeldPart* prefix = nullptr;
    uint32_t prefixIndex = 0;
    if (base)
      for (size_t k = 0; k < base->parts.size(); ++k)
        if (k == 0 || base->parts[k].first <= first) {
          prefix = &base->parts[k];
          prefixIndex = static_cast<uint32_t>(k + 1);
        }
    std::string prefixRaw;
    if (prefix) {
      auto r = Decompress(*prefix->packed, prefix->rawSize, path_ + ": held part " + std::to_string(prefixIndex - 1));
      if (!r.ok()) return r.status();
      prefixRaw = std::move(*r);
    }
    const std::vector<std::string> prefixStrings = prefix ? StringTableOf(prefixRaw) : std::vector<std::string>();
    parts_.push_back({0, hi - lo, prefixIndex});
    partFirst_.push_back(first);
    partNodes_ += part.size() - 1 - (hi - lo);  // its directories take their places
    HeldPart mine;
    mine.first = std::move(first);
    Metadata none;
    none.formatVersion = index_.formatVersion;
    Status result;
    Status built = buildMessage(
        none, std::move(part), prefix ? &prefixStrings : nullptr, nullptr, nullptr, nullptr,
        &foreign, [&](std::string_view message) {
          std::unique_ptr<char[]>& out = scratchOut_;
          size_t& outCap = scratchOutCap_;
          auto frame = compress(message, opts_.level, out, outCap, prefixRaw, nullptr, base && base->index == 0);
          Release(prefixRaw);
          if (!frame.ok()) {
            result = frame.status();
            return;
          }
          partFrames_ += *frame;
          partRaw_ += message.size();
          const bool hold = holdsThis(number, message.size());
          if (!hold && !packed) return;
          auto p = compress(message, 1, out, outCap);
          if (!p.ok()) {
            result = p.status();
            return;
          }
          mine.packed = std::make_shared<const std::string>(*p);
          mine.rawSize = message.size();
          if (packed) *packed = PackedPart{mine.packed, mine.rawSize};
          if (hold) heldParts_.push_back(std::move(mine));
        },
        true);
    if (!built.ok()) return built;
    return result;
  }
  Status finish() override { return writeIndex(true); }
  Status commit() override { return writeIndex(false); }

  uint64_t bytesWritten() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return offset_;
  }

 private:
  // The index and trailer of every snapshot so far, then fsync. The
  // compressor is idle meanwhile, so records keep their order; `last`
  // also stops it.
  Status writeIndex(bool last) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!open_.empty()) sealLocked();
      idleCv_.wait(lock, [&] { return (queue_.empty() && !busy_) || !ioStatus_.ok(); });
      if (!ioStatus_.ok()) return ioStatus_;
    }
    if (last) stopCompressor();
    // Format 4 chains indexes: record number `sequence` lists only what
    // came after record sequence - lowbit(sequence), so that writing and
    // opening cost what is new, and a chain is at most log2 records long.
    IndexLink link;
    const bool chained = index_.formatVersion >= 4;
    if (chained) {
      if (!links_.empty() && links_.back().chunks == index_.chunks.size() &&
          links_.back().snapshots == index_.snapshots.size() && links_.back().record.offset + kRecordHeaderSize +
          links_.back().record.storedSize + kTrailerSize == offset_)
        return Status::Ok();  // nothing new since the index and trailer just written
      link.sequence = (links_.empty() ? 0 : links_.back().sequence) + 1;
      const uint32_t previous = ChainPrevious(link.sequence);
      while (!links_.empty() && links_.back().sequence > previous) links_.pop_back();
      if (previous && !links_.empty()) {
        link.previous = links_.back().record;
        link.chunksBefore = links_.back().chunks;
        link.snapshotsBefore = links_.back().snapshots;
      }
      link.chunks = static_cast<uint32_t>(index_.chunks.size());
      link.snapshots = static_cast<uint32_t>(index_.snapshots.size());
    }
    capnp::MallocMessageBuilder mb;
    EncodeIndex(mb, index_, chained ? &link : nullptr);
    kj::Array<capnp::word> flat = capnp::messageToFlatArray(mb);
    std::string_view index(reinterpret_cast<const char*>(flat.begin()), flat.asBytes().size());
    std::unique_ptr<char[]> out;
    size_t outCap = 0;
    Result<std::string_view> payload = compress(index, opts_.level, out, outCap);
    if (!payload.ok()) return payload.status();
    Trailer t;
    t.indexOffset = offset_;
    Result<RecordRef> ref = writeRecord(RecordType::Index, *payload, index.size());
    if (!ref.ok()) return ref.status();
    if (chained) {
      link.record = *ref;
      links_.push_back(link);
    }
    t.indexEnd = offset_;
    t.snapshotCount = index_.snapshots.size();
    t.formatVersion = index_.formatVersion;
    Status s = writeAll(EncodeTrailer(t));
    if (!s.ok()) return s;
    if (ownsFd_ && ::fsync(fd_) != 0 && errno != EINVAL) return Status::FromErrno(path_ + ": fsync", errno);
    return Status::Ok();
  }

  // A blob not met for kBlobMemory snapshots is forgotten, but the
  // keyframe prefix's and large ones (kRememberedBlob): the map grew by
  // every value a counter ever took (idle, 2.8 MiB of a recording's RSS
  // over a segment of 360). What the newest snapshot holds was met at the
  // latest at its last full snapshot, so only contents no longer there go;
  // a duplicate is the worst a forgotten one costs. Under mu_.
  void forgetOldBlobs() {
    if (++snapshotsBegun_ % kBlobMemory != 0) return;
    std::erase_if(blobs_, [&](const auto& e) {
      return e.second.met + kBlobMemory < snapshotsBegun_ && e.second.ref.chunk >= keyChunks_ &&
             e.second.ref.size < kRememberedBlob;
    });
  }

  uint32_t openId() const { return static_cast<uint32_t>(index_.chunks.size() + sealed_); }

  void sealLocked() {
    queue_.push_back({std::move(open_), ChunkEncoding::Plain, 0});
    open_ = std::move(spare_);
    open_.clear();
    spare_.clear();
    ++sealed_;
    workCv_.notify_one();
  }

  void compressLoop() {
    // The output buffer is kept across chunks and never zero-filled: fresh
    // pages are what a chunk costs most on VMs with slow page faults.
    std::unique_ptr<char[]> out;
    size_t outCap = 0;
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
      int level = job.encoding == ChunkEncoding::Plain ? opts_.level : std::min(opts_.level, 6);
      // Delta chunks: against the keyframe's contents (set only while the
      // compressor is idle, so read without the lock).
      const bool delta = keyChunks_ > 0 && job.encoding == ChunkEncoding::Plain;
      // Format 4 leaves address-lines chunks (kallsyms) out of the prefix:
      // nothing else matches them, and megabytes of them in zstd's tables
      // push out the entries the other chunks would match.
      const bool intoKey =
          collectingKey_ && (!opts_.keyframePrefixBytes || keyContent_.size() < opts_.keyframePrefixBytes);
      if (intoKey) {
        if (job.encoding == ChunkEncoding::Plain) {
          keyContent_.append(raw);
        } else if (index_.formatVersion < 4) {
          if (auto plain = DecodeAddressLines(raw, job.plainSize, path_); plain.ok()) keyContent_.append(*plain);
        }
      }
      Result<std::string_view> stored = compress(raw, level, out, outCap, delta ? std::string_view(keyContent_) : "",
                                                 delta ? keyDict() : nullptr);
      Status s = stored.status();
      if (s.ok()) {
        Result<RecordRef> ref = writeRecord(RecordType::Chunk, *stored, raw.size());
        if (ref.ok()) {
          ref->encoding = static_cast<uint32_t>(job.encoding);
          ref->plainSize = job.plainSize;
          ref->prefix = delta ? keyChunks_ : 0;
          std::lock_guard<std::mutex> g(mu_);
          index_.chunks.push_back(*ref);
          if (intoKey) keyPrefixChunks_ = static_cast<uint32_t>(index_.chunks.size());
          --sealed_;
        } else {
          s = ref.status();
        }
      }
      // Grown past a chunk's bound for an encoded one (kallsyms, at full
      // snapshots): not kept for the small chunks between.
      if (outCap > ZSTD_compressBound(opts_.chunkSize)) {
        out.reset();
        outCap = 0;
      }
      lock.lock();
      busy_ = false;
      // The next open chunk reuses this one's pages.
      if (job.encoding == ChunkEncoding::Plain && raw.capacity() > spare_.capacity()) {
        raw.clear();
        spare_ = std::move(raw);
      }
      if (!s.ok() && ioStatus_.ok()) ioStatus_ = s;
      spaceCv_.notify_all();
      idleCv_.notify_all();
    }
  }

  // One zstd frame of `raw` in `out` (grown, never zero-filled), made with
  // the one context that chunks and snapshot messages share.
  // With a prefix (delta records), the frame may copy from it as from
  // bytes that came before.
  // The keyframe's contents with their match tables built once, for every
  // delta chunk of the archive (a refPrefix built them anew for each chunk:
  // 4 ms a chunk against 60 KiB of new bytes here). Its frames decode with
  // the contents as prefix, as any. Compressor thread only.
  const ZSTD_CDict* keyDict() {
    if (!keyDict_ && !keyContent_.empty()) {
      ZSTD_CCtx_params* p = ZSTD_createCCtxParams();
      ZSTD_CCtxParams_init(p, kDeltaLevel);
      ZSTD_CCtxParams_setParameter(p, ZSTD_c_hashLog, TableLog(keyContent_.size()));
      ZSTD_CCtxParams_setParameter(p, ZSTD_c_chainLog, TableLog(keyContent_.size()));
      keyDict_.reset(ZSTD_createCDict_advanced2(keyContent_.data(), keyContent_.size(), ZSTD_dlm_byRef,
                                                ZSTD_dct_rawContent, p, ZSTD_defaultCMem));
      ZSTD_freeCCtxParams(p);
    }
    return keyDict_.get();
  }

  Result<std::string_view> compress(std::string_view raw, int level, std::unique_ptr<char[]>& out, size_t& outCap,
                                    std::string_view prefix = {}, const ZSTD_CDict* dict = nullptr,
                                    bool thorough = false) {
    // A large record (a snapshot's, 20 MB with 1,000 processes) is tried
    // in a quarter of its bound first: its frame is far smaller, and a
    // buffer of the whole bound held the heap that much higher.
    const size_t bound = ZSTD_compressBound(raw.size());
    const size_t first = raw.size() > kLargeRecord ? std::min(bound, raw.size() / 4) : bound;
    if (first > outCap) {
      out.reset(new char[first]);
      outCap = first;
    }
    std::lock_guard<std::mutex> g(cctxMu_);
    ZSTD_CCtx* ctx = cctx_.get();
    // A delta record is mostly copies from its prefix, and loading the
    // prefix into the match tables is most of its cost: level 3 (with long
    // distance matching) loads it at a third of level 9's cost and, measured
    // on recordings here, writes fewer bytes (3.3 against 4.0 KiB a tick).
    if (!prefix.empty()) level = std::min(level, kDeltaLevel);
    size_t n;
    for (;;) {  // a prefix serves one frame: a retry sets it again
      ZSTD_CCtx_reset(ctx, ZSTD_reset_session_and_parameters);
      ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level);
      SetTableSizes(ctx, TableLog(prefix.empty() || dict ? SIZE_MAX : prefix.size() + raw.size()));
      if (dict) {
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, PrefixWindowLog(prefix.size(), raw.size()));
        size_t r = ZSTD_CCtx_refCDict(ctx, dict);
        if (ZSTD_isError(r)) return Status::IoError(path_ + ": zstd dictionary: " + ZSTD_getErrorName(r));
      } else if (!prefix.empty()) {
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, PrefixWindowLog(prefix.size(), raw.size()));
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_enableLongDistanceMatching, 1);
        // A record against its prefix is the same columns with a few values
        // changed: long matches only (zstd's default, 64 bytes, also took
        // false ones that broke the true), measured with 1,000 processes
        // 14 -> 3.5-4.3 KiB a tick, idle 1.9-2.7 -> 1.2-3.0, at the same CPU.
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_ldmMinMatch, 4096);
        // A small record (idle: 1 MB) is a few milliseconds of a 30 ms
        // tick, most of it long-match hashing: a hash every 1 KiB, not every
        // 128 bytes, halves it (2.8-3.7 -> 1.6-1.9 ms, +0.2-0.4 KiB a
        // record). A large one keeps every match it can find: with 1,000
        // processes the same took its delta from 4 to 9-11 KiB.
        // Against the keyframe (a full snapshot: every carried node's reason
        // and note differ) a part of 32 processes also keeps every match: 76
        // -> 23 KiB a tick with 1,000 processes (ticks 1, 2, 4, 8... of a
        // segment); against a light tick the sparse hashes lose nothing.
        if (raw.size() < kLargeRecord && !thorough) ZSTD_CCtx_setParameter(ctx, ZSTD_c_ldmHashRateLog, 10);
        size_t r = ZSTD_CCtx_refPrefix(ctx, prefix.data(), prefix.size());
        if (ZSTD_isError(r)) return Status::IoError(path_ + ": zstd prefix: " + ZSTD_getErrorName(r));
      }
      n = ZSTD_compress2(ctx, out.get(), outCap, raw.data(), raw.size());
      if (ZSTD_getErrorCode(n) != ZSTD_error_dstSize_tooSmall || outCap >= bound) break;
      out.reset(new char[bound]);
      outCap = bound;
    }
    if (ZSTD_isError(n)) return Status::IoError(path_ + ": zstd compression failed: " + ZSTD_getErrorName(n));
    return std::string_view(out.get(), n);
  }

  // The held record snapshot `number` is compressed against: its
  // PrefixSnapshot, or the keyframe when that one is not held.
  // A parted snapshot takes the keyframe when its prefix's parts are gone
  // (dropHeldParts): its parts compressed alone would cost far more.
  const HeldSnapshot* baseOf(uint32_t number, bool parted) const {
    if (!opts_.delta || index_.formatVersion < 3 || number == 0) return nullptr;
    const uint32_t want = PrefixSnapshot(index_.formatVersion, number);
    for (auto it = held_.rbegin(); it != held_.rend(); ++it)
      if (it->index == want) {
        if (!parted || !it->parts.empty() || it->index == 0) return &*it;
        break;
      }
    if (!held_.empty() && held_.front().index == 0) return &held_.front();
    return nullptr;
  }

  // The held chain grows to log2 of a segment's snapshots, each with its
  // parts packed (~0.6 MB with 1,000 processes): but the keyframe's and
  // the newest three snapshots' parts go. A snapshot whose prefix lost them
  // (one in 16: 48 against 32...) is compressed against the keyframe.
  void dropHeldParts() {
    size_t kept = 0;
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
      if (it->index == 0 || it->parts.empty() || ++kept <= 3) continue;
      heldBytes_ -= HeldSize(*it) - it->rawSize;
      std::vector<HeldPart>().swap(it->parts);
    }
  }

  // Whether snapshot `number`'s records are held for later ones: the next
  // one's prefix (format 4: an even one; format 3: the keyframe), on a
  // chain that starts at the keyframe.
  bool holdsThis(uint32_t number, uint64_t raw) const {
    return opts_.delta && index_.formatVersion >= 3 && raw <= kMaxPrefixBytes &&
           PrefixSnapshot(index_.formatVersion, number + 1) == number && (number == 0 || !held_.empty());
  }

  void dropParts() {
    parts_.clear();
    partFirst_.clear();
    heldParts_.clear();
    Release(partFrames_);
    partRaw_ = 0;
    partNodes_ = 0;
  }

  // Builds `tree`'s Snapshot message and hands it to `use` while it lives.
  // The message is built in one zeroed buffer with a word in front for the
  // segment table, so that it compresses in one call with the chunk
  // context: a streaming context would fault in tables and buffers anew.
  template <class Use>
  Status buildMessage(const Metadata& meta, Tree&& tree, const std::vector<std::string>* baseStrings,
                      std::vector<std::string>* table, Tree* keep, const std::vector<PartEntry>* parts,
                      const std::vector<PartAlias>* foreign, Use use, bool scratch = false) {
    unsigned words = EstimateSnapshotWords(tree);
    std::unique_ptr<capnp::word, decltype(&std::free)> owned(nullptr, &std::free);
    capnp::word* seg;
    if (scratch) {
      // A part's message: in one buffer kept for every part, which the
      // builder leaves zeroed (32 parts a tick each allocating and freeing
      // their megabyte left the heap in holes: 2-3 MiB of peak RSS).
      if (scratchWords_ < words + 1) {
        scratch_.reset(static_cast<capnp::word*>(std::calloc(words + 1, sizeof(capnp::word))));
        scratchWords_ = scratch_ ? words + 1 : 0;
      }
      seg = scratch_.get();
      words = scratchWords_ - 1;
    } else {
      owned.reset(static_cast<capnp::word*>(std::calloc(words + 1, sizeof(capnp::word))));
      seg = owned.get();
    }
    if (!seg) return Status::IoError(path_ + ": cannot allocate " + std::to_string(words * 8) + " bytes for the snapshot");
    struct Segment {
      capnp::word* p;
      capnp::word* get() const { return p; }
    } segment{seg};
    kj::Maybe<kj::Exception> e = kj::runCatchingExceptions([&]() {
      // Used while `mb` lives: its destructor zeroes the segment.
      capnp::MallocMessageBuilder mb(kj::arrayPtr(segment.get() + 1, words), capnp::AllocationStrategy::FIXED_SIZE);
      EncodeSnapshot(mb, meta, std::move(tree), baseStrings, table, keep, parts, foreign);
      auto segments = mb.getSegmentsForOutput();
      kj::Array<capnp::word> flat;  // only when the estimate fell short
      if (segments.size() == 1 && segments[0].begin() == segment.get() + 1) {
        // Segment table: segment count - 1, then the size in words (little-endian).
        uint32_t size = static_cast<uint32_t>(segments[0].size());
        unsigned char head[8] = {0, 0, 0, 0, static_cast<unsigned char>(size), static_cast<unsigned char>(size >> 8),
                                 static_cast<unsigned char>(size >> 16), static_cast<unsigned char>(size >> 24)};
        std::memcpy(segment.get(), head, sizeof head);
        use(std::string_view(reinterpret_cast<const char*>(segment.get()), (1 + size) * sizeof(capnp::word)));
      } else {
        flat = capnp::messageToFlatArray(segments);
        use(std::string_view(reinterpret_cast<const char*>(flat.begin()), flat.asBytes().size()));
      }
    });
    std::memset(seg, 0, sizeof(capnp::word));  // the segment table; the builder zeroed the rest
    KJ_IF_MAYBE(ex, e) {
      return Status::IoError(path_ + ": cannot encode snapshot: " + std::string(ex->getDescription().cStr()));
    }
    return Status::Ok();
  }

  // Held records are kept compressed alone (level 1: 20 MB with 1,000
  // processes packs to ~0.4 MB in ~7 ms and unpacks in ~3): the chain of
  // log2 n of them was most of a recording's memory.
  Status pack(std::string_view raw, HeldSnapshot& h, std::unique_ptr<char[]>& out, size_t& outCap) {
    if (raw.empty()) return Status::Ok();
    auto packed = compress(raw, 1, out, outCap);
    if (!packed.ok()) return packed.status();
    h.packed = std::string(*packed);
    h.rawSize = raw.size();
    Release(h.raw);
    return Status::Ok();
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
    Status s = WriteAll(fd_, data, path_);
    if (!s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    offset_ += data.size();
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
  std::string spare_;  // a compressed chunk's buffer, for the next open chunk
  uint32_t sealed_ = 0;  // sealed chunks not yet in index_.chunks
  bool busy_ = false, stop_ = false;
  Status ioStatus_;
  struct KnownBlob {
    BlobRef ref;
    uint32_t met;  // snapshotsBegun_ when last stored or found
  };
  static constexpr uint32_t kBlobMemory = 64;
  // Contents of a megabyte or more are not forgotten: few, and a light
  // recording's full tick meets them again (kallsyms, carried unread
  // between: 5 MB read, encoded and compressed again, ~2 MiB more peak RSS).
  static constexpr uint64_t kRememberedBlob = 1u << 20;
  std::unordered_map<Digest, KnownBlob, DigestHash> blobs_;
  uint32_t snapshotsBegun_ = 0;  // snapshots whose blobs are all put
  // Delta writing (format 3): the keyframe is the archive's first snapshot.
  bool collectingKey_ = false;   // its chunks are being written now
  uint32_t keyChunks_ = 0;       // > 0: chunks 0..keyChunks_-1 are the prefix of new chunks
  uint32_t keyPrefixChunks_ = 0; // the keyframe's chunks whose contents keyContent_ holds
  std::string keyContent_;       // their contents, concatenated
  // Snapshot records later ones may be compressed against: the keyframe,
  // then (format 4) the newest snapshot's chain, ascending, within kMaxHeldBytes.
  static constexpr uint64_t kMaxHeldBytes = 2 * kMaxPrefixBytes;
  std::vector<HeldSnapshot> held_;
  uint64_t heldBytes_ = 0;
  std::vector<IndexLink> links_;  // format 4: the index chain of the newest index, ascending
  // Format 5: the parts of the snapshot being written, compressed (addPart).
  std::vector<PartEntry> parts_;
  std::vector<std::string> partFirst_;  // each one's first directory's name
  std::vector<HeldPart> heldParts_;     // when the snapshot will be held
  std::string partFrames_;
  uint64_t partRaw_ = 0, partNodes_ = 0;
  // A part's message and frame, in buffers kept from part to part.
  std::unique_ptr<capnp::word, decltype(&std::free)> scratch_{nullptr, &std::free};
  unsigned scratchWords_ = 0;
  std::unique_ptr<char[]> scratchOut_;
  size_t scratchOutCap_ = 0;
  uint64_t uniqueBytes_ = 0;
  uint64_t offset_ = 0;
  IndexData index_;
  std::thread compressor_;
  // One compression context for chunks and snapshot messages.
  struct CCtxFree {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  std::mutex cctxMu_;
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx_{ZSTD_createCCtx()};
  struct CDictFree {
    void operator()(ZSTD_CDict* d) const { ZSTD_freeCDict(d); }
  };
  std::unique_ptr<ZSTD_CDict, CDictFree> keyDict_;  // keyDict()
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
    // New and ours: only an Append that opened it between our create and
    // this lock could hold it; then it writes, and we must not.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(path + ": cannot lock the new archive (another writer holds it)", err);
    }
    owns = true;
  }
  auto w = std::make_unique<WriterImpl>(path == "-" ? "<stdout>" : path, fd, owns, opts);
  Status s = w->start(0, IndexData{}, EncodeFileHeader(kFormatVersion));
  if (!s.ok()) return s;
  return std::unique_ptr<ArchiveWriter>(std::move(w));
}

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::Append(const std::string& path, WriterOptions opts) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file (capture without --append to create it)");
    return Status::FromErrno(path + ": cannot open for append", errno);
  }
  // Locked before the archive is read, so that what is read stays the end.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return Status::InvalidArgument(path + ": another procsnap is writing this archive");
    return Status::FromErrno(path + ": cannot lock", e);
  }
  AppendState state;
  Status s = LoadForAppend(path, opts.delta, &state);
  if (s.ok() && !state.damage.empty() && !opts.cutDamagedTail)
    s = Status::Corruption(state.damage + ". Appending would cut what follows the last sound trailer; `procsnap verify " +
                           path + "` shows the damage, and `capture --append --cut-damaged-tail` appends anyway");
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  const uint64_t end = state.end;
  // The damaged tail after the last sound trailer is cut off before appending.
  if (::ftruncate(fd, end) != 0 || ::lseek(fd, end, SEEK_SET) < 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno(path + ": cannot position for append", e);
  }
  auto w = std::make_unique<WriterImpl>(path, fd, true, opts);
  for (auto& [d, ref] : state.blobs) w->seedBlob(d, ref);
  s = w->start(end, std::move(state.index), "", &state);
  if (!s.ok()) return s;
  return std::unique_ptr<ArchiveWriter>(std::move(w));
}

}  // namespace procsnap
