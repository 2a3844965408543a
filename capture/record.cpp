// Record: one capture per tick of an aligned schedule into a recording.
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "capture/capture.h"
#include "host_facts.h"

namespace procsnap {

namespace {

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Sleeps until monotonic time `ns`, or until *stop is set (a signal
// interrupts the sleep, so the flag is seen at once).
void SleepUntil(int64_t ns, const std::atomic<bool>* stop) {
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  while (!(stop && stop->load())) {
    int rc = ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    if (rc == 0) return;
    if (rc != EINTR) return;
  }
}

}  // namespace

Result<uint64_t> Record(const std::string& dir, const RecordOptions& options,
                        const std::function<void(const RecordedSnapshot&)>& onSnapshot) {
  // A tick allocates what the tick before freed: keep it in the heap
  // (no mmap for large blocks, no trim) instead of faulting it in again.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 512 << 20);
  // One arena: the walker and compressor threads each kept a heap of their
  // own, each as high as its own peak (idle 46 -> 34 MiB peak RSS; with
  // 1,000 processes 173 -> 151 MiB). The walker is one thread here.
  ::mallopt(M_ARENA_MAX, 1);
  RecordingOptions recording = options.recording;
  recording.writer.trimMemory = false;
  // A light tick stores counters, which match any process's lines as well
  // as their own: the keyframe's first MiB serves as prefix (with 1,000
  // processes, the same bytes a tick as its first 2 MiB or its 19 MB). Its
  // chunks of 1 MiB: a full tick holds five chunk buffers (filling,
  // waiting, compressing, compressed, spare), and the keyframe is as small
  // as in chunks of 2 MiB (1,754 against 1,751 KiB with 1,000 processes).
  // Both together: peak RSS 30.5 -> 28.1 MiB over 60 ticks.
  if (options.capture.light) {
    recording.writer.keyframePrefixBytes = 1u << 20;
    recording.writer.chunkSize = 1u << 20;
  }
  auto rec = RecordingWriter::Open(dir, recording);
  if (!rec.ok()) return rec.status();
  RecordingWriter& w = **rec;
  const int rootFd = ::open(options.capture.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const std::string host = HostnameOf(rootFd);
  if (rootFd >= 0) ::close(rootFd);
  if (!w.lastHostname().empty() && w.lastHostname() != host)
    return Status::InvalidArgument(dir + ": the recording is of host '" + w.lastHostname() + "', this is '" + host +
                                   "'; record into another directory");
  const int64_t interval = std::max<int64_t>(options.intervalNs, 1000000);
  const int64_t start = ClockNs(CLOCK_MONOTONIC);
  const int64_t end = options.durationNs ? start + options.durationNs : INT64_MAX;
  uint64_t taken = 0, tick = 0, skipped = 0;
  CaptureOptions capture = options.capture;
  capture.interrupt = options.stop;
  // A light tick holds one part of 32 processes at a time, not the whole
  // tree (format 5; one walker): with 1,000 processes ~0.7 MB, not ~20 MB
  // (parts of 16 and 64 measured 2-5 MiB more peak RSS). The default tick
  // keeps whole records: in parts it wrote 17-20 KiB a tick with 1,000
  // processes instead of 13-15 (a process that ran is read whole, and a
  // part's matches against its prefix part are shorter), for 65 MiB peak
  // RSS instead of 130.
  if (capture.light && capture.jobs == 1 && !capture.partProcesses) capture.partProcesses = 32;
  Carry carry, next;
  bool haveCarry = false;
  unsigned sinceFull = 0;
  const std::vector<std::string> baseNotes = capture.notes;
  while (!(options.stop && options.stop->load())) {
    if (options.count && taken >= options.count) break;
    const int64_t due = start + static_cast<int64_t>(tick) * interval;
    if (due >= end) break;
    SleepUntil(due, options.stop);
    if (options.stop && options.stop->load()) break;
    const double cpu0 = CpuSeconds();
    const int64_t wall0 = ClockNs(CLOCK_MONOTONIC);
    capture.notes = baseNotes;
    if (skipped)
      capture.notes.push_back(std::to_string(skipped) + " tick(s) of " + std::to_string(interval / 1000000) +
                              " ms skipped before this snapshot: the previous capture overran the interval");
    auto writer = w.next(ClockNs(CLOCK_REALTIME));
    if (!writer.ok()) return writer.status();
    const uint64_t before = w.bytesOnDisk();
    // Carried blobs must lie in the segment being written.
    const bool full = !haveCarry || w.startedSegment() || sinceFull + 1 >= std::max(options.fullEvery, 1u);
    capture.carry = full ? nullptr : &carry;
    // A full tick reads everything: the tick before it is not kept through
    // its walk (with 1,000 processes, its trees and packed parts).
    if (full) carry = Carry();
    capture.carryOut = &next;
    auto meta = Capture(capture, **writer);
    if (!meta.ok()) return meta.status();
    Status s = w.commit(*meta);
    if (!s.ok()) return s;
    std::swap(carry, next);
    // The carry before it goes now, not when the next capture replaces it:
    // otherwise three trees live through every walk (-66 MiB of peak RSS
    // with 1,000 processes).
    next = Carry();
    haveCarry = true;
    sinceFull = full ? 0 : sinceFull + 1;
    ++taken;
    // The heap's free pages go back after a full snapshot (its chunk
    // buffers and large files are not a light tick's), every 64th tick,
    // and after a long tick in parts (100 ms of CPU: hundreds of
    // processes) that left over 8 MiB of it free (a whole record's 20 MB
    // blocks would be faulted in again: +30% CPU, session 14): a tick allocates what the one before
    // freed, but blocks land where earlier ones never were and touch pages
    // the heap held untouched (idle: peak RSS 30 -> 33 MiB over 360
    // snapshots; with 1,000 processes in parts 31 -> 34 MiB over 20 ticks).
    // A short tick pays for the pages it faults in again: trimming after
    // each idle one doubled its CPU.
    const struct mallinfo2 heap = ::mallinfo2();
    const bool longTick = capture.partProcesses && CpuSeconds() - cpu0 >= 0.1;
    if (full || taken % 64 == 0 || (longTick && heap.arena - heap.uordblks > (8u << 20))) ::malloc_trim(0);
    // The next tick is the first one still ahead; those passed are skipped.
    const int64_t now = ClockNs(CLOCK_MONOTONIC);
    const uint64_t nextTick = static_cast<uint64_t>((now - start) / interval) + 1;
    skipped = nextTick > tick + 1 ? nextTick - tick - 1 : 0;
    tick = std::max(nextTick, tick + 1);
    if (onSnapshot) {
      RecordedSnapshot r;
      r.meta = &*meta;
      r.index = w.snapshotCount() - 1;
      r.recordingBytes = w.bytesOnDisk();
      r.addedBytes = r.recordingBytes > before ? r.recordingBytes - before : 0;
      r.segments = w.segmentCount();
      r.cpuSeconds = CpuSeconds() - cpu0;
      r.wallSeconds = (now - wall0) / 1e9;
      r.skippedTicks = skipped;
      r.full = full;
      onSnapshot(r);
    }
  }
  Status s = w.close();
  if (!s.ok()) return s;
  return taken;
}

}  // namespace procsnap
