// procsnap info: what an archive or recording holds: the timeline of many
// snapshots, and a snapshot in detail with its errors grouped by reason.
#include <sys/stat.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <optional>

#include "command.h"
#include "common.h"
#include "exit_codes.h"

namespace procsnap {

namespace {

struct InfoArgs {
  std::string archive;
  bool json = false;
  std::optional<std::string> at;  // unset: a summary of many, or the one
  bool all = false;                // every snapshot in detail
  unsigned examples = 3;
};

struct Group {
  uint64_t count = 0;
  std::vector<std::string> examples;
};

// Errors by errno name, left-out entries by the reason recorded with them.
void Groups(const View& v, unsigned examples, std::map<std::string, Group>* errors,
            std::map<std::string, Group>* skipped) {
  const Snapshot& s = v.snapshot();
  for (NodeId i = 0; i < s.nodeCount(); ++i) {
    const Node& n = s.node(i);
    auto add = [&](std::map<std::string, Group>& m, const std::string& key) {
      Group& g = m[key];
      if (g.count++ < examples) g.examples.push_back(v.display(i));
    };
    if (n.error) add(*errors, ErrnoText(n.error));
    if (NotRead(n.reason))
      add(*skipped, std::string(ReasonName(n.reason)) + ": " + std::string(s.note(i)));
  }
}

nlohmann::json GroupsJson(const std::map<std::string, Group>& m) {
  nlohmann::json out = nlohmann::json::array();
  for (auto& [k, g] : m) out.push_back({{"reason", k}, {"count", g.count}, {"examples", g.examples}});
  return out;
}

void PrintGroups(const char* title, const std::map<std::string, Group>& m) {
  uint64_t total = 0;
  for (auto& [k, g] : m) total += g.count;
  PrintLine("  %s: %llu\n", title, (unsigned long long)total);
  for (auto& [k, g] : m) {
    PrintLine("    %6llu  %s\n", (unsigned long long)g.count, k.c_str());
    for (auto& e : g.examples) PrintLine("            %s\n", e.c_str());
  }
}

int Run(const InfoArgs& a) {
  auto archive = ArchiveReader::Open(a.archive);
  if (!archive.ok()) return Fail(archive.status());
  const ArchiveReader& r = **archive;
  nlohmann::json j = {{"archive", a.archive},
                      {"format_version", r.formatVersion()},
                      {"file_bytes", r.fileSize()},
                      {"chunks", r.chunkCount()},
                      {"chunk_raw_bytes", r.chunkRawBytes()},
                      {"chunk_stored_bytes", r.chunkStoredBytes()},
                      {"snapshot_count", r.snapshotCount()},
                      {"snapshots", nlohmann::json::array()}};
  if (!r.recoveryWarning().empty()) j["warning"] = r.recoveryWarning();
  if (!a.json) {
    struct stat st;
    const bool recording = ::stat(a.archive.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    PrintLine("%s %s: format %u, %s, %zu snapshot(s)\n", recording ? "recording" : "archive", a.archive.c_str(), r.formatVersion(),
                HumanBytes(r.fileSize()).c_str(), r.snapshotCount());
    PrintLine("  %llu chunks: %s of unique content stored in %s (%.1fx)\n", (unsigned long long)r.chunkCount(),
                HumanBytes(r.chunkRawBytes()).c_str(), HumanBytes(r.chunkStoredBytes()).c_str(),
                r.chunkStoredBytes() ? double(r.chunkRawBytes()) / r.chunkStoredBytes() : 0.0);
    if (!r.recoveryWarning().empty()) PrintLine("  warning: %s\n", r.recoveryWarning().c_str());
  }
  long count = r.snapshotCount();
  long first = 0, last = count - 1;
  // Many snapshots (a recording): their shape, then the newest in detail;
  // the summaries alone in JSON. Each in detail only when asked for.
  const bool detailed = a.all || a.at || count <= 1;
  if (count > 1 && !a.at) {
    const TimelineShape t = ShapeOf(SnapshotStarts(r));
    const double perSnapshot = double(r.fileSize()) / count;
    j["timeline"] = {{"first", WallTime(t.firstNs)},     {"last", WallTime(t.lastNs)},
                     {"span_seconds", (t.lastNs - t.firstNs) / 1e9}, {"interval_seconds", t.intervalNs / 1e9},
                     {"gaps", t.gaps},                   {"longest_gap_seconds", t.longestGapNs / 1e9},
                     {"bytes_per_snapshot", perSnapshot}};
    if (!a.json) {
      PrintLine("  %ld snapshots from %s to %s (%.0f s), every %.3g s; %s per snapshot\n", count,
                WallTime(t.firstNs).c_str(), WallTime(t.lastNs).c_str(), (t.lastNs - t.firstNs) / 1e9,
                t.intervalNs / 1e9, HumanBytes(uint64_t(perSnapshot)).c_str());
      if (t.gaps)
        PrintLine("  %zu gap(s) over 1.5x the interval; the longest %.1f s, ending at %s\n", t.gaps,
                  t.longestGapNs / 1e9, WallTime(t.longestGapEndNs).c_str());
      if (!detailed)
        PrintLine("  the newest below; procsnap info --at X for another, --all for every one\n");
    }
    if (!detailed) {
      if (a.json) {
        for (long i = 0; i < count; ++i) {
          const SnapshotSummary& s = r.summary(i);
          j["snapshots"].push_back({{"index", i},
                                    {"start", WallTime(s.startWallNs)},
                                    {"hostname", s.hostname},
                                    {"nodes", s.nodeCount},
                                    {"stored_bytes", s.storedSize}});
        }
        std::cout << JsonText(j) << "\n";
        return kExitOk;
      }
      first = last;
    }
  }
  if (a.at) {
    auto i = FindSnapshot(r, *a.at);
    if (!i.ok()) return Fail(i.status());
    first = last = static_cast<long>(*i);
  }
  for (long i = first; i <= last; ++i) {
    auto snap = r.snapshot(i);
    if (!snap.ok()) return Fail(snap.status());
    auto view = std::make_optional<View>(*archive, *snap, i);
    const Metadata& m = view->snapshot().metadata();
    std::map<std::string, Group> errors, skipped;
    Groups(*view, a.examples, &errors, &skipped);
    if (a.json) {
      nlohmann::json s = MetadataJson(m);
      s["index"] = i;
      s["nodes"] = view->snapshot().nodeCount();
      s["stored_bytes"] = r.summary(i).storedSize;
      s["errors"] = GroupsJson(errors);
      s["skipped"] = GroupsJson(skipped);
      j["snapshots"].push_back(s);
      continue;
    }
    const Counts& c = m.counts;
    PrintLine("snapshot %ld: %s  %s  kernel %s  (%.2f s)\n", i, WallTime(m.startWallNs).c_str(), m.hostname.c_str(),
                m.kernelRelease.c_str(), (m.endMonoNs - m.startMonoNs) / 1e9);
    PrintLine("  root %s, profile %s, capturer uid %u gid %u, CapEff %#llx, procfs %s\n", m.root.c_str(),
                m.profile.c_str(), m.capturerUid, m.capturerGid, (unsigned long long)m.capEffective,
                m.procMountOptions.empty() ? "-" : m.procMountOptions.c_str());
    PrintLine("  boot id %s, machine id %s, procsnap %s\n", m.bootId.c_str(), m.machineId.c_str(),
                m.toolVersion.c_str());
    PrintLine("  %llu files, %llu directories, %llu links, %llu aliases, %zu nodes\n", (unsigned long long)c.files,
                (unsigned long long)c.directories, (unsigned long long)c.links, (unsigned long long)c.aliases,
                view->snapshot().nodeCount());
    PrintLine("  content %s read, %s new in this snapshot; tree record %s\n", HumanBytes(c.bytes).c_str(),
                HumanBytes(c.uniqueBytes).c_str(), HumanBytes(r.summary(i).storedSize).c_str());
    if (c.truncated || c.redactions) {
      std::string kinds;
      for (const auto& [kind, n] : m.redactionKinds) {
        kinds += kinds.empty() ? " (" : ", ";
        kinds.append(kind).append(" ").append(std::to_string(n));
      }
      if (!kinds.empty()) kinds += ")";
      PrintLine("  %llu truncated, %llu values redacted%s\n", (unsigned long long)c.truncated,
                (unsigned long long)c.redactions, kinds.c_str());
    }
    if (!m.executables.empty()) {
      size_t hashed = 0, kept = 0;
      for (const Executable& e : m.executables) {
        hashed += !e.sha256.empty();
        kept += e.kept.size > 0;
      }
      PrintLine("  %zu executables, %zu hashed (SHA-256), %zu kept: procsnap executables lists them\n",
                m.executables.size(), hashed, kept);
    }
    PrintGroups("errors", errors);
    PrintGroups("not read", skipped);
    for (auto& n : m.notes) PrintLine("  note: %s\n", n.c_str());
  }
  if (a.json) std::cout << JsonText(j) << "\n";
  return kExitOk;
}

}  // namespace

void SetupInfo(CLI::App& sub, CommandAction& action) {
  auto a = std::make_shared<InfoArgs>();
  sub.add_option("ARCHIVE", a->archive, "archive to describe")->required();
  sub.add_option("--at", a->at, "only this snapshot: an index (0 first, -1 last), a time (2026-11-23T07:11:05Z, local without the Z) or -5m");
  sub.add_flag("--all", a->all, "every snapshot in detail (without it, an archive of many gives their timeline and the newest)");
  sub.add_option("--examples", a->examples, "example paths shown per error group")->capture_default_str();
  sub.add_flag("--json", a->json, "print JSON");
  action = [a] { return Run(*a); };
}

}  // namespace procsnap
