// procsnap capture: walks a /proc-like tree and records every entry into an
// archive snapshot, with what it could not read recorded instead of dropped.
// Thread safety: Capture() may run several walkers internally; one call at a
// time per ArchiveWriter.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <string>
#include <vector>

#include "format/archive.h"

namespace procsnap {

enum class Profile {
  Full,       // everything
  Bugreport,  // redacted as `procsnap redact` does (redact/redact.h); no executable bytes kept
  Tuning,     // system-wide files, /proc/sys and /proc/net only
};
const char* ProfileName(Profile p);  // "full", "bugreport", "tuning": as --profile and the metadata spell it

// A parted snapshot's run of process directories (format 5), packed.
struct CarriedPart {
  std::string first, last;  // its first and last directory's names
  PackedPart packed;
};

// What a capture keeps of itself for the next one into the same archive
// (record's ticks within one segment). A process none of whose threads ran
// since then (its stat line and every thread's run count in schedstat are
// what they were) has its files taken from this tree (Reason::Carried, the
// note saying when they were read), but for those other processes change
// (capture/carry_rules.cpp: limits, oom_score_adj, cgroup, status...),
// read at every capture; likewise a thread that did not run, in a process
// that did. Its net/ entries are always read. kallsyms is carried while
// /proc/modules is unchanged, and bus/ and fs/ (PCI configuration space,
// file system internals) until the next full capture. Blob references stay
// valid only in the archive this capture was written to.
struct Carry {
  Tree tree;  // this snapshot's tree (parted: with `parts`' directories empty)
  std::vector<CarriedPart> parts;  // a parted snapshot's processes, in name order
  // The tree holding top-level entry `name`: its part's, unpacked (the last
  // one asked for is kept: one walker asks in name order), or `tree`.
  const Tree& treeFor(std::string_view name) const;
  mutable size_t unpacked = SIZE_MAX;  // treeFor's: which part `part` is
  mutable Tree part;
  // Gives the tree, the parts and the unpacked part back (a tick holds one tree).
  void releaseTrees();
  // pid, PID/task/TID -> its stat line and run counts, as read
  std::unordered_map<std::string, std::string> stat;
  std::string modules;                  // /proc/modules, as read before kallsyms
  int64_t readWallNs = 0;               // when this capture began
  int64_t fullWallNs = 0;               // when the last full capture (nothing carried) began
  std::vector<Executable> executables;  // hashed (and kept) once per file
};

struct CaptureOptions {
  std::string root = "/proc";
  Profile profile = Profile::Full;
  std::vector<std::string> excludes;   // globs over the path under root ("*/smaps", "sys/kernel/*")
  bool threads = true;                 // capture PID/task/TID
  // Only these processes (and their threads), with every system-wide file,
  // and the capturer's own pid (what /proc/self and /proc/net name): a
  // small fixture. Empty: every process. Procfs roots only.
  std::vector<long> pids;
  unsigned jobs = 0;                   // parallel walkers; 0 = one per CPU
  uint64_t maxFileSize = 64u << 20;    // larger files are cut here and marked truncated
  double timeLimitSeconds = 0;         // 0 = none; past it, entries are recorded unread, even one stuck in a read
  double fileTimeoutSeconds = 5;       // a read, listing or stat that has not returned by then is recorded unread
  // Executables (Metadata.executables): every distinct file behind a
  // PID/exe is hashed (SHA-256) once; one no longer on disk (deleted,
  // memfd, /dev/shm, replaced) is also kept, up to keepExecutableMax bytes
  // (the bugreport profile keeps none). Procfs roots only.
  bool executables = true;
  uint64_t hashExecutableMax = 4ull << 30;   // larger files are noted, not hashed
  uint64_t keepExecutableMax = 64u << 20;    // 0: keep none
  double executableSeconds = 30;             // for hashing them all; the rest are noted
  // The bugreport profile's redaction (redact/redact.h RedactOptions).
  std::string redactKey;  // empty: a random key, kept nowhere
  bool keepHostname = false, keepIps = false;
  // Set (from a signal handler, say) to end the capture early: the entries
  // not yet read are recorded unread and the snapshot is finished.
  const std::atomic<bool>* interrupt = nullptr;
  // Tests only: called with "PID/net" before a namespace's net/ is read for
  // the other processes of that namespace.
  std::function<void(const std::string& rel)> beforeNetnsRead;
  std::vector<std::string> commandLine;  // recorded in the metadata as the options used
  std::vector<std::string> notes;        // added to the metadata's notes (record: ticks skipped)
  // Carry from this earlier capture of the same archive; null: read all.
  // Its tree is released once the walk is done with it: a tick would hold
  // two trees through the encoding (20 MB each with 1,000 processes).
  Carry* carry = nullptr;
  // With carry: a light capture (record --light). Every process and thread
  // seen before (same start time, command and code addresses in its stat
  // line) has its files carried whether it ran or not, but for what moves:
  // stat, statm, status, io, schedstat and the task/ listing (threads that
  // came are read whole). sys/ and irq/ (tunables) are carried too. The
  // system-wide counters (stat, meminfo, vmstat, net/...) are read.
  bool light = false;
  Carry* carryOut = nullptr;     // filled for the next capture to carry from
  // With one walker and a writer of format 5: process directories are
  // written in parts of at most this many (the runs of the carry's parts
  // kept where it has them), so that a capture holds one part's tree at a
  // time, not the whole (record --light: 32). 0: the whole tree at once.
  unsigned partProcesses = 0;
};

struct CaptureProgress {
  uint64_t entries = 0, bytes = 0, processesDone = 0, processesTotal = 0;
};

// Captures options.root into one snapshot of `writer` and returns its
// metadata. The bugreport profile captures into a private temporary
// archive (in a 0700 directory under $TMPDIR, unlinked as soon as it is
// created and read back through a descriptor) and writes its redacted
// copy; it cannot carry (record). Fails only when the root itself cannot be read or the archive
// cannot be written; everything else is recorded in the tree. It returns
// within the time limit (plus the file timeout) whatever the tree does:
// a call that does not return is left behind on a thread of its own.
Result<Metadata> Capture(const CaptureOptions& options, ArchiveWriter& writer,
                         const std::function<void(const CaptureProgress&)>& progress = {});

// Whether a capture with `options` may be appended to `archive`: its
// newest snapshot has the same profile and, when redacted, the same
// redaction key (a full snapshot appended to a bug report would put
// unredacted data in it; another key, pseudonyms that match nothing).
// InvalidArgument naming both otherwise; the archive's own errors as they are.
Status CheckAppend(const std::string& archive, const CaptureOptions& options);

// ---- record: one capture per tick into a recording ----------------------------

struct RecordOptions {
  CaptureOptions capture;  // its interrupt is ignored: `stop` ends a recording
  RecordingOptions recording;
  int64_t intervalNs = 10'000'000'000;
  uint64_t count = 0;      // snapshots to take; 0 = no limit
  int64_t durationNs = 0;  // how long to record; 0 = no limit
  // Every Nth snapshot (and each segment's first) reads everything; the
  // others carry the files of processes that have not run (Carry). 1: all.
  unsigned fullEvery = 30;
  // Set (from a signal handler, say) to end the recording: a capture in
  // flight finishes at once, what it has not read recorded unread, and is
  // committed.
  const std::atomic<bool>* stop = nullptr;
};

struct RecordedSnapshot {
  const Metadata* meta = nullptr;
  size_t index = 0;                 // in the recording
  uint64_t addedBytes = 0, recordingBytes = 0;
  size_t segments = 0;
  double cpuSeconds = 0, wallSeconds = 0;  // of this tick: capture and commit
  uint64_t skippedTicks = 0;        // ticks that passed during it (noted in the next snapshot)
  bool full = true;                 // read whole, nothing carried
};

// Takes a snapshot of options.capture.root at every tick of a schedule
// aligned to the first (tick k at start + k x interval, so a slow capture
// does not drift it; a capture that overruns skips ticks, and the next
// snapshot says so in its notes) into the recording at `dir`, continuing
// one that is there (InvalidArgument when it is another host's). Returns
// the number of snapshots taken.
Result<uint64_t> Record(const std::string& dir, const RecordOptions& options,
                        const std::function<void(const RecordedSnapshot&)>& onSnapshot = {});

}  // namespace procsnap
