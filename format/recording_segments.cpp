#include "recording_segments.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace procsnap {

namespace {
constexpr const char* kLockName = "/.lock";
constexpr std::string_view kPsnap = ".psnap", kTorn = ".psnap.torn";

// "20261123T071105.250Z": WallTime without its separators (no ':' for other systems' sake).
// format/ builds as C++17 for the fuzz build (capnp's headers): no ends_with.
bool EndsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string SegmentStamp(int64_t ns) {
  std::string stamp = WallTime(ns);
  stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == '-' || c == ':'; }), stamp.end());
  return stamp;
}
}  // namespace

Result<OwnedFd> LockRecording(const std::string& dir) {
  const std::string path = dir + kLockName;
  OwnedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (fd.get() < 0) return Status::FromErrno(path + ": cannot open the recording's lock", errno);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
    if (errno == EAGAIN || errno == EACCES)
      return Status::InvalidArgument(dir + ": another procsnap record is writing this recording (one writer at a "
                                           "time; stop it first, or record into another directory)");
    return Status::FromErrno(path + ": cannot lock the recording", errno);
  }
  return fd;
}

bool RecordingBeingWritten(const std::string& dir) {
  OwnedFd fd(::open((dir + kLockName).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return false;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return ::fcntl(fd.get(), F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
}

std::string SegmentName(uint64_t sequence, int64_t startWallNs) {
  char seq[16];
  std::snprintf(seq, sizeof seq, "s%09llu-", static_cast<unsigned long long>(sequence % 1000000000));
  return seq + SegmentStamp(startWallNs) + std::string(kPsnap);
}

uint64_t SegmentSequence(const std::string& name) {
  if (name.size() < 11 || name[0] != 's' || name[10] != '-') return 0;
  uint64_t v = 0;
  for (size_t i = 1; i < 10; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

Result<std::vector<SegmentFile>> ListSegments(const std::string& dir) {
  std::vector<SegmentFile> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code fileEc;
    if (!it->is_regular_file(fileEc)) continue;
    const bool torn = EndsWith(name, kTorn);
    if (!torn && !EndsWith(name, kPsnap)) continue;
    out.push_back({name, static_cast<uint64_t>(it->file_size(fileEc)), torn});
  }
  if (ec) return Status::FromErrno(dir + ": cannot list the recording", ec.value());
  // Names sort in recording order: "s" + zero-padded sequence after the older time-named ones.
  std::sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.name < b.name; });
  return out;
}

UnopenedSegment ClassifyUnopened(const Status& openError, bool newest, bool beingWritten) {
  if (!newest || openError.code() != StatusCode::Corruption) return UnopenedSegment::Damaged;
  return beingWritten ? UnopenedSegment::InProgress : UnopenedSegment::NeverCommitted;
}

}  // namespace procsnap
