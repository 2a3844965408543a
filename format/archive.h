// procsnap archive: one file of checksummed zstd records holding deduplicated
// file contents (blobs) and snapshot trees; layout in format/FORMAT.md.
// A reader checks every size, offset and checksum it uses and reports damage
// as a Corruption status naming the file and offset; it never trusts input.
// Thread safety: ArchiveReader and Snapshot are safe to share between threads
// once opened. ArchiveWriter::putBlob may be called from many threads; the
// other writer calls must come from one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace procsnap {

// ---- errors as values -------------------------------------------------------

// NotCaptured: the archive is sound but holds no bytes for the file (its
// read failed at capture, or capture did not read it); the message says why.
enum class StatusCode { Ok, NotFound, InvalidArgument, IoError, Corruption, Unsupported, NotCaptured };

class Status {
 public:
  Status() = default;
  static Status Ok() { return {}; }
  static Status NotFound(std::string m) { return {StatusCode::NotFound, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::InvalidArgument, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::IoError, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::Corruption, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::Unsupported, std::move(m)}; }
  static Status NotCaptured(std::string m) { return {StatusCode::NotCaptured, std::move(m)}; }
  // An IoError whose message ends with strerror(err).
  static Status FromErrno(std::string what, int err);

  bool ok() const { return code_ == StatusCode::Ok; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(StatusCode c, std::string m) : code_(c), message_(std::move(m)) {}
  StatusCode code_ = StatusCode::Ok;
  std::string message_;
};

// "EACCES" for 13; "E1234" for numbers without a name.
std::string ErrnoName(int err);

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) {}
  bool ok() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

// ---- helpers every library shares --------------------------------------------

// "a//b/./c/" -> {"a", "b", "c"}: the parts of a path, empty and "." parts
// left out ("..", which needs a directory stack to mean anything, is kept).
std::vector<std::string_view> SplitPath(std::string_view path);
// Writes all of bytes to fd, retrying short writes and EINTR; `what` names
// the destination in the error; errno is left as the failed write set it.
Status WriteAll(int fd, std::string_view bytes, const std::string& what);
// Raises the soft limit on open descriptors to the hard limit: walks and
// exports of deep trees hold a descriptor per level.
void RaiseFileLimit();
// ISO 8601 UTC with milliseconds: "2026-11-23T07:11:05.250Z" (times before
// 1970, which a hostile archive may hold, too).
std::string WallTime(int64_t ns);
// A descriptor closed when it goes out of scope (-1: none).
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(o.release()) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Lowercase hexadecimal of bytes: "0a1b" for {0x0a, 0x1b} (digests, /proc/net addresses).
std::string HexOf(std::string_view bytes);
inline std::string HexOf(const uint8_t* bytes, size_t n) {
  return HexOf(std::string_view(reinterpret_cast<const char*>(bytes), n));
}

// ---- the data model ---------------------------------------------------------

// 3: delta records (a chunk or snapshot record compressed against the
// archive's first snapshot); 4: chains of delta snapshot records and of
// index records, the string table as one blob (FORMAT.md); 5: parted
// snapshots (a record of one message per run of processes, then the rest).
// Readers read 1 to 5, writers write 5.
constexpr uint32_t kFormatVersion = 5;

enum class NodeKind : uint8_t { Directory = 0, File = 1, Symlink = 2, Alias = 3, Other = 4 };
enum class Reason : uint8_t {
  None = 0,
  Skipped = 1,    // the read policy said not to read it (note says why)
  Truncated = 2,  // content cut at the size cap
  Excluded = 3,   // --exclude, --no-threads or the profile left it out
  TimeLimit = 4,  // the capture ran out of time before reading it
  Redacted = 5,   // content rewritten by redaction (procsnap redact, the bugreport profile)
  Carried = 6,    // format 3: content not read again but taken from an earlier snapshot of
                  // the same archive (its process had not run since); the note says when it was read
};
const char* KindName(NodeKind k);
const char* ReasonName(Reason r);
// Skipped, excluded or out of time: the content was never read.
inline bool NotRead(Reason r) { return r == Reason::Skipped || r == Reason::Excluded || r == Reason::TimeLimit; }
// procfs names processes, threads and descriptors by decimal numbers.
bool IsNumberName(std::string_view name);

using NodeId = uint32_t;
constexpr NodeId kNoNode = 0xffffffffu;

// A directory at the root of a procfs capture that /proc does not have:
// the net sysctls of each network namespace other than the capturer's
// (/proc/sys/net shows the reader's own), as DIR/<netns inode>/net/...
// Replays (mount, run, play, export) do not show it; diff, events read it.
inline constexpr std::string_view kNetnsSysctlsDir = ".sysctl-netns";

// An export (replay) writes at its top a manifest of what a folder cannot
// say (errors recorded at capture, skipped, truncated and unwritten
// entries); a fixture export puts the marker in every directory left empty,
// which git would drop. Capturing such a folder (capture) gives both back.
inline constexpr const char* kManifestName = ".procsnap-manifest.json";
inline constexpr const char* kEmptyDirMarker = ".procsnap-empty-dir";

// Where a file's bytes are: an offset into one chunk's raw bytes.
struct BlobRef {
  uint32_t chunk = 0;
  uint32_t offset = 0;
  uint64_t size = 0;
};

// One node of a snapshot tree: its recorded attributes. What it links to
// (a file's bytes, a directory's children, a link's target, the directory
// an alias stands for) is read and set through Tree, by kind.
struct Node {
  uint32_t name = 0;  // string index
  uint32_t uid = 0, gid = 0;
  int32_t error = 0;
  uint32_t note = 0;  // string index, 0 = none
  uint16_t mode = 0;  // st_mode: type and permission bits fit in 16
  NodeKind kind = NodeKind::Other;
  Reason reason = Reason::None;
  uint64_t size = 0, statSize = 0;  // size: bytes recorded; statSize: st_size at capture
  int64_t mtimeNs = 0;

 private:
  friend class Tree;
  friend struct TreeAccess;  // the snapshot codec, inside format/
  // By kind (schema.capnp): file = chunk, offset; directory = first child,
  // count; symlink = target string; alias = the node it stands for.
  uint32_t ref_ = 0, aux_ = 0;
};
static_assert(sizeof(Node) == 56, "Node is stored by the hundred thousand");

// The permission bits a replay (export, mount) gives node `name` of
// directory `parent`. A real /proc has no setuid, setgid or sticky bits,
// and a hostile archive must not make export create a setuid-root file:
// they are dropped. Files procfs guards by a ptrace check at open rather
// than by their mode (PtraceGuarded) are owner-only.
uint32_t ReplayPermissions(const Node& n, std::string_view name, std::string_view parent);
// PID/x or PID/task/TID/x that procfs shows 0444 but opens only for a
// reader allowed to ptrace the process: its memory layout (maps, smaps,
// smaps_rollup, numa_maps) and wait channel (wchan); and the links whose
// readlink it checks the same way (cwd, root, exe, ns/*).
bool PtraceGuarded(std::string_view name, std::string_view parent);

// What opening a recorded file gives: 0 when its bytes are there, else the
// errno a reader meets: the one recorded at capture, or ENODATA for a file
// capture never read (policy, exclusion, time limit). Every reader (View,
// the FUSE server, export) asks this one function.
int OpenError(const Node& n);

struct Counts {
  uint64_t files = 0, directories = 0, links = 0, aliases = 0, bytes = 0;
  uint64_t errors = 0, skipped = 0, truncated = 0, redactions = 0, uniqueBytes = 0;
};

// A program file processes ran (schema.capnp Executable): identity, hash,
// and its bytes when it was no longer on disk.
struct Executable {
  uint64_t device = 0, inode = 0, size = 0;
  int64_t mtimeNs = 0;
  std::string path;            // the exe link's target
  std::vector<uint32_t> pids;  // ascending
  std::string sha256;          // lowercase hex; "" when not hashed (error or note says why)
  int32_t error = 0;
  std::string note;
  BlobRef kept;                // size 0: bytes not kept
};

struct Metadata {
  std::string hostname, kernelRelease, kernelVersion, bootId, machineId;
  int64_t startWallNs = 0, endWallNs = 0, startMonoNs = 0, endMonoNs = 0, startBootNs = 0;
  std::string root, profile;
  std::vector<std::string> options, excludes;
  uint32_t capturerUid = 0, capturerGid = 0;
  uint64_t capEffective = 0;
  std::string procMountOptions, toolVersion;
  uint32_t formatVersion = kFormatVersion;
  uint32_t clockTicks = 0, pageSize = 0;
  Counts counts;
  std::vector<std::string> notes;
  std::vector<Executable> executables;
  std::vector<std::pair<std::string, uint64_t>> redactionKinds;  // kind -> values replaced
};

// A tree of nodes plus its string table. Node 0 is the root; children of a
// directory are contiguous and sorted by name. Readers get a const Tree
// from a Snapshot; capture and tests build one with the calls below.
class Tree {
 public:
  Tree();
  Tree(Tree&&) noexcept;
  Tree& operator=(Tree&&) noexcept;
  ~Tree();

  size_t size() const { return nodes_.size(); }
  const Node& node(NodeId id) const { return nodes_[id]; }
  std::string_view str(uint32_t i) const { return strings_[i]; }
  size_t stringCount() const { return strings_.size(); }

  // Typed links. Each answers for its own kind and is empty otherwise.
  BlobRef blob(NodeId file) const;                      // {0,0,0} unless a file with bytes
  std::pair<NodeId, NodeId> children(NodeId dir) const;  // [first, last), no alias resolution
  NodeId child(NodeId dir, std::string_view name) const;  // kNoNode if absent (or dir is); no alias resolution
  std::string_view linkTarget(NodeId link) const;
  NodeId aliasTarget(NodeId alias) const;                // kNoNode unless an alias

  // ---- building --------------------------------------------------------------
  // Index of s in the string table, adding it if new.
  uint32_t intern(std::string_view s);
  // A new node (attributes zero), named; returns its id.
  NodeId add(std::string_view name);
  // Attributes of a node being built.
  Node& at(NodeId id) { return nodes_[id]; }
  void setBlob(NodeId file, const BlobRef& ref);
  // `count` children starting at node `first` (added in name order).
  void setChildren(NodeId dir, NodeId first, uint32_t count);
  void setLinkTarget(NodeId link, std::string_view target);
  // Makes the node an alias of directory `target`.
  void setAlias(NodeId alias, NodeId target);

  // Copies `part` into this tree: part's root takes the place of node `at`
  // (already allocated here, its attributes are overwritten), the rest is
  // appended. Names, targets and notes are re-interned; directory links are
  // shifted. Alias targets are left for the caller, who knows what they mean.
  // Returns the index that part's node i (i >= 1) now has minus i.
  uint32_t graft(NodeId at, const Tree& part);

 private:
  friend struct TreeAccess;
  // A deque, not a vector: a capture of thousands of processes grows it to
  // hundreds of thousands of nodes, and doubling a vector would briefly
  // hold three copies.
  std::deque<Node> nodes_;
  std::vector<std::string> strings_;
  struct Index;
  std::unique_ptr<Index> index_;  // built on first intern()
};

// ---- writing ----------------------------------------------------------------

struct WriterOptions {
  int level = 9;                    // zstd level for chunks, snapshot records and the index
  size_t chunkSize = 2u << 20;      // raw bytes per chunk before it is sealed
  // Append only: when the end of the archive is damaged (a torn tail, a bad
  // last trailer), cut it and append after the last sound trailer. Without
  // it Append refuses, since what the damaged end held would be lost.
  bool cutDamagedTail = false;
  // Delta records (format 3): every chunk and snapshot record after the
  // archive's first snapshot is compressed against that snapshot's (its
  // keyframe), so a timeline stores what changed at about the cost of the
  // difference. Appending to a format 2 archive writes no deltas.
  bool delta = false;
  // Delta chunks take as prefix the keyframe's chunks up to the first that
  // reaches this many bytes, not all of them (0: all). A recording's light
  // ticks store counters that match any process's lines as well as their
  // own: the first megabytes serve, and every byte of the prefix is held.
  size_t keyframePrefixBytes = 0;
  // Hand the walk's freed memory back to the system before each snapshot
  // record is built (one capture's peak). A recording keeps it instead:
  // on VMs a fresh page costs microseconds, and every tick would fault the
  // same pages in again.
  bool trimMemory = true;
};

// An alias of a directory in an earlier part of the same snapshot (format 5).
struct PartAlias {
  NodeId node = 0;    // in this part
  uint32_t part = 0;  // parts added before this one, counted from 0
  NodeId target = 0;  // in that part
};

// A part's message, compressed alone: what a recording carries from one
// tick to the next instead of the tree (~0.4 MB for 1,000 processes).
struct PackedPart {
  std::shared_ptr<const std::string> bytes;
  uint64_t rawSize = 0;
};
// The part as addPart was given it (foreign aliases as aliases of no node,
// kNoNode). Blob references are not checked: the writer made it.
Result<Tree> UnpackPart(const PackedPart& part);

class ArchiveWriter {
 public:
  // path "-" writes to standard output. Create refuses an existing file;
  // Append adds snapshots to an existing archive, keeping its old trailer
  // as a fallback. Both hold an exclusive flock on the file while the
  // writer lives: a second writer of the same file is refused.
  static Result<std::unique_ptr<ArchiveWriter>> Create(const std::string& path, WriterOptions opts = {});
  static Result<std::unique_ptr<ArchiveWriter>> Append(const std::string& path, WriterOptions opts = {});
  virtual ~ArchiveWriter();

  // Stores bytes once per archive (deduplicated by SHA-256). Thread-safe.
  // Blocks while the compressor is behind, which bounds memory.
  virtual Result<BlobRef> putBlob(std::string_view bytes) = 0;
  // Seals open chunks and writes one snapshot record. `meta.counts.uniqueBytes`
  // is filled in here. The tree is freed as it is encoded, or with `keep`
  // given back there whole (record keeps it for the next tick: no copy).
  virtual Status addSnapshot(Metadata& meta, Tree tree, Tree* keep = nullptr) = 0;
  // Format 5, parted snapshots: a run of process directories encoded and
  // compressed before its snapshot, so that a capture never holds the whole
  // tree. `part`'s root is a stand-in whose children are the processes; the
  // tree then given to addSnapshot has, in their place, empty directories
  // of the same names. `foreign` lists aliases of an earlier part's
  // directories (the node here is kind Other). With `packed`, the part's
  // message is given back compressed alone (UnpackPart reads it). False
  // from acceptsParts() (an appended older archive): addPart fails.
  virtual bool acceptsParts() const = 0;
  virtual Status addPart(Tree part, const std::vector<PartAlias>& foreign = {}, PackedPart* packed = nullptr) = 0;
  // Writes the index and trailer. Without it the archive has no snapshot.
  virtual Status finish() = 0;
  // Writes the index and trailer of the snapshots so far and fsyncs, and
  // stays open for more: a crash after it loses nothing committed (readers
  // and Append fall back to the last sound trailer). What record calls
  // after every snapshot.
  virtual Status commit() = 0;
  virtual uint64_t bytesWritten() const = 0;
};

// ---- recording: a directory of segment archives --------------------------------

struct RecordingOptions {
  WriterOptions writer;
  // A segment opens with a full snapshot and takes this many in all before
  // the next one starts.
  size_t segmentSnapshots = 360;
  // 0: no bound. Else the directory holds at most this many bytes: whole
  // old segments are deleted before a new snapshot is written; a segment is
  // at most a quarter of it. The newest completed snapshot always stays.
  uint64_t maxBytes = 0;
  // 0: keep all. Else a segment whose every snapshot began more than this
  // long ago is deleted (never the newest segment).
  int64_t maxAgeNs = 0;
};

// Writes snapshots into a recording one at a time, each committed (index,
// trailer, fsync) before the next begins, so a crash at any moment loses at
// most the snapshot in flight. Segments are named by a sequence the writer
// owns and their first snapshot's UTC start
// ("s000000017-20261123T071105.250Z.psnap"): names sort in recording order
// whatever the clock did. The writer holds DIR/.lock for its whole life: a
// second writer is refused.
// One thread; an exclusive flock on the open segment, as ArchiveWriter.
class RecordingWriter {
 public:
  // Opens `dir` (created when missing). A recording that is there is
  // continued: its newest segment is appended to (a torn tail, which holds
  // no committed snapshot, is cut).
  static Result<std::unique_ptr<RecordingWriter>> Open(const std::string& dir, const RecordingOptions& opts);
  virtual ~RecordingWriter();

  // The writer for the next snapshot, taken at wall time `nowNs`: the open
  // segment, or a new one when it is full. Deletes what --max-size and
  // --max-age ask first; InvalidArgument when maxBytes cannot hold the
  // newest snapshot beside the next.
  virtual Result<ArchiveWriter*> next(int64_t nowNs) = 0;
  // Commits the snapshot just added to next()'s writer (`meta` as
  // addSnapshot filled it in), then applies retention again.
  virtual Status commit(const Metadata& meta) = 0;
  // Finishes the open segment.
  virtual Status close() = 0;

  virtual const std::string& path() const = 0;
  virtual uint64_t bytesOnDisk() const = 0;      // all segments
  virtual size_t snapshotCount() const = 0;      // in the recording, committed
  virtual size_t segmentCount() const = 0;
  // Whether the last next() began a new segment (whose first snapshot must
  // be read whole: it is the keyframe, and nothing before it is there).
  virtual bool startedSegment() const = 0;
  // Hostname of the newest committed snapshot ("" for a new recording).
  virtual const std::string& lastHostname() const = 0;
};

// ---- reading ----------------------------------------------------------------

// The bytes of one file, kept alive by `holder` (the decompressed chunk they
// lie in), so that a reader can serve them without copying them.
struct BlobBytes {
  std::shared_ptr<const std::string> holder;
  std::string_view bytes;
};

// What an ArchiveReader keeps between calls: the trees of at most
// kSnapshotCacheCount snapshots whose records total kSnapshotCacheBytes,
// and decompressed chunks up to kChunkCacheBytes; the newest of each stays
// however large. No record is over 1 GiB raw, and none gets a buffer
// larger than its zstd blocks can yield. So a read command holds at most the
// two caches, plus per call in flight one chunk (<= 1 GiB) or one snapshot
// being decoded (its record, <= 1 GiB, and a tree of about the same size).
// Callers hold what they keep themselves. ARCHITECTURE.md has the sums.
constexpr size_t kSnapshotCacheCount = 4;
constexpr uint64_t kSnapshotCacheBytes = 256ull << 20;
constexpr uint64_t kChunkCacheBytes = 64ull << 20;

struct SnapshotSummary {
  int64_t startWallNs = 0;
  std::string hostname;
  uint64_t nodeCount = 0;
  uint64_t storedSize = 0;  // bytes of the snapshot record
};

class ArchiveReader;

// One loaded, validated snapshot tree.
class Snapshot {
 public:
  const Metadata& metadata() const { return meta_; }
  const Tree& tree() const { return tree_; }
  size_t nodeCount() const { return tree_.size(); }
  const Node& node(NodeId id) const { return tree_.node(id); }
  std::string_view name(NodeId id) const { return tree_.str(tree_.node(id).name); }
  std::string_view linkTarget(NodeId id) const { return tree_.linkTarget(id); }  // "" unless a symlink
  std::string_view note(NodeId id) const { return tree_.str(tree_.node(id).note); }
  NodeId parent(NodeId id) const { return parents_[id]; }
  std::string path(NodeId id) const;  // "/"-joined from the root, "" for the root

  // An alias stands for another directory; everything else stands for itself.
  NodeId resolveAlias(NodeId id) const;
  // Children of a directory (after alias resolution), empty for others.
  std::pair<NodeId, NodeId> children(NodeId dir) const;  // [first, last)
  NodeId child(NodeId dir, std::string_view name) const;  // kNoNode if absent
  // Walks "a/b/c" from the root through directories and aliases (not
  // symlinks). Leading and repeated slashes are ignored.
  NodeId lookup(std::string_view path) const;

  // The bytes of a file node as captured (empty for a failed read).
  Result<std::string> read(NodeId id) const;
  // The same without a copy.
  Result<BlobBytes> bytes(NodeId id) const;
  // The kept bytes of metadata().executables[i] (NotCaptured when none).
  Result<std::string> executableBytes(size_t i) const;
  // What its BlobRefs are relative to: two snapshots of one space whose
  // nodes have equal BlobRefs hold equal bytes (a recording's segment), so
  // a reader of a timeline need not read an unchanged file again.
  const void* blobSpace() const { return archive_; }

 private:
  friend class ArchiveReaderImpl;
  Metadata meta_;
  Tree tree_;
  std::vector<NodeId> parents_;
  const ArchiveReader* archive_ = nullptr;
};

struct VerifyReport {
  uint64_t records = 0, chunks = 0, snapshots = 0, blobsChecked = 0, bytesChecked = 0;
  std::vector<std::string> problems;  // empty when the archive is sound
  std::vector<std::string> notes;     // not problems: a recording's segment being written
};

class ArchiveReader {
 public:
  // `path` is an archive, or a recording: a directory of segment archives
  // (*.psnap, names sorting by time) read as one, snapshots numbered across
  // them; a recording's blobs are read through its snapshots only.
  static Result<std::shared_ptr<ArchiveReader>> Open(const std::string& path);
  virtual ~ArchiveReader();

  virtual const std::string& path() const = 0;
  virtual uint64_t fileSize() const = 0;
  virtual uint32_t formatVersion() const = 0;
  virtual size_t snapshotCount() const = 0;
  virtual const SnapshotSummary& summary(size_t i) const = 0;
  virtual uint64_t chunkCount() const = 0;
  virtual uint64_t chunkStoredBytes() const = 0;
  virtual uint64_t chunkRawBytes() const = 0;
  // Set when the end of the file was damaged and an earlier trailer was used.
  virtual const std::string& recoveryWarning() const = 0;

  virtual Result<std::shared_ptr<const Snapshot>> snapshot(size_t i) const = 0;
  virtual Result<std::string> readBlob(const BlobRef& ref) const = 0;
  virtual Result<BlobBytes> blobBytes(const BlobRef& ref) const = 0;
  // Reads every record, checks every checksum and every reference.
  virtual VerifyReport verify(const std::function<void(uint64_t done, uint64_t total)>& progress = {}) const = 0;
};

}  // namespace procsnap
