// Helpers shared by the test suites: child processes with known state,
// temporary directories, running the procsnap executable.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace testutil {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/procsnap-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

// A copy of `file` (mode 0755) in `dir`, which is opened to every user: a
// child that drops to an unprivileged uid must not depend on where the
// checkout lives (a clone in /root is mode 0700).
inline std::string ReachableCopy(const std::string& file, const TempDir& dir) {
  std::string copy = dir / std::filesystem::path(file).filename().string();
  std::filesystem::copy_file(file, copy, std::filesystem::copy_options::overwrite_existing);
  chmod(copy.c_str(), 0755);
  chmod(dir.path.c_str(), 0755);
  return copy;
}

// Whether this test may mount FUSE file systems and enter mount
// namespaces (root and a usable /dev/fuse); tests print a skip otherwise.
inline bool CanMount() { return geteuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0; }

// Whether users other than root may open /dev/fuse (procsnap run, mount and
// play without root need it); prints a skip with the reason when not.
// Debian's udev rule makes it 0666; a machine without udev keeps 0600.
inline bool FuseOpenToUsers() {
  struct stat st {};
  if (stat("/dev/fuse", &st) == 0 && (st.st_mode & 0006) == 0006) return true;
  std::printf("SKIPPED: /dev/fuse (mode %04o) is not open to users other than root (no udev here?)\n",
              unsigned(st.st_mode & 07777));
  return false;
}

struct RunResult {
  int exitCode = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
};

// Runs argv[0] with argv, collecting stdout and stderr through files; as
// `uid` (its own group too, no supplementary groups) when it is not -1.
inline RunResult Run(const std::vector<std::string>& argv, const std::string& stdinFile = "", int uid = -1) {
  TempDir tmp;
  std::string outPath = tmp / "out", errPath = tmp / "err";
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int i = open(stdinFile.empty() ? "/dev/null" : stdinFile.c_str(), O_RDONLY);
    dup2(o, 1);
    dup2(e, 2);
    dup2(i, 0);
    if (uid >= 0 && (setgroups(0, nullptr) != 0 || setgid(gid_t(uid)) != 0 || setuid(uid_t(uid)) != 0)) _exit(126);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult r;
  if (WIFEXITED(status)) r.exitCode = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = ReadFile(outPath);
  r.err = ReadFile(errPath);
  return r;
}

// sha256sum's answer for a file: the reference a recorded hash must match.
inline std::string Sha256Sum(const std::string& path) {
  RunResult r = Run({"/usr/bin/sha256sum", path});
  return r.exitCode == 0 ? r.out.substr(0, 64) : "sha256sum failed: " + r.err;
}

// A started program (argv[0] a path, `env` its whole environment), killed
// at the end; constructed once it wrote its first line, which line() holds.
class Spawned {
 public:
  Spawned(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    int p[2];
    if (pipe(p) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(p[1], 1);
      close(p[0]);
      std::vector<char*> args, envp;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
      envp.push_back(nullptr);
      execve(args[0], args.data(), envp.data());
      _exit(127);
    }
    close(p[1]);
    char c;
    while (read(p[0], &c, 1) == 1 && c != '\n') line_ += c;  // blocks until the first line
    close(p[0]);
  }
  ~Spawned() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;
  pid_t pid() const { return pid_; }
  const std::string& line() const { return line_; }

 private:
  pid_t pid_ = -1;
  std::string line_;
};

// A started child_helper, stopped with SIGSTOP once it reports ready.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env) : run_(argv, env) {
    if (run_.line().rfind("ready ", 0) != 0) throw std::runtime_error("child_helper did not start: " + run_.line());
    port_ = std::atoi(run_.line().c_str() + 6);
    kill(run_.pid(), SIGSTOP);
    int status;
    waitpid(run_.pid(), &status, WUNTRACED);  // returns once the child is stopped
  }
  pid_t pid() const { return run_.pid(); }
  int port() const { return port_; }

 private:
  Spawned run_;
  int port_ = 0;
};

inline std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = opendir(path.c_str())) {
    while (struct dirent* e = readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, n);
}

}  // namespace testutil
