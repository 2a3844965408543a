// WriteTables: archives in parallel, each snapshot streamed into one file
// per (table, host), renamed into place when the archive is done.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "tables.h"

namespace procsnap {

namespace {

// A host or archive name as one safe path component.
std::string SafeName(std::string_view s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  if (out.size() > 200) out.resize(200);
  return out;
}

std::string ArchiveName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::string base = std::filesystem::path(p).filename().string();
  const std::string ext = ".psnap";
  if (base.size() > ext.size() && base.compare(base.size() - ext.size(), ext.size(), ext) == 0)
    base.resize(base.size() - ext.size());
  return SafeName(base);
}

class Output {
 public:
  Output(const TablesOptions& o) : o_(o) {}

  // The file of (table, host) for one archive, opened on first use.
  Status write(const std::string& archive, TableKind t, const std::string& host, const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (o_.outDir == "-") {
      // One table on standard output: a CSV header once, before the first row.
      if (o_.format == TableFormat::Csv && !stdoutHeader_) {
        stdoutHeader_ = true;
        const std::string header = CsvHeader(t);
        if (std::fwrite(header.data(), 1, header.size(), stdout) != header.size())
          return Status::IoError("standard output: write failed");
      }
      if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size())
        return Status::IoError("standard output: write failed");
      return Status::Ok();
    }
    auto key = std::make_pair(int(t), host);
    auto& files = open_[archive];
    auto it = files.find(key);
    if (it == files.end()) {
      const std::string ext = o_.format == TableFormat::Csv ? ".csv" : ".jsonl";
      std::filesystem::path dir = std::filesystem::path(o_.outDir) / TableName(t) / ("host=" + SafeName(host));
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) return Status::IoError(dir.string() + ": cannot create: " + ec.message());
      File f;
      f.final = (dir / (archive + ext)).string();
      f.temp = (dir / ("." + archive + ext + ".tmp")).string();
      f.fp = std::fopen(f.temp.c_str(), "we");
      if (!f.fp) return Status::FromErrno(f.temp + ": cannot create", errno);
      if (o_.format == TableFormat::Csv) std::fputs(CsvHeader(t).c_str(), f.fp);
      it = files.emplace(key, f).first;
    }
    if (std::fwrite(bytes.data(), 1, bytes.size(), it->second.fp) != bytes.size())
      return Status::IoError(it->second.temp + ": write failed");
    return Status::Ok();
  }

  // Closes an archive's files: renamed into place when `keep`, else removed.
  Status finish(const std::string& archive, bool keep, size_t* files) {
    std::lock_guard<std::mutex> lock(mu_);
    Status result;
    auto node = open_.extract(archive);
    if (node.empty()) return result;
    for (auto& [key, f] : node.mapped()) {
      const bool closed = std::fclose(f.fp) == 0;
      if (!closed && result.ok()) result = Status::IoError(f.temp + ": write failed");
      if (keep && closed && std::rename(f.temp.c_str(), f.final.c_str()) == 0) {
        ++*files;
      } else {
        if (keep && closed && result.ok()) result = Status::FromErrno(f.final + ": cannot rename into place", errno);
        std::remove(f.temp.c_str());
      }
    }
    return result;
  }

 private:
  struct File {
    std::string temp, final;
    std::FILE* fp = nullptr;
  };
  const TablesOptions& o_;
  std::mutex mu_;  // standard output, and the map of open files
  bool stdoutHeader_ = false;
  std::map<std::string, std::map<std::pair<int, std::string>, File>> open_;  // by archive, then (table, host)
};

}  // namespace

Result<TablesReport> WriteTables(const TablesOptions& o, const std::function<void(const TablesProgress&)>& progress) {
  if (o.inputs.empty()) return Status::InvalidArgument("no archive to read");
  std::vector<TableKind> tables = o.tables;
  if (tables.empty()) tables.assign(std::begin(kAllTables), std::end(kAllTables));
  if (o.outDir == "-" && tables.size() != 1)
    return Status::InvalidArgument("-o - writes one table to standard output: name it with --table");
  // One output name per archive: two inputs with one name would share files.
  std::map<std::string, std::string> names;
  for (const auto& in : o.inputs) {
    auto [it, fresh] = names.emplace(ArchiveName(in), in);
    if (!fresh)
      return Status::InvalidArgument(in + " and " + it->second + " would write the same files (" + it->first +
                                     "); rename one");
  }

  Output out(o);
  TablesReport report;
  TablesProgress prog;
  prog.archives = o.inputs.size();
  std::mutex mu;
  size_t next = 0;
  auto work = [&] {
    for (;;) {
      size_t i;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (next >= o.inputs.size() || (o.stop && o.stop->load())) return;
        i = next++;
      }
      const std::string& path = o.inputs[i];
      const std::string name = ArchiveName(path);
      std::vector<std::string> warnings, errors;
      size_t snapshots = 0;
      uint64_t rows = 0;
      Status failed;
      auto archive = ArchiveReader::Open(path);
      if (!archive.ok()) {
        errors.push_back(archive.status().message());
      } else {
        std::shared_ptr<ArchiveReader> reader = *archive;
        for (size_t k = 0; k < reader->snapshotCount() && failed.ok(); ++k) {
          if (o.stop && o.stop->load()) break;
          const int64_t start = reader->summary(k).startWallNs;
          if ((o.fromNs && start < *o.fromNs) || (o.toNs && start >= *o.toNs)) continue;
          auto snap = reader->snapshot(k);
          if (!snap.ok()) {
            errors.push_back(snap.status().message());
            continue;
          }
          View view(reader, *snap, k);
          const std::string where = path + " snapshot " + std::to_string(k) + ": ";
          std::map<TableKind, std::string> buffers;  // a snapshot's rows, written table by table
          std::string host;
          std::vector<std::string> w;
          Status s = SnapshotRows(view, tables, [&](TableKind t, Row&& r) {
            if (host.empty()) host = std::get<std::string>(r[0]);
            buffers[t] += o.format == TableFormat::Csv ? CsvLine(r) : JsonLine(t, r);
            ++rows;
          }, &w);
          for (auto& x : w) warnings.push_back(where + x);
          if (!s.ok()) errors.push_back(where + s.message());
          for (auto& [t, buffer] : buffers)
            if (Status ws = out.write(name, t, host, buffer); !ws.ok()) failed = ws;
          ++snapshots;
          std::lock_guard<std::mutex> lock(mu);
          ++prog.snapshots;
          prog.rows += rows;
          rows = 0;
          if (progress) progress(prog);
        }
      }
      size_t files = 0;
      Status fs = out.finish(name, failed.ok(), &files);
      if (!failed.ok()) errors.push_back(failed.message());
      else if (!fs.ok()) errors.push_back(fs.message());
      std::lock_guard<std::mutex> lock(mu);
      report.archives += archive.ok();
      report.snapshots += snapshots;
      report.files += files;
      report.warnings.insert(report.warnings.end(), warnings.begin(), warnings.end());
      report.errors.insert(report.errors.end(), errors.begin(), errors.end());
      ++prog.archivesDone;
      if (progress) progress(prog);
    }
  };
  unsigned jobs = o.jobs ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = std::min<unsigned>(jobs, o.inputs.size());
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  report.rows = prog.rows;
  return report;
}

}  // namespace procsnap
