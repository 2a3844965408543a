// Walker: records one top-level entry of the capture root (a PID directory,
// sys/, meminfo...) into a tree fragment, reading through directory file
// descriptors with one reusable buffer.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "capture/capture.h"
#include "format/archive.h"

namespace procsnap {

// State shared by all walkers of one capture.
struct WalkShared {
  const CaptureOptions* options = nullptr;
  ArchiveWriter* writer = nullptr;
  bool procfs = false;     // the root is a real procfs: PID logic and the read policy apply
  std::string selfPid;     // the capturing process, kept under the tuning profile for net/
  int64_t deadlineMonoNs = 0;  // 0 = no time limit
  std::set<std::string> unmountedAutofs;  // paths under root not to open

  // One network namespace is read once: key "net:[inode]" -> where.
  struct Where {
    uint32_t fragment;
    NodeId node;
  };
  std::mutex netnsMu;
  std::unordered_map<std::string, Where> netns;

  std::atomic<uint64_t> entries{0}, bytes{0};
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
};

// The task/TID/ files that take their process's content ("auxv, cmdline, ...").
std::string SharedMmFileNames();

// A read buffer that grows without zero-filling, and without copying or
// touching pages it does not use (realloc moves large blocks with mremap):
// fresh pages are costly on some VMs, and kallsyms alone is megabytes.
class ReadBuffer {
 public:
  ReadBuffer() = default;
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  ~ReadBuffer() { std::free(data_); }
  char* data() { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // False, with the buffer unchanged, when memory runs out.
  bool resize(size_t n) {
    void* p = std::realloc(data_, n);
    if (!p) return false;
    data_ = static_cast<char*>(p);
    size_ = n;
    return true;
  }
  void release() {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

class Walker {
 public:
  explicit Walker(WalkShared& shared);
  Fragment walkTopLevel(int rootFd, const std::string& name, unsigned char dtype, uint32_t fragmentId);

 private:
  void visit(int parentFd, const std::string& name, const std::string& rel, NodeId slot, unsigned char dtype,
             unsigned depth);
  void readFile(int parentFd, const std::string& name, const std::string& rel, NodeId slot);
  bool takeFromProcess(const std::string& name, NodeId slot);
  void walkDirectory(int parentFd, const std::string& name, const std::string& rel, NodeId slot, unsigned depth);
  bool aliasNetns(int parentFd, const std::string& name, const std::string& rel, NodeId slot);
  // Why the entry is left out (option, profile), or nullptr.
  const char* exclusion(const std::string& rel);
  void skip(NodeId slot, Reason reason, std::string_view note);

  WalkShared& shared_;
  Fragment* frag_ = nullptr;
  uint32_t fragmentId_ = 0;
  ReadBuffer buf_;
  std::string exclusionNote_;
  uint64_t startTime_ = 0;  // field 22 of the PID's stat as read during the walk
  struct ProcessFile {
    std::string name;
    Node node;
    BlobRef blob;
  };
  std::vector<ProcessFile> processFiles_;  // PID/maps... of this fragment
};

}  // namespace procsnap
