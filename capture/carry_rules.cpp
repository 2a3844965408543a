#include "carry_rules.h"

#include <algorithm>
#include <iterator>

namespace procsnap {

namespace {

// Read at every tick wherever they are: others change them while the task sleeps.
constexpr std::string_view kChangedByOthers[] = {
    "autogroup",        // another process writes /proc/PID/autogroup
    "cgroup",           // a move into another cgroup
    "coredump_filter",  // written through /proc/PID by another process
    "cpuset",           // cgroup moves
    "fdinfo",           // a shared file's offset, an eventfd's count, flags
    "ksm_merging_pages", "ksm_stat",  // the kernel's merging
    "limits",           // prlimit(2)
    "mountinfo", "mounts", "mountstats",  // any mount in its mount namespace
    "oom_adj", "oom_score", "oom_score_adj",  // written by others; the score follows the machine
    "schedstat", "stat",  // read to decide carry anyway
    "status",           // affinity (sched_setaffinity), pending signals, seccomp... set by others
    "timerslack_ns",    // written through /proc/PID by another process
};

// A thread of a process whose other threads ran: everything it shares with
// them is read (the walk then takes the process's copy when it may).
constexpr std::string_view kSharedWithThreads[] = {
    "auxv", "cmdline", "comm",  // comm: any thread of the group may write it
    "cwd", "environ", "exe", "fd", "io", "map_files", "maps", "numa_maps", "personality", "root",
    "smaps", "smaps_rollup", "statm",
};

// What a kernel thread's running changes.
constexpr std::string_view kKernelThreadCounters[] = {
    "comm", "io", "sched", "schedstat", "stack", "stat", "status", "syscall", "wchan",
};

// What a light capture reads of every task: what top, ps and atop show
// moving (CPU, memory, I/O, state, run counts), and task/ (threads that
// came or went).
constexpr std::string_view kLightCounters[] = {"io", "schedstat", "stat", "statm", "status", "task"};

bool In(std::string_view name, const auto& list) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

}  // namespace

// Written once, by a process outside the namespace.
constexpr std::string_view kWrittenOnce[] = {"gid_map", "projid_map", "setgroups", "uid_map"};

// The system-wide counters of a light capture.
constexpr std::string_view kLightSystemCounters[] = {
    "buddyinfo", "diskstats", "interrupts", "loadavg", "meminfo", "pressure", "schedstat", "softirqs", "stat",
    "swaps", "sysvipc", "uptime", "vmstat", "zoneinfo",
    // sar -v: dentries, open files, inodes, ptys in use
    "sys/fs/dentry-state", "sys/fs/file-nr", "sys/fs/inode-nr", "sys/fs/inode-state", "sys/kernel/pty/nr",
};

bool LightReads(std::string_view rel) { return In(rel, kLightSystemCounters); }

CarryRule CarryRuleOf(std::string_view entry, CarryPlace place) {
  if (place == CarryPlace::LightTick) return In(entry, kLightCounters) ? CarryRule::Read : CarryRule::WhileIdle;
  if (In(entry, kChangedByOthers)) return CarryRule::Read;
  if (In(entry, kWrittenOnce)) return CarryRule::OnceWritten;
  if (place == CarryPlace::ThreadOfBusyProcess && In(entry, kSharedWithThreads)) return CarryRule::Read;
  if (place == CarryPlace::KernelThreadThatRan && In(entry, kKernelThreadCounters)) return CarryRule::Read;
  return CarryRule::WhileIdle;
}

}  // namespace procsnap
