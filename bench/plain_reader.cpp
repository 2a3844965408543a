// The baseline of bench/capture.sh: reads, one after the other and with no
// serialization, every file a procsnap archive says it captured, each alias
// (per-process net/) expanded as a naive walk would read it.
//   plain_reader ARCHIVE [--list] [--concat FILE]
// --list prints the paths instead of reading them; --concat also writes all
// the bytes read, concatenated, to FILE (the input of the zstd baseline).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "view/view.h"

using namespace procsnap;

namespace {

void Collect(const Snapshot& s, NodeId dir, const std::string& path, std::vector<std::string>* out) {
  auto [lo, hi] = s.children(dir);
  for (NodeId c = lo; c < hi; ++c) {
    const Node& n = s.node(c);
    std::string p = path + "/" + std::string(s.name(c));
    if (n.kind == NodeKind::Directory || n.kind == NodeKind::Alias) Collect(s, c, p, out);
    bool read = n.reason == Reason::None || n.reason == Reason::Truncated || n.reason == Reason::Redacted;
    if (n.kind == NodeKind::File && read) out->push_back(p);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: plain_reader ARCHIVE [--list] [--concat FILE]\n");
    return 2;
  }
  bool list = false;
  const char* concat = nullptr;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--list")) list = true;
    else if (!std::strcmp(argv[i], "--concat") && i + 1 < argc) concat = argv[++i];
  }
  auto view = View::Open(argv[1], "-1");
  if (!view.ok()) {
    std::fprintf(stderr, "plain_reader: %s\n", view.status().message().c_str());
    return 2;
  }
  std::vector<std::string> paths;
  Collect(view->snapshot(), 0, view->snapshot().metadata().root, &paths);
  if (list) {
    for (auto& p : paths) std::puts(p.c_str());
    return 0;
  }
  int out = concat ? ::open(concat, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
  std::vector<char> buf(1 << 20);
  uint64_t bytes = 0, files = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto& p : paths) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    ++files;
    for (;;) {
      size_t want = p.rfind("/proc/sys/", 0) == 0 ? 64 * 1024 : buf.size();
      ssize_t n = ::read(fd, buf.data(), want);
      if (n <= 0) break;
      bytes += n;
      if (out >= 0 && ::write(out, buf.data(), n) != n) return 2;
    }
    ::close(fd);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu paths, %llu opened, %llu bytes, %.3f s\n", paths.size(), (unsigned long long)files,
              (unsigned long long)bytes, secs);
  if (out >= 0) ::close(out);
  return 0;
}
