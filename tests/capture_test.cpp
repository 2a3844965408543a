// Capture of the live /proc: a stopped child's files come back byte-exact,
// failures are recorded with their errno, profiles and options do what they say.
#define BOOST_TEST_MODULE capture
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "../capture/walker.h"
#include "capture/capture.h"
#include "format/archive.h"
#include "procfs/procfs.h"
#include "replay/replay.h"
#include "test_util.h"

using namespace procsnap;
using testutil::TempDir;

namespace {

Metadata CaptureProc(const std::string& out, CaptureOptions o = {}) {
  auto w = ArchiveWriter::Create(out);
  BOOST_REQUIRE_MESSAGE(w.ok(), w.status().message());
  auto meta = Capture(o, **w);
  BOOST_REQUIRE_MESSAGE(meta.ok(), meta.status().message());
  BOOST_REQUIRE((*w)->finish().ok());
  return *meta;
}

const std::vector<std::string> kArgv = {CHILD_HELPER, "--threads", "3", "--password=hunter2", "plain-arg"};
const std::vector<std::string> kEnv = {"PROCSNAP_TEST=1", "API_TOKEN=abc123", "EMPTY="};

}  // namespace

BOOST_AUTO_TEST_SUITE(capture)

BOOST_AUTO_TEST_CASE(stopped_child_comes_back_byte_exact) {
  testutil::Child child(kArgv, kEnv);
  TempDir out;
  std::string archive = out / "live.psnap";
  Metadata meta = CaptureProc(archive);
  std::string pid = std::to_string(child.pid());
  std::string live = "/proc/" + pid;

  auto view = View::Open(archive);
  BOOST_REQUIRE(view.ok());
  for (const char* f : {"cmdline", "environ", "status", "stat", "statm", "maps", "limits", "cgroup", "comm"}) {
    auto got = view->read(live + "/" + f);
    BOOST_REQUIRE_MESSAGE(got.ok(), got.status().message());
    BOOST_TEST(*got == testutil::ReadFile(live + "/" + f), "mismatch in " << f);
  }
  // fd links, including the file, the pipe, the eventfd and the socket.
  auto fds = testutil::ListDir(live + "/fd");
  BOOST_REQUIRE(fds.size() >= 6u);
  for (auto& fd : fds) {
    auto node = view->resolve(live + "/fd/" + fd, false);
    BOOST_REQUIRE(node.ok());
    BOOST_TEST(view->snapshot().linkTarget(*node) == testutil::ReadLink(live + "/fd/" + fd));
  }
  // Threads: the same task/ entries with the same names and states.
  auto tasks = testutil::ListDir(live + "/task");
  BOOST_TEST(tasks.size() == 3u);
  auto taskDir = view->resolve(live + "/task", false);
  auto [lo, hi] = view->snapshot().children(*taskDir);
  BOOST_TEST(hi - lo == tasks.size());
  for (auto& tid : tasks)
    for (const char* f : {"comm", "status", "stat"})
      BOOST_TEST(*view->read(live + "/task/" + tid + "/" + f) == testutil::ReadFile(live + "/task/" + tid + "/" + f));
  // /proc/self resolves to the capturing process, and system files match.
  BOOST_TEST(*view->read("/proc/version") == testutil::ReadFile("/proc/version"));
  BOOST_TEST(*view->read("/proc/sys/kernel/ostype") == testutil::ReadFile("/proc/sys/kernel/ostype"));
  BOOST_TEST(view->read("/proc/self/status").ok());
  BOOST_TEST(meta.hostname == testutil::ReadFile("/proc/sys/kernel/hostname").substr(0, meta.hostname.size()));
  BOOST_TEST(meta.counts.files > 1000u);
}

// Polls (1 ms steps, 5 s at most) until every thread of pid shows a state
// in `states`, the leader's in `leaderStates`.
bool WaitForStates(pid_t pid, const std::string& leaderStates, const std::string& states) {
  std::string live = "/proc/" + std::to_string(pid) + "/task/";
  for (int i = 0; i < 5000; ++i) {
    bool all = true;
    for (auto& tid : testutil::ListDir(live)) {
      std::string stat = testutil::ReadFile(live + tid + "/stat");
      size_t close = stat.rfind(')');
      char state = close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
      const std::string& want = tid == std::to_string(pid) ? leaderStates : states;
      all = all && want.find(state) != std::string::npos;
    }
    if (all) return true;
    usleep(1000);
  }
  return false;
}

BOOST_AUTO_TEST_CASE(threads_take_their_process_files_unless_its_leader_is_gone) {
  const char* kShared[] = {"auxv", "cmdline", "environ", "maps", "numa_maps", "smaps", "statm"};
  TempDir out;
  {
    testutil::Child child({CHILD_HELPER, "--threads", "3", "--no-listen"}, kEnv);
    Metadata meta = CaptureProc(out / "a.psnap");
    auto view = View::Open(out / "a.psnap");
    std::string live = "/proc/" + std::to_string(child.pid());
    // smaps and numa_maps are left out of the live comparison: Pss and
    // mapmax move whenever another process maps the same libc pages.
    for (auto& tid : testutil::ListDir(live + "/task"))
      for (const char* f : kShared) {
        std::string path = live + "/task/" + tid + "/" + f;
        auto got = view->read(path);
        BOOST_REQUIRE_MESSAGE(got.ok(), path + ": " + got.status().message());
        BOOST_TEST(!got->empty(), path);
        BOOST_TEST(*got == *view->read(live + "/" + f), path);
        if (std::string(f) != "smaps" && std::string(f) != "numa_maps")
          BOOST_TEST(*got == testutil::ReadFile(path), path);
      }
    bool noted = false;
    for (auto& n : meta.notes) noted = noted || n.find("files under task/TID/") != std::string::npos;
    BOOST_TEST(noted);
  }
  // The leader has exited: /proc/PID/maps reads empty, the threads' do not.
  testutil::Child child({CHILD_HELPER, "--threads", "3", "--no-listen", "--leader-exits"}, kEnv);
  kill(child.pid(), SIGCONT);
  BOOST_REQUIRE(WaitForStates(child.pid(), "Z", "SR"));
  kill(child.pid(), SIGSTOP);
  BOOST_REQUIRE(WaitForStates(child.pid(), "Z", "T"));
  CaptureProc(out / "b.psnap");
  auto view = View::Open(out / "b.psnap");
  std::string live = "/proc/" + std::to_string(child.pid());
  BOOST_TEST(view->read(live + "/maps")->empty());
  size_t threads = 0;
  for (auto& tid : testutil::ListDir(live + "/task")) {
    if (tid == std::to_string(child.pid())) continue;
    ++threads;
    for (const char* f : {"maps", "environ", "cmdline"}) {
      std::string path = live + "/task/" + tid + "/" + f;
      BOOST_TEST(*view->read(path) == testutil::ReadFile(path), path);
      BOOST_TEST(!view->read(path)->empty(), path);
    }
    BOOST_TEST(!view->read(live + "/task/" + tid + "/smaps")->empty());
  }
  BOOST_TEST(threads == 2u);
}

BOOST_AUTO_TEST_CASE(stat_fields_capture_relies_on_are_counted_after_the_command_name) {
  // The start time (22) dates pid reuse; num_threads (20) gates the pid scan.
  auto stat = ParsePidStat("42 (a) b) (c d) S 1 42 42 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 7 0 12345 1000 200", nullptr);
  BOOST_REQUIRE(stat.has_value());
  BOOST_TEST(stat->ppid == 1);
  BOOST_TEST(stat->threads == 7);
  BOOST_TEST(stat->starttime == 12345u);
  BOOST_TEST(!ParsePidStat("no parenthesis 1 2 3", nullptr).has_value());
  // On the live /proc: this process has exactly the threads it lists.
  size_t tasks = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/task")) tasks += !e.path().empty();
  auto self = ParsePidStat(testutil::ReadFile("/proc/self/stat"), nullptr);
  BOOST_REQUIRE(self.has_value());
  BOOST_TEST(size_t(self->threads) == tasks);
}

BOOST_AUTO_TEST_CASE(policy_skips_dangerous_files_but_keeps_their_nodes) {
  TempDir out;
  std::string archive = out / "live.psnap";
  CaptureProc(archive);
  auto view = View::Open(archive);
  for (std::string p : {"/proc/kcore", "/proc/kmsg", "/proc/1/mem", "/proc/sysrq-trigger", "/proc/1/pagemap"}) {
    if (access(p.c_str(), F_OK) != 0) continue;  // kcore is optional in kernel configs
    auto id = view->resolve(p, false);
    BOOST_REQUIRE_MESSAGE(id.ok(), p);
    const Node& n = view->snapshot().node(*id);
    BOOST_TEST((n.reason == Reason::Skipped), p);
    BOOST_TEST(!view->snapshot().note(*id).empty());
    BOOST_TEST(n.size == 0u);
  }
}

BOOST_AUTO_TEST_CASE(unprivileged_capture_records_eacces_where_live_reads_fail) {
  if (geteuid() != 0) {
    std::puts("SKIPPED: needs root to switch to an unprivileged uid");
    return;
  }
  testutil::Child child(kArgv, kEnv);  // owned by root: environ unreadable for nobody
  TempDir out;
  chmod(out.path.c_str(), 0777);
  std::string archive = out / "nobody.psnap";
  int pipefd[2];
  BOOST_REQUIRE(pipe(pipefd) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    auto w = ArchiveWriter::Create(archive);
    if (!w.ok()) _exit(11);
    CaptureOptions o;
    if (!Capture(o, **w).ok() || !(*w)->finish().ok()) _exit(12);
    // Compare, as the same uid, every recorded EACCES on the child with a live read.
    auto view = View::Open(archive);
    if (!view.ok()) _exit(13);
    const Snapshot& s = view->snapshot();
    std::string prefix = std::to_string(child.pid()) + "/";
    unsigned same = 0, differ = 0;
    for (NodeId i = 0; i < s.nodeCount(); ++i) {
      const Node& n = s.node(i);
      std::string rel = s.path(i);
      if (n.error != EACCES || rel.rfind(prefix, 0) != 0) continue;
      std::string live = "/proc/" + rel;
      int err = 0;
      if (n.kind == NodeKind::Symlink) {
        char b[256];
        if (readlink(live.c_str(), b, sizeof b) < 0) err = errno;
      } else {
        int fd = open(live.c_str(), O_RDONLY | O_NONBLOCK);
        if (fd < 0) err = errno;
        else close(fd);
      }
      (err == EACCES ? same : differ)++;
    }
    dprintf(pipefd[1], "%u %u\n", same, differ);
    _exit(0);
  }
  close(pipefd[1]);
  char buf[64] = {};
  ssize_t n = read(pipefd[0], buf, sizeof buf - 1);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status " << status);
  BOOST_REQUIRE(n > 0);
  unsigned same = 0, differ = 0;
  sscanf(buf, "%u %u", &same, &differ);
  BOOST_TEST(same >= 3u);  // environ, fd/*, cwd, exe at least
  BOOST_TEST(differ == 0u);
  auto view = View::Open(archive);
  BOOST_TEST(view->snapshot().metadata().capturerUid == 65534u);
  auto env = view->resolve("/proc/" + std::to_string(child.pid()) + "/environ", false);
  BOOST_TEST(view->snapshot().node(*env).error == EACCES);
}

BOOST_AUTO_TEST_CASE(bugreport_profile_redacts_secrets_and_counts_them) {
  testutil::Child child(kArgv, kEnv);
  TempDir out;
  std::string archive = out / "bug.psnap";
  CaptureOptions o;
  o.profile = Profile::Bugreport;
  Metadata meta = CaptureProc(archive, o);
  auto view = View::Open(archive);
  std::string live = "/proc/" + std::to_string(child.pid());
  std::string env = *view->read(live + "/environ");
  BOOST_TEST(env.find("abc123") == std::string::npos);
  BOOST_TEST(env.find("API_TOKEN=R-") != std::string::npos, env);  // names stay, values become pseudonyms
  const size_t num = env.find("PROCSNAP_TEST=");  // a number stays a number
  BOOST_TEST_REQUIRE(num != std::string::npos);
  const std::string value = env.substr(num + 14, env.find('\0', num) - num - 14);
  BOOST_TEST((value.size() == 9 && value.find_first_not_of("0123456789") == std::string::npos), value);
  std::string cmd = *view->read(live + "/cmdline");
  BOOST_TEST(cmd.find("hunter2") == std::string::npos);
  BOOST_TEST(cmd.find("--password=R-") != std::string::npos);
  BOOST_TEST(cmd.find("plain-arg") != std::string::npos);
  BOOST_TEST(meta.counts.redactions >= 3u);
  BOOST_TEST(meta.profile == "bugreport");
  // Redacted files say so; the unredacted capture taken meanwhile is gone.
  auto node = view->resolve(live + "/environ", false);
  BOOST_TEST((view->snapshot().node(*node).reason == Reason::Redacted));
  // No executable's bytes are kept in a bug report.
  for (const Executable& e : meta.executables) BOOST_TEST(e.kept.size == 0u);
}

BOOST_AUTO_TEST_CASE(bugreport_profile_redacts_a_plain_folder_too) {
  TempDir tree, out;
  std::filesystem::create_directories(tree / "7/task/7");
  testutil::WriteFile(tree / "7/environ", std::string("API_TOKEN=abc123\0HOME=/root\0", 29));
  testutil::WriteFile(tree / "7/cmdline", std::string("db\0--password=hunter2\0", 23));
  testutil::WriteFile(tree / "7/task/7/environ", std::string("API_TOKEN=abc123\0", 17));
  CaptureOptions o;
  o.root = tree.path;
  o.profile = Profile::Bugreport;
  Metadata meta = CaptureProc(out / "bug.psnap", o);
  auto view = View::Open(out / "bug.psnap");
  for (const char* f : {"7/environ", "7/cmdline", "7/task/7/environ"}) {
    BOOST_TEST(view->read(f)->find("abc123") == std::string::npos, f);
    BOOST_TEST(view->read(f)->find("hunter2") == std::string::npos, f);
  }
  BOOST_TEST(meta.counts.redactions >= 3u);
}

BOOST_AUTO_TEST_CASE(tuning_profile_and_options_leave_traces) {
  TempDir out;
  std::string archive = out / "tuning.psnap";
  CaptureOptions o;
  o.profile = Profile::Tuning;
  o.excludes = {"sys/kernel/*"};
  CaptureProc(archive, o);
  auto view = View::Open(archive);
  auto one = view->resolve("/proc/1", false);
  BOOST_REQUIRE(one.ok());
  BOOST_TEST((view->snapshot().node(*one).reason == Reason::Excluded));
  BOOST_TEST(view->read("/proc/sys/vm/swappiness").ok());
  BOOST_TEST(view->read("/proc/meminfo").ok());
  BOOST_TEST(view->read("/proc/net/dev").ok());  // via self/net, kept by the profile
  auto osrel = view->resolve("/proc/sys/kernel/osrelease", false);
  BOOST_TEST((view->snapshot().node(*osrel).reason == Reason::Excluded));
}

BOOST_AUTO_TEST_CASE(no_threads_option_excludes_task_entries) {
  testutil::Child child(kArgv, kEnv);
  TempDir out;
  std::string archive = out / "nothreads.psnap";
  CaptureOptions o;
  o.threads = false;
  CaptureProc(archive, o);
  auto view = View::Open(archive);
  std::string task = "/proc/" + std::to_string(child.pid()) + "/task/" + std::to_string(child.pid());
  auto id = view->resolve(task, false);
  BOOST_REQUIRE(id.ok());
  BOOST_TEST((view->snapshot().node(*id).reason == Reason::Excluded));
}

// The names the read policy guards on a live kernel, as plain files of a
// fixture folder: statfs says it is no procfs, so every one is data.
BOOST_AUTO_TEST_CASE(plain_folder_comes_back_byte_identical_through_export_cat_and_mount) {
  const std::vector<std::string> kNames = {
      "kcore", "kmsg", "1/mem", "1/pagemap", "1/clear_refs", "1/task/1/mem", "sysrq-trigger", "timer_list",
      "kpagecount", "kpageflags", "kpagecgroup", "acpi/event", "sys/vm/drop_caches", "sys/vm/compact_memory",
      "sys/net/ipv4/route/flush", "sys/fs/binfmt_misc/register", "sys/fs/binfmt_misc/status",
      "net/rpc/nfs/channel", "net/rpc/auth.unix.ip/flush", "1/status", "meminfo", "empty"};
  TempDir tmp;
  const std::string root = tmp / "fixture";
  std::map<std::string, std::string> files;
  for (size_t i = 0; i < kNames.size(); ++i) {
    std::string bytes = kNames[i] == "empty" ? "" : kNames[i] + " " + std::to_string(i) + std::string(1, '\0') + "\xff\n";
    if (kNames[i] == "kcore") bytes = std::string(3 << 20, 'k');  // larger than a chunk
    std::filesystem::create_directories(std::filesystem::path(root + "/" + kNames[i]).parent_path());
    testutil::WriteFile(root + "/" + kNames[i], bytes);
    files[kNames[i]] = bytes;
  }
  symlink("1", (root + "/self").c_str());
  const std::string archive = tmp / "fixture.psnap";
  auto cap = testutil::Run({PROCSNAP_BIN, "capture", "-q", "--root", root, "-o", archive});
  BOOST_REQUIRE_MESSAGE(cap.exitCode == 0, cap.err);

  auto view = View::Open(archive);
  BOOST_REQUIRE(view.ok());
  BOOST_TEST(view->snapshot().metadata().counts.skipped == 0u);
  const std::string exported = tmp / "export";
  auto ex = testutil::Run({PROCSNAP_BIN, "export", archive, exported});
  BOOST_REQUIRE_MESSAGE(ex.exitCode == 0, ex.err);
  for (auto& [name, bytes] : files) {
    BOOST_TEST_INFO("file " << name);
    BOOST_TEST((testutil::ReadFile(exported + "/" + name) == bytes));
    auto cat = testutil::Run({PROCSNAP_BIN, "cat", archive, name});
    BOOST_TEST(cat.exitCode == 0);
    BOOST_TEST((cat.out == bytes));
  }
  BOOST_TEST(testutil::ReadLink(exported + "/self") == "1");

  if (!testutil::CanMount()) {
    std::puts("SKIPPED: the mount part needs root and /dev/fuse");
    return;
  }
  for (const char* sizes : {"content", "procfs"}) {
    const std::string mnt = tmp / ("mnt-" + std::string(sizes));
    mkdir(mnt.c_str(), 0755);
    auto m = testutil::Run({PROCSNAP_BIN, "mount", "--sizes", sizes, archive, mnt});
    BOOST_REQUIRE_MESSAGE(m.exitCode == 0, m.err);
    for (auto& [name, bytes] : files) {
      BOOST_TEST_INFO("file " << name << " with --sizes " << sizes);
      BOOST_TEST((testutil::ReadFile(mnt + "/" + name) == bytes));
      struct stat st;
      BOOST_TEST(stat((mnt + "/" + name).c_str(), &st) == 0);
      BOOST_TEST(uint64_t(st.st_size) == bytes.size());  // a folder's stat size is its length either way
    }
    testutil::Run({"/usr/bin/fusermount3", "-u", mnt});
  }
}

// tests/stuck_fs.cpp serves a tree in which 1/cmdline's read and 2/'s
// listing never answer (until the caller is killed, as procfs's waits on a
// stuck process's memory map).
struct StuckFs {
  TempDir dir;
  std::string mnt = dir / "mnt";
  pid_t pid = -1;
  StuckFs() {
    mkdir(mnt.c_str(), 0755);
    int p[2];
    BOOST_REQUIRE(pipe(p) == 0);
    pid = fork();
    if (pid == 0) {
      dup2(p[1], 1);
      close(p[0]);
      execl(STUCK_FS, STUCK_FS, mnt.c_str(), (char*)nullptr);
      _exit(127);
    }
    close(p[1]);
    char line[16] = {};
    BOOST_REQUIRE(read(p[0], line, sizeof line - 1) > 0);  // "ready" once mounted
    close(p[0]);
  }
  ~StuckFs() {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    testutil::Run({"/usr/bin/fusermount3", "-u", "-z", mnt});
  }
};

BOOST_AUTO_TEST_CASE(reads_that_never_return_are_recorded_unread_and_the_capture_ends) {
  if (!testutil::CanMount()) {
    std::puts("SKIPPED: the stuck file system needs root and /dev/fuse");
    return;
  }
  StuckFs fs;
  TempDir out;
  // By the file timeout, and by the time limit with a file timeout longer
  // than the test would wait. `timeout` kills a capture that hangs (124).
  for (std::vector<std::string> bound : {std::vector<std::string>{"--file-timeout", "0.5"},
                                         {"--time-limit", "1", "--file-timeout", "3600"}}) {
    std::string archive = out / ("stuck" + std::to_string(bound.size()) + ".psnap");
    std::vector<std::string> cmd = {"/usr/bin/timeout", "60", PROCSNAP_BIN, "capture", "-q", "--root", fs.mnt, "-o", archive};
    cmd.insert(cmd.end(), bound.begin(), bound.end());
    auto r = testutil::Run(cmd);
    BOOST_TEST_INFO(bound[0]);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, "exit " << r.exitCode << ": " << r.err);
    BOOST_TEST(testutil::Run({PROCSNAP_BIN, "verify", archive}).exitCode == 0);
    auto view = View::Open(archive);
    BOOST_REQUIRE(view.ok());
    const Snapshot& s = view->snapshot();
    for (const char* stuck : {"1/cmdline", "2"}) {
      NodeId id = s.lookup(stuck);
      BOOST_REQUIRE(id != kNoNode);
      BOOST_TEST((s.node(id).reason == Reason::TimeLimit), stuck);
      BOOST_TEST(!s.note(id).empty());
    }
    BOOST_TEST(*view->read("meminfo") == "MemTotal:  1024 kB\n");  // walked first
    // With two walkers stuck, 3/ waits for the time limit, which records it unread.
    NodeId three = s.lookup("3");
    BOOST_REQUIRE(three != kNoNode);
    if (bound[0] == "--file-timeout")
      BOOST_TEST(*view->read("3/status") == "Name:\tthree\n");
    else
      BOOST_TEST((s.node(three).reason == Reason::TimeLimit || view->read("3/status").ok()));
  }
}

// A recording whose reads hang: what is still blocked from an earlier tick
// is not walked again (each walk would leave one more thread blocked), so
// the recorder's threads stay few however long it runs.
BOOST_AUTO_TEST_CASE(a_recording_of_hung_reads_holds_a_bounded_number_of_threads) {
  if (!testutil::CanMount()) {
    std::puts("SKIPPED: the stuck file system needs root and /dev/fuse");
    return;
  }
  StuckFs fs;
  TempDir out;
  const std::string rec = out / "rec";
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(PROCSNAP_BIN, PROCSNAP_BIN, "record", "-q", "--root", fs.mnt.c_str(), "-o", rec.c_str(), "--interval",
          "300ms", "--file-timeout", "0.3", "--count", "14", (char*)nullptr);
    _exit(127);
  }
  // Sampled while it runs (about 4 s): the most threads it ever had.
  long most = 0;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    std::string st = testutil::ReadFile("/proc/" + std::to_string(pid) + "/status");
    size_t at = st.find("\nThreads:");
    if (at != std::string::npos) most = std::max(most, std::strtol(st.c_str() + at + 9, nullptr, 10));
    usleep(50 * 1000);
  }
  BOOST_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Two walks block once (1/cmdline, 2/), then are skipped: a handful, not two per tick.
  BOOST_TEST(most <= 10, most << " threads at most");
  auto view = View::Open(rec, "-1");
  BOOST_REQUIRE(view.ok());
  const Snapshot& s = view->snapshot();
  NodeId two = s.lookup("2");
  BOOST_REQUIRE(two != kNoNode);
  BOOST_TEST((s.node(two).reason == Reason::TimeLimit));
  BOOST_TEST(std::string(s.note(two)).find("still blocked since") != std::string::npos, s.note(two));
  BOOST_TEST(*view->read("meminfo") == "MemTotal:  1024 kB\n");  // the rest is read at every tick
}

BOOST_AUTO_TEST_CASE(sigterm_during_a_capture_finishes_the_archive) {
  if (!testutil::CanMount()) {
    std::puts("SKIPPED: the stuck file system needs root and /dev/fuse");
    return;
  }
  StuckFs fs;  // without a bound, this capture would wait for ever
  TempDir out;
  std::string archive = out / "interrupted.psnap";
  pid_t pid = fork();
  if (pid == 0) {
    execl(PROCSNAP_BIN, PROCSNAP_BIN, "capture", "-q", "--root", fs.mnt.c_str(), "--file-timeout", "3600", "-o",
          archive.c_str(), (char*)nullptr);
    _exit(127);
  }
  // The archive exists once the handlers are in place.
  while (access(archive.c_str(), F_OK) != 0) usleep(1000);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  BOOST_REQUIRE(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 128 + SIGTERM);
  BOOST_TEST(testutil::Run({PROCSNAP_BIN, "verify", archive}).exitCode == 0);
  auto view = View::Open(archive);
  BOOST_REQUIRE(view.ok());
  bool noted = false;
  for (auto& n : view->snapshot().metadata().notes) noted |= n.find("interrupted") != std::string::npos;
  BOOST_TEST(noted);
}

// net/tcp and tcp6 are read without the read() that only finds their end
// (each walks the whole TCP hash table): a table longer than one read
// must still come back whole. 60 listening sockets make ~9 KiB of lines.
BOOST_AUTO_TEST_CASE(tcp_tables_longer_than_one_read_come_back_whole) {
  std::vector<int> fds;
  std::vector<unsigned> ports4, ports6;
  for (int family : {AF_INET, AF_INET6}) {
    for (int i = 0; i < 60; ++i) {
      int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;  // no IPv6 here: tcp alone is checked
      sockaddr_storage ss{};
      socklen_t len;
      if (family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
      } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
      }
      if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 1) != 0 ||
          ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        ::close(fd);
        break;
      }
      fds.push_back(fd);
      unsigned port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                              : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
      (family == AF_INET ? ports4 : ports6).push_back(port);
    }
  }
  BOOST_REQUIRE_EQUAL(ports4.size(), 60u);
  TempDir out;
  CaptureProc(out / "a.psnap");
  auto view = View::Open(out / "a.psnap");
  BOOST_REQUIRE(view.ok());
  for (auto& [file, ports] : {std::pair{"net/tcp", ports4}, std::pair{"net/tcp6", ports6}}) {
    if (ports.empty()) continue;
    auto text = view->read(file);
    BOOST_REQUIRE_MESSAGE(text.ok(), text.status().message());
    BOOST_TEST(text->size() > 8192u, file << " holds " << text->size() << " bytes");
    BOOST_TEST(text->back() == '\n');
    for (unsigned port : ports) {
      char hex[8];
      std::snprintf(hex, sizeof hex, ":%04X ", port);
      BOOST_TEST(text->find(hex) != std::string::npos, file << " lacks port " << port);
    }
  }
  for (int fd : fds) ::close(fd);
}

// A tick of a recording holds one tree through its encoding, not two: the
// carry's tree is given up once the walk has carried from it (with 1,000
// processes each is 20 MB), and the next carry is the tree just written.
BOOST_AUTO_TEST_CASE(a_carry_gives_up_its_tree_once_the_walk_has_carried_from_it) {
  testutil::Child child(kArgv, kEnv);
  TempDir out;
  WriterOptions wo;
  wo.delta = true;
  auto w = ArchiveWriter::Create(out / "a.psnap", wo);
  BOOST_REQUIRE(w.ok());
  CaptureOptions o;
  o.pids = {child.pid()};
  o.executables = false;
  o.light = true;
  Carry first, second;
  o.carryOut = &first;
  BOOST_REQUIRE(Capture(o, **w).ok());
  BOOST_REQUIRE(first.tree.size() > 0);
  o.carry = &first;
  o.carryOut = &second;
  BOOST_REQUIRE(Capture(o, **w).ok());
  BOOST_TEST(first.tree.size() == 0u, "the carry's tree, released after the walk");
  BOOST_TEST(second.tree.size() > 0u);
  BOOST_REQUIRE((*w)->finish().ok());
  auto r = ArchiveReader::Open(out / "a.psnap");
  BOOST_REQUIRE(r.ok());
  auto snap = (*r)->snapshot(1);
  BOOST_REQUIRE(snap.ok());
  const NodeId environ = (*snap)->lookup(std::to_string(child.pid()) + "/environ");
  BOOST_REQUIRE(environ != kNoNode);
  BOOST_TEST(static_cast<int>((*snap)->node(environ).reason) == static_cast<int>(Reason::Carried),
             "carried from the tree it then gave up");
  BOOST_TEST(*(*snap)->read(environ) == testutil::ReadFile("/proc/" + std::to_string(child.pid()) + "/environ"));
}

// A recording's capture in parts (format 5, here two processes a part):
// the snapshot reads back as one tree, each process's net/ an alias of the
// first one of its namespace across parts, and a light capture carries a
// process's files from the packed part it was in.
BOOST_AUTO_TEST_CASE(a_capture_in_parts_reads_back_whole_and_carries_from_its_parts) {
  testutil::Child a(kArgv, kEnv), b(kArgv, kEnv), c(kArgv, kEnv);
  TempDir out;
  WriterOptions wo;
  wo.delta = true;
  auto w = ArchiveWriter::Create(out / "a.psnap", wo);
  BOOST_REQUIRE(w.ok());
  CaptureOptions o;
  o.pids = {a.pid(), b.pid(), c.pid()};  // with the capturer's own pid: four processes, two parts
  o.executables = false;
  o.jobs = 1;
  o.partProcesses = 2;
  o.light = true;
  Carry first, second;
  o.carryOut = &first;
  BOOST_REQUIRE(Capture(o, **w).ok());
  BOOST_TEST(first.parts.size() == 2u);
  o.carry = &first;
  o.carryOut = &second;
  BOOST_REQUIRE(Capture(o, **w).ok());
  BOOST_TEST(first.parts.empty(), "the carry's parts, released after the walk");
  BOOST_REQUIRE((*w)->finish().ok());
  auto r = ArchiveReader::Open(out / "a.psnap");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((*r)->verify().problems.empty());
  for (size_t k = 0; k < 2; ++k) {
    auto snap = (*r)->snapshot(k);
    BOOST_REQUIRE_MESSAGE(snap.ok(), snap.status().message());
    const Snapshot& s = **snap;
    BOOST_TEST(s.nodeCount() == (*r)->summary(k).nodeCount);
    std::vector<NodeId> pidDirs;
    auto [lo, hi] = s.children(0);
    for (NodeId p = lo; p < hi; ++p)
      if (s.name(p).find_first_not_of("0123456789") == std::string_view::npos) pidDirs.push_back(p);
    BOOST_REQUIRE_EQUAL(pidDirs.size(), 4u);
    // One net/ read, the others aliases of it (the last part's across parts).
    const NodeId lastNet = s.child(pidDirs.back(), "net");
    BOOST_REQUIRE(lastNet != kNoNode);
    BOOST_TEST((s.node(lastNet).kind == NodeKind::Alias));
    BOOST_TEST(s.parent(s.parent(s.resolveAlias(lastNet))) == 0u);
    BOOST_TEST(s.resolveAlias(lastNet) != lastNet);
    for (NodeId p : pidDirs) BOOST_TEST(s.child(s.child(p, "net"), "dev") != kNoNode, s.name(p));
    const std::string cp = std::to_string(c.pid());
    const NodeId environ = s.lookup(cp + "/environ");
    BOOST_REQUIRE(environ != kNoNode);
    BOOST_TEST((s.node(environ).reason == (k == 0 ? Reason::None : Reason::Carried)), "snapshot " << k);
    BOOST_TEST(*s.read(environ) == testutil::ReadFile("/proc/" + cp + "/environ"));
    BOOST_TEST(s.read(s.lookup(cp + "/stat"))->find("(" ) != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
