#include "common.h"

#include "redact/redact.h"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>

#include "command.h"
#include "exit_codes.h"

namespace procsnap {

void AddAtOption(CLI::App& sub, std::string& at) {
  sub.add_option("--at", at,
                 "the snapshot: an index (0 first, -1 last), a time (2026-11-23T07:11:05.250Z; local time without "
                 "the Z; names the newest taken at or before it, at the precision written) or a time before the "
                 "newest (-5m, -30s)")
      ->capture_default_str();
}

void AddOpenErrorsOption(CLI::App& sub, OpenErrors& errors) {
  sub.add_option_function<std::string>(
         "--open-errors", [&errors](const std::string& v) { errors = v == "open" ? OpenErrors::AtOpen : OpenErrors::AtRead; },
         "when a file whose capture failed gives its errno: read (opens never reach procsnap, the fast default) "
         "or open (as on the machine; a round trip per open; always with --sizes procfs)")
      ->check(CLI::IsMember({"read", "open"}).description(""))
      ->type_name("read|open")
      ->default_str("read");
}

void AddSizesOption(CLI::App& sub, FileSizes& sizes) {
  sub.add_option_function<std::string>(
         "--sizes", [&sizes](const std::string& v) { sizes = v == "procfs" ? FileSizes::Procfs : FileSizes::Content; },
         "st_size of files: content (the recorded length; cached, fast) or procfs (as stat() reported at capture, "
         "0 for most files; every read goes to procsnap)")
      ->check(CLI::IsMember({"content", "procfs"}).description(""))
      ->type_name("content|procfs")
      ->default_str("content");
}

int Fail(const Status& s) { return Fail(s.message()); }

int Fail(const std::string& message) {
  std::cerr << "procsnap: " << Printable(message) << "\n";
  return kExitTrouble;
}

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = n;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

Result<uint64_t> ParseSize(std::string_view text) {
  uint64_t n = 0;
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i < 15) n = n * 10 + (text[i++] - '0');
  std::string_view unit = text.substr(i);
  int shift = -1;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "KiB") shift = 10;
  else if (unit == "M" || unit == "MiB") shift = 20;
  else if (unit == "G" || unit == "GiB") shift = 30;
  else if (unit == "T" || unit == "TiB") shift = 40;
  if (i == 0 || shift < 0 || (i < text.size() && text[i] >= '0' && text[i] <= '9'))
    return Status::InvalidArgument(std::string("'").append(text).append("' is not a size (write 512K, 2M, 1G or bytes)"));
  return n << shift;
}

std::string ModeString(const Node& n) {
  std::string s(10, '-');
  switch (n.kind) {
    case NodeKind::Directory:
    case NodeKind::Alias: s[0] = 'd'; break;
    case NodeKind::Symlink: s[0] = 'l'; break;
    case NodeKind::File: s[0] = '-'; break;
    case NodeKind::Other: s[0] = '?'; break;
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (n.mode & (1u << (8 - i))) s[i + 1] = rwx[i];
  if (n.mode & S_ISUID) s[3] = (n.mode & S_IXUSR) ? 's' : 'S';
  if (n.mode & S_ISGID) s[6] = (n.mode & S_IXGRP) ? 's' : 'S';
  if (n.mode & S_ISVTX) s[9] = (n.mode & S_IXOTH) ? 't' : 'T';
  return s;
}

std::string ErrnoText(int err) { return ErrnoName(err) + " (" + std::strerror(err) + ")"; }

bool StderrIsTerminal() { return ::isatty(2); }

std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto escape = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  };
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f) {
      escape(c);
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += char(c);
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence passes, except C1 controls (U+0080..U+009F).
    size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool ok = len > 0 && c < 0xf5 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && len == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) ok = false;
    if (!ok) {
      escape(c);
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

void PrintLine(const char* format, ...) {
  va_list args;
  va_start(args, format);
  char small[512];
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(small, sizeof small, format, args);
  va_end(args);
  std::string text;
  if (n >= 0 && size_t(n) < sizeof small) {
    text.assign(small, n);
  } else if (n >= 0) {
    text.resize(n + 1);
    std::vsnprintf(text.data(), text.size(), format, again);
    text.resize(n);
  }
  va_end(again);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  std::fputs((Printable(text) + "\n").c_str(), stdout);
}

std::string JsonText(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json ExecutableJson(const Executable& e) {
  return {{"path", e.path},
          {"sha256", e.sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.sha256)},
          {"size", e.size},
          {"device", e.device},
          {"inode", e.inode},
          {"mtime", WallTime(e.mtimeNs)},
          {"pids", e.pids},
          {"error", e.error ? nlohmann::json(ErrnoName(e.error)) : nlohmann::json(nullptr)},
          {"kept_bytes", e.kept.size},
          {"note", e.note}};
}

nlohmann::json MetadataJson(const Metadata& m) {
  const Counts& c = m.counts;
  nlohmann::json exes = nlohmann::json::array();
  for (const Executable& e : m.executables) exes.push_back(ExecutableJson(e));
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& [kind, n] : m.redactionKinds) kinds[kind] = n;
  return {
      {"hostname", m.hostname},
      {"kernel_release", m.kernelRelease},
      {"kernel_version", m.kernelVersion},
      {"boot_id", m.bootId},
      {"machine_id", m.machineId},
      {"start", WallTime(m.startWallNs)},
      {"end", WallTime(m.endWallNs)},
      {"start_wall_ns", m.startWallNs},
      {"end_wall_ns", m.endWallNs},
      {"start_monotonic_ns", m.startMonoNs},
      {"end_monotonic_ns", m.endMonoNs},
      {"start_boottime_ns", m.startBootNs},
      {"duration_s", (m.endMonoNs - m.startMonoNs) / 1e9},
      {"root", m.root},
      {"profile", m.profile},
      {"options", m.options},
      {"excludes", m.excludes},
      {"capturer_uid", m.capturerUid},
      {"capturer_gid", m.capturerGid},
      {"cap_effective", m.capEffective},
      {"proc_mount_options", m.procMountOptions},
      {"tool_version", m.toolVersion},
      {"format_version", m.formatVersion},
      {"clock_ticks", m.clockTicks},
      {"page_size", m.pageSize},
      {"counts",
       {{"files", c.files},
        {"directories", c.directories},
        {"links", c.links},
        {"aliases", c.aliases},
        {"bytes", c.bytes},
        {"unique_bytes", c.uniqueBytes},
        {"errors", c.errors},
        {"skipped", c.skipped},
        {"truncated", c.truncated},
        {"redactions", c.redactions}}},
      {"redactions_by_kind", kinds},
      {"executables", exes},
      {"notes", m.notes},
  };
}

nlohmann::json NodeJson(const View& view, NodeId id) {
  const Snapshot& s = view.snapshot();
  const Node& n = s.node(id);
  nlohmann::json j = {
      {"name", std::string(s.name(id))},
      {"path", view.display(id)},
      {"type", KindName(n.kind)},
      {"mode", n.mode & 07777},
      {"uid", n.uid},
      {"gid", n.gid},
      {"size", n.size},
      {"stat_size", n.statSize},
      {"mtime_ns", n.mtimeNs},
  };
  if (n.kind == NodeKind::Symlink) j["target"] = std::string(s.linkTarget(id));
  if (n.kind == NodeKind::Alias) j["alias_of"] = view.display(s.resolveAlias(id));
  if (n.error) j["error"] = ErrnoName(n.error);
  if (n.reason != Reason::None) j["reason"] = ReasonName(n.reason);
  if (n.note) j["note"] = std::string(s.note(id));
  return j;
}

namespace {
std::atomic<bool> gStopRequested{false};
void OnStopSignal(int) { gStopRequested.store(true); }
}  // namespace

std::atomic<bool>* StopOnSignals() {
  struct sigaction act{};
  act.sa_handler = OnStopSignal;
  ::sigemptyset(&act.sa_mask);
  ::sigaction(SIGINT, &act, nullptr);
  ::sigaction(SIGTERM, &act, nullptr);
  return &gStopRequested;
}

Result<std::string> RedactionKeyFromOptions(const std::string& keyFile, bool newKey) {
  if (!keyFile.empty() && newKey) return Status::InvalidArgument("--key-file and --new-key: give one");
  if (!keyFile.empty()) return ReadKeyFile(keyFile);
  if (newKey) return std::string();
  return DefaultRedactionKey();
}

std::string TimeOfDay(int64_t wallNs) {
  std::string t = WallTime(wallNs);
  size_t T = t.find('T');
  return T == std::string::npos ? t : t.substr(T + 1);
}

Result<std::pair<size_t, size_t>> SnapshotRange(const ArchiveReader& archive, const std::string& from,
                                                const std::string& to) {
  size_t bounds[2];
  for (int k = 0; k < 2; ++k) {
    auto i = FindSnapshot(archive, k ? to : from);
    if (!i.ok()) return Status::InvalidArgument((k ? "--to: " : "--from: ") + i.status().message());
    bounds[k] = *i;
  }
  if (bounds[0] > bounds[1])
    return Status::InvalidArgument("--from names snapshot " + std::to_string(bounds[0]) + ", after --to's " +
                                   std::to_string(bounds[1]));
  return std::pair<size_t, size_t>(bounds[0], bounds[1]);
}

void AddRangeOptions(CLI::App& sub, std::string& from, std::string& to) {
  sub.add_option("--from", from, "first snapshot, as --at: index, time (2026-11-23T07:11Z) or -1h")
      ->capture_default_str();
  sub.add_option("--to", to, "last snapshot, as --at")->capture_default_str();
}

}  // namespace procsnap
