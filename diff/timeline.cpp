// One pass over a timeline feeding log, top and events.
#include "timeline.h"

namespace procsnap {

Result<TimelinePass> ReadTimeline(std::shared_ptr<ArchiveReader> archive, size_t first, size_t last,
                                  const TopOptions& top, const EventOptions& events,
                                  const std::function<void(const TopInterval&)>& interval,
                                  const std::function<void(size_t, size_t)>& progress) {
  TimelinePass pass;
  if (archive->snapshotCount() == 0 || first > last || last >= archive->snapshotCount()) return pass;
  LogSteps log;
  TopSteps topSteps(top, [&](TopInterval&& t) {
    if (interval) interval(t);
  });
  EventSteps eventSteps(archive, events);
  const size_t from = first > 0 ? first - 1 : 0;
  for (size_t i = from; i <= last; ++i) {
    if (Status s = eventSteps.add(i); !s.ok()) return s;  // reads the snapshot: the others take it from here
    auto row = log.add(View(archive, eventSteps.snapshot(), i));
    if (!row.ok()) return row.status();
    if (i >= first) pass.rows.push_back(std::move(*row));
    topSteps.add(eventSteps.moment());
    if (progress) progress(i - from + 1, last - from + 1);
  }
  topSteps.finish();
  pass.events = eventSteps.finish();
  return pass;
}

}  // namespace procsnap
