// Threads that outlive the job they run. A recording captures again and
// again from one process: with the same threads at every tick, the
// recorder's own /proc/PID/task/ lists the same TIDs, and its snapshots do
// not each carry a new set of thread directories. A job that never returns
// keeps its thread; the next job gets another.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "format/archive.h"

namespace procsnap {

class JobDone {
 public:
  virtual ~JobDone() = default;
  virtual void wait() = 0;  // until the job has returned
};

// At most this many kept threads: each call that never returns holds one
// for good, and a recording meets the same stuck call tick after tick.
constexpr size_t kMaxKeptThreads = 64;

// Runs `job` on an idle kept thread, or on a new one if none is idle;
// null, with `job` not run, when kMaxKeptThreads are all busy.
std::shared_ptr<JobDone> RunOnKeptThread(std::function<void()> job);
// Kept threads in all (busy and idle).
size_t KeptThreads();

inline OwnedFd Dup(int fd) { return OwnedFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0)); }

// The result of a call running on a thread of its own, which owns
// everything it uses: if the call never returns, it is left behind.
template <class T>
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<T> result;
  bool refused = false;  // no thread could run it (kMaxKeptThreads busy)
  bool ready() {
    std::lock_guard<std::mutex> lock(mu);
    return result.has_value();
  }
  // The result if it came within `limit`.
  std::optional<T> take(std::chrono::nanoseconds limit) {
    std::unique_lock<std::mutex> lock(mu);
    if (refused) return std::nullopt;
    cv.wait_for(lock, limit, [&] { return result.has_value(); });
    return std::move(result);
  }
};

template <class T, class Fn>
std::shared_ptr<Pending<T>> Start(Fn fn) {
  auto job = std::make_shared<Pending<T>>();
  auto call = std::make_shared<Fn>(std::move(fn));  // std::function copies; fn may own an fd
  auto started = RunOnKeptThread([job, call] {
    T value = (*call)();
    std::lock_guard<std::mutex> lock(job->mu);
    job->result = std::move(value);
    job->cv.notify_all();
  });
  if (!started) job->refused = true;
  return job;
}

// Runs fn on a thread of its own and waits at most `limit` for it.
template <class T, class Fn>
std::optional<T> Bounded(std::chrono::nanoseconds limit, Fn fn) {
  return Start<T>(std::move(fn))->take(limit);
}

}  // namespace procsnap
