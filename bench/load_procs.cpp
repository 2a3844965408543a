// Starts N idle processes with T threads each, for benchmarks at scale.
//   load_procs N [T]    prints "ready" once all exist; SIGTERM/SIGINT ends them all.
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

static void* Idle(void*) {
  for (;;) pause();
  return nullptr;
}

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  int threads = argc > 2 ? std::atoi(argv[2]) : 3;
  std::vector<pid_t> kids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setstacksize(&attr, 64 * 1024);
      for (int t = 1; t < threads; ++t) {
        pthread_t th;
        pthread_create(&th, &attr, Idle, nullptr);
      }
      for (;;) pause();
    }
    if (pid < 0) {
      std::perror("fork");
      break;
    }
    kids.push_back(pid);
  }
  std::printf("ready %zu\n", kids.size());
  std::fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig;
  sigwait(&set, &sig);
  for (pid_t k : kids) kill(k, SIGKILL);
  for (pid_t k : kids) waitpid(k, nullptr, 0);
  return 0;
}
