// Reading an export's manifest back (see export_manifest.h). The manifest
// may come from anywhere: its size is bounded before it is read, and every
// field is checked before use.
#include "export_manifest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace procsnap {

namespace {

constexpr uint64_t kMaxManifestBytes = 256u << 20;

bool ReasonFromName(const std::string& name, Reason* out) {
  for (Reason r : {Reason::Skipped, Reason::Truncated, Reason::Excluded, Reason::TimeLimit, Reason::Redacted,
                   Reason::Carried})
    if (name == ReasonName(r)) return *out = r, true;
  return false;
}

}  // namespace

Result<std::unique_ptr<ExportManifest>> ReadExportManifest(int rootFd, const std::string& root) {
  const std::string path = root + "/" + kManifestName;
  OwnedFd fd(::openat(rootFd, kManifestName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::unique_ptr<ExportManifest>();
    return Status::FromErrno(path + ": cannot open", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(path + ": cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return std::unique_ptr<ExportManifest>();  // not ours: captured as it is
  if (uint64_t(st.st_size) > kMaxManifestBytes)
    return Status::InvalidArgument(path + ": " + std::to_string(st.st_size) + " bytes, more than a manifest's " +
                                   std::to_string(kMaxManifestBytes) + "; move it away to capture this folder");
  std::string text(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(path + ": cannot read", errno);
    if (n == 0) break;
    got += size_t(n);
  }
  text.resize(got);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument(path + ": not a JSON object; a procsnap manifest is one (move it away to "
                                   "capture this folder as it is)");
  if (!j.contains("procsnap_manifest") || j["procsnap_manifest"] != 1)
    return Status::InvalidArgument(path + ": \"procsnap_manifest\" is not 1: not a manifest this procsnap reads");
  auto m = std::make_unique<ExportManifest>();
  if (j.contains("start_wall_ns") && j["start_wall_ns"].is_number_integer()) m->startWallNs = j["start_wall_ns"];
  const nlohmann::json entries = j.contains("entries") ? j["entries"] : nlohmann::json::array();
  if (!entries.is_array()) return Status::InvalidArgument(path + ": \"entries\" is not an array");
  size_t index = 0;
  for (const nlohmann::json& e : entries) {
    const std::string where = path + ": entries[" + std::to_string(index++) + "]";
    if (!e.is_object() || !e.contains("path") || !e["path"].is_string() || !e.contains("problem") ||
        !e["problem"].is_string())
      return Status::InvalidArgument(where + ": not an object with a \"path\" and a \"problem\"");
    const std::string rel = e["path"], problem = e["problem"];
    if (rel.empty() || rel.front() == '/') return Status::InvalidArgument(where + ": path \"" + rel + "\" is not relative");
    for (std::string_view part : SplitPath(rel))
      if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string_view::npos)
        return Status::InvalidArgument(where + ": path \"" + rel + "\" has an empty, . or .. component");
    int err = 0;
    if (e.contains("errno")) {
      if (!e["errno"].is_number_integer() || e["errno"] < 1 || e["errno"] > 4095)
        return Status::InvalidArgument(where + ": errno is not a number from 1 to 4095");
      err = e["errno"];
    }
    ExportManifest::Entry& out = m->byPath[rel];
    if (problem.rfind("link target unknown", 0) == 0 && err) {
      out.lostLink = true;
      out.error = err;
      const size_t slash = rel.rfind('/');
      m->lostLinks[slash == std::string::npos ? "" : rel.substr(0, slash)].push_back(
          slash == std::string::npos ? rel : rel.substr(slash + 1));
    } else if (err && (problem.rfind("read ", 0) == 0 || problem.rfind("listing failed", 0) == 0)) {
      out.error = err;
    }
    Reason reason;
    if (e.contains("reason") && e["reason"].is_string() && ReasonFromName(e["reason"], &reason)) {
      out.reason = reason;
      if (e.contains("note") && e["note"].is_string()) out.note = e["note"];
    }
  }
  return m;
}

}  // namespace procsnap
