// A process with known state for the capture tests: argv and environment as
// given, an open regular file, a pipe, an eventfd, a TCP listener on
// 127.0.0.1 and extra threads. Prints "ready PORT" when set up, then waits.
// With --grow, SIGUSR1 makes it start 3 more threads, touch 48 MiB and map
// /etc/hostname. With --unix it also listens on @procsnap-test-PID. With
// --leader-exits the main thread exits once ready, leaving the others.
//   child_helper [--threads N] [--netns] [--netns-pair] [--no-listen] [--grow] [--unix] [--leader-exits] [ARGS...]
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// Started with every signal blocked (see StartIdle): signals are for the
// main thread, whose pause() must see SIGUSR1.
static void* Idle(void*) {
  for (;;) pause();
  return nullptr;
}

static void StartIdle(const char* name) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);  // the new thread inherits the mask
  pthread_t th;
  pthread_create(&th, nullptr, Idle, nullptr);
  if (name) pthread_setname_np(th, name);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

static volatile sig_atomic_t grow = 0;
static void OnUsr1(int) { grow = 1; }

static bool LoopbackUp() {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP;
  ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  close(s);
  return ok;
}

int main(int argc, char** argv) {
  int threads = 3;
  bool netns = false, netnsPair = false, listen_ = true, growable = false, unixListen = false, leaderExits = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--netns")) netns = true;
    else if (!std::strcmp(argv[i], "--netns-pair")) netns = netnsPair = true;
    else if (!std::strcmp(argv[i], "--no-listen")) listen_ = false;
    else if (!std::strcmp(argv[i], "--grow")) growable = true;
    else if (!std::strcmp(argv[i], "--unix")) unixListen = true;
    else if (!std::strcmp(argv[i], "--leader-exits")) leaderExits = true;
    else if (!std::strcmp(argv[i], "--comm") && i + 1 < argc) prctl(PR_SET_NAME, argv[++i]);
  }
  if (netns && (unshare(CLONE_NEWNET) != 0 || !LoopbackUp())) {
    std::perror("child_helper: new network namespace");
    return 3;
  }
  // A second process in the same network namespace, left running when this
  // one dies (listed in /proc/PID/task/PID/children).
  if (netnsPair && fork() == 0) {
    for (;;) pause();
  }
  int file = open("/etc/hostname", O_RDONLY);
  int fds[2];
  if (file < 0 || pipe(fds) != 0 || eventfd(7, 0) < 0) return 4;
  int port = 0;
  if (listen_) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr*)&a, sizeof a) != 0 || listen(s, 4) != 0 ||
        getsockname(s, (struct sockaddr*)&a, &len) != 0)
      return 5;
    port = ntohs(a.sin_port);
  }
  if (unixListen) {
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string name = "procsnap-test-" + std::to_string(getpid());
    std::memcpy(a.sun_path + 1, name.data(), name.size());  // abstract: no file to clean up
    if (bind(u, (struct sockaddr*)&a, socklen_t(offsetof(struct sockaddr_un, sun_path) + 1 + name.size())) != 0 ||
        listen(u, 4) != 0)
      return 6;
  }
  for (int t = 1; t < threads; ++t) StartIdle(("worker" + std::to_string(t)).c_str());
  // SIGUSR1 stays blocked except inside sigsuspend(), so one that arrives
  // before the wait (say, while the test has us stopped) is not lost.
  sigset_t usr1, waiting;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, &waiting);
  sigdelset(&waiting, SIGUSR1);
  if (growable) signal(SIGUSR1, OnUsr1);
  std::printf("ready %d\n", port);
  std::fflush(stdout);
  if (leaderExits) pthread_exit(nullptr);  // a zombie leader: /proc/PID/maps reads empty
  for (;;) {
    while (!grow) sigsuspend(&waiting);
    grow = 0;
    char* block = static_cast<char*>(std::malloc(48 << 20));
    for (size_t i = 0; block && i < (48u << 20); i += 4096) block[i] = 1;
    // The threads last: a test that sees their count sees the rest done.
    mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, file, 0);
    for (int t = 0; t < 3; ++t) StartIdle(nullptr);
  }
}
