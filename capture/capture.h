// procsnap capture: walks a /proc-like tree and records every entry into an
// archive snapshot, with what it could not read recorded instead of dropped.
// Thread safety: Capture() may run several walkers internally; one call at a
// time per ArchiveWriter.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/archive.h"

namespace procsnap {

enum class Profile {
  Full,       // everything
  Bugreport,  // environment values and secret-looking arguments redacted
  Tuning,     // system-wide files, /proc/sys and /proc/net only
};
const char* ProfileName(Profile p);  // "full", "bugreport", "tuning": as --profile and the metadata spell it

struct CaptureOptions {
  std::string root = "/proc";
  Profile profile = Profile::Full;
  std::vector<std::string> excludes;   // globs over the path under root ("*/smaps", "sys/kernel/*")
  bool threads = true;                 // capture PID/task/TID
  unsigned jobs = 0;                   // parallel walkers; 0 = one per CPU
  uint64_t maxFileSize = 64u << 20;    // larger files are cut here and marked truncated
  double timeLimitSeconds = 0;         // 0 = none; past it, entries are recorded unread, even one stuck in a read
  double fileTimeoutSeconds = 5;       // a read, listing or stat that has not returned by then is recorded unread
  // Set (from a signal handler, say) to end the capture early: the entries
  // not yet read are recorded unread and the snapshot is finished.
  const std::atomic<bool>* interrupt = nullptr;
  // Tests only: called with "PID/net" before a namespace's net/ is read for
  // the other processes of that namespace.
  std::function<void(const std::string& rel)> beforeNetnsRead;
  std::vector<std::string> commandLine;  // recorded in the metadata as the options used
};

struct CaptureProgress {
  uint64_t entries = 0, bytes = 0, processesDone = 0, processesTotal = 0;
};

// Captures options.root into one snapshot of `writer` and returns its
// metadata. Fails only when the root itself cannot be read or the archive
// cannot be written; everything else is recorded in the tree. It returns
// within the time limit (plus the file timeout) whatever the tree does:
// a call that does not return is left behind on a thread of its own.
Result<Metadata> Capture(const CaptureOptions& options, ArchiveWriter& writer,
                         const std::function<void(const CaptureProgress&)>& progress = {});

}  // namespace procsnap
