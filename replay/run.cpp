// RunInSnapshot and RunWithProc: a command whose /proc is a snapshot (or a
// recording in motion), in a private mount namespace so that nothing else
// on the machine sees the change.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>

#include "fuse_server.h"

namespace procsnap {

namespace {

[[noreturn]] void ExecChild(const std::vector<std::string>& argv, const std::vector<std::string>& env, int errFd,
                            int terminal) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (terminal >= 0) {  // a session of its own on the pseudo-terminal play relays
    ::setsid();
    ::ioctl(terminal, TIOCSCTTY, 0);
    for (int fd = 0; fd < 3; ++fd) ::dup2(terminal, fd);
    if (terminal > 2) ::close(terminal);
  }
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGQUIT, SIG_DFL);
  for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  int err = errno;
  (void)!::write(errFd, &err, sizeof err);
  ::_exit(127);
}

// A mount namespace of our own. Root (CAP_SYS_ADMIN) makes one directly;
// anyone else first makes a user namespace, which gives that capability
// over namespaces it owns. Our uid and gid map to themselves, so the
// command runs as its user with no capability left after exec: it sees
// what that user would see, and files of other uids read as 65534 in
// stat() (their status files still name the recorded uids).
Status EnterPrivateMountNamespace() {
  if (::unshare(CLONE_NEWNS) == 0) return Status::Ok();
  if (errno != EPERM)
    return Status::FromErrno("cannot make a private mount namespace", errno);
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    const int err = errno;
    if (err == EINVAL)  // a thread was started before: our mistake, not the user's
      return Status::FromErrno("cannot make a user namespace (procsnap already runs threads)", err);
    return Status::FromErrno(
        "cannot make a user namespace to run without root: the kernel forbids it to unprivileged users "
        "(see sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone on Debian kernels, "
        "kernel.apparmor_restrict_unprivileged_userns on Ubuntu); run as root, or `procsnap mount` or "
        "`procsnap export` the snapshot and point the tool at that directory",
        err);
  }
  const auto write = [](const char* path, const std::string& text) -> Status {
    OwnedFd fd(::open(path, O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return Status::FromErrno(std::string("cannot open ") + path, errno);
    return WriteAll(fd.get(), text, path);
  };
  // An unprivileged process may map only its own ids, and gid_map only
  // once setgroups is denied.
  if (Status s = write("/proc/self/setgroups", "deny"); !s.ok()) return s;
  if (Status s = write("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1"); !s.ok())
    return s;
  return write("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1");
}

}  // namespace

// iproute2's ss reads /proc/net/* instead of asking the live kernel over
// netlink when PROC_ROOT is set: the snapshot's sockets, not this machine's.
const std::vector<std::string>& ReplayEnvironment() {
  static const std::vector<std::string> env = {"PROC_ROOT=/proc"};
  return env;
}

Result<int> RunWithProc(const std::function<Result<std::unique_ptr<FuseServer>>()>& mountProc,
                        const std::vector<std::string>& argv, const std::vector<std::string>& env,
                        const std::function<void(FuseServer&)>& started, const std::function<void()>& ended,
                        int terminal) {
  if (argv.empty()) return Status::InvalidArgument("no command to run");
  if (Status ns = EnterPrivateMountNamespace(); !ns.ok()) return ns;
  // Keep our /proc mount from propagating back to the machine.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return Status::FromErrno("cannot make the mount namespace private", errno);
  auto server = mountProc();
  if (!server.ok()) return server.status();
  std::thread serving([&] { (*server)->loop(); });

  int errPipe[2];
  if (::pipe2(errPipe, O_CLOEXEC) != 0) {
    int err = errno;
    (*server)->stop();
    serving.join();
    return Status::FromErrno("pipe", err);
  }
  // Like system(): the terminal's Ctrl-C is for the command.
  struct sigaction ignore{}, oldInt{}, oldQuit{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &oldInt);
  ::sigaction(SIGQUIT, &ignore, &oldQuit);
  std::vector<std::string> fullEnv = ReplayEnvironment();
  fullEnv.insert(fullEnv.end(), env.begin(), env.end());
  pid_t pid = ::fork();
  if (pid == 0) ExecChild(argv, fullEnv, errPipe[1], terminal);
  int forkErr = errno;
  ::close(errPipe[1]);
  if (pid > 0 && started) started(**server);
  int execErr = 0;
  ssize_t got = pid > 0 ? ::read(errPipe[0], &execErr, sizeof execErr) : 0;
  ::close(errPipe[0]);
  int status = 0;
  if (pid > 0)
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  if (pid > 0 && ended) ended();
  ::sigaction(SIGINT, &oldInt, nullptr);
  ::sigaction(SIGQUIT, &oldQuit, nullptr);
  // Stopped and joined before the destructor unmounts: a descendant that
  // still holds a file open then meets ENOTCONN, and run does not wait.
  (*server)->stop();
  serving.join();
  server->reset();
  if (pid < 0) return Status::FromErrno("cannot start " + argv[0], forkErr);
  if (got == sizeof execErr)
    return Status::NotFound(argv[0] + ": cannot run: " + std::strerror(execErr));
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

Result<int> RunInSnapshot(std::shared_ptr<const View> view, const std::vector<std::string>& argv, FileSizes sizes,
                          OpenErrors errors) {
  MountOptions opts;
  opts.allowOther = true;  // the command may change its user
  opts.sizes = sizes;
  opts.errors = errors;
  return RunWithProc([&] { return FuseServer::Mount(std::move(view), "/proc", opts); }, argv, {}, {}, {}, -1);
}

}  // namespace procsnap
