#include "reused_threads.h"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace procsnap {

namespace {

class Done final : public JobDone {
 public:
  void wait() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  void set() {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

struct Kept {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  size_t idle = 0, threads = 0;
};

// Never destroyed: kept threads wait on it until the process exits. A
// forked child has none of the parent's threads: it starts afresh (the
// parent's state is held still across fork(), then left to leak).
Kept* kept = nullptr;

Kept& State() {
  static bool registered = [] {
    kept = new Kept;
    pthread_atfork([] { kept->mu.lock(); }, [] { kept->mu.unlock(); }, [] { kept = new Kept; });
    return true;
  }();
  (void)registered;
  return *kept;
}

void Serve() {
  Kept& k = State();
  std::unique_lock<std::mutex> lock(k.mu);
  for (;;) {
    ++k.idle;
    k.cv.wait(lock, [&] { return !k.jobs.empty(); });
    --k.idle;
    std::function<void()> job = std::move(k.jobs.front());
    k.jobs.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // what it holds goes now, not when the next job comes
    lock.lock();
  }
}

}  // namespace

std::shared_ptr<JobDone> RunOnKeptThread(std::function<void()> job) {
  auto done = std::make_shared<Done>();
  Kept& k = State();
  std::lock_guard<std::mutex> lock(k.mu);
  if (k.idle < k.jobs.size() + 1) {
    if (k.threads >= kMaxKeptThreads) return nullptr;
    std::thread(Serve).detach();
    ++k.threads;
  }
  k.jobs.push_back([done, job = std::move(job)] {
    job();
    done->set();
  });
  k.cv.notify_one();
  return done;
}

size_t KeptThreads() {
  Kept& k = State();
  std::lock_guard<std::mutex> lock(k.mu);
  return k.threads;
}

}  // namespace procsnap
