// A FUSE file system whose chosen calls never answer, as reads of a process
// stuck in the kernel do: capture must still end.
//   stuck_fs MOUNTPOINT    prints "ready" once mounted; SIGTERM unmounts.
// Tree: meminfo, 1/status, 1/cmdline (read never answers), 2/ (listing
// never answers), 3/status.
#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Entry {
  fuse_ino_t ino, parent;
  const char* name;
  bool dir;
  std::string content;
  bool stuck;  // read (file) or readdir (directory) never answers
};

const std::vector<Entry> kTree = {
    {1, 1, "", true, "", false},
    {2, 1, "meminfo", false, "MemTotal:  1024 kB\n", false},
    {3, 1, "1", true, "", false},
    {4, 3, "status", false, "Name:\tone\n", false},
    {5, 3, "cmdline", false, "one\0--flag\0", true},
    {6, 1, "2", true, "", true},
    {7, 1, "3", true, "", false},
    {8, 7, "status", false, "Name:\tthree\n", false},
};

// A stuck call answers only when its caller is interrupted by a signal, as
// procfs's reads of a stuck process's memory map do (they wait killably):
// so the capture, once finished, can still exit.
void OnInterrupt(fuse_req_t req, void*) { fuse_reply_err(req, EINTR); }

const Entry* Find(fuse_ino_t ino) {
  for (const Entry& e : kTree)
    if (e.ino == ino) return &e;
  return nullptr;
}

struct stat Attr(const Entry& e) {
  struct stat st{};
  st.st_ino = e.ino;
  st.st_mode = e.dir ? S_IFDIR | 0555 : S_IFREG | 0444;
  st.st_nlink = e.dir ? 2 : 1;
  st.st_size = static_cast<off_t>(e.content.size());
  return st;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  for (const Entry& e : kTree) {
    if (e.ino != 1 && e.parent == parent && std::strcmp(e.name, name) == 0) {
      fuse_entry_param p{};
      p.ino = e.ino;
      p.attr = Attr(e);
      return (void)fuse_reply_entry(req, &p);
    }
  }
  fuse_reply_err(req, ENOENT);
}

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  const Entry* e = Find(ino);
  if (!e) return (void)fuse_reply_err(req, ENOENT);
  struct stat st = Attr(*e);
  fuse_reply_attr(req, &st, 0);
}

void Open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  fi->direct_io = 1;
  fuse_reply_open(req, fi);
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  const Entry* e = Find(ino);
  if (!e) return (void)fuse_reply_err(req, ENOENT);
  if (e->stuck) return (void)fuse_req_interrupt_func(req, OnInterrupt, nullptr);  // never answered
  if (size_t(off) >= e->content.size()) return (void)fuse_reply_buf(req, nullptr, 0);
  fuse_reply_buf(req, e->content.data() + off, std::min(size, e->content.size() - off));
}

void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  const Entry* dir = Find(ino);
  if (!dir) return (void)fuse_reply_err(req, ENOENT);
  if (dir->stuck) return (void)fuse_req_interrupt_func(req, OnInterrupt, nullptr);  // never answered
  std::vector<char> buf(size);
  size_t used = 0;
  off_t k = 0;
  for (const Entry& e : kTree) {
    if (e.ino == 1 || e.parent != ino) continue;
    if (++k <= off) continue;
    struct stat st = Attr(e);
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, e.name, &st, k);
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: stuck_fs MOUNTPOINT\n");
    return 2;
  }
  fuse_lowlevel_ops ops{};
  ops.lookup = Lookup;
  ops.getattr = Getattr;
  ops.open = Open;
  ops.read = Read;
  ops.readdir = Readdir;
  char name[] = "stuck_fs";
  char* args[] = {name};
  fuse_args fargs = FUSE_ARGS_INIT(1, args);
  fuse_session* se = fuse_session_new(&fargs, &ops, sizeof ops, nullptr);
  if (!se || fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, argv[1]) != 0) return 1;
  std::printf("ready 0\n");
  std::fflush(stdout);
  int rc = fuse_session_loop(se);
  fuse_remove_signal_handlers(se);
  fuse_session_unmount(se);
  fuse_session_destroy(se);
  return rc == 0 ? 0 : 1;
}
