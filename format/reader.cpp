// ArchiveReader: finds the newest sound trailer, loads the index, and reads
// records on demand with every size, offset and checksum checked first.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "blob_codec.h"
#include "checksum.h"
#include "codec.h"
#include "reader_impl.h"

namespace procsnap {

ArchiveReaderImpl::~ArchiveReaderImpl() {
  if (fd_ >= 0) ::close(fd_);
}

Status ArchiveReaderImpl::open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::FromErrno(path + ": cannot open", errno);
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Status::FromErrno(path + ": cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
  size_ = st.st_size;
  std::string header;
  Status s = readAt(0, std::min<uint64_t>(kFileHeaderSize, size_), &header);
  if (!s.ok()) return s;
  std::string why;
  auto version = DecodeFileHeader(header, &why);
  if (!version) return Status::Corruption(path + ": " + why);
  if (*version == 0 || *version > kFormatVersion)
    return Status::Unsupported(path + ": archive format version " + std::to_string(*version) +
                               " is newer than this procsnap reads (" + std::to_string(kFormatVersion) +
                               "); upgrade procsnap");
  version_ = *version;

  // The newest trailer is at the very end; if it is damaged, an earlier one
  // (left by an append) may still describe a sound archive.
  std::string firstProblem;
  if (size_ < kFileHeaderSize + kTrailerSize)
    return Status::Corruption(path + ": file is too short (" + std::to_string(size_) + " bytes) to hold a trailer");
  s = tryTrailer(size_ - kTrailerSize);
  if (s.ok()) return s;
  firstProblem = s.message();
  for (uint64_t pos : trailerCandidates()) {
    if (pos + kTrailerSize == size_) continue;
    index_ = IndexData{};
    if (tryTrailer(pos).ok()) {
      recovery_ = path + ": damaged tail ignored: " + firstProblem + "; using the trailer at offset " +
                  std::to_string(pos) + " (" + std::to_string(size_ - pos - kTrailerSize) + " bytes after it lost)";
      return Status::Ok();
    }
  }
  return Status::Corruption(firstProblem);
}

uint64_t ArchiveReaderImpl::chunkStoredBytes() const {
  uint64_t t = 0;
  for (auto& c : index_.chunks) t += c.storedSize;
  return t;
}

uint64_t ArchiveReaderImpl::chunkRawBytes() const {
  uint64_t t = 0;
  for (auto& c : index_.chunks) t += c.contentSize();
  return t;
}

Result<std::shared_ptr<const Snapshot>> ArchiveReaderImpl::snapshot(size_t i) const {
  if (i >= index_.snapshots.size())
    return Status::NotFound(path_ + ": no snapshot " + std::to_string(i) + " (the archive holds " +
                            std::to_string(index_.snapshots.size()) + ")");
  std::lock_guard<std::mutex> lock(snapMu_);
  for (auto it = snapCache_.begin(); it != snapCache_.end(); ++it) {
    if (it->index != i) continue;
    snapCache_.splice(snapCache_.begin(), snapCache_, it);
    return snapCache_.front().snap;
  }
  std::string where = path_ + ": snapshot " + std::to_string(i);
  auto raw = snapshotRecord(i);
  if (!raw.ok()) return raw.status();
  auto snap = std::make_shared<Snapshot>();
  uint64_t decoded = 0;
  Status s = DecodeSnapshot(**raw, index_.chunks, where, &snap->meta_, &snap->tree_, &snap->parents_, &decoded);
  if (!s.ok()) return s;
  snap->archive_ = this;
  snapCache_.push_front({i, snap, decoded});  // what the tree and metadata take
  snapCacheBytes_ += decoded;
  while (snapCache_.size() > 1 && (snapCache_.size() > kSnapshotCacheCount || snapCacheBytes_ > kSnapshotCacheBytes)) {
    snapCacheBytes_ -= snapCache_.back().bytes;
    snapCache_.pop_back();
  }
  return std::shared_ptr<const Snapshot>(snap);
}

Result<BlobBytes> ArchiveReaderImpl::blobBytes(const BlobRef& ref) const {
  if (ref.size == 0) return BlobBytes{};
  auto chunk = loadChunk(ref.chunk);
  if (!chunk.ok()) return chunk.status();
  const std::string& raw = **chunk;
  if (ref.size > raw.size() || ref.offset > raw.size() - ref.size)  // no sum: a size near 2^64 would wrap
    return Status::Corruption(path_ + ": blob at chunk " + std::to_string(ref.chunk) + " offset " +
                              std::to_string(ref.offset) + " runs past the chunk");
  return BlobBytes{*chunk, std::string_view(raw).substr(ref.offset, ref.size)};
}

Result<std::string> ArchiveReaderImpl::readBlob(const BlobRef& ref) const {
  auto b = blobBytes(ref);
  if (!b.ok()) return b.status();
  return std::string(b->bytes);
}

Status ArchiveReaderImpl::readAt(uint64_t off, uint64_t len, std::string* out) const {
  if (off > size_ || len > size_ - off)
    return Status::Corruption(path_ + ": " + std::to_string(len) + " bytes at offset " + std::to_string(off) +
                              " lie beyond the end of the file (" + std::to_string(size_) + " bytes)");
  out->resize(len);
  uint64_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd_, out->data() + done, len - done, off + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(path_ + ": read at offset " + std::to_string(off + done), errno);
    }
    if (n == 0) return Status::Corruption(path_ + ": file shrank while reading at offset " + std::to_string(off + done));
    done += n;
  }
  return Status::Ok();
}

Result<std::string> ArchiveReaderImpl::readRecord(const RecordRef& ref, RecordType want, const std::string& whereIn,
                                                  std::string_view prefix) const {
  std::string where = whereIn + " at offset " + std::to_string(ref.offset);
  if (ref.offset < kFileHeaderSize || ref.storedSize > usedEnd_ || ref.offset + kRecordHeaderSize > usedEnd_ ||
      ref.storedSize > usedEnd_ - ref.offset - kRecordHeaderSize)
    return Status::Corruption(where + ": record lies outside the file");
  std::string header, payload;
  Status s = readAt(ref.offset, kRecordHeaderSize, &header);
  if (!s.ok()) return s;
  std::string why;
  auto h = DecodeRecordHeader(header, &why);
  if (!h) return Status::Corruption(where + ": " + why);
  if (h->type != want)
    return Status::Corruption(where + ": expected a " + RecordTypeName(want) + " record, found a " +
                              RecordTypeName(h->type) + " record");
  if (h->storedSize != ref.storedSize || h->rawSize != ref.rawSize || h->checksum != ref.checksum)
    return Status::Corruption(where + ": record header disagrees with the index");
  s = readAt(ref.offset + kRecordHeaderSize, h->storedSize, &payload);
  if (!s.ok()) return s;
  if (!RecordChecksumHolds(header, payload)) return Status::Corruption(where + ": checksum mismatch");
  if (want == RecordType::Snapshot && version_ >= 5) return DecompressSnapshotRecord(payload, h->rawSize, where, prefix);
  return Decompress(payload, h->rawSize, where, prefix);
}

Result<std::shared_ptr<const std::string>> ArchiveReaderImpl::loadChunk(uint32_t id) const {
  if (id >= index_.chunks.size()) return Status::Corruption(path_ + ": no chunk " + std::to_string(id));
  {
    std::lock_guard<std::mutex> lock(chunkMu_);
    for (auto it = chunkCache_.begin(); it != chunkCache_.end(); ++it) {
      if (it->first == id) {
        chunkCache_.splice(chunkCache_.begin(), chunkCache_, it);
        return chunkCache_.front().second;
      }
    }
  }
  const RecordRef& ref = index_.chunks[id];
  std::string where = path_ + ": chunk " + std::to_string(id);
  // A delta chunk decompresses against the keyframe's chunks (format 3);
  // those have no prefix themselves (checked at open), so this recurses once.
  std::shared_ptr<const std::string> prefix;
  if (ref.prefix) {
    auto p = keyframeContent(ref.prefix);
    if (!p.ok()) return p.status();
    prefix = *p;
  }
  Result<std::string> raw = readRecord(ref, RecordType::Chunk, where, prefix ? std::string_view(*prefix) : "");
  if (!raw.ok()) return raw.status();
  if (ref.encoding == static_cast<uint32_t>(ChunkEncoding::AddressLines)) {
    raw = DecodeAddressLines(*raw, ref.plainSize, where);
    if (!raw.ok()) return raw.status();
  }
  std::lock_guard<std::mutex> lock(chunkMu_);
  chunkCacheBytes_ += raw->size();
  chunkCache_.emplace_front(id, std::make_shared<const std::string>(std::move(*raw)));
  while (chunkCache_.size() > 1 && chunkCacheBytes_ > kChunkCacheBytes) {
    chunkCacheBytes_ -= chunkCache_.back().second->size();
    chunkCache_.pop_back();
  }
  return chunkCache_.front().second;
}

Result<std::shared_ptr<const std::string>> ArchiveReaderImpl::keyframeContent(uint32_t chunks) const {
  {
    std::lock_guard<std::mutex> lock(prefixMu_);
    if (keyChunks_.first == chunks && keyChunks_.second) return keyChunks_.second;
  }
  auto content = std::make_shared<std::string>();
  for (uint32_t k = 0; k < chunks; ++k) {
    if (version_ >= 4 && index_.chunks[k].encoding != 0) continue;  // format 4: plain chunks only
    auto c = loadChunk(k);
    if (!c.ok()) return c.status();
    content->append(**c);
  }
  std::lock_guard<std::mutex> lock(prefixMu_);
  keyChunks_ = {chunks, content};
  return std::shared_ptr<const std::string>(content);
}

Result<std::shared_ptr<const std::string>> ArchiveReaderImpl::snapshotRecord(size_t i) const {
  {
    std::lock_guard<std::mutex> lock(prefixMu_);
    for (auto it = rawSnapshots_.begin(); it != rawSnapshots_.end(); ++it) {
      if (it->first != i) continue;
      rawSnapshots_.splice(rawSnapshots_.begin(), rawSnapshots_, it);
      return rawSnapshots_.front().second;
    }
  }
  // The prefix first: an earlier snapshot, its chain at most
  // kMaxPrefixDepth long (checked at open), so the recursion is bounded.
  const RecordRef& rec = index_.snapshots[i].record;
  std::shared_ptr<const std::string> prefix;
  if (rec.prefix) {
    auto p = snapshotRecord(rec.prefix - 1);
    if (!p.ok()) return p.status();
    prefix = *p;
  }
  auto raw = readRecord(rec, RecordType::Snapshot, path_ + ": snapshot " + std::to_string(i),
                        prefix ? std::string_view(*prefix) : "");
  if (!raw.ok()) return raw.status();
  auto held = std::make_shared<const std::string>(std::move(*raw));
  std::lock_guard<std::mutex> lock(prefixMu_);
  rawSnapshots_.emplace_front(i, held);
  rawSnapshotBytes_ += held->size();
  while (rawSnapshots_.size() > 1 &&
         (rawSnapshots_.size() > kMaxPrefixDepth || rawSnapshotBytes_ > kSnapshotCacheBytes / 2)) {
    rawSnapshotBytes_ -= rawSnapshots_.back().second->size();
    rawSnapshots_.pop_back();
  }
  return held;
}

Status ArchiveReaderImpl::tryTrailer(uint64_t pos) {
  std::string bytes, why;
  Status s = readAt(pos, kTrailerSize, &bytes);
  if (!s.ok()) return s;
  std::string where = path_ + ": trailer at offset " + std::to_string(pos);
  auto t = DecodeTrailer(bytes, &why);
  if (!t) return Status::Corruption(where + ": " + why);
  if (t->indexEnd != pos || t->indexOffset < kFileHeaderSize || t->indexOffset + kRecordHeaderSize > pos)
    return Status::Corruption(where + ": index position " + std::to_string(t->indexOffset) + " is impossible");
  if (t->formatVersion != version_)
    return Status::Corruption(where + ": format version " + std::to_string(t->formatVersion) +
                              " differs from the header's " + std::to_string(version_));
  usedEnd_ = pos;
  RecordRef ref;
  ref.offset = t->indexOffset;
  ref.storedSize = pos - t->indexOffset - kRecordHeaderSize;
  std::string header;
  s = readAt(ref.offset, kRecordHeaderSize, &header);
  if (!s.ok()) return s;
  auto h = DecodeRecordHeader(header, &why);
  if (!h) return Status::Corruption(path_ + ": index at offset " + std::to_string(ref.offset) + ": " + why);
  ref.rawSize = h->rawSize;
  ref.checksum = h->checksum;
  s = readIndex(ref);
  if (!s.ok()) return s;
  if (index_.snapshots.size() != t->snapshotCount)
    return Status::Corruption(path_ + ": index lists " + std::to_string(index_.snapshots.size()) +
                              " snapshots, trailer says " + std::to_string(t->snapshotCount));
  auto inside = [&](const RecordRef& r) {
    return r.offset >= kFileHeaderSize && r.offset < t->indexOffset && r.storedSize <= t->indexOffset &&
           r.offset + kRecordHeaderSize + r.storedSize <= t->indexOffset && r.rawSize <= kMaxRecordRaw &&
           r.encoding <= 1 && r.plainSize <= kMaxRecordRaw;
  };
  for (size_t i = 0; i < index_.chunks.size(); ++i)
    if (!inside(index_.chunks[i]))
      return Status::Corruption(path_ + ": index: chunk " + std::to_string(i) + " lies outside the file");
  for (size_t i = 0; i < index_.snapshots.size(); ++i)
    if (!inside(index_.snapshots[i].record))
      return Status::Corruption(path_ + ": index: snapshot " + std::to_string(i) + " lies outside the file");
  s = checkPrefixes();
  if (!s.ok()) return s;
  usedEnd_ = pos + kTrailerSize;
  return Status::Ok();
}

Status ArchiveReaderImpl::readIndex(RecordRef ref) {
  // Newest first; each record lists what came after the one it names.
  std::vector<IndexData> parts;
  std::vector<IndexLink> links;
  for (;;) {
    const std::string where = path_ + ": index";
    if (links.size() == kMaxPrefixDepth)
      return Status::Corruption(where + ": a chain of more than " + std::to_string(kMaxPrefixDepth) + " index records");
    Result<std::string> raw = readRecord(ref, RecordType::Index, where);
    if (!raw.ok()) return raw.status();
    IndexData part;
    IndexLink link;
    Status s = DecodeIndex(*raw, where, &part, &link);
    if (!s.ok()) return s;
    link.record = ref;
    const std::string at = where + " at offset " + std::to_string(ref.offset);
    if (part.formatVersion != version_) return Status::Corruption(at + ": format version differs from the header's");
    const bool chained = link.previous.storedSize != 0 || link.chunksBefore != 0 || link.snapshotsBefore != 0;
    if (chained && version_ < 4) return Status::Corruption(at + ": a format " + std::to_string(version_) + " index may not chain");
    if (!links.empty() && (uint64_t(link.chunksBefore) + part.chunks.size() != links.back().chunksBefore ||
                           uint64_t(link.snapshotsBefore) + part.snapshots.size() != links.back().snapshotsBefore ||
                           link.sequence >= links.back().sequence))
      return Status::Corruption(at + ": lists other entries than the index after it says");
    parts.push_back(std::move(part));
    links.push_back(link);
    if (link.previous.storedSize == 0) {
      if (link.chunksBefore != 0 || link.snapshotsBefore != 0)
        return Status::Corruption(at + ": names no earlier index but says entries came before");
      break;
    }
    // Strictly backwards, so a chain has no cycle.
    if (link.previous.offset >= ref.offset) return Status::Corruption(at + ": names an index that does not precede it");
    ref = link.previous;
  }
  index_ = IndexData{};
  index_.formatVersion = version_;
  index_.keyframeChunks = parts.front().keyframeChunks;
  for (size_t k = parts.size(); k-- > 0;) {
    for (auto& c : parts[k].chunks) index_.chunks.push_back(c);
    for (auto& sn : parts[k].snapshots) index_.snapshots.push_back(std::move(sn));
  }
  indexChain_.assign(links.rbegin(), links.rend());
  return Status::Ok();
}

Status ArchiveReaderImpl::checkPrefixes() {
  // Chunks: a delta chunk's prefix is the keyframe's chunks, which have none
  // and fit in kMaxPrefixBytes.
  uint32_t firstDelta = UINT32_MAX;
  uint64_t prefixBytes = 0;
  for (size_t i = 0; i < index_.chunks.size(); ++i) {
    const RecordRef& c = index_.chunks[i];
    if (!c.prefix) {
      if (i < firstDelta && (version_ < 4 || c.encoding == 0)) prefixBytes += c.contentSize();
      continue;
    }
    if (firstDelta == UINT32_MAX) firstDelta = static_cast<uint32_t>(i);
    if (version_ < 3 || c.prefix > firstDelta || c.encoding != 0)
      return Status::Corruption(path_ + ": index: chunk " + std::to_string(i) + " has an impossible prefix");
  }
  if (firstDelta != UINT32_MAX && prefixBytes > kMaxPrefixBytes)
    return Status::Corruption(path_ + ": index: the keyframe's chunks hold " + std::to_string(prefixBytes) +
                              " bytes, over the " + std::to_string(kMaxPrefixBytes) + " a prefix may");
  // Snapshots: a prefix is an earlier snapshot; in format 3 one without a
  // prefix, in format 4 one whose chain stays within kMaxPrefixDepth.
  std::vector<uint8_t> depth(index_.snapshots.size(), 0);
  for (size_t i = 0; i < index_.snapshots.size(); ++i) {
    uint32_t p = index_.snapshots[i].record.prefix;
    if (!p) continue;
    const bool bad = version_ < 3 || p > i || (version_ == 3 && index_.snapshots[p - 1].record.prefix != 0) ||
                     depth[p - 1] + 1u > kMaxPrefixDepth;
    if (bad) return Status::Corruption(path_ + ": index: snapshot " + std::to_string(i) + " has an impossible prefix");
    depth[i] = static_cast<uint8_t>(depth[p - 1] + 1);
  }
  return Status::Ok();
}

std::vector<uint64_t> ArchiveReaderImpl::trailerCandidates() const {
  std::vector<uint64_t> out;
  const uint64_t block = 1 << 20;
  std::string buf;
  for (uint64_t end = size_; end > kFileHeaderSize && out.size() < 64;) {
    uint64_t start = end > block ? end - block : 0;
    if (!readAt(start, end - start, &buf).ok()) break;
    for (size_t i = buf.size(); i-- > 0;) {
      if (i + sizeof kEndMagic <= buf.size() && std::memcmp(buf.data() + i, kEndMagic, sizeof kEndMagic) == 0) {
        uint64_t magicAt = start + i;
        if (magicAt >= kFileHeaderSize + 32) out.push_back(magicAt - 32);
      }
    }
    if (start == 0) break;
    end = start + sizeof kEndMagic - 1;  // overlap so a magic across blocks is seen
  }
  std::sort(out.begin(), out.end(), std::greater<>());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

VerifyReport ArchiveReaderImpl::verify(const std::function<void(uint64_t, uint64_t)>& progress) const {
  VerifyReport rep;
  if (!recovery_.empty()) rep.problems.push_back(recovery_);
  // 1. Walk every record from the header to the trailer in use.
  std::set<uint64_t> offsets;
  uint64_t pos = kFileHeaderSize;
  const uint64_t end = usedEnd_ - kTrailerSize;
  while (pos < end) {
    if (progress) progress(pos, size_);
    std::string header, payload, why;
    Status s = readAt(pos, kRecordHeaderSize, &header);
    auto h = s.ok() ? DecodeRecordHeader(header, &why) : std::nullopt;
    if (!h && pos + kTrailerSize <= end) {
      // Not a record: perhaps an older trailer left in place by an append.
      std::string t, ignored;
      if (readAt(pos, kTrailerSize, &t).ok() && DecodeTrailer(t, &ignored)) {
        pos += kTrailerSize;
        continue;
      }
    }
    if (!h) {
      rep.problems.push_back(path_ + ": record at offset " + std::to_string(pos) + ": " + (s.ok() ? why : s.message()));
      break;
    }
    if (h->storedSize > end - pos - kRecordHeaderSize) {
      rep.problems.push_back(path_ + ": record at offset " + std::to_string(pos) + ": stored size " +
                             std::to_string(h->storedSize) + " runs past the index");
      break;
    }
    s = readAt(pos + kRecordHeaderSize, h->storedSize, &payload);
    if (!s.ok()) {
      rep.problems.push_back(s.message());
      break;
    }
    if (!RecordChecksumHolds(header, payload))
      rep.problems.push_back(path_ + ": " + RecordTypeName(h->type) + " record at offset " + std::to_string(pos) +
                             ": checksum mismatch");
    offsets.insert(pos);
    ++rep.records;
    rep.bytesChecked += kRecordHeaderSize + h->storedSize;
    pos += kRecordHeaderSize + h->storedSize;
  }
  // 2. Every record the index names exists and decodes.
  std::set<std::pair<uint64_t, uint64_t>> keptChecked;
  for (size_t i = 0; i < index_.chunks.size(); ++i) {
    if (!offsets.count(index_.chunks[i].offset))
      rep.problems.push_back(path_ + ": chunk " + std::to_string(i) + " at offset " +
                             std::to_string(index_.chunks[i].offset) + " is not on a record boundary");
    auto r = loadChunk(static_cast<uint32_t>(i));
    if (!r.ok()) rep.problems.push_back(r.status().message());
    ++rep.chunks;
    if (progress) progress(index_.chunks[i].offset, size_);
  }
  for (size_t i = 0; i < index_.snapshots.size(); ++i) {
    if (!offsets.count(index_.snapshots[i].record.offset))
      rep.problems.push_back(path_ + ": snapshot " + std::to_string(i) + " is not on a record boundary");
    auto snap = snapshot(i);
    if (!snap.ok()) {
      rep.problems.push_back(snap.status().message());
      continue;
    }
    ++rep.snapshots;
    const Tree& tree = (*snap)->tree();
    for (NodeId n = 0; n < tree.size(); ++n) rep.blobsChecked += tree.blob(n).size > 0;  // ranges checked at decode
    // Kept program bytes against their SHA-256, once per distinct blob.
    const auto& exes = (*snap)->metadata().executables;
    for (size_t e = 0; e < exes.size(); ++e) {
      if (!exes[e].kept.size || !keptChecked.insert({exes[e].kept.chunk, exes[e].kept.offset}).second) continue;
      auto bytes = (*snap)->executableBytes(e);
      if (!bytes.ok())
        rep.problems.push_back("snapshot " + std::to_string(i) + ": " + bytes.status().message());
      else
        ++rep.blobsChecked;
    }
  }
  if (progress) progress(size_, size_);
  return rep;
}

ArchiveReader::~ArchiveReader() = default;

Result<std::shared_ptr<ArchiveReader>> ArchiveReader::Open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return OpenRecording(path);
  auto r = std::make_shared<ArchiveReaderImpl>();
  Status s = r->open(path);
  if (!s.ok()) return s;
  return std::shared_ptr<ArchiveReader>(r);
}

void ArchiveReaderImpl::dropCaches() const {
  {
    std::lock_guard<std::mutex> lock(chunkMu_);
    chunkCache_.clear();
    chunkCacheBytes_ = 0;
  }
  {
    std::lock_guard<std::mutex> lock(snapMu_);
    snapCache_.clear();
    snapCacheBytes_ = 0;
  }
  std::lock_guard<std::mutex> lock(prefixMu_);
  rawSnapshots_.clear();
  rawSnapshotBytes_ = 0;
  keyChunks_ = {};
}

}  // namespace procsnap
