#include "activity.h"

#include <cstdlib>

namespace procsnap {

void BlobMemo::next(const Snapshot& s) {
  if (s.blobSpace() != space_) {
    previous_.clear();  // another segment: its BlobRefs name other bytes
    current_.clear();
    space_ = s.blobSpace();
    return;
  }
  previous_ = std::move(current_);
  current_.clear();
}

Result<std::optional<std::string>> BlobMemo::text(const Snapshot& s, NodeId id) {
  const Node& n = s.node(id);
  if (n.kind != NodeKind::File || OpenError(n)) return std::optional<std::string>();
  const BlobRef ref = s.tree().blob(id);
  if (ref.size == 0) return std::optional<std::string>(std::string());
  const Key key{ref.chunk, ref.offset, ref.size};
  for (auto* m : {&current_, &previous_})
    if (auto it = m->find(key); it != m->end()) {
      current_.emplace(key, it->second);
      return std::optional<std::string>(*it->second);
    }
  auto bytes = s.read(id);
  if (!bytes.ok()) return bytes.status();
  auto kept = std::make_shared<const std::string>(std::move(*bytes));
  current_.emplace(key, kept);
  return std::optional<std::string>(*kept);
}

Result<Moment> ProcessReader::read(size_t i) {
  auto snap = archive_->snapshot(i);
  if (!snap.ok()) return snap.status();
  snap_ = *snap;
  const Snapshot& s = *snap_;
  memo_.next(s);
  Moment m;
  m.index = i;
  m.wallNs = s.metadata().startWallNs;
  m.bootNs = s.metadata().startBootNs;
  m.bootId = s.metadata().bootId;
  if (s.metadata().clockTicks) m.clockTicks = s.metadata().clockTicks;
  const uint64_t pageSize = s.metadata().pageSize ? s.metadata().pageSize : 4096;
  auto [lo, hi] = s.children(0);
  for (NodeId dir = lo; dir < hi; ++dir) {
    if (!IsNumberName(s.name(dir)) || s.node(dir).kind != NodeKind::Directory || ExitedDuringCapture(s, dir)) continue;
    auto file = [&](const char* name) -> Result<std::optional<std::string>> {
      NodeId id = s.child(dir, name);
      if (id == kNoNode) return std::optional<std::string>();
      return memo_.text(s, id);
    };
    auto stat = file("stat");
    if (!stat.ok()) return stat.status();
    if (!*stat) continue;
    auto parsed = ParsePidStat(**stat, nullptr);
    if (!parsed) continue;
    ProcessSeen p;
    p.pid = parsed->pid;
    p.ppid = parsed->ppid;
    p.nice = parsed->nice;
    p.threads = parsed->threads;
    p.startTicks = parsed->starttime;
    p.uid = s.node(dir).uid;
    p.kernel = parsed->kernelThread();
    p.utime = parsed->utime;
    p.stime = parsed->stime;
    p.minflt = parsed->minflt;
    p.majflt = parsed->majflt;
    p.rssBytes = parsed->rssPages > 0 ? uint64_t(parsed->rssPages) * pageSize : 0;
    auto cmdline = file("cmdline");
    if (!cmdline.ok()) return cmdline.status();
    p.command = *cmdline ? JoinCmdline(**cmdline) : "";
    if (p.command.empty()) p.command = "[" + parsed->comm + "]";
    auto io = file("io");
    if (!io.ok()) return io.status();
    if (*io) {
      auto kv = ParseKeyValue(**io, ':');
      auto number = [&](const char* key) -> std::optional<uint64_t> {
        auto it = kv.find(key);
        if (it == kv.end() || it->second.empty()) return std::nullopt;
        char* end = nullptr;
        uint64_t v = std::strtoull(it->second.c_str(), &end, 10);
        if (!end || *end) return std::nullopt;
        return v;
      };
      p.readBytes = number("read_bytes");
      p.writeBytes = number("write_bytes");
    }
    m.processes.emplace(p.pid, std::move(p));
  }
  return m;
}

}  // namespace procsnap
