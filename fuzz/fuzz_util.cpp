#include "fuzz_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "diff/diff.h"
#include "report/report.h"
#include "redact/redact.h"
#include "replay/replay.h"
#include "view/view.h"

namespace procsnap::fuzz {

namespace {

// Names a real /proc has, so that generated trees reach the parsers behind
// them (diff reads sys/, net/, PID/stat...).
constexpr const char* kNames[] = {
    "1", "42", "self", "net", "sys", "kernel", "vm", "status", "stat", "cmdline", "environ", "comm", "maps",
    "fd", "task", "ns", "tcp", "tcp6", "udp", "unix", "dev", "snmp", "netstat", "mountinfo", "limits",
    "meminfo", "cpuinfo", "loadavg", "uptime", "version", "hostname", "swappiness", "modules", "exe", "cwd",
};

struct ScratchHolder {
  std::string path;
  ScratchHolder() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/procsnap-fuzz-XXXXXX";
    if (!mkdtemp(templ.data())) std::abort();
    path = templ;
  }
  ~ScratchHolder() { RemoveTree(path); }
};

int ModeOf(const char* path, const struct stat* st, int, struct FTW*) {
  if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))
    FUZZ_CHECK((st->st_mode & 07000) == 0, path);
  return 0;
}

}  // namespace

std::string Input::bytes(size_t max) { return bytes_(max ? u8() % (max + 1) : 0); }

std::string Input::bytes_(size_t len) {
  if (len > n_) len = n_;
  std::string s(reinterpret_cast<const char*>(p_), len);
  p_ += len;
  n_ -= len;
  return s;
}

std::string Input::name() {
  uint8_t pick = u8();
  if (pick < 200) return kNames[pick % (sizeof(kNames) / sizeof(kNames[0]))];
  return bytes(12);
}

const std::string& ScratchDir() {
  static ScratchHolder holder;
  return holder.path;
}

std::string WriteScratch(std::string_view name, std::string_view bytes) {
  std::string path = ScratchDir() + "/" + std::string(name);
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  if (!WriteAll(fd, bytes, path).ok()) std::abort();
  ::close(fd);
  return path;
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

void ReadEverything(const std::string& archive, bool exportTree) {
  auto reader = ArchiveReader::Open(archive);
  if (!reader.ok()) return;
  std::shared_ptr<ArchiveReader> r = *reader;
  std::vector<View> views;
  for (size_t i = 0; i < r->snapshotCount() && i < 4; ++i) {
    auto snap = r->snapshot(i);
    if (!snap.ok()) continue;
    const Snapshot& s = **snap;
    views.emplace_back(r, *snap, i);
    const View& v = views.back();
    for (NodeId id = 0; id < s.nodeCount() && id < 4096; ++id) {
      std::string path = s.path(id);
      (void)v.display(id);
      auto b = s.bytes(id);
      if (b.ok()) FUZZ_CHECK(b->bytes.size() == s.node(id).size || s.node(id).kind != NodeKind::File, "bytes match the recorded size");
      auto resolved = v.resolve(path, true);
      if (resolved.ok()) (void)v.read(*resolved);
      (void)v.suggest(path + "x");
      (void)s.children(id);
      (void)s.lookup(path);
    }
  }
  (void)r->verify();
  for (size_t i = 0; i + 1 < views.size(); ++i) (void)Diff(views[i], views[i + 1]);
  if (views.size() == 1) (void)Diff(views[0], views[0]);
  // The timeline readers and the report: no crash, and no markup from the
  // snapshot (the page's only scripts are its charts' data and its own).
  if (r->snapshotCount() > 0) {
    const size_t last = std::min<size_t>(r->snapshotCount(), 4) - 1;
    (void)Log(r, 0, last);
    (void)Top(r, 0, last, TopOptions{});
    (void)Events(r, 0, last);
    ReportOptions o;
    o.last = o.detailed = last;
    std::string html;
    if (BuildReport(r, o, html).ok()) {
      auto count = [&](std::string_view what) {
        size_t n = 0;
        for (size_t p = html.find(what); p != std::string::npos; p = html.find(what, p + 1)) ++n;
        return n;
      };
      FUZZ_CHECK(count("<script") == count("class=\"chart-data\"") + 1, "no script but the report's own");
    }
  }
  // A snapshot that reads redacts into an archive that reads.
  for (size_t i = 0; i < views.size() && i < 2; ++i) {
    const std::string out = ScratchDir() + "/redacted.psnap";
    ::unlink(out.c_str());
    auto writer = ArchiveWriter::Create(out);
    FUZZ_CHECK(writer.ok(), "scratch archive created");
    RedactOptions options;
    options.key = "fuzzing key, sixteen bytes at least";
    auto meta = RedactSnapshot(*r, views[i].index(), **writer, options);
    const bool finished = (*writer)->finish().ok();
    writer->reset();
    if (meta.ok()) {
      FUZZ_CHECK(finished, "a redacted copy finishes");
      auto copy = ArchiveReader::Open(out);
      FUZZ_CHECK(copy.ok() && (*copy)->snapshot(0).ok(), "a redacted copy reads");
    }
    ::unlink(out.c_str());
  }
  if (!exportTree) return;
  for (const View& v : views) {
    // The target's parent holds nothing else, so a write outside shows.
    std::string parent = ScratchDir() + "/export";
    RemoveTree(parent);
    ::mkdir(parent.c_str(), 0700);
    std::string target = parent + "/tree";
    auto report = Export(v, target);
    (void)report;
    nftw(target.c_str(), ModeOf, 16, FTW_PHYS);
    DIR* d = ::opendir(parent.c_str());
    FUZZ_CHECK(d != nullptr, "export parent still there");
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      FUZZ_CHECK(n == "." || n == ".." || n == "tree", "export wrote only beneath its target");
    }
    ::closedir(d);
    RemoveTree(parent);
  }
}

}  // namespace procsnap::fuzz
