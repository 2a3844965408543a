// What a recording's tick may take from the tick before instead of reading
// it again: one table, each entry with its reason (carry_rules.cpp).
#pragma once

#include <string_view>

namespace procsnap {

enum class CarryRule {
  // Carried while its task has not run: only the task's own doing changes it.
  WhileIdle,
  // Read at every tick: another process or the kernel may change it while
  // the task sleeps (prlimit, oom_score_adj, cgroup moves, affinity,
  // mounts of its namespace, a shared file's offset...).
  Read,
  // A user namespace's id maps, which can be written once (user_namespaces(7)),
  // and setgroups, fixed once gid_map is: carried while idle once written
  // (the carried uid_map, gid_map or projid_map is not empty; for setgroups,
  // gid_map), read while still empty.
  OnceWritten,
};

// Where an entry sits: a process's directory (PID/x; its threads did not
// run either), or a thread's (PID/task/TID/x) in a process whose other
// threads ran: they share its memory map, descriptor table, working
// directory and signal state, which the thread's own idleness says nothing
// about.
// A kernel thread that ran (KernelThreadThatRan): it has no memory map,
// descriptors or environment of its own, so running changes only its
// counters and wait state, which are read.
// LightTick: a light capture's process or thread, carried whether it ran
// or not but for its counters (CaptureOptions::light).
enum class CarryPlace { Process, ThreadOfBusyProcess, KernelThreadThatRan, LightTick };

CarryRule CarryRuleOf(std::string_view entry, CarryPlace place);

// The reason a carried entry's note gives, after "read at TIME; ".
inline constexpr std::string_view kIdleProcessWhy =
    "its process had not run since (the stat line and every thread's run count in schedstat were unchanged)";
inline constexpr std::string_view kIdleThreadWhy =
    "the thread had not run since (its stat line and run count in schedstat were unchanged)";
inline constexpr std::string_view kKernelThreadWhy =
    "a kernel thread (same start time): running changes only its counters and wait state (stat, status, sched, "
    "schedstat, io, wchan, stack, syscall, comm), which are read at every snapshot";

// What a light capture reads of the system-wide entries at the root (a
// top-level name, or a path under sys/): the counters top, vmstat, sar and
// free show moving. The rest of the root (sys/, irq/, slabinfo,
// vmallocinfo, cpuinfo...) is carried; net/ is walked with the processes.
bool LightReads(std::string_view rel);

inline constexpr std::string_view kLightTickWhy =
    "a light snapshot (record --light) reads only what moves: of each task stat, statm, status, io, schedstat and "
    "the thread list, of the system its counters and net/; the rest is read at every full snapshot";

}  // namespace procsnap
