// Threads that outlive the job they run. A recording captures again and
// again from one process: with the same threads at every tick, the
// recorder's own /proc/PID/task/ lists the same TIDs, and its snapshots do
// not each carry a new set of thread directories. A job that never returns
// keeps its thread; the next job gets another.
#pragma once

#include <functional>
#include <memory>

namespace procsnap {

class JobDone {
 public:
  virtual ~JobDone() = default;
  virtual void wait() = 0;  // until the job has returned
};

// Runs `job` on an idle kept thread, or on a new one if none is idle.
std::shared_ptr<JobDone> RunOnKeptThread(std::function<void()> job);

}  // namespace procsnap
