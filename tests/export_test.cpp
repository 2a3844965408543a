// Export of hand-made hostile archives: names and links that try to leave
// the target never lead to a write outside it; what a folder cannot hold
// is in the manifest; the target must be empty.
#define BOOST_TEST_MODULE export
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "format/archive.h"
#include "replay/replay.h"
#include "test_util.h"

using namespace procsnap;
using testutil::Run;
using testutil::TempDir;

namespace {

// Builds a one-level tree: root with the given children, in the given order.
struct Entry {
  std::string name;
  NodeKind kind;
  std::string data;  // file content or link target
  uint16_t permissions = 0;  // 0: the usual 0444 / 0555
};

void WriteArchive(const std::string& path, const std::vector<Entry>& entries) {
  auto w = ArchiveWriter::Create(path);
  BOOST_REQUIRE(w.ok());
  Tree t;
  Node& root = t.at(t.add(""));
  root.kind = NodeKind::Directory;
  root.mode = S_IFDIR | 0555;
  t.setChildren(0, 1, static_cast<uint32_t>(entries.size()));
  for (const Entry& e : entries) {
    NodeId id = t.add(e.name);
    Node& n = t.at(id);
    n.kind = e.kind;
    if (e.kind == NodeKind::File) {
      auto ref = (*w)->putBlob(e.data);
      BOOST_REQUIRE(ref.ok());
      n.mode = S_IFREG | (e.permissions ? e.permissions : 0444);
      t.setBlob(id, *ref);
    } else if (e.kind == NodeKind::Symlink) {
      n.mode = S_IFLNK | 0777;
      t.setLinkTarget(id, e.data);
    } else {
      n.mode = S_IFDIR | (e.permissions ? e.permissions : 0555);  // empty
    }
  }
  Metadata m;
  m.root = "/proc";
  BOOST_REQUIRE((*w)->addSnapshot(m, std::move(t)).ok());
  BOOST_REQUIRE((*w)->finish().ok());
}

// Every path under dir, recursively, without following links.
std::vector<std::string> Everything(const std::string& dir) {
  std::vector<std::string> out;
  namespace fs = std::filesystem;
  for (auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::none)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(export_)

BOOST_AUTO_TEST_CASE(links_are_written_as_links_and_never_followed) {
  TempDir work;
  std::string outside = work / "outside";
  mkdir(outside.c_str(), 0755);
  std::string archive = work / "hostile.psnap";
  std::string longName(300, 'n');
  // Sorted by name, as the format demands.
  WriteArchive(archive, {
                            {"abs", NodeKind::Symlink, outside},
                            {"escape", NodeKind::Symlink, "../../../../../../" + outside.substr(1)},
                            {"file", NodeKind::File, "inside\n"},
                            {"loop", NodeKind::Symlink, "loop"},
                            {longName, NodeKind::File, "too long for any file system\n"},
                        });
  std::string target = work / "export";
  auto before = Everything(work.path);
  auto res = Run({PROCSNAP_BIN, "export", archive, target});
  BOOST_REQUIRE_MESSAGE(res.exitCode == 0, res.err);
  // Nothing changed outside the target.
  auto after = Everything(work.path);
  std::vector<std::string> outsideTarget;
  for (auto& p : after)
    if (p.rfind(target, 0) != 0) outsideTarget.push_back(p);
  BOOST_TEST(outsideTarget == before, "entries outside the export changed");
  BOOST_TEST(testutil::ListDir(outside).empty());
  // Links are links with the recorded targets.
  BOOST_TEST(testutil::ReadLink(target + "/abs") == outside);
  BOOST_TEST(testutil::ReadLink(target + "/loop") == "loop");
  BOOST_TEST(testutil::ReadFile(target + "/file") == "inside\n");
  // The name no file system takes is reported, not dropped.
  std::string manifest = testutil::ReadFile(target + "/" + kManifestName);
  BOOST_TEST(manifest.find(longName) != std::string::npos);
  BOOST_TEST(manifest.find("longer than 255") != std::string::npos);
  BOOST_TEST(res.err.find("1 entries were not written") != std::string::npos, res.err);
}

BOOST_AUTO_TEST_CASE(names_the_format_forbids_are_refused_before_any_write) {
  TempDir work;
  for (const std::vector<Entry>& entries : std::vector<std::vector<Entry>>{
           {{"..", NodeKind::File, "up\n"}},
           {{"a/b", NodeKind::File, "slash\n"}},
           {{"x", NodeKind::Symlink, "/tmp"}, {"x", NodeKind::Directory, ""}},  // one name twice
       }) {
    std::string archive = work / "bad.psnap";
    std::string target = work / "export";
    WriteArchive(archive, entries);
    auto res = Run({PROCSNAP_BIN, "export", archive, target});
    BOOST_TEST(res.exitCode == 2);
    BOOST_TEST(res.err.find(archive) != std::string::npos, res.err);
    BOOST_TEST(testutil::ListDir(target).empty());
    std::filesystem::remove(archive);
    std::filesystem::remove_all(target);
  }
}

BOOST_AUTO_TEST_CASE(target_must_be_empty_or_new) {
  TempDir work;
  std::string archive = work / "a.psnap";
  WriteArchive(archive, {{"file", NodeKind::File, "x\n"}});
  std::string target = work / "full";
  mkdir(target.c_str(), 0755);
  testutil::WriteFile(target + "/precious", "keep me\n");
  auto res = Run({PROCSNAP_BIN, "export", archive, target});
  BOOST_TEST(res.exitCode == 2);
  BOOST_TEST(res.err.find("not empty") != std::string::npos, res.err);
  BOOST_TEST(testutil::ReadFile(target + "/precious") == "keep me\n");
  BOOST_TEST(!std::filesystem::exists(target + "/file"));
  // An empty existing directory is fine.
  std::string empty = work / "empty";
  mkdir(empty.c_str(), 0755);
  BOOST_TEST(Run({PROCSNAP_BIN, "export", archive, empty}).exitCode == 0);
  BOOST_TEST(testutil::ReadFile(empty + "/file") == "x\n");
}

BOOST_AUTO_TEST_CASE(shared_namespaces_become_hard_links_and_errors_go_to_the_manifest) {
  TempDir work;
  std::string archive = work / "live.psnap";
  auto cap = Run({PROCSNAP_BIN, "capture", "-o", archive});
  BOOST_REQUIRE_MESSAGE(cap.exitCode == 0, cap.err);
  std::string target = work / "export";
  auto res = Run({PROCSNAP_BIN, "export", "--json", archive, target});
  BOOST_REQUIRE_MESSAGE(res.exitCode == 0, res.err);
  auto view = View::Open(archive);
  BOOST_REQUIRE(view.ok());
  // A process and its thread share a namespace: one inode for both.
  struct stat a, b;
  BOOST_REQUIRE(stat((target + "/thread-self/net/dev").c_str(), &a) == 0);
  BOOST_REQUIRE(stat((target + "/self/net/dev").c_str(), &b) == 0);
  BOOST_TEST(a.st_ino == b.st_ino);
  BOOST_TEST(testutil::ReadFile(target + "/self/net/dev") == *view->read("self/net/dev"));
  // Every recorded error is in the manifest under its path.
  auto manifest = nlohmann::json::parse(testutil::ReadFile(target + "/" + kManifestName));
  std::set<std::string> listed;
  for (const auto& e : manifest["entries"]) listed.insert(e["path"].get<std::string>());
  const Snapshot& s = view->snapshot();
  for (NodeId i = 0; i < s.nodeCount(); ++i) {
    if (!s.node(i).error || s.node(i).kind != NodeKind::File) continue;
    BOOST_TEST(listed.count(s.path(i)) == 1u, s.path(i));
  }
  BOOST_TEST(res.out.find("\"manifest_entries\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(setuid_setgid_and_sticky_bits_never_reach_a_replay) {
  TempDir work;
  std::string archive = work / "suid.psnap";
  const std::string elf = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(64, '\0');
  WriteArchive(archive, {{"groupshell", NodeKind::File, elf, 02755},
                         {"plain", NodeKind::File, "x\n", 0640},
                         {"rootshell", NodeKind::File, elf, 04755},
                         {"sticky", NodeKind::Directory, "", 01777}});
  std::string target = work / "export";
  auto res = Run({PROCSNAP_BIN, "export", archive, target});
  BOOST_REQUIRE_MESSAGE(res.exitCode == 0, res.err);
  struct stat st;
  for (const char* name : {"rootshell", "groupshell", "sticky"}) {
    BOOST_REQUIRE(lstat((target + "/" + name).c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 07000) == 0u, name);
  }
  BOOST_REQUIRE(lstat((target + "/rootshell").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0755u);
  BOOST_REQUIRE(lstat((target + "/plain").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0640u);
  auto manifest = nlohmann::json::parse(testutil::ReadFile(target + "/" + kManifestName));
  unsigned dropped = 0;
  for (const auto& e : manifest["entries"]) dropped += e.value("problem", "").find("setuid") != std::string::npos;
  BOOST_TEST(dropped == 3u);

  if (!testutil::CanMount()) {
    std::puts("SKIPPED: the mount part needs root and /dev/fuse");
    return;
  }
  std::string mnt = work / "mnt";
  mkdir(mnt.c_str(), 0755);
  auto m = Run({PROCSNAP_BIN, "mount", archive, mnt});
  BOOST_REQUIRE_MESSAGE(m.exitCode == 0, m.err);
  for (const char* name : {"rootshell", "groupshell", "sticky"}) {
    BOOST_REQUIRE(lstat((mnt + "/" + name).c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 07000) == 0u, name);
  }
  // noexec: not even root runs a file from a snapshot.
  BOOST_TEST(access((mnt + "/rootshell").c_str(), X_OK) != 0);
  std::string mounts = testutil::ReadFile("/proc/self/mountinfo");
  size_t line = mounts.find(" " + mnt + " ");
  BOOST_REQUIRE(line != std::string::npos);
  std::string options = mounts.substr(line, mounts.find('\n', line) - line);
  for (const char* o : {"nosuid", "nodev", "noexec"}) BOOST_TEST(options.find(o) != std::string::npos, options);
  Run({"/usr/bin/fusermount3", "-u", mnt});
}

BOOST_AUTO_TEST_CASE(aliases_cannot_make_an_export_write_without_end) {
  // One directory of 100 files and 2,000 aliases of it: 200,000 entries
  // from 2,102 nodes.
  TempDir work;
  std::string archive = work / "aliases.psnap";
  {
    auto w = ArchiveWriter::Create(archive);
    BOOST_REQUIRE(w.ok());
    auto blob = (*w)->putBlob("x\n");
    BOOST_REQUIRE(blob.ok());
    const uint32_t kAliases = 2000, kFiles = 100;
    Tree t;
    t.at(t.add("")).kind = NodeKind::Directory;
    t.setChildren(0, 1, kAliases + 1);
    std::vector<std::string> names = {"a"};
    for (uint32_t i = 0; i < kAliases; ++i) names.push_back(std::string("b").append(std::to_string(100000 + i)));
    for (auto& n : names) t.add(n);
    NodeId dir = 1;
    t.at(dir).kind = NodeKind::Directory;
    t.at(dir).mode = S_IFDIR | 0555;
    t.setChildren(dir, NodeId(t.size()), kFiles);
    for (uint32_t i = 0; i < kFiles; ++i) {
      NodeId f = t.add(std::string("f").append(std::to_string(1000 + i)));
      t.at(f).kind = NodeKind::File;
      t.at(f).mode = S_IFREG | 0444;
      t.setBlob(f, *blob);
    }
    for (NodeId a = 2; a <= kAliases + 1; ++a) t.setAlias(a, dir);
    Metadata m;
    m.root = "/proc";
    BOOST_REQUIRE((*w)->addSnapshot(m, std::move(t)).ok());
    BOOST_REQUIRE((*w)->finish().ok());
  }
  auto res = Run({PROCSNAP_BIN, "export", archive, work / "out"});
  BOOST_TEST(res.exitCode == 2);
  BOOST_TEST(res.err.find("export stopped after") != std::string::npos, res.err);
}

// A process that exited while it was captured (its stat failed ENOENT) is
// kept in the archive but not shown by a mount as a process: psutil's
// process_iter raised on such a pid (issue 21), a flake of every replay
// taken while processes come and go.
BOOST_AUTO_TEST_CASE(a_process_that_exited_during_the_capture_is_not_served_as_one) {
  if (!testutil::CanMount()) {
    std::puts("SKIPPED: the mount needs root and /dev/fuse");
    return;
  }
  TempDir work;
  const std::string archive = work / "exited.psnap", mnt = work / "mnt";
  {
    auto w = ArchiveWriter::Create(archive);
    BOOST_REQUIRE(w.ok());
    Tree t;
    auto dir = [&](NodeId id) {
      t.at(id).kind = NodeKind::Directory;
      t.at(id).mode = S_IFDIR | 0555;
    };
    dir(t.add(""));
    t.setChildren(0, 1, 3);
    dir(t.add("42"));
    dir(t.add("77"));
    const NodeId system = t.add("stat");  // psutil's boot time
    t.setChildren(1, 4, 1);
    t.setChildren(2, 5, 1);
    std::string line = "42 (alive) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0";
    for (int field = 23; field <= 52; ++field) line += " 0";  // as long as the kernel's
    line += "\n";
    const std::string systemStat = "cpu  1 0 1 10 0 0 0 0 0 0\nbtime 1700000000\n";
    t.at(system).kind = NodeKind::File;
    t.at(system).mode = S_IFREG | 0444;
    t.setBlob(system, *(*w)->putBlob(systemStat));
    t.at(system).size = systemStat.size();
    const NodeId alive = t.add("stat"), gone = t.add("stat");
    t.at(alive).kind = t.at(gone).kind = NodeKind::File;
    t.at(alive).mode = t.at(gone).mode = S_IFREG | 0444;
    t.setBlob(alive, *(*w)->putBlob(line));
    t.at(alive).size = line.size();
    t.at(gone).error = ENOENT;
    Metadata meta;
    BOOST_REQUIRE((*w)->addSnapshot(meta, std::move(t)).ok());
    BOOST_REQUIRE((*w)->finish().ok());
  }
  BOOST_TEST(Run({PROCSNAP_BIN, "ls", archive}).out.find("77") != std::string::npos);  // kept
  mkdir(mnt.c_str(), 0755);
  auto m = Run({PROCSNAP_BIN, "mount", archive, mnt});
  BOOST_REQUIRE_MESSAGE(m.exitCode == 0, m.err);
  auto names = testutil::ListDir(mnt);
  BOOST_TEST((std::find(names.begin(), names.end(), "42") != names.end()));
  BOOST_TEST((std::find(names.begin(), names.end(), "77") == names.end()));
  struct stat st;
  BOOST_TEST(stat((mnt + "/77").c_str(), &st) != 0);
  BOOST_TEST(testutil::ReadFile(mnt + "/42/stat").find("(alive)") != std::string::npos);
  Run({"/usr/bin/fusermount3", "-u", mnt});
  // psutil over it raises nothing and finds the live one only.
  auto ps = Run({PROCSNAP_BIN, "run", archive, "--", "/usr/bin/python3", "-c",
                 "import psutil\nprint(sorted(p.info['name'] for p in psutil.process_iter(['name'])))"});
  BOOST_TEST(ps.exitCode == 0, ps.err);
  BOOST_TEST(ps.out == "['alive']\n", ps.out + ps.err);
}

// A tree as a test compares it: relative path -> type, mode and content
// (a link's target), never following a link.
std::map<std::string, std::string> TreeOf(const std::string& root) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = fs::relative(it->path(), root).string();
    struct stat st;
    BOOST_REQUIRE(lstat(it->path().c_str(), &st) == 0);
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o ", unsigned(st.st_mode));
    if (S_ISLNK(st.st_mode))
      out[rel] = mode + fs::read_symlink(it->path()).string();
    else if (S_ISREG(st.st_mode))
      out[rel] = mode + testutil::ReadFile(it->path());
    else
      out[rel] = mode;
  }
  return out;
}

// A fixture goes through git and comes back the same: export --fixture,
// commit, clone, capture --root of the clone, export --fixture again give
// the same tree and the same manifest, recorded errors included.
BOOST_AUTO_TEST_CASE(a_fixture_survives_git_and_capture_byte_for_byte) {
  if (geteuid() != 0 || access("/usr/bin/git", X_OK) != 0) {
    std::puts("SKIPPED: needs root (to read kernel threads) and git");
    return;
  }
  TempDir work;
  testutil::Child child({CHILD_HELPER, "--threads", "2", "fixture child"}, {"LANG=C"});
  const std::string first = work / "first.psnap", exported = work / "fixture", clone = work / "clone",
                    again = work / "again.psnap", second = work / "second";
  // The child, and kthreadd: its exe cannot be read, a link no folder can hold.
  auto cap = Run({PROCSNAP_BIN, "capture", "-q", "--pid", std::to_string(child.pid()) + ",2", "--exclude",
                  "kallsyms", "-o", first});
  BOOST_REQUIRE_MESSAGE(cap.exitCode == 0, cap.err);
  auto ex = Run({PROCSNAP_BIN, "export", "--fixture", "--json", first, exported});
  BOOST_REQUIRE_MESSAGE(ex.exitCode == 0, ex.err);
  const auto report = nlohmann::json::parse(ex.out);
  BOOST_TEST(report["empty_directory_markers"].get<int>() > 0);

  // What git and rm need: every file 0644, every directory 0755.
  for (const auto& [rel, entry] : TreeOf(exported)) {
    const std::string mode = entry.substr(0, entry.find(' '));
    BOOST_TEST((mode == "100644" || mode == "40755" || mode == "120777"), rel << " has mode " << mode);
  }
  const auto manifest = nlohmann::json::parse(testutil::ReadFile(exported + "/" + kManifestName));
  BOOST_TEST(!manifest.contains("archive"));  // nothing that depends on where the archive lay
  int lostLinks = 0, failedReads = 0;
  std::string failedFile;
  for (const auto& e : manifest["entries"]) {
    const std::string problem = e["problem"];
    lostLinks += problem.rfind("link target unknown", 0) == 0;
    if (problem == "read failed at capture; written empty" && failedFile.empty()) failedFile = e["path"];
    failedReads += problem == "read failed at capture; written empty";
  }
  BOOST_TEST(lostLinks > 0);
  BOOST_REQUIRE(failedReads > 0);

  const std::string git = "git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main";
  auto gitRun = Run({"/bin/sh", "-c",
                     "cd " + exported + " && " + git + " init -q && " + git + " add -A && " + git +
                         " commit -q -m fixture && " + git + " clone -q " + exported + " " + clone + " && rm -rf " +
                         clone + "/.git " + exported + "/.git"});
  BOOST_REQUIRE_MESSAGE(gitRun.exitCode == 0, gitRun.err);
  auto recap = Run({PROCSNAP_BIN, "capture", "-q", "--root", clone, "-o", again});
  BOOST_REQUIRE_MESSAGE(recap.exitCode == 0, recap.err);
  auto ex2 = Run({PROCSNAP_BIN, "export", "--fixture", again, second});
  BOOST_REQUIRE_MESSAGE(ex2.exitCode == 0, ex2.err);

  const auto a = TreeOf(exported), b = TreeOf(second);
  BOOST_TEST(a.size() == b.size());
  for (const auto& [rel, entry] : a) {
    auto it = b.find(rel);
    BOOST_TEST((it != b.end() && it->second == entry), rel << " differs after export, git, capture, export");
  }
  // The recaptured archive holds the error, not an empty file.
  auto cat = Run({PROCSNAP_BIN, "cat", again, failedFile});
  BOOST_TEST(cat.exitCode != 0);
  BOOST_TEST(cat.err.find("failed at capture") != std::string::npos, cat.err);
  // And the marker is not a file of the snapshot: a directory it kept is empty there.
  std::string keptEmpty;
  for (const auto& [rel, entry] : a)
    if (keptEmpty.empty() && std::filesystem::path(rel).filename() == kEmptyDirMarker)
      keptEmpty = std::filesystem::path(rel).parent_path().string();
  BOOST_REQUIRE(!keptEmpty.empty());
  auto ls = Run({PROCSNAP_BIN, "ls", again, keptEmpty});
  BOOST_TEST(ls.exitCode == 0, ls.err);
  BOOST_TEST(ls.out == "", keptEmpty << " lists " << ls.out);
  std::filesystem::remove_all(exported);  // pytest's tmp cleanup: nothing read-only in the way
  BOOST_TEST(!std::filesystem::exists(exported));
}

// The example in samples/fixture, as a user would run it from a copy: the
// psutil test reads the committed tree directly, the shell test runs ps and
// ss on it under `procsnap run`.
BOOST_AUTO_TEST_CASE(the_sample_fixture_tests_pass) {
  const std::string dir = std::string(SAMPLES) + "/fixture";
  if (Run({"/usr/bin/python3", "-c", "import psutil"}).exitCode != 0) {
    std::puts("SKIPPED: python3-psutil is not installed");
    return;
  }
  auto py = Run({"/usr/bin/python3", dir + "/test_psutil.py"});
  BOOST_TEST(py.exitCode == 0, py.out + py.err);
  BOOST_TEST(py.err.find("Ran 4 tests") != std::string::npos, py.err);
  if (!testutil::CanMount()) {
    std::puts("SKIPPED: the shell sample runs procsnap run (root and /dev/fuse)");
    return;
  }
  auto sh = Run({"/bin/sh", "-c", "PROCSNAP=" + std::string(PROCSNAP_BIN) + " sh " + dir + "/test_ps.sh"});
  BOOST_TEST(sh.exitCode == 0, sh.out + sh.err);
  BOOST_TEST(sh.out == "test_ps.sh: ok\n");
}

// A manifest that is not one is named, with what is wrong, and nothing is written.
BOOST_AUTO_TEST_CASE(capture_of_a_folder_with_a_bad_manifest_says_what_is_wrong) {
  TempDir work;
  const std::string dir = work / "tree";
  std::filesystem::create_directories(dir);
  testutil::WriteFile(dir + "/loadavg", "0.00 0.00 0.00 1/1 1\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "not a JSON object"},
      {R"({"procsnap_manifest": 7})", "is not 1"},
      {R"({"procsnap_manifest": 1, "entries": [{"path": "loadavg", "problem": "read failed", "errno": 99999}]})",
       "entries[0]: errno is not a number from 1 to 4095"},
      {R"({"procsnap_manifest": 1, "entries": [{"path": "/etc/passwd", "problem": "x"}]})", "is not relative"},
      {R"({"procsnap_manifest": 1, "entries": [{"path": "1/..", "problem": "link target unknown", "errno": 2}]})",
       "has an empty, . or .. component"}};
  for (const auto& [text, says] : cases) {
    testutil::WriteFile(dir + "/" + kManifestName, text);
    auto r = Run({PROCSNAP_BIN, "capture", "-q", "--root", dir, "-o", work / "out.psnap"});
    BOOST_TEST(r.exitCode != 0, text);
    BOOST_TEST(r.err.find(std::string(kManifestName)) != std::string::npos, r.err);
    BOOST_TEST(r.err.find(says) != std::string::npos, r.err);
    BOOST_TEST(!std::filesystem::exists(work / "out.psnap"), text);
  }
}

BOOST_AUTO_TEST_SUITE_END()
