// RecordExecutables: group processes by the file their exe link opens, then
// hash (and, for files gone from disk, keep) each file once.
#include "executables.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
// SHA256_Init, not EVP: see format/checksum.cpp (EVP keeps 1.8 MiB resident).
#define OPENSSL_API_COMPAT 10101
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "host_facts.h"
#include "reused_threads.h"

namespace procsnap {

namespace {

struct FileRead {
  int error = 0;
  std::string sha256;
  std::optional<std::string> bytes;  // when asked to keep them and they fit
};

// Hashes dirFd/rel, collecting its bytes when `keepMax` > 0 and it fits.
FileRead HashFile(int dirFd, const std::string& rel, uint64_t keepMax) {
  FileRead r;
  int fd = ::openat(dirFd, rel.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.error = errno;
    return r;
  }
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  if (keepMax) r.bytes.emplace();
  std::string buf(64 << 10, '\0');  // pages a recording keeps: 64 KiB reads go as fast
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.error = errno;
      break;
    }
    if (n == 0) break;
    SHA256_Update(&ctx, buf.data(), n);
    if (r.bytes && r.bytes->size() + n <= keepMax) r.bytes->append(buf.data(), n);
    else r.bytes.reset();  // too large to keep: hashed only
  }
  ::close(fd);
  if (r.error) {
    r.bytes.reset();
    return r;
  }
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_Final(md, &ctx);
  r.sha256 = HexOf(md, sizeof md);
  return r;
}

// Why a process's program is no longer on disk under the path its exe link
// shows, or "" when that path still names the same file.
std::string GoneFromDisk(int rootFd, const std::string& pid, const std::string& target, const struct stat& st) {
  if (target.starts_with("/memfd:")) return "in memory only (memfd_create)";
  if (target.ends_with(" (deleted)")) return "deleted from disk after it started";
  if (target.starts_with("/dev/shm/")) return "in a memory file system (/dev/shm), gone at reboot";
  if (!target.starts_with("/")) return "not a file system path";
  struct stat now;
  // Through the process's own root: a container's path means its file system.
  if (::fstatat(rootFd, (pid + "/root" + target).c_str(), &now, 0) != 0) return "no file at its path any more";
  if (now.st_dev != st.st_dev || now.st_ino != st.st_ino) return "its path now names another file";
  return "";
}

std::string Bytes(uint64_t n) { return std::to_string(n) + " bytes"; }

}  // namespace

int FreshProcfs() {
  int result = -ENOSYS;
  std::thread t([&result] {  // its own thread: the namespace goes with it, the mount stays with the fd
    if (::unshare(CLONE_FS | CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      result = -errno;
      return;
    }
    int fd = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    result = fd >= 0 ? fd : -errno;
  });
  t.join();
  return result;
}

std::vector<Executable> RecordExecutables(int rootFd, const Tree& tree, ArchiveWriter& writer,
                                          const ExecutableLimits& limits, const std::vector<Executable>* carried,
                                          const std::set<std::string>& overmounted, int freshFd,
                                          std::vector<std::string>* notes) {
  struct Found {
    Executable exe;
    std::string pid;  // one process to open it through
    int dirFd;        // the procfs to open it through
    struct stat st;
  };
  std::map<std::pair<uint64_t, uint64_t>, Found> byFile;
  auto [lo, hi] = tree.children(0);
  for (NodeId p = lo; p < hi; ++p) {
    std::string pid(tree.str(tree.node(p).name));
    if (!IsNumberName(pid) || tree.node(p).kind != NodeKind::Directory) continue;
    const NodeId link = tree.child(p, "exe");
    // A process under a mount shows that mount's files: its own are read
    // through the fresh procfs.
    const bool hidden = overmounted.count(pid) > 0 && freshFd >= 0;
    const int dirFd = hidden ? freshFd : rootFd;
    std::string target;
    if (hidden) {
      char buf[4096];
      ssize_t n = ::readlinkat(freshFd, (pid + "/exe").c_str(), buf, sizeof buf);
      if (n <= 0) continue;
      target.assign(buf, n);
    } else {
      if (link == kNoNode || tree.node(link).kind != NodeKind::Symlink || tree.node(link).error) continue;
      target = tree.linkTarget(link);
    }
    struct stat st;
    if (::fstatat(dirFd, (pid + "/exe").c_str(), &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;  // exited
    auto [it, added] = byFile.try_emplace({st.st_dev, st.st_ino});
    Found& f = it->second;
    f.exe.pids.push_back(static_cast<uint32_t>(std::strtoul(pid.c_str(), nullptr, 10)));
    if (!added) continue;
    f.pid = pid;
    f.dirFd = dirFd;
    f.st = st;
    f.exe.device = st.st_dev;
    f.exe.inode = st.st_ino;
    f.exe.size = st.st_size;
    f.exe.mtimeNs = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    f.exe.path = target;
    if (hidden)
      notes->push_back("pid " + pid + ": a mount over " + pid + "/ hides its files; its program (" + target +
                       ") was read through a procfs mounted privately");
  }

  std::vector<Executable> out;
  uint64_t notHashed = 0;
  for (auto& [key, f] : byFile) {
    Executable& e = f.exe;
    std::sort(e.pids.begin(), e.pids.end());
    const Executable* before = nullptr;
    if (carried)
      for (const Executable& c : *carried)
        if (c.device == e.device && c.inode == e.inode && c.size == e.size && c.mtimeNs == e.mtimeNs) before = &c;
    if (before && !before->sha256.empty()) {
      e.sha256 = before->sha256;
      e.kept = before->kept;
      e.note = before->note;
      out.push_back(std::move(e));
      continue;
    }
    const std::string gone = GoneFromDisk(f.dirFd, f.pid, e.path, f.st);
    uint64_t keepMax = gone.empty() ? 0 : limits.keepMax;
    if (!gone.empty() && limits.keepMax == 0) e.note = gone + "; bytes not kept: " + limits.keepOff;
    else if (!gone.empty() && e.size > limits.keepMax)
      e.note = gone + "; bytes not kept: " + Bytes(e.size) + ", over the limit of " + Bytes(limits.keepMax);
    const int64_t left = limits.deadlineMonoNs - ClockNs(CLOCK_MONOTONIC);
    if (e.size > limits.hashMax) {
      e.note = "not hashed: " + Bytes(e.size) + ", over the limit of " + Bytes(limits.hashMax);
    } else if (left <= 0) {
      e.note = "not hashed: the " + std::to_string(limits.seconds).substr(0, 4) +
               " s allowed for hashing executables ran out";
    } else {
      auto r = Bounded<FileRead>(std::chrono::nanoseconds(left),
                                 [fd = Dup(f.dirFd), rel = f.pid + "/exe", keepMax] { return HashFile(fd.get(), rel, keepMax); });
      if (!r) {
        e.note = "not hashed: reading it did not return within the time allowed";
      } else if (r->error) {
        e.error = r->error;
      } else {
        e.sha256 = r->sha256;
        if (r->bytes && !r->bytes->empty()) {
          auto ref = writer.putBlob(*r->bytes);
          if (ref.ok()) {
            e.kept = *ref;
            e.note = gone + "; its bytes are kept (procsnap executables ARCHIVE --extract HASH)";
          } else {
            e.note = gone + "; its bytes could not be stored: " + ref.status().message();
          }
        }
      }
    }
    if (e.sha256.empty()) ++notHashed;
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const Executable& a, const Executable& b) { return a.path < b.path; });
  if (notHashed)
    notes->push_back(std::to_string(notHashed) + " of " + std::to_string(out.size()) +
                     " executables were not hashed (each one's note says why)");
  return out;
}

}  // namespace procsnap
