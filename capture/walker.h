// Walker: records one top-level entry of the capture root (a PID directory,
// sys/, meminfo...) into a tree fragment, reading through directory file
// descriptors with one reusable buffer.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "capture/capture.h"
#include "carry_rules.h"
#include "export_manifest.h"
#include "format/archive.h"

namespace procsnap {

// State shared by all walkers of one capture.
struct WalkShared {
  const CaptureOptions* options = nullptr;
  ArchiveWriter* writer = nullptr;
  bool procfs = false;     // the root is a real procfs: PID logic and the read policy apply
  const ExportManifest* manifest = nullptr;  // the root is an export: what its manifest gives back
  std::string selfPid;     // the capturing process, kept under the tuning profile for net/
  std::unordered_map<std::string, std::string> pidStats;  // light captures: pid -> PID/stat read before the walk
  int64_t deadlineMonoNs = 0;  // 0 = no time limit
  std::atomic<bool> stopped{false};  // the time limit passed or options->interrupt was set
  std::string stopNote;              // why, as recorded on entries left unread (set before `stopped`)

  // Whether entries not yet visited are to be left unread.
  bool outOfTime();
  std::set<std::string> unmountedAutofs;  // paths under root not to open

  // One network namespace is read once: key "net:[inode]" -> where.
  struct Where {
    uint32_t fragment;
    NodeId node;
  };
  // A namespace is registered only once its net/ was read whole: until
  // then others wait (bounded by the file timeout), and if the read fails
  // (its process exited) the next process of the namespace reads it.
  struct Netns {
    bool reading = true;
    Where where;
  };
  std::mutex netnsMu;
  std::condition_variable netnsCv;
  std::unordered_map<std::string, Netns> netns;

  std::atomic<uint64_t> entries{0}, bytes{0};

  // A mount namespace's tables (mountinfo, mounts, mountstats) as one
  // process with a given root read them in this capture: key "ns/mnt link
  // NUL root link NUL file name". Others of the namespace and root take them.
  struct MountTable {
    BlobRef blob;
    uint64_t size;
  };
  std::mutex mountTablesMu;
  std::unordered_map<std::string, MountTable> mountTables;
  std::atomic<uint64_t> mountTablesShared{0};
};

struct Fragment {
  Tree tree;  // node 0 is the top-level entry itself
  Counts counts;
  struct PendingAlias {
    NodeId node;          // alias node in this fragment
    WalkShared::Where target;
  };
  std::vector<PendingAlias> aliases;
  std::vector<std::string> notes;
  uint64_t fromProcess = 0;  // task/TID files given their process's content
  uint64_t sharedFds = 0;    // task/TID/fd and fdinfo entries given their process's (one table)
  std::string stat;          // a pid's stat line, read first (for Carry)
  std::vector<std::pair<std::string, std::string>> threadStats;  // "PID/task/TID" -> its stat line (for Carry)
  std::string modules;       // /proc/modules, read before kallsyms (for Carry)
  uint64_t carriedFiles = 0; // files taken from the previous capture (Carry)
  bool ahead = false;        // counted in the capture's fragments walked ahead of grafting
};

// A listing of `dir` in an export: without the manifest's own files, with
// the links the export could not write (the manifest lists them; the
// caller sorts and drops repeated names).
void AdjustListing(const ExportManifest& m, const std::string& dir,
                   std::vector<std::pair<std::string, unsigned char>>& entries);

// The task/TID/ files that take their process's content ("auxv, cmdline, ...").
std::string SharedMmFileNames();

// A read buffer that grows without zero-filling, and without copying or
// touching pages it does not use: fresh pages are costly on some VMs. Past
// 1 MiB (kallsyms: megabytes, once a full snapshot) it is a mapping of its
// own, grown with mremap and unmapped on release: in the heap its pages
// stayed resident under a recording's later, smaller blocks.
class ReadBuffer {
 public:
  ReadBuffer() = default;
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  ~ReadBuffer() { release(); }
  char* data() { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // False, with the buffer unchanged, when memory runs out.
  bool resize(size_t n);
  void release();

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

// What the capture's supervisor sees of one walker, so that a read that
// never returns (a process stuck in the kernel holds its memory-map lock;
// a file system stops answering) costs a bounded time. The walker marks
// each blocking call; one that stays blocked past the bound gets the walker
// abandoned: its fragment is taken as it is, the node being read is
// recorded unread, and when the call returns the walker only unwinds.
struct WalkerWatch {
  enum : int { Running = 0, InCall = 1, Abandoned = 2 };
  std::atomic<int> state{Running};      // InCall -> Abandoned only by the supervisor
  std::atomic<uint64_t> calls{0};       // blocking calls begun
  std::atomic<NodeId> slot{kNoNode};    // the node the current call is for
  std::atomic<bool> unwound{false};     // an abandoned walker's call returned at last
  // Set and taken under the capture's lock; the walker fills it meanwhile.
  std::unique_ptr<Fragment> fragment;
  size_t entry = 0;
  // The supervisor's own bookkeeping.
  uint64_t seenCalls = 0;
  int64_t seenSinceNs = 0;
};
// Thrown in an abandoned walker when its blocked call returns.
struct WalkerAbandoned {};

// Marks the node being read when a fragment was abandoned as unread for
// `why`, and the nodes never visited for `rest`.
void MarkUnvisited(Fragment& frag, NodeId current, const std::string& why, const std::string& rest);

class Walker {
 public:
  Walker(WalkShared& shared, std::shared_ptr<WalkerWatch> watch);
  // Walks into `frag`; throws WalkerAbandoned if the supervisor gave up on it.
  void walkTopLevel(int rootFd, const std::string& name, unsigned char dtype, uint32_t fragmentId, Fragment& frag);
  // kNetnsSysctlsDir: each other network namespace's sys/net, read from
  // this thread after setns() into it (and back).
  void walkNetnsSysctls(int rootFd);

 private:
  void visit(int parentFd, const std::string& name, const std::string& rel, NodeId slot, unsigned char dtype,
             unsigned depth);
  void readFile(int parentFd, const std::string& name, const std::string& rel, NodeId slot);
  // A file's content (`err`: the read's errno; `mountKey`: a mount table's, see below) into `slot`.
  void storeFile(std::string_view content, const std::string& rel, NodeId slot, int err, bool truncated,
                 const std::string& mountKey);
  bool takeFromProcess(const std::string& name, NodeId slot);
  // For PID/mountinfo, mounts, mountstats: the key of its namespace and
  // root ("" when not such a file or the links cannot be read), and the
  // table another process of them gave, if any.
  std::string mountTableKey(int parentFd, const std::string& name, const std::string& rel, NodeId slot);
  bool takeMountTable(const std::string& key, NodeId slot);
  void walkDirectory(int parentFd, const std::string& name, const std::string& rel, NodeId slot, unsigned depth);
  // For PID/net: true when made an alias of its namespace's copy; else
  // *claimed names the namespace this walk reads for the others ("" if none).
  bool aliasNetns(int parentFd, const std::string& name, const std::string& rel, NodeId slot, std::string* claimed);
  // Ends a claim: registers `slot` if its net/ was read whole.
  void finishNetns(const std::string& key, NodeId slot, NodeId firstChild);
  // Why the entry is left out (option, profile), or nullptr.
  const char* exclusion(const std::string& rel);
  void skip(NodeId slot, Reason reason, std::string_view note);
  void giveBack(NodeId slot, const ExportManifest::Entry& recorded);
  // Carry: a top-level directory (a pid's, bus/) taken from the previous
  // capture's tree, a pid's net/ entries walked; `why` goes into each
  // carried file's note. False, with nothing added, when it cannot be.
  bool carrySubtree(const std::string& rel, NodeId slot, unsigned depth, CarryPlace place, std::string_view why);
  // Carry's test: the stat line and every thread's run count ("" unreadable).
  std::string processActivity(int rootFd, const std::string& pid);
  bool carryThread(int parentFd, const std::string& tid, const std::string& rel, NodeId slot);
  // A light capture's thread's net/ at `slot` made an alias of its
  // process's, with the carried node's mode and owner.
  bool aliasProcessNet(NodeId slot, const Node& attributes);
  bool shareDescriptors(const std::string& rel, NodeId slot);
  void copyChildren(int rootFd, const Tree& from, NodeId src, NodeId dst, const std::string& rel, unsigned depth);
  void readCarriedEntry(int parentFd, const Tree& from, NodeId src, const std::string& name, const std::string& rel,
                        NodeId slot, unsigned char dtype, unsigned depth);
  // carriedNote_ interned in this fragment, once per carried subtree.
  uint32_t carriedNoteIndex() {
    if (!carriedNoteIndex_) carriedNoteIndex_ = frag_->tree.intern(carriedNote_);
    return carriedNoteIndex_;
  }
  // A string of the carried tree (a name, a note) interned in this
  // fragment: each is hashed once per fragment, not once per node.
  uint32_t stringFrom(const Tree& from, uint32_t s) {
    if (stringIds_.size() < from.stringCount()) stringIds_.resize(from.stringCount());
    auto& [gen, id] = stringIds_[s];
    if (gen != fragmentGen_) {
      gen = fragmentGen_;
      id = frag_->tree.intern(from.str(s));
    }
    return id;
  }
  // Carry: one top-level file taken from the previous capture's tree.
  bool carryFile(const std::string& name, const std::string& why);

  // Around every call that may block: begin(node) ... end().
  void begin(NodeId slot) {
    watch_->slot.store(slot, std::memory_order_relaxed);
    watch_->calls.fetch_add(1, std::memory_order_relaxed);
    watch_->state.store(WalkerWatch::InCall, std::memory_order_release);
  }
  void end() {
    int expected = WalkerWatch::InCall;
    if (!watch_->state.compare_exchange_strong(expected, WalkerWatch::Running, std::memory_order_acq_rel))
      throw WalkerAbandoned{};
  }

  WalkShared& shared_;
  std::shared_ptr<WalkerWatch> watch_;
  Fragment* frag_ = nullptr;
  uint32_t fragmentId_ = 0;
  int rootFd_ = -1;  // the capture root, for walks that start again from it
  ReadBuffer buf_;
  std::string exclusionNote_;
  std::string carriedNote_;  // the note of files carried into this fragment
  uint32_t carriedNoteIndex_ = 0;
  // Carried tree's string id -> (fragmentGen_ when set, this fragment's id).
  std::vector<std::pair<uint64_t, uint32_t>> stringIds_;
  uint64_t fragmentGen_ = 0;  // one per walkTopLevel
  std::string mountKeyDir_, mountKey_;  // the last directory whose mount table key was asked
  CarryPlace carryPlace_ = CarryPlace::Process;  // of the subtree being carried
  std::pair<long, bool> sharedTable_{-1, false};  // tid, and whether it uses its process's descriptor table
  long ptraceDenied_ = -1;  // the tid kcmp refused with EPERM, -1 for none
  uint64_t startTime_ = 0;  // field 22 of the PID's stat as read during the walk
  std::pair<std::string, std::string> preread_;  // a file's path and content read before its turn
  struct ProcessFile {
    std::string name;
    Node node;
    BlobRef blob;
  };
  std::vector<ProcessFile> processFiles_;  // PID/maps... of this fragment
};

}  // namespace procsnap
