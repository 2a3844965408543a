// Replay with the real tools: stopped children with known state are
// captured, then ps, lsof, netstat, sysctl, cat and psutil must say on the
// replay (procsnap run, a mount, an export) what they say live.
#define BOOST_TEST_MODULE replay
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

#include "format/archive.h"
#include "replay/replay.h"
#include "test_util.h"

using namespace procsnap;
using testutil::Run;
using testutil::TempDir;

namespace {

// Why replay cannot be tested here, or "" if it can.
std::string MissingPrerequisite() {
  if (!testutil::CanMount()) return "not root or no usable /dev/fuse (procsnap run needs both)";
  for (const char* tool : {"/usr/bin/fusermount3", "/usr/bin/ps", "/usr/bin/lsof", "/usr/bin/netstat",
                           "/usr/sbin/sysctl", "/usr/bin/pstree", "/usr/bin/python3"})
    if (access(tool, X_OK) != 0) return std::string(tool) + " is not installed (scripts/setup.sh installs it)";
  if (Run({"/usr/bin/python3", "-c", "import psutil"}).exitCode != 0) return "python3-psutil is not installed";
  return "";
}

testutil::RunResult Sh(const std::string& cmd) { return Run({"/bin/sh", "-c", cmd}); }

// Two stopped children, one capture, its export and its mount, shared by
// every test of the suite; unmounted when the suite ends.
struct Replay {
  TempDir dir;
  std::unique_ptr<testutil::Child> a, b;
  std::string archive, exported, mounted, pids;

  Replay() {
    a = std::make_unique<testutil::Child>(
        std::vector<std::string>{CHILD_HELPER, "--threads", "2", "first child"},
        std::vector<std::string>{"PROCSNAP_REPLAY=a", "LANG=C"});
    b = std::make_unique<testutil::Child>(std::vector<std::string>{CHILD_HELPER, "--threads", "2", "--no-listen"},
                                          std::vector<std::string>{"PROCSNAP_REPLAY=b"});
    pids = std::to_string(a->pid()) + "," + std::to_string(b->pid());
    archive = dir / "live.psnap";
    exported = dir / "export";
    mounted = dir / "mnt";
    auto cap = Run({PROCSNAP_BIN, "capture", "-o", archive});
    BOOST_REQUIRE_MESSAGE(cap.exitCode == 0, cap.err);
    auto ex = Run({PROCSNAP_BIN, "export", archive, exported});
    BOOST_REQUIRE_MESSAGE(ex.exitCode == 0, ex.err);
    mkdir(mounted.c_str(), 0755);
    chmod(dir.path.c_str(), 0755);  // so that other users can reach the mount
    auto mnt = Run({PROCSNAP_BIN, "mount", archive, mounted});
    BOOST_REQUIRE_MESSAGE(mnt.exitCode == 0, mnt.err);
  }
  ~Replay() { Run({"/usr/bin/fusermount3", "-u", mounted}); }

  testutil::RunResult inRun(const std::string& cmd) const {
    return Run({PROCSNAP_BIN, "run", archive, "--", "/bin/sh", "-c", cmd});
  }
};

Replay* Shared() {
  static std::string missing = MissingPrerequisite();
  if (!missing.empty()) {
    BOOST_TEST_MESSAGE("SKIPPED: " << missing);
    std::printf("SKIPPED: %s\n", missing.c_str());
    return nullptr;
  }
  static Replay replay;
  return &replay;
}

// The same command live and on the replay must print the same thing.
void SameOutput(const Replay& r, const std::string& cmd, const std::function<std::string(std::string)>& norm = {}) {
  auto live = Sh(cmd);
  auto replay = r.inRun(cmd);
  BOOST_TEST_INFO("command: " << cmd << "\nreplay stderr: " << replay.err);
  BOOST_TEST(live.exitCode == 0);
  BOOST_TEST(replay.exitCode == live.exitCode);
  BOOST_TEST(!live.out.empty());
  if (norm)
    BOOST_TEST(norm(replay.out) == norm(live.out));
  else
    BOOST_TEST(replay.out == live.out);
}

// lsof through FUSE: st_dev of what a magic link names is the mount's own
// device, and anonymous inodes have no type FUSE can report. Those two
// fields are the only ones left out of the comparison.
std::string NormalizeLsof(std::string text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string x; fields >> x;) f.push_back(x);
    if (f.size() > 4 && (f[4] == "a_inode" || line.find("anon_inode") != std::string::npos)) continue;
    if (f.size() > 5 && f[4] == "FIFO") f[5] = "<pipefs>";
    for (auto& x : f) out += x + " ";
    out += "\n";
  }
  return out;
}

const char* kTunables[] = {
    "kernel.ostype",      "kernel.osrelease", "kernel.pid_max",      "kernel.threads-max", "kernel.shmmax",
    "kernel.shmall",      "kernel.shmmni",    "kernel.msgmax",       "kernel.msgmnb",      "kernel.msgmni",
    "kernel.sem",         "kernel.panic",     "vm.swappiness",       "vm.overcommit_memory",
    "vm.overcommit_ratio", "vm.max_map_count", "fs.file-max",        "fs.nr_open",         "net.core.somaxconn",
    "net.ipv4.ip_local_port_range",
};

}  // namespace

BOOST_AUTO_TEST_SUITE(replay)

BOOST_AUTO_TEST_CASE(ps_ls_cat_sysctl_netstat_say_what_they_said_live) {
  Replay* r = Shared();
  if (!r) return;
  SameOutput(*r, "ps -o pid,ppid,stat,nlwp,rss,vsz,args -p " + r->pids);
  for (pid_t pid : {r->a->pid(), r->b->pid()}) {
    std::string p = "/proc/" + std::to_string(pid);
    SameOutput(*r, "ls -l --time-style=+ " + p + "/fd");
    for (const char* f : {"stat", "maps", "limits", "cgroup"}) SameOutput(*r, "cat " + p + "/" + f);
    // SigQ counts the signals queued for the whole user, not this process:
    // it moves with whatever else root runs between capture and comparison.
    SameOutput(*r, "cat " + p + "/status", [](std::string s) {
      size_t q = s.find("\nSigQ:");
      if (q != std::string::npos) s.erase(q, s.find('\n', q + 1) - q);
      return s;
    });
  }
  std::string tunables;
  for (const char* t : kTunables) tunables += std::string(" ") + t;
  SameOutput(*r, "sysctl" + tunables);
  SameOutput(*r, "netstat -tlnp | grep -E ' (" + std::to_string(r->a->pid()) + "|" + std::to_string(r->b->pid()) +
                     ")/'");
}

BOOST_AUTO_TEST_CASE(lsof_lists_the_same_open_files) {
  Replay* r = Shared();
  if (!r) return;
  SameOutput(*r, "lsof -p " + r->pids, NormalizeLsof);
  // The checks above would pass on two empty lists: the listener is there.
  auto replay = r->inRun("lsof -p " + r->pids);
  BOOST_TEST(replay.out.find("(LISTEN)") != std::string::npos);
  BOOST_TEST(replay.out.find("/etc/hostname") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(top_free_vmstat_uptime_pstree_pgrep_run_and_show_the_capture) {
  Replay* r = Shared();
  if (!r) return;
  std::string a = std::to_string(r->a->pid()), b = std::to_string(r->b->pid());
  auto top = r->inRun("top -b -n 1 -w 200");
  BOOST_TEST(top.exitCode == 0, top.err);
  BOOST_TEST(top.out.find("child_helper") != std::string::npos);
  for (const char* cmd : {"free", "vmstat", "uptime"}) {
    auto res = r->inRun(cmd);
    BOOST_TEST(res.exitCode == 0, cmd << ": " << res.err);
    BOOST_TEST(!res.out.empty());
  }
  // free reads the captured meminfo, not this machine's.
  auto free = r->inRun("free -b | awk '/^Mem:/ {print $2}'");
  auto view = View::Open(r->archive);
  BOOST_REQUIRE(view.ok());
  std::string meminfo = *view->read("meminfo");
  unsigned long long totalKb = std::stoull(meminfo.substr(meminfo.find_first_of("0123456789")));
  BOOST_TEST(std::stoull(free.out) == totalKb * 1024);
  auto tree = r->inRun("pstree -p -l");
  BOOST_TEST(tree.exitCode == 0, tree.err);
  BOOST_TEST(tree.out.find("child_helper(" + a + ")") != std::string::npos);
  auto pgrep = r->inRun("pgrep -f child_helper");
  BOOST_TEST(pgrep.exitCode == 0, pgrep.err);
  BOOST_TEST(pgrep.out.find(a + "\n") != std::string::npos);
  BOOST_TEST(pgrep.out.find(b + "\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(psutil_reads_export_and_mount_as_it_read_live) {
  Replay* r = Shared();
  if (!r) return;
  std::string a = std::to_string(r->a->pid()), b = std::to_string(r->b->pid());
  auto probe = [&](const std::string& procfs) { return Run({"/usr/bin/python3", PSUTIL_PROBE, procfs, a, b}); };
  auto live = probe("-");
  BOOST_REQUIRE_MESSAGE(live.exitCode == 0, live.err);
  BOOST_TEST(live.out.find("\"stopped\"") != std::string::npos);
  BOOST_TEST(live.out.find("127.0.0.1") != std::string::npos);
  for (const std::string& procfs : {r->exported, r->mounted}) {
    auto got = probe(procfs);
    BOOST_TEST_INFO("PROCFS_PATH=" << procfs << "\n" << got.err);
    BOOST_TEST(got.exitCode == 0);
    BOOST_TEST(got.out == live.out);
  }
}

BOOST_AUTO_TEST_CASE(mount_refuses_writes_with_erofs) {
  Replay* r = Shared();
  if (!r) return;
  std::string version = r->mounted + "/version";
  BOOST_TEST(open(version.c_str(), O_WRONLY) == -1);
  BOOST_TEST(errno == EROFS);
  BOOST_TEST(open((r->mounted + "/new-file").c_str(), O_WRONLY | O_CREAT, 0644) == -1);
  BOOST_TEST(errno == EROFS);
  BOOST_TEST(mkdir((r->mounted + "/new-dir").c_str(), 0755) == -1);
  BOOST_TEST(errno == EROFS);
  BOOST_TEST(unlink(version.c_str()) == -1);
  BOOST_TEST(errno == EROFS);
  BOOST_TEST(chmod(version.c_str(), 0777) == -1);
  BOOST_TEST(errno == EROFS);
}

BOOST_AUTO_TEST_CASE(mount_answers_with_recorded_sizes_bytes_and_errors) {
  Replay* r = Shared();
  if (!r) return;
  auto view = View::Open(r->archive);
  BOOST_REQUIRE(view.ok());
  // By default a file reports its content length, and its bytes come
  // through the page cache; --sizes procfs reports procfs's 0 and still
  // delivers every byte.
  struct stat st;
  BOOST_REQUIRE(stat((r->mounted + "/version").c_str(), &st) == 0);
  BOOST_TEST(uint64_t(st.st_size) == view->read("version")->size());
  BOOST_TEST(testutil::ReadFile(r->mounted + "/version") == *view->read("version"));
  BOOST_TEST(testutil::ReadFile(r->mounted + "/version") == *view->read("version"));  // now from the cache
  {
    TempDir tmp;
    std::string procfsSizes = tmp / "mnt";
    mkdir(procfsSizes.c_str(), 0755);
    auto mnt = Run({PROCSNAP_BIN, "mount", "--sizes", "procfs", r->archive, procfsSizes});
    BOOST_REQUIRE_MESSAGE(mnt.exitCode == 0, mnt.err);
    BOOST_REQUIRE(stat((procfsSizes + "/version").c_str(), &st) == 0);
    BOOST_TEST(st.st_size == 0);
    BOOST_TEST(testutil::ReadFile(procfsSizes + "/version") == *view->read("version"));
    Run({"/usr/bin/fusermount3", "-u", procfsSizes});
  }
  // Owner and mode as recorded.
  std::string fdDir = r->mounted + "/" + std::to_string(r->a->pid()) + "/fd";
  BOOST_REQUIRE(stat(fdDir.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0500u);
  // A file whose read failed at capture never reads as content: by default
  // (the kernel opens every file itself) it is a link whose reading fails
  // with the errno, so open() and stat() fail with it; with --open-errors
  // open, open() of the regular file does, as on the machine.
  const Snapshot& s = view->snapshot();
  TempDir tmp;
  const std::string atOpen = tmp / "mnt";
  mkdir(atOpen.c_str(), 0755);
  auto mntOpen = Run({PROCSNAP_BIN, "mount", "--open-errors", "open", r->archive, atOpen});
  BOOST_REQUIRE_MESSAGE(mntOpen.exitCode == 0, mntOpen.err);
  int checked = 0;
  for (NodeId i = 0; i < s.nodeCount() && checked < 20; ++i) {
    const Node& n = s.node(i);
    if (n.kind != NodeKind::File || !n.error || n.size || n.reason != Reason::None) continue;
    BOOST_TEST_INFO(s.path(i));
    std::string path = r->mounted + "/" + s.path(i);
    errno = 0;
    int fd = open(path.c_str(), O_RDONLY);
    BOOST_TEST(fd == -1);
    BOOST_TEST(errno == n.error);
    if (fd >= 0) close(fd);
    errno = 0;
    BOOST_TEST(stat(path.c_str(), &st) == -1);
    BOOST_TEST(errno == n.error);
    errno = 0;
    fd = open((atOpen + "/" + s.path(i)).c_str(), O_RDONLY);
    BOOST_TEST(fd == -1);
    BOOST_TEST(errno == n.error);
    if (fd >= 0) close(fd);
    ++checked;
  }
  Run({"/usr/bin/fusermount3", "-u", atOpen});
  BOOST_TEST(checked > 0);  // attr/current and stable_secret fail on every machine
}

BOOST_AUTO_TEST_CASE(mount_serves_eight_readers_walking_everything_at_once) {
  Replay* r = Shared();
  if (!r) return;
  struct Totals {
    uint64_t files = 0, bytes = 0, errors = 0;
    bool operator==(const Totals&) const = default;
  };
  std::function<void(const std::string&, Totals&)> walk = [&](const std::string& dir, Totals& t) {
    for (const std::string& name : testutil::ListDir(dir)) {
      std::string path = dir + "/" + name;
      struct stat st;
      if (lstat(path.c_str(), &st) != 0) {
        ++t.errors;
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        walk(path, t);
      } else if (S_ISREG(st.st_mode)) {
        int fd = open(path.c_str(), O_RDONLY);
        if (fd < 0) {
          ++t.errors;
          continue;
        }
        char buf[65536];
        for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) t.bytes += n;
        close(fd);
        ++t.files;
      }
    }
  };
  Totals alone;
  walk(r->mounted, alone);
  BOOST_TEST(alone.files > 1000u);
  std::vector<Totals> each(8);
  std::vector<std::thread> readers;
  for (auto& t : each) readers.emplace_back([&, dest = &t] { walk(r->mounted, *dest); });
  for (auto& t : readers) t.join();
  for (const Totals& t : each) {
    BOOST_TEST(t.files == alone.files);
    BOOST_TEST(t.bytes == alone.bytes);
    BOOST_TEST(t.errors == alone.errors);
  }
}

// An unprivileged uid with no entry in /etc/passwd: nothing of the machine
// grants it anything.
constexpr int kUser = 4242;

// Without root, run makes a user namespace of its own: the command runs as
// its user, and ps says what it says for root.
BOOST_AUTO_TEST_CASE(run_without_root_shows_what_root_sees) {
  Replay* r = Shared();
  if (!r) return;
  if (!testutil::FuseOpenToUsers()) return;
  TempDir tmp;
  const std::string bin = testutil::ReachableCopy(PROCSNAP_BIN, tmp);
  const std::string archive = testutil::ReachableCopy(r->archive, tmp);
  auto asRoot = Run({bin, "run", archive, "--", "ps", "aux"});
  BOOST_REQUIRE_MESSAGE(asRoot.exitCode == 0, asRoot.err);
  auto asUser = Run({bin, "run", archive, "--", "ps", "aux"}, "", kUser);
  if (asUser.exitCode != 0 && asUser.err.find("user.max_user_namespaces") != std::string::npos) {
    BOOST_TEST_MESSAGE("SKIPPED: this kernel forbids user namespaces to unprivileged users: " << asUser.err);
    std::printf("SKIPPED: no unprivileged user namespaces\n");
    return;
  }
  BOOST_REQUIRE_MESSAGE(asUser.exitCode == 0, asUser.err);
  BOOST_TEST(asUser.out == asRoot.out);
  BOOST_TEST(asUser.out.find(std::to_string(r->a->pid())) != std::string::npos);
  auto id = Run({bin, "run", archive, "--", "id", "-u"}, "", kUser);
  BOOST_TEST(id.out == std::to_string(kUser) + "\n", "the command runs as its user, not as root: " << id.out);
  // And it gets no more than that user would: root's environ stays closed.
  auto environ = Run({bin, "run", archive, "--", "cat", "/proc/" + std::to_string(r->a->pid()) + "/environ"}, "",
                     kUser);
  BOOST_TEST(environ.exitCode != 0);
  BOOST_TEST(environ.out.find("PROCSNAP_REPLAY") == std::string::npos);
}

// Where the kernel forbids user namespaces, the message names the setting.
// Set to 0 inside a user namespace of the test's own (a limit of that
// namespace only), so the machine's setting is left alone.
BOOST_AUTO_TEST_CASE(run_without_root_names_the_kernel_setting_that_forbids_it) {
  Replay* r = Shared();
  if (!r) return;
  TempDir tmp;
  const std::string bin = testutil::ReachableCopy(PROCSNAP_BIN, tmp);
  const std::string archive = testutil::ReachableCopy(r->archive, tmp);
  int errFd = open((tmp / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(errFd >= 0);
  // The child's id maps are written from here: only a writer with
  // CAP_SETUID outside the namespace may map more ids than its own.
  int ready[2], mapped[2];
  BOOST_REQUIRE(pipe(ready) == 0 && pipe(mapped) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(errFd, 2);
    char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1 || c != 'y' || read(mapped[0], &c, 1) != 1 || c != 'y') _exit(90);
    int fd = open("/proc/sys/user/max_user_namespaces", O_WRONLY);
    if (fd < 0 || write(fd, "0", 1) != 1 || close(fd) != 0) _exit(92);
    if (setgroups(0, nullptr) != 0 || setgid(kUser) != 0 || setuid(kUser) != 0) _exit(93);
    execl(bin.c_str(), bin.c_str(), "run", archive.c_str(), "--", "/bin/true", (char*)nullptr);
    _exit(94);
  }
  close(errFd);
  char c = 'n';
  if (read(ready[0], &c, 1) == 1 && c == 'y') {
    const std::string proc = "/proc/" + std::to_string(pid);
    testutil::WriteFile(proc + "/uid_map", "0 0 65536");
    testutil::WriteFile(proc + "/gid_map", "0 0 65536");
    c = testutil::ReadFile(proc + "/gid_map").find("65536") != std::string::npos ? 'y' : 'n';
  }
  BOOST_REQUIRE(write(mapped[1], &c, 1) == 1);
  for (int fd : {ready[0], ready[1], mapped[0], mapped[1]}) close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  BOOST_REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) >= 90 && WEXITSTATUS(status) <= 92) {
    BOOST_TEST_MESSAGE("SKIPPED: cannot limit user namespaces in a namespace of the test's own (step "
                       << WEXITSTATUS(status) - 90 << ")");
    std::printf("SKIPPED: cannot limit user namespaces here\n");
    return;
  }
  const std::string err = testutil::ReadFile(tmp / "err");
  BOOST_TEST(WEXITSTATUS(status) == 125, "exit status 93: cannot change uid; 94: cannot execute " << bin);
  BOOST_TEST(err.find("user.max_user_namespaces") != std::string::npos, err);
  BOOST_TEST(err.find("kernel.unprivileged_userns_clone") != std::string::npos, err);
}

// A user mounts through fusermount3 (setuid root) and unmounts likewise;
// fusermount3 wants a user name, so this is nobody.
BOOST_AUTO_TEST_CASE(mount_without_root_goes_through_fusermount3) {
  constexpr int kUser = 65534;
  Replay* r = Shared();
  if (!r) return;
  if (!testutil::FuseOpenToUsers()) return;
  TempDir tmp;
  const std::string bin = testutil::ReachableCopy(PROCSNAP_BIN, tmp);
  const std::string archive = testutil::ReachableCopy(r->archive, tmp);
  const std::string dir = tmp / "mnt";
  BOOST_REQUIRE(mkdir(dir.c_str(), 0755) == 0 && chown(dir.c_str(), kUser, kUser) == 0);
  auto mounted = Run({bin, "mount", archive, dir}, "", kUser);
  BOOST_REQUIRE_MESSAGE(mounted.exitCode == 0, mounted.err);
  auto loadavg = Run({"/bin/cat", dir + "/loadavg"}, "", kUser);
  auto recorded = Run({bin, "cat", archive, "loadavg"});
  auto unmounted = Run({"/usr/bin/fusermount3", "-u", dir}, "", kUser);
  BOOST_TEST(loadavg.exitCode == 0, loadavg.err);
  BOOST_TEST(loadavg.out == recorded.out);
  BOOST_TEST(unmounted.exitCode == 0, unmounted.err);
  struct stat st;
  BOOST_TEST((stat((dir + "/loadavg").c_str(), &st) != 0 && errno == ENOENT), "still mounted after fusermount3 -u");
}

// Where no udev opened /dev/fuse to users (it stays 0600), a mount without
// root says so and how to mend it, not only libfuse's bare EACCES. A 0600
// node is bound over /dev/fuse in a mount namespace of the test's own.
BOOST_AUTO_TEST_CASE(mount_without_root_names_a_dev_fuse_closed_to_users) {
  constexpr int kUser = 65534;
  Replay* r = Shared();
  if (!r) return;
  TempDir tmp;
  const std::string bin = testutil::ReachableCopy(PROCSNAP_BIN, tmp);
  const std::string archive = testutil::ReachableCopy(r->archive, tmp);
  const std::string dir = tmp / "mnt";
  BOOST_REQUIRE(mkdir(dir.c_str(), 0755) == 0 && chown(dir.c_str(), kUser, kUser) == 0);
  const std::string node = tmp / "fuse";
  BOOST_REQUIRE(mknod(node.c_str(), S_IFCHR | 0600, makedev(10, 229)) == 0);
  BOOST_REQUIRE(chmod(node.c_str(), 0600) == 0);  // whatever the umask
  int errFd = open((tmp / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(errFd >= 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(errFd, 2);
    if (unshare(CLONE_NEWNS) != 0) _exit(90);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(91);
    if (mount(node.c_str(), "/dev/fuse", nullptr, MS_BIND, nullptr) != 0) _exit(92);
    if (setgroups(0, nullptr) != 0 || setgid(kUser) != 0 || setuid(kUser) != 0) _exit(93);
    execl(bin.c_str(), bin.c_str(), "mount", archive.c_str(), dir.c_str(), (char*)nullptr);
    _exit(94);
  }
  close(errFd);
  int status = 0;
  waitpid(pid, &status, 0);
  BOOST_REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) >= 90 && WEXITSTATUS(status) <= 92) {
    std::printf("SKIPPED: cannot bind a node over /dev/fuse in a mount namespace (step %d)\n",
                WEXITSTATUS(status) - 90);
    return;
  }
  const std::string err = testutil::ReadFile(tmp / "err");
  BOOST_TEST(WEXITSTATUS(status) != 0);
  BOOST_TEST(WEXITSTATUS(status) < 93, "exit status 93: cannot change uid; 94: cannot execute " << bin);
  BOOST_TEST(err.find("/dev/fuse (mode 0600) is not open to this user") != std::string::npos, err);
  BOOST_TEST(err.find("chmod 0666 /dev/fuse") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(other_users_can_read_a_mount_made_by_root) {
  Replay* r = Shared();
  if (!r) return;
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(99);
    int fd = open((r->mounted + "/version").c_str(), O_RDONLY);
    char c;
    _exit(fd >= 0 && read(fd, &c, 1) == 1 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

// Runs `check` as nobody in a child; its exit status (99: no setuid).
int AsNobody(const std::function<int()>& check) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(99);
    _exit(check());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
}

// procfs shows maps, smaps, numa_maps and wchan 0444 but opens them only
// for a reader allowed to ptrace the process, and checks exe, cwd, root
// and ns/* at readlink: a mount and an export guard them as well.
BOOST_AUTO_TEST_CASE(a_replay_shows_another_user_no_more_than_procfs_would) {
  Replay* r = Shared();
  if (!r) return;
  const std::string pid = std::to_string(r->a->pid());  // owned by root
  for (const char* f : {"/maps", "/smaps", "/smaps_rollup", "/numa_maps", "/wchan"}) {
    const std::string live = "/proc/" + pid + f, mounted = r->mounted + "/" + pid + f;
    auto opens = [](const std::string& path) {
      return [path] {
        int fd = open(path.c_str(), O_RDONLY);
        char c;
        if (fd < 0) return errno == EACCES ? 1 : 2;
        return read(fd, &c, 1) < 0 && errno == EACCES ? 1 : 0;  // procfs may check at read
      };
    };
    if (AsNobody(opens(live)) != 1) continue;  // not guarded on this kernel: nothing to compare
    BOOST_TEST(AsNobody(opens(mounted)) == 1, f << " was readable through the mount");
    struct stat st;
    BOOST_REQUIRE(stat((r->exported + "/" + pid + f).c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 077) == 0u, f << " exported with mode " << std::oct << (st.st_mode & 0777));
    BOOST_TEST(AsNobody(opens(r->mounted + "/" + pid + "/status")) == 0);  // a public file stays public
  }
  for (const char* l : {"/exe", "/cwd", "/root", "/ns/net"}) {
    auto reads = [](const std::string& path) {
      return [path] {
        char buf[256];
        return readlink(path.c_str(), buf, sizeof buf) < 0 && errno == EACCES ? 1 : 0;
      };
    };
    BOOST_REQUIRE(AsNobody(reads("/proc/" + pid + l)) == 1);
    BOOST_TEST(AsNobody(reads(r->mounted + "/" + pid + l)) == 1, l << " was readable through the mount");
  }
  // Root reads them all, as live.
  BOOST_TEST(testutil::ReadFile(r->mounted + "/" + pid + "/maps").size() > 0u);
}

// The caller's own /proc/PID is served live, but only to that process:
// a directory it opened, handed to another process (as one outliving it
// would be, its pid then reused by root's), opens nothing for that one.
BOOST_AUTO_TEST_CASE(a_live_directory_answers_only_its_own_process) {
  Replay* r = Shared();
  if (!r) return;
  int result[2];
  BOOST_REQUIRE(pipe(result) == 0);
  const int status = AsNobody([&] {
    const std::string own = r->mounted + "/" + std::to_string(getpid());
    int dir = open(own.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir < 0) return 3;
    int mine = openat(dir, "maps", O_RDONLY);
    if (mine < 0) return 4;  // its own maps: allowed
    pid_t other = fork();
    if (other == 0) {  // another process holding the directory
      int fd = openat(dir, "maps", O_RDONLY);
      char verdict = fd < 0 && errno == EACCES ? 'y' : 'n';
      if (write(result[1], &verdict, 1) != 1) _exit(1);
      _exit(0);
    }
    int st = 0;
    waitpid(other, &st, 0);
    return 0;
  });
  BOOST_REQUIRE(status == 0);
  char verdict = '?';
  BOOST_REQUIRE(read(result[0], &verdict, 1) == 1);
  BOOST_TEST(verdict == 'y', "another process opened the caller's live maps");
  close(result[0]);
  close(result[1]);
}

BOOST_AUTO_TEST_CASE(foreground_mount_ends_cleanly_on_ctrl_c) {
  Replay* r = Shared();
  if (!r) return;
  TempDir tmp;
  std::string dir = tmp / "mnt";
  mkdir(dir.c_str(), 0755);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    execl(PROCSNAP_BIN, PROCSNAP_BIN, "mount", "--foreground", r->archive.c_str(), dir.c_str(), (char*)nullptr);
    _exit(98);
  }
  // Poll until the mount answers with the snapshot.
  std::string version;
  for (int i = 0; i < 5000 && version.empty(); ++i) {
    version = testutil::ReadFile(dir + "/version");
    if (version.empty()) usleep(1000);
  }
  BOOST_TEST(!version.empty());
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  BOOST_TEST(testutil::ListDir(dir).empty());  // unmounted: the empty directory again
}

BOOST_AUTO_TEST_CASE(run_exits_with_the_command_status) {
  Replay* r = Shared();
  if (!r) return;
  BOOST_TEST(r->inRun("exit 7").exitCode == 7);
  auto missing = Run({PROCSNAP_BIN, "run", r->archive, "--", "/no/such/command"});
  BOOST_TEST(missing.exitCode == 127);
  BOOST_TEST(missing.err.find("/no/such/command") != std::string::npos);
  // Without "--", everything after ARCHIVE is the command, options included.
  auto ps = Run({PROCSNAP_BIN, "run", r->archive, "ps", "-o", "pid=", "-p", std::to_string(r->a->pid())});
  BOOST_TEST(ps.exitCode == 0, ps.err);
  BOOST_TEST(std::stoi(ps.out) == r->a->pid());
}

BOOST_AUTO_TEST_CASE(run_returns_while_a_descendant_still_holds_a_file_open) {
  Replay* r = Shared();
  if (!r) return;
  TempDir tmp;
  std::string pidFile = tmp / "sleeper";
  auto res = r->inRun("sleep 600 < /proc/version & echo $! > " + pidFile);
  BOOST_TEST(res.exitCode == 0, res.err);
  pid_t sleeper = std::atoi(testutil::ReadFile(pidFile).c_str());
  BOOST_REQUIRE(sleeper > 0);
  BOOST_TEST(kill(sleeper, 0) == 0);  // still running: run did not wait for it
  kill(sleeper, SIGKILL);
}

BOOST_AUTO_TEST_CASE(a_thread_looking_up_its_own_process_gets_the_live_one) {
  Replay* r = Shared();
  if (!r) return;
  // The kernel names the calling thread, not its process.
  auto res = r->inRun(
      "python3 -c \"import os, threading; out = []\n"
      "t = threading.Thread(target=lambda: out.append(open('/proc/%d/status' % os.getpid()).read()))\n"
      "t.start(); t.join(); print('Tgid:\\t%d' % os.getpid() in out[0])\"");
  BOOST_TEST(res.exitCode == 0, res.err);
  BOOST_TEST(res.out == "True\n", res.out << res.err);
}

BOOST_AUTO_TEST_SUITE_END()
