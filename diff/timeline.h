// The readers of a timeline as steps, so that one pass over the snapshots
// can feed several (the report reads each snapshot once for log, top and
// events); Log, Top and Events are loops over them.
#pragma once

#include <functional>
#include <memory>

#include "activity.h"
#include "diff/diff.h"

namespace procsnap {

class LogSteps {
 public:
  LogSteps();
  ~LogSteps();
  // The row of `v`, the next snapshot, against the one added before it.
  Result<LogRow> add(const View& v);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

class TopSteps {
 public:
  TopSteps(const TopOptions& opts, std::function<void(TopInterval&&)> done);
  ~TopSteps();
  void add(const Moment& m);  // the next snapshot's processes (copied as needed)
  void finish();              // the last interval out

 private:
  struct State;
  std::unique_ptr<State> s_;
};

class EventSteps {
 public:
  EventSteps(std::shared_ptr<ArchiveReader> archive, const EventOptions& opts);
  ~EventSteps();
  // Reads snapshot i, the next, and notes what happened since the one before.
  Status add(size_t i);
  const Moment& moment() const;                      // the processes of the snapshot added last
  const std::shared_ptr<const Snapshot>& snapshot() const;  // the snapshot added last
  std::vector<Event> finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace procsnap
