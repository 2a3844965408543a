// The archive format: round trips of odd trees, deduplication, random
// access, append, torn tails and hostile bytes.
#define BOOST_TEST_MODULE format
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <zstd.h>
#include <filesystem>
#include <random>

#include "capture/capture.h"
#include "format/archive.h"
#include "format/codec.h"
#include "format/record.h"
#include "format/snapshot_codec.h"
#include "fuzz/hostile_messages.h"
#include "replay/replay.h"
#include "test_util.h"

using namespace procsnap;
using testutil::TempDir;

namespace {

std::string Pseudo(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Captures `root` into a new archive at `out`.
Metadata CaptureTree(const std::string& root, const std::string& out, bool append = false) {
  auto w = append ? ArchiveWriter::Append(out) : ArchiveWriter::Create(out);
  BOOST_REQUIRE_MESSAGE(w.ok(), w.status().message());
  CaptureOptions o;
  o.root = root;
  auto meta = Capture(o, **w);
  BOOST_REQUIRE_MESSAGE(meta.ok(), meta.status().message());
  BOOST_REQUIRE((*w)->finish().ok());
  return *meta;
}

// A snapshot of an empty root: for tests about blobs and records.
void AddEmptySnapshot(ArchiveWriter& w) {
  Tree t;
  t.at(t.add("")).kind = NodeKind::Directory;
  Metadata m;
  BOOST_REQUIRE(w.addSnapshot(m, std::move(t)).ok());
}

void FlipByte(const std::string& path, uint64_t offset) {
  int fd = open(path.c_str(), O_RDWR);
  unsigned char b;
  BOOST_REQUIRE(pread(fd, &b, 1, offset) == 1);
  b ^= 0x5a;
  BOOST_REQUIRE(pwrite(fd, &b, 1, offset) == 1);
  close(fd);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(format)

BOOST_AUTO_TEST_CASE(odd_tree_round_trips_byte_exact) {
  TempDir src, out;
  namespace fs = std::filesystem;
  std::string deep = src.path;
  for (int i = 0; i < 100; ++i) deep += "/d" + std::to_string(i);
  fs::create_directories(deep);
  testutil::WriteFile(deep + "/bottom", "deep\n");
  testutil::WriteFile(src / "empty", "");
  testutil::WriteFile(src / "nuls", std::string("a\0b\0\0c", 6));
  std::string big = Pseudo(10 << 20, 1);
  testutil::WriteFile(src / "big", big);
  testutil::WriteFile(src / "name-\xff\xfe-latin1", "not utf-8 name\n");
  testutil::WriteFile(src / "private", "secret\n");
  chmod((src / "private").c_str(), 0600);
  symlink("/nonexistent/target", (src / "dangling").c_str());
  symlink("nuls", (src / "to-nuls").c_str());
  mkfifo((src / "fifo").c_str(), 0644);

  std::string archive = out / "a.psnap";
  Metadata meta = CaptureTree(src.path, archive);
  BOOST_TEST(meta.counts.errors == 0u);

  auto view = View::Open(archive);
  BOOST_REQUIRE_MESSAGE(view.ok(), view.status().message());
  BOOST_TEST(*view->read("empty") == "");
  BOOST_TEST(*view->read("nuls") == std::string("a\0b\0\0c", 6));
  BOOST_TEST(*view->read("to-nuls") == std::string("a\0b\0\0c", 6));  // followed inside the tree
  BOOST_TEST((*view->read("big") == big));
  BOOST_TEST(*view->read("name-\xff\xfe-latin1") == "not utf-8 name\n");
  BOOST_TEST(*view->read(deep.substr(src.path.size()) + "/bottom") == "deep\n");
  auto dangling = view->resolve("dangling", false);
  BOOST_REQUIRE(dangling.ok());
  BOOST_TEST(view->snapshot().linkTarget(*dangling) == "/nonexistent/target");
  BOOST_TEST(!view->resolve("dangling", true).ok());
  auto priv = view->resolve("private", false);
  BOOST_TEST((view->snapshot().node(*priv).mode & 07777) == 0600u);
  BOOST_TEST(view->snapshot().node(*priv).uid == getuid());
  auto fifo = view->resolve("fifo", false);
  BOOST_TEST((view->snapshot().node(*fifo).kind == NodeKind::Other));
  // Paths may be given with the capture root in front.
  BOOST_TEST(*view->read(src.path + "/nuls") == std::string("a\0b\0\0c", 6));
}

BOOST_AUTO_TEST_CASE(identical_contents_are_stored_once) {
  TempDir src, out;
  std::string blob = Pseudo(1 << 20, 2);
  for (int i = 0; i < 5; ++i) testutil::WriteFile(src / ("copy" + std::to_string(i)), blob);
  Metadata meta = CaptureTree(src.path, out / "a.psnap");
  BOOST_TEST(meta.counts.bytes == 5u << 20);
  BOOST_TEST(meta.counts.uniqueBytes == 1u << 20);
  auto r = ArchiveReader::Open(out / "a.psnap");
  BOOST_TEST((*r)->chunkRawBytes() == 1u << 20);
}

BOOST_AUTO_TEST_CASE(one_file_needs_only_its_own_chunk) {
  TempDir src, out;
  for (int i = 0; i < 12; ++i) testutil::WriteFile(src / std::string("f").append(std::to_string(i)), Pseudo(1 << 20, 10 + i));
  std::string archive = out / "a.psnap";
  CaptureTree(src.path, archive);
  auto r = ArchiveReader::Open(archive);
  BOOST_REQUIRE((*r)->chunkCount() >= 3u);
  auto view = View::Open(archive);
  // Chunks are numbered in file order; workers decide which file lands in
  // chunk 0, so find one file there and one elsewhere.
  std::string inFirst, elsewhere;
  for (int i = 0; i < 12; ++i) {
    std::string name = std::string("f").append(std::to_string(i));
    auto id = view->resolve(name, false);
    BOOST_REQUIRE(id.ok());
    (view->snapshot().tree().blob(*id).chunk == 0 ? inFirst : elsewhere) = name;
  }
  BOOST_REQUIRE(!inFirst.empty());
  BOOST_REQUIRE(!elsewhere.empty());
  // Damage the first chunk: the other file still reads, this one fails.
  FlipByte(archive, 16 + 32 + 100);
  auto fresh = View::Open(archive);
  BOOST_REQUIRE(fresh.ok());
  BOOST_TEST(fresh->read(elsewhere).ok());
  BOOST_TEST(!fresh->read(inFirst).ok());
}

BOOST_AUTO_TEST_CASE(append_adds_snapshots_and_reuses_contents) {
  TempDir src, out;
  testutil::WriteFile(src / "a", Pseudo(100000, 3));
  testutil::WriteFile(src / "b", "first\n");
  std::string archive = out / "a.psnap";
  CaptureTree(src.path, archive);
  testutil::WriteFile(src / "b", "second\n");
  Metadata second = CaptureTree(src.path, archive, true);
  BOOST_TEST(second.counts.uniqueBytes == 7u);  // only "second\n" is new
  BOOST_TEST(*View::Open(archive, "0")->read("b") == "first\n");
  BOOST_TEST(*View::Open(archive, "1")->read("b") == "second\n");
  auto r = ArchiveReader::Open(archive);
  BOOST_TEST((*r)->snapshotCount() == 2u);
  BOOST_TEST((*r)->verify().problems.empty());
}

BOOST_AUTO_TEST_CASE(torn_tail_falls_back_to_the_previous_trailer) {
  TempDir src, out;
  testutil::WriteFile(src / "a", "one\n");
  std::string archive = out / "a.psnap";
  CaptureTree(src.path, archive);
  testutil::WriteFile(src / "a", "two\n");
  CaptureTree(src.path, archive, true);
  auto size = std::filesystem::file_size(archive);
  std::filesystem::resize_file(archive, size - 7);  // a recording killed mid-write
  auto r = ArchiveReader::Open(archive);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().message());
  BOOST_TEST((*r)->snapshotCount() == 1u);
  BOOST_TEST(!(*r)->recoveryWarning().empty());
  BOOST_TEST(*View::Open(archive, "0")->read("a") == "one\n");
  BOOST_TEST(!(*r)->verify().problems.empty());  // verify still reports the damage
  // Appending would cut the damaged end: refused unless asked for.
  testutil::WriteFile(src / "a", "three\n");
  auto refused = ArchiveWriter::Append(archive);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().message().find("--cut-damaged-tail") != std::string::npos, refused.status().message());
  BOOST_TEST(std::filesystem::file_size(archive) == size - 7);  // untouched
  WriterOptions cut;
  cut.cutDamagedTail = true;
  auto w = ArchiveWriter::Append(archive, cut);
  BOOST_REQUIRE_MESSAGE(w.ok(), w.status().message());
}

BOOST_AUTO_TEST_CASE(a_second_writer_of_one_archive_is_refused) {
  TempDir src, out;
  testutil::WriteFile(src / "a", "one\n");
  std::string archive = out / "a.psnap";
  CaptureTree(src.path, archive);
  auto first = ArchiveWriter::Append(archive);
  BOOST_REQUIRE(first.ok());
  auto second = ArchiveWriter::Append(archive);
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.status().message().find("another procsnap is writing") != std::string::npos);
  first->reset();  // lock released with the writer
  BOOST_TEST(ArchiveWriter::Append(archive).ok());
}

BOOST_AUTO_TEST_CASE(kallsyms_like_files_round_trip_through_the_address_encoding) {
  TempDir src, out;
  std::string ks;
  for (uint64_t i = 0; i < 20000; ++i) {
    char line[96];
    snprintf(line, sizeof line, "%016llx %c sym_%llu%s\n", (unsigned long long)(0xffffffff81000000ull + i * 48),
             "TtDd"[i % 4], (unsigned long long)i, i % 7 ? "" : "\t[mod]");
    ks += line;
  }
  ks += "0000000000000000 T descending_address\n";
  testutil::WriteFile(src / "kallsyms", ks);
  testutil::WriteFile(src / "almost", ks + "ZZZZ not an address line\n");
  std::string archive = out / "a.psnap";
  CaptureTree(src.path, archive);
  auto view = View::Open(archive);
  BOOST_TEST((*view->read("kallsyms") == ks));
  BOOST_TEST((*view->read("almost") == ks + "ZZZZ not an address line\n"));
  BOOST_TEST((*ArchiveReader::Open(archive))->verify().problems.empty());
}

BOOST_AUTO_TEST_CASE(snapshot_larger_than_its_size_estimate_round_trips) {
  // The writer builds the message in one buffer sized by an estimate that
  // leaves notes out; 400 KiB of them overflow it into a second segment.
  TempDir out;
  std::string archive = out / "a.psnap";
  auto w = ArchiveWriter::Create(archive);
  BOOST_REQUIRE(w.ok());
  Metadata meta;
  for (int i = 0; i < 4000; ++i) meta.notes.push_back(std::string(100, 'n') + std::to_string(i));
  Tree tree;
  tree.at(tree.add("")).kind = NodeKind::Directory;
  BOOST_REQUIRE((*w)->addSnapshot(meta, std::move(tree)).ok());
  BOOST_REQUIRE((*w)->finish().ok());
  auto view = View::Open(archive);
  BOOST_REQUIRE_MESSAGE(view.ok(), view.status().message());
  const auto& notes = view->snapshot().metadata().notes;
  BOOST_REQUIRE(notes.size() == 4000u);
  BOOST_TEST(notes[3999] == std::string(100, 'n') + "3999");
  BOOST_TEST((*ArchiveReader::Open(archive))->verify().problems.empty());
}

BOOST_AUTO_TEST_CASE(format_1_archives_still_read_but_take_no_appends) {
  // samples/format1.psnap: `samples/make_fake_proc.sh DIR 1 42` captured by
  // procsnap 0.1.0 in format 1 (absolute directory refs; format 2 stores
  // differences).
  const std::string v1 = SAMPLES "/format1.psnap";
  TempDir src, out;
  BOOST_REQUIRE(testutil::Run({"/bin/sh", SAMPLES "/make_fake_proc.sh", src.path, "1", "42"}).exitCode == 0);
  auto reader = ArchiveReader::Open(v1);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().message());
  BOOST_TEST((*reader)->formatVersion() == 1u);
  BOOST_TEST((*reader)->verify().problems.empty());
  auto view = View::Open(v1);
  BOOST_REQUIRE(view.ok());
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(src.path)) {
    if (!e.is_regular_file() || e.is_symlink()) continue;
    std::string rel = std::filesystem::relative(e.path(), src.path).string();
    auto bytes = view->read(rel);
    BOOST_REQUIRE_MESSAGE(bytes.ok(), rel + ": " + bytes.status().message());
    BOOST_TEST((*bytes == testutil::ReadFile(e.path())), rel);
    ++files;
  }
  BOOST_TEST(files == 14u);
  std::string copy = out / "v1.psnap";
  std::filesystem::copy_file(v1, copy);
  auto appender = ArchiveWriter::Append(copy);
  BOOST_REQUIRE(!appender.ok());
  BOOST_TEST(appender.status().message().find("archive format 1") != std::string::npos);
  BOOST_TEST(*View::Open(copy)->read("42/status") == testutil::ReadFile(src / "42/status"));  // left as it was
}

// Checksums hold (the writer made the archive), so the decoder's own checks
// are what stands between a crafted size and a wrapped bounds check.
BOOST_AUTO_TEST_CASE(a_file_size_that_would_wrap_is_corruption_everywhere) {
  TempDir out;
  std::string archive = out / "wrap.psnap";
  {
    auto w = ArchiveWriter::Create(archive);
    BOOST_REQUIRE(w.ok());
    auto real = (*w)->putBlob(std::string(1000, 'x'));
    BOOST_REQUIRE(real.ok());
    Tree t;
    t.at(t.add("")).kind = NodeKind::Directory;
    t.setChildren(0, 1, 1);
    NodeId f = t.add("status");
    t.at(f).kind = NodeKind::File;
    t.at(f).mode = S_IFREG | 0444;
    t.setBlob(f, BlobRef{real->chunk, 16, ~uint64_t(0) - 8});  // 16 + size wraps to 7
    Metadata m;
    m.root = "/proc";
    BOOST_REQUIRE((*w)->addSnapshot(m, std::move(t)).ok());
    BOOST_REQUIRE((*w)->finish().ok());
  }
  auto reader = ArchiveReader::Open(archive);
  BOOST_REQUIRE(reader.ok());
  auto snap = (*reader)->snapshot(0);
  BOOST_REQUIRE(!snap.ok());
  BOOST_TEST(snap.status().message().find("outside its chunk") != std::string::npos, snap.status().message());
  BOOST_TEST(!(*reader)->verify().problems.empty());  // verify no longer calls it sound
  for (std::vector<std::string> cmd : {std::vector<std::string>{"cat", archive, "status"},
                                       {"export", archive, out / "x"}, {"ls", archive}, {"verify", archive},
                                       {"diff", archive, archive}}) {
    cmd.insert(cmd.begin(), PROCSNAP_BIN);
    auto r = testutil::Run(cmd);
    BOOST_TEST(r.signal == 0, cmd[1]);
    BOOST_TEST(r.exitCode == 2, cmd[1] << ": " << r.err);
  }
  // The reader's own bounds check, without the decoder in front of it.
  BOOST_TEST(!(*reader)->readBlob(BlobRef{0, 16, ~uint64_t(0) - 8}).ok());
}

// info and verify walk every snapshot, mount and cat read many chunks: what
// the reader keeps between calls stays bounded however many there are.
BOOST_AUTO_TEST_CASE(a_reader_keeps_a_bounded_number_of_snapshots_and_chunk_bytes) {
  TempDir out;
  std::string archive = out / "many.psnap";
  const int kFiles = 30, kSnapshots = 3 * int(kSnapshotCacheCount);
  const size_t kFileSize = 3u << 20;  // a chunk each: chunks seal at 2 MiB
  std::vector<BlobRef> refs;
  {
    WriterOptions fast;
    fast.level = 1;
    auto w = ArchiveWriter::Create(archive, fast);
    BOOST_REQUIRE(w.ok());
    for (int i = 0; i < kFiles; ++i) {
      auto ref = (*w)->putBlob("file " + std::to_string(i) + "\n" + std::string(kFileSize, 'a'));
      BOOST_REQUIRE(ref.ok());
      refs.push_back(*ref);
    }
    for (int i = 0; i < kSnapshots; ++i) AddEmptySnapshot(**w);
    BOOST_REQUIRE((*w)->finish().ok());
  }
  auto reader = ArchiveReader::Open(archive);
  BOOST_REQUIRE(reader.ok());
  std::vector<std::weak_ptr<const Snapshot>> snaps;
  for (int i = 0; i < kSnapshots; ++i) snaps.push_back(*(*reader)->snapshot(i));
  size_t alive = 0;
  for (auto& s : snaps) alive += !s.expired();
  BOOST_TEST(alive <= kSnapshotCacheCount);
  std::vector<std::weak_ptr<const std::string>> chunks;
  for (const BlobRef& ref : refs) {
    auto b = (*reader)->blobBytes(ref);
    BOOST_REQUIRE(b.ok());
    BOOST_TEST(b->bytes.size() == kFileSize + std::string("file " + std::to_string(&ref - refs.data()) + "\n").size());
    chunks.push_back(b->holder);
  }
  uint64_t held = 0;
  for (auto& c : chunks)
    if (auto p = c.lock()) held += p->size();
  BOOST_TEST(held <= kChunkCacheBytes + kFileSize + 64);
  BOOST_TEST(held > 0u);
}

// A zstd frame is free to claim any content size; one of 32 KiB that claims
// 1 GiB and holds 32 KiB must cost about 32 KiB, not a 1 GiB buffer.
BOOST_AUTO_TEST_CASE(a_record_that_claims_a_gigabyte_costs_only_what_it_holds) {
  const uint64_t kClaim = 1ull << 30;
  std::string frame("\x28\xb5\x2f\xfd", 4);
  frame += '\xe0';  // single segment, 8-byte content size, no checksum
  for (int i = 0; i < 8; ++i) frame += static_cast<char>((kClaim >> (8 * i)) & 0xff);
  const uint32_t block = (32768u << 3) | 1u;  // raw block, the last one
  for (int i = 0; i < 3; ++i) frame += static_cast<char>((block >> (8 * i)) & 0xff);
  frame += Pseudo(32768, 9);
  BOOST_REQUIRE(frame.size() * kMaxExpansion + 4096 >= kClaim);  // passes the ratio check
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  auto lie = Decompress(frame, kClaim, "claim");
  getrusage(RUSAGE_SELF, &after);
  BOOST_REQUIRE(!lie.ok());
  BOOST_TEST(lie.status().message().find("its zstd blocks yield at most 32768") != std::string::npos, lie.status().message());
  BOOST_TEST(after.ru_maxrss - before.ru_maxrss < 64 * 1024, "peak grew by " << after.ru_maxrss - before.ru_maxrss << " KiB");
  // A real record that compresses far beyond 64x takes the growing path too.
  TempDir out;
  std::string archive = out / "zeros.psnap";
  const std::string zeros(40u << 20, 'z');
  BlobRef ref;
  {
    auto w = ArchiveWriter::Create(archive);
    BOOST_REQUIRE(w.ok());
    auto r = (*w)->putBlob(zeros);
    BOOST_REQUIRE(r.ok());
    ref = *r;
    AddEmptySnapshot(**w);
    BOOST_REQUIRE((*w)->finish().ok());
  }
  auto reader = ArchiveReader::Open(archive);
  BOOST_REQUIRE(reader.ok());
  BOOST_TEST((*reader)->fileSize() < 64 * 1024u);
  auto back = (*reader)->readBlob(ref);
  BOOST_REQUIRE_MESSAGE(back.ok(), back.status().message());
  BOOST_TEST((*back == zeros));
}

BOOST_AUTO_TEST_CASE(hostile_bytes_give_errors_not_crashes) {
  TempDir src, out;
  testutil::WriteFile(src / "a", Pseudo(5000, 4));
  testutil::WriteFile(src / "b", "hello\n");
  std::string archive = out / "a.psnap";
  CaptureTree(src.path, archive);
  std::string good = testutil::ReadFile(archive);
  std::string bad = out / "bad.psnap";
  // Every single-byte flip is caught: at open, at read or by verify.
  for (size_t off = 0; off < good.size(); off += std::max<size_t>(1, good.size() / 400)) {
    std::string b = good;
    b[off] ^= 0x01;
    testutil::WriteFile(bad, b);
    auto r = ArchiveReader::Open(bad);
    if (!r.ok()) {
      BOOST_TEST(r.status().message().find(bad) != std::string::npos);
      continue;
    }
    BOOST_TEST((*r)->verify().problems.size() > 0u, "flip at offset " << off << " went unnoticed");
  }
  // Garbage and a file with only a header.
  testutil::WriteFile(bad, Pseudo(100000, 5));
  BOOST_TEST(!ArchiveReader::Open(bad).ok());
  testutil::WriteFile(bad, good.substr(0, 16));
  BOOST_TEST(!ArchiveReader::Open(bad).ok());
  testutil::WriteFile(bad, "");
  BOOST_TEST(!ArchiveReader::Open(bad).ok());
}

// A delta writer compresses every record after the first snapshot against
// an earlier one (format 4: a chain at most log2 long), so a timeline costs
// about what changed; every snapshot still reads on its own, and an append
// continues the deltas.
BOOST_AUTO_TEST_CASE(delta_records_store_a_timeline_at_the_cost_of_its_changes) {
  TempDir src, out;
  const int kFiles = 300, kSnapshots = 6;
  std::vector<std::string> content(kFiles);
  for (int f = 0; f < kFiles; ++f) content[f] = Pseudo(1500, 100 + f);
  auto capture = [&](const std::string& archive, bool delta, bool append) {
    WriterOptions wo;
    wo.delta = delta;
    auto w = append ? ArchiveWriter::Append(archive, wo) : ArchiveWriter::Create(archive, wo);
    BOOST_REQUIRE_MESSAGE(w.ok(), w.status().message());
    CaptureOptions o;
    o.root = src.path;
    BOOST_REQUIRE(Capture(o, **w).ok());
    BOOST_REQUIRE((*w)->finish().ok());
  };
  std::vector<std::vector<std::string>> expected;
  std::string plain = out / "plain.psnap", delta = out / "delta.psnap";
  std::vector<uint64_t> plainSizes, deltaSizes;
  for (int k = 0; k < kSnapshots; ++k) {
    if (k > 0)
      for (int f = k; f < kFiles; f += 30) content[f][k * 7] ^= 0x55;  // ten files change a byte
    for (int f = 0; f < kFiles; ++f) testutil::WriteFile(src / std::string("f").append(std::to_string(f)), content[f]);
    expected.push_back(content);
    capture(plain, false, k > 0);
    capture(delta, true, k > 0);  // each snapshot appended: the keyframe is reloaded every time
    plainSizes.push_back(std::filesystem::file_size(plain));
    deltaSizes.push_back(std::filesystem::file_size(delta));
  }
  const uint64_t plainAdded = plainSizes.back() - plainSizes.front(), deltaAdded = deltaSizes.back() - deltaSizes.front();
  BOOST_TEST(deltaAdded * 2 < plainAdded, "delta added " << deltaAdded << ", plain added " << plainAdded);
  auto reader = ArchiveReader::Open(delta);
  BOOST_REQUIRE(reader.ok());
  BOOST_TEST((*reader)->formatVersion() == kFormatVersion);
  BOOST_TEST((*reader)->verify().problems.empty());
  for (int k = kSnapshots - 1; k >= 0; --k) {  // newest first, each from a fresh reader
    auto reopened = ArchiveReader::Open(delta);
    auto snap = (*reopened)->snapshot(k);
    BOOST_REQUIRE_MESSAGE(snap.ok(), snap.status().message());
    for (int f = 0; f < kFiles; f += 7) {
      auto bytes = (*snap)->read((*snap)->lookup(std::string("f").append(std::to_string(f))));
      BOOST_REQUIRE(bytes.ok());
      BOOST_TEST((*bytes == expected[k][f]), "snapshot " << k << " file " << f);
    }
  }
}

// One writer for many snapshots (as record): the records it holds as the
// next ones' prefixes are kept compressed but the newest, and every
// snapshot still reads back as it was captured.
BOOST_AUTO_TEST_CASE(one_delta_writer_reads_back_every_snapshot_of_its_chain) {
  TempDir src, out;
  const int kFiles = 40, kSnapshots = 13;
  std::vector<std::string> content(kFiles);
  for (int f = 0; f < kFiles; ++f) content[f] = Pseudo(900, 300 + f);
  const std::string archive = out / "chain.psnap";
  WriterOptions wo;
  wo.delta = true;
  auto w = ArchiveWriter::Create(archive, wo);
  BOOST_REQUIRE_MESSAGE(w.ok(), w.status().message());
  std::vector<std::vector<std::string>> expected;
  for (int k = 0; k < kSnapshots; ++k) {
    content[k % kFiles][k] ^= 0x33;
    if (k % 4 == 3) content.push_back(Pseudo(500, 900 + k));  // the tree grows too
    for (size_t f = 0; f < content.size(); ++f)
      testutil::WriteFile(src / std::string("f").append(std::to_string(f)), content[f]);
    expected.push_back(content);
    CaptureOptions o;
    o.root = src.path;
    BOOST_REQUIRE(Capture(o, **w).ok());
    BOOST_REQUIRE((*w)->commit().ok());
  }
  BOOST_REQUIRE((*w)->finish().ok());
  auto reader = ArchiveReader::Open(archive);
  BOOST_REQUIRE(reader.ok());
  BOOST_TEST((*reader)->verify().problems.empty());
  for (int k = 0; k < kSnapshots; ++k) {
    auto reopened = ArchiveReader::Open(archive);
    auto snap = (*reopened)->snapshot(k);
    BOOST_REQUIRE_MESSAGE(snap.ok(), snap.status().message());
    BOOST_TEST((*snap)->lookup(std::string("f").append(std::to_string(expected[k].size()))) == kNoNode);
    for (size_t f = 0; f < expected[k].size(); ++f) {
      auto bytes = (*snap)->read((*snap)->lookup(std::string("f").append(std::to_string(f))));
      BOOST_REQUIRE(bytes.ok());
      BOOST_TEST((*bytes == expected[k][f]), "snapshot " << k << " file " << f);
    }
  }
}

// A tree of one file, uptime, holding `content`.
Tree UptimeTree(ArchiveWriter& w, const std::string& content) {
  Tree t;
  NodeId root = t.add("");
  t.at(root).kind = NodeKind::Directory;
  NodeId f = t.add("uptime");
  t.setChildren(root, f, 1);
  t.at(f).kind = NodeKind::File;
  t.setBlob(f, *w.putBlob(content));
  return t;
}

// A delta writer (a recording's) creating `archive`.
std::unique_ptr<ArchiveWriter> DeltaWriter(const std::string& archive) {
  WriterOptions wo;
  wo.delta = true;
  auto w = ArchiveWriter::Create(archive, wo);
  BOOST_REQUIRE_MESSAGE(w.ok(), w.status().message());
  return std::move(*w);
}

// A long recording's writer forgets contents it has not met for 64
// snapshots (its map grew by every counter value it ever stored), but the
// keyframe's and those of a megabyte or more (kallsyms, which a light
// recording carries unread until its next full tick): those come back as
// the same blob, the others are stored anew, and every snapshot still reads
// back its own.
BOOST_AUTO_TEST_CASE(a_delta_writer_forgets_contents_not_met_for_64_snapshots_but_the_keyframes_and_large_ones) {
  TempDir out;
  const std::string archive = out / "a.psnap";
  auto w = DeltaWriter(archive);
  const std::string key = "keyframe " + Pseudo(300, 1), once = "once " + Pseudo(300, 2), kept = "kept " + Pseudo(300, 3);
  const std::string large = "large " + Pseudo(1 << 20, 4);
  BlobRef keyRef{}, onceRef{}, keptRef{}, largeRef{};
  auto same = [](BlobRef a, BlobRef b) { return a.chunk == b.chunk && a.offset == b.offset && a.size == b.size; };
  auto add = [&](int k, const std::string& content) {
    Metadata m;
    m.startWallNs = k;
    BOOST_REQUIRE(w->addSnapshot(m, UptimeTree(*w, content)).ok());
  };
  keyRef = *w->putBlob(key);
  add(0, key);
  onceRef = *w->putBlob(once);
  keptRef = *w->putBlob(kept);
  largeRef = *w->putBlob(large);
  add(1, once);
  for (int k = 2; k < 140; ++k) {
    if (k % 50 == 0) BOOST_TEST(same(*w->putBlob(kept), keptRef), "met every 50 snapshots, at " << k);
    add(k, std::to_string(k));
  }
  BOOST_TEST(same(*w->putBlob(key), keyRef));
  BOOST_TEST(same(*w->putBlob(kept), keptRef));
  BOOST_TEST(same(*w->putBlob(large), largeRef), "a megabyte or more: remembered though not met since snapshot 1");
  const BlobRef again = *w->putBlob(once);
  BOOST_TEST(!same(again, onceRef), "not met since snapshot 1: stored anew");
  add(140, once);
  BOOST_REQUIRE(w->finish().ok());
  auto r = ArchiveReader::Open(archive);
  BOOST_REQUIRE(r.ok());
  for (uint32_t k : {0u, 1u, 77u, 140u}) {
    auto snap = (*r)->snapshot(k);
    BOOST_REQUIRE(snap.ok());
    auto bytes = (*snap)->read((*snap)->lookup("uptime"));
    BOOST_REQUIRE(bytes.ok());
    BOOST_TEST(*bytes == (k == 0 ? key : k == 1 || k == 140 ? once : std::to_string(k)));
  }
}

// The offsets of the records of one type, walking the file from its header.
std::vector<uint64_t> RecordOffsets(const std::string& file, const char* type) {
  std::string bytes = testutil::ReadFile(file);
  std::vector<uint64_t> out;
  for (uint64_t pos = kFileHeaderSize; pos + kRecordHeaderSize <= bytes.size();) {
    if (bytes.compare(pos, 8, "PSNAPEND") == 0 || bytes.compare(pos + 32, 8, "PSNAPEND") == 0) {
      pos += kTrailerSize;  // a trailer ends with the magic
      continue;
    }
    uint64_t stored;
    std::memcpy(&stored, bytes.data() + pos + 8, 8);
    if (bytes.compare(pos, 4, type) == 0) out.push_back(pos);
    pos += kRecordHeaderSize + stored;
  }
  return out;
}

// The index a finished archive's last index record holds (one written by a
// single finish() lists everything).
IndexData LastIndex(const std::string& file) {
  const std::vector<uint64_t> at = RecordOffsets(file, "INDX");
  BOOST_REQUIRE(!at.empty());
  std::string bytes = testutil::ReadFile(file);
  std::string why;
  auto h = DecodeRecordHeader(std::string_view(bytes).substr(at.back(), kRecordHeaderSize), &why);
  BOOST_REQUIRE_MESSAGE(h, why);
  auto raw = Decompress(std::string_view(bytes).substr(at.back() + kRecordHeaderSize, h->storedSize), h->rawSize, file);
  BOOST_REQUIRE(raw.ok());
  IndexData index;
  BOOST_REQUIRE(DecodeIndex(*raw, file, &index).ok());
  return index;
}

// A recording's light ticks compress their chunks against the keyframe's
// first megabytes only (keyframePrefixBytes): the prefix is the keyframe's
// chunks up to the first that reaches the limit, every later chunk names
// that many, and each file reads back.
BOOST_AUTO_TEST_CASE(delta_chunks_take_the_keyframes_first_chunks_up_to_the_limit) {
  for (size_t limit : {size_t(0), size_t(4096)}) {
    TempDir out;
    const std::string archive = out / "a.psnap";
    WriterOptions wo;
    wo.delta = true;
    wo.chunkSize = 4096;
    wo.keyframePrefixBytes = limit;
    auto w = ArchiveWriter::Create(archive, wo);
    BOOST_REQUIRE(w.ok());
    std::vector<std::vector<std::string>> expected;
    for (int k = 0; k < 2; ++k) {
      Tree t;
      NodeId root = t.add("");
      t.at(root).kind = NodeKind::Directory;
      expected.emplace_back();
      for (int f = 0; f < 4; ++f) t.add(std::string("f").append(std::to_string(f)));
      t.setChildren(root, 1, 4);
      for (int f = 0; f < 4; ++f) {  // 3000 bytes each: a chunk each
        expected[k].push_back(std::to_string(k) + Pseudo(3000, f));
        t.at(1 + f).kind = NodeKind::File;
        t.setBlob(1 + f, *(*w)->putBlob(expected[k][f]));
      }
      Metadata m;
      m.startWallNs = k;
      BOOST_REQUIRE((*w)->addSnapshot(m, std::move(t)).ok());
    }
    BOOST_REQUIRE((*w)->finish().ok());
    w->reset();
    const IndexData index = LastIndex(archive);
    BOOST_REQUIRE_EQUAL(index.chunks.size(), 8u);
    const uint32_t want = limit ? 2 : 4;  // with the limit, the first chunk to reach 4096 bytes is the last
    BOOST_TEST(index.keyframeChunks == want, "limit " << limit);
    for (size_t c = 0; c < 8; ++c) BOOST_TEST(index.chunks[c].prefix == (c < 4 ? 0 : want), "chunk " << c);
    auto r = ArchiveReader::Open(archive);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST((*r)->verify().problems.empty());
    for (int k = 0; k < 2; ++k) {
      auto snap = (*r)->snapshot(k);
      BOOST_REQUIRE(snap.ok());
      for (int f = 0; f < 4; ++f) BOOST_TEST(*(*snap)->read((*snap)->lookup(std::string("f").append(std::to_string(f)))) == expected[k][f]);
    }
  }
}

// Format 4: each commit writes an index of what is new and names the index
// holding the rest, so committing a snapshot costs what it adds. The chain
// is real: with the index that a later one names damaged, the newest
// trailers do not hold and the reader falls back to the last one whose
// whole chain does.
BOOST_AUTO_TEST_CASE(index_records_chain_so_a_commit_writes_what_is_new) {
  TempDir out;
  const std::string archive = out / "a.psnap";
  auto w = DeltaWriter(archive);
  for (int k = 0; k < 8; ++k) {
    Metadata m;
    m.startWallNs = k;
    BOOST_REQUIRE(w->addSnapshot(m, UptimeTree(*w, std::to_string(k) + ".5 1.0\n" + Pseudo(2000, k))).ok());
    BOOST_REQUIRE(w->commit().ok());
  }
  BOOST_REQUIRE(w->finish().ok());
  w.reset();
  const std::vector<uint64_t> indexes = RecordOffsets(archive, "INDX");
  BOOST_REQUIRE_EQUAL(indexes.size(), 8u);  // one per commit; finish adds none when nothing is new
  {
    auto r = ArchiveReader::Open(archive);
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status().message());
    BOOST_TEST((*r)->snapshotCount() == 8u);
    BOOST_TEST((*r)->recoveryWarning().empty());
    for (size_t k = 0; k < 8; ++k) {
      auto snap = (*r)->snapshot(k);
      BOOST_REQUIRE(snap.ok());
      BOOST_TEST((*snap)->read((*snap)->lookup("uptime"))->substr(0, 6) == std::to_string(k) + ".5 1.");
    }
    BOOST_TEST((*r)->verify().problems.empty());
  }
  // Sizes: the 8th index (sequence 8 = a power of two) lists everything;
  // the 7th lists one snapshot beside the 6th's chain.
  std::string bytes = testutil::ReadFile(archive);
  auto stored = [&](uint64_t at) {
    uint64_t n;
    std::memcpy(&n, bytes.data() + at + 8, 8);
    return n;
  };
  BOOST_TEST(stored(indexes[6]) < stored(indexes[7]));
  // Damage indexes 4 and 8. Index 8 lists everything itself; 5, 6 and 7
  // chain through 4 (7 -> 6 -> 4, 5 -> 4): the reader must go back to the
  // trailer of index 3, whose chain (3 -> 2) is sound.
  bytes[indexes[3] + kRecordHeaderSize] ^= 0x5a;
  bytes[indexes[7] + kRecordHeaderSize] ^= 0x5a;
  testutil::WriteFile(archive, bytes);
  auto r = ArchiveReader::Open(archive);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().message());
  BOOST_TEST((*r)->snapshotCount() == 3u);
  BOOST_TEST(!(*r)->recoveryWarning().empty());
}

// samples/format3.psnap: three snapshots written as format 3 delta records
// (fuzz/make_seeds before format 4): uptime "12.5 3.1", "13.5 3.1", "14.5 3.1".
// It reads, verifies, and takes appends in its own format.
// An archive of an older format (samples/formatN.psnap: uptime 12.5, 13.5
// and 14.5 in three snapshots) reads, and takes appends in its own format.
void OldFormatReadsAndAppends(const std::string& sample, uint32_t version) {
  TempDir out;
  const std::string archive = out / "old.psnap";
  std::filesystem::copy_file(sample, archive);
  auto check = [&](size_t count) {
    auto r = ArchiveReader::Open(archive);
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status().message());
    BOOST_TEST((*r)->formatVersion() == version);
    BOOST_REQUIRE_EQUAL((*r)->snapshotCount(), count);
    for (size_t k = 0; k < count; ++k) {
      auto snap = (*r)->snapshot(k);
      BOOST_REQUIRE_MESSAGE(snap.ok(), snap.status().message());
      auto uptime = (*snap)->read((*snap)->lookup("uptime"));
      BOOST_REQUIRE(uptime.ok());
      BOOST_TEST(*uptime == std::to_string(12 + k) + ".5 3.1\n");
    }
    BOOST_TEST((*r)->verify().problems.empty());
  };
  check(3);
  WriterOptions wo;
  wo.delta = true;
  auto w = ArchiveWriter::Append(archive, wo);
  BOOST_REQUIRE_MESSAGE(w.ok(), w.status().message());
  BOOST_TEST(!(*w)->acceptsParts());
  Metadata m;
  BOOST_REQUIRE((*w)->addSnapshot(m, UptimeTree(**w, "15.5 3.1\n")).ok());
  BOOST_REQUIRE((*w)->finish().ok());
  w->reset();
  check(4);
}

BOOST_AUTO_TEST_CASE(format_3_archives_read_and_append_in_format_3) {
  OldFormatReadsAndAppends(SAMPLES "/format3.psnap", 3);
}

BOOST_AUTO_TEST_CASE(format_4_archives_read_and_append_in_format_4) {
  OldFormatReadsAndAppends(SAMPLES "/format4.psnap", 4);
}



BOOST_AUTO_TEST_CASE(kept_program_bytes_must_match_their_recorded_hash) {
  TempDir dir;
  const std::string path = dir / "exe.psnap";
  {
    auto w = ArchiveWriter::Create(path);
    BOOST_REQUIRE(w.ok());
    Tree t;
    t.at(t.add("")).kind = NodeKind::Directory;
    Metadata m;
    auto sound = (*w)->putBlob("program bytes");
    auto forged = (*w)->putBlob("other bytes");
    BOOST_REQUIRE(sound.ok() && forged.ok());
    Executable good, bad;
    good.path = "/good";
    {
      const std::string f = dir / "program";
      testutil::WriteFile(f, "program bytes");
      good.sha256 = testutil::Sha256Sum(f);
    }
    good.kept = *sound;
    bad.path = "/bad";
    bad.sha256 = good.sha256;  // claims the hash of bytes it does not hold
    bad.kept = *forged;
    m.executables = {good, bad};
    BOOST_REQUIRE((*w)->addSnapshot(m, std::move(t)).ok());
    BOOST_REQUIRE((*w)->finish().ok());
  }
  auto r = ArchiveReader::Open(path);
  BOOST_REQUIRE(r.ok());
  auto snap = (*r)->snapshot(0);
  BOOST_REQUIRE(snap.ok());
  auto ok = (*snap)->executableBytes(0);
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(*ok == "program bytes");
  auto refused = (*snap)->executableBytes(1);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(int(refused.status().code()) == int(StatusCode::Corruption));
  BOOST_TEST(refused.status().message().find("/bad") != std::string::npos, refused.status().message());
  VerifyReport rep = (*r)->verify();
  BOOST_REQUIRE(rep.problems.size() == 1u);
  BOOST_TEST(rep.problems[0].find("not the recorded SHA-256") != std::string::npos, rep.problems[0]);
}

// A record of a few hundred stored bytes decompresses to megabytes of zero
// words, in which a list can claim millions of zero-size elements at one
// word each (Cap'n Proto charges that much). Each is refused before it is
// decoded: no allocation per claimed element.
BOOST_AUTO_TEST_CASE(lists_claiming_millions_of_elements_are_refused_before_decoding) {
  const uint32_t claimed = 30u << 20, pad = 8u << 20;  // 64 MiB of zero words
  struct rusage before {};
  getrusage(RUSAGE_SELF, &before);
  {
    IndexData index;
    Status s = DecodeIndex(hostile::IndexClaiming(claimed, pad), "index", &index);
    BOOST_TEST(int(s.code()) == int(StatusCode::Corruption), s.message());
    BOOST_TEST(s.message().find("chunk entries") != std::string::npos, s.message());
    BOOST_TEST(index.chunks.empty());
  }
  {
    Metadata meta;
    Tree tree;
    std::vector<NodeId> parents;
    Status s = DecodeSnapshot(hostile::SnapshotClaimingExecutables(claimed, pad), {}, "snap", &meta, &tree, &parents);
    BOOST_TEST(int(s.code()) == int(StatusCode::Corruption), s.message());
    BOOST_TEST(s.message().find("executables") != std::string::npos, s.message());
    BOOST_TEST(meta.executables.empty());
  }
  {  // A string table of empty strings: each string is in the table once.
    capnp::MallocMessageBuilder mb;
    Tree t;
    t.at(t.add("")).kind = NodeKind::Directory;
    EncodeSnapshot(mb, Metadata{}, std::move(t));
    auto flat = capnp::messageToFlatArray(mb);
    std::string raw(reinterpret_cast<const char*>(flat.begin()), flat.size() * 8);
    Metadata meta;
    Tree tree;
    std::vector<NodeId> parents;
    uint64_t decoded = 0;
    BOOST_REQUIRE(DecodeSnapshot(raw, {}, "snap", &meta, &tree, &parents, &decoded).ok());
    BOOST_TEST(decoded > 0u);
    BOOST_TEST(decoded < kDecodeSlack);  // what a reader's cache charges for it
  }
  struct rusage after {};
  getrusage(RUSAGE_SELF, &after);
  // The messages themselves are 64 MiB each; decoding 30 million entries would be gigabytes.
  BOOST_TEST(after.ru_maxrss - before.ru_maxrss < 400 * 1024, "peak RSS grew by " << after.ru_maxrss - before.ru_maxrss << " KiB");
}


namespace {

// A part of processes `pids` (format 5): each PID/ holds stat ("PID at
// `tick`") and net/, its own (holding dev) for the first process of part 0,
// and else an alias of that one: within part 0, foreign from the others.
Tree ProcessPart(ArchiveWriter& w, const std::vector<std::string>& pids, int tick, bool firstPart,
                 std::vector<PartAlias>* foreign) {
  Tree t;
  t.at(t.add("")).kind = NodeKind::Directory;
  for (auto& p : pids) t.at(t.add(p)).kind = NodeKind::Directory;
  t.setChildren(0, 1, pids.size());
  std::vector<NodeId> nets;
  for (size_t i = 0; i < pids.size(); ++i) {
    const NodeId net = t.add("net"), stat = t.add("stat");
    t.setChildren(1 + i, net, 2);
    t.at(stat).kind = NodeKind::File;
    t.setBlob(stat, *w.putBlob(pids[i] + " at " + std::to_string(tick) + "\n"));
    nets.push_back(net);
  }
  for (size_t i = 0; i < pids.size(); ++i) {
    if (firstPart && i == 0) {
      t.at(nets[i]).kind = NodeKind::Directory;
      const NodeId dev = t.add("dev");
      t.setChildren(nets[i], dev, 1);
      t.at(dev).kind = NodeKind::File;
      t.setBlob(dev, *w.putBlob("eth0: " + std::to_string(tick) + "\n"));
    } else if (firstPart) {
      t.setAlias(nets[i], nets[0]);
    } else {
      t.at(nets[i]).kind = NodeKind::Other;
      foreign->push_back({nets[i], 0, 3});  // part 0's first net/: node 3 there
    }
  }
  return t;
}

}  // namespace

// Format 5: a snapshot written part by part reads back as one tree, its
// aliases across parts resolved, every snapshot of a delta chain (each part
// compressed against its run's part in the prefix snapshot).
BOOST_AUTO_TEST_CASE(parted_snapshots_read_back_as_one_tree) {
  TempDir out;
  const std::string archive = out / "parted.psnap";
  const std::vector<std::vector<std::string>> runs = {{"1", "2"}, {"3", "40"}, {"5"}};
  const int kSnapshots = 50;  // 48 finds its prefix's (32) parts dropped: against the keyframe
  {
    auto w = DeltaWriter(archive);
    BOOST_REQUIRE(w->acceptsParts());
    for (int k = 0; k < kSnapshots; ++k) {
      for (size_t r = 0; r < runs.size(); ++r) {
        std::vector<PartAlias> foreign;
        Tree part = ProcessPart(*w, runs[r], k, r == 0, &foreign);
        PackedPart packed;
        BOOST_REQUIRE(w->addPart(std::move(part), foreign, &packed).ok());
        auto back = UnpackPart(packed);  // what a recording carries
        BOOST_REQUIRE_MESSAGE(back.ok(), back.status().message());
        BOOST_TEST(back->child(0, runs[r][0]) != kNoNode);
      }
      Tree root;
      root.at(root.add("")).kind = NodeKind::Directory;
      for (auto& p : {"1", "2", "3", "40", "5"}) root.at(root.add(p)).kind = NodeKind::Directory;
      const NodeId uptime = root.add("uptime");
      root.setChildren(0, 1, 6);
      root.at(uptime).kind = NodeKind::File;
      root.setBlob(uptime, *w->putBlob(std::to_string(k) + ".5\n"));
      Metadata m;
      BOOST_REQUIRE(w->addSnapshot(m, std::move(root)).ok());
      BOOST_REQUIRE(w->commit().ok());
    }
    BOOST_REQUIRE(w->finish().ok());
  }
  auto reader = ArchiveReader::Open(archive);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().message());
  BOOST_TEST((*reader)->formatVersion() == 5u);
  BOOST_TEST((*reader)->verify().problems.empty());
  for (int k = kSnapshots; k-- > 0;) {  // newest first: each reads its chain
    auto snap = (*reader)->snapshot(k);
    BOOST_REQUIRE_MESSAGE(snap.ok(), snap.status().message());
    const Snapshot& s = **snap;
    BOOST_TEST(s.nodeCount() == (*reader)->summary(k).nodeCount);
    BOOST_TEST(s.nodeCount() == 1 + 5 + 1 + 5 * 2 + 1);
    BOOST_TEST(*s.read(s.lookup("uptime")) == std::to_string(k) + ".5\n");
    for (const std::string p : {"1", "2", "3", "40", "5"}) {
      BOOST_TEST(*s.read(s.lookup(p + "/stat")) == p + " at " + std::to_string(k) + "\n");
      BOOST_TEST(*s.read(s.lookup(p + "/net/dev")) == "eth0: " + std::to_string(k) + "\n");
    }
    BOOST_TEST((s.node(s.lookup("5/net")).kind == NodeKind::Alias));
    BOOST_TEST(s.resolveAlias(s.lookup("5/net")) == s.lookup("1/net"));
    BOOST_TEST(s.parent(s.lookup("40/stat")) == s.lookup("40"));
  }
}

// A parted snapshot's parts must fill places the snapshot names: a part
// whose directories are not those names is corruption, named.
BOOST_AUTO_TEST_CASE(a_part_that_does_not_fit_its_place_is_refused) {
  TempDir out;
  const std::string archive = out / "misfit.psnap";
  {
    auto w = DeltaWriter(archive);
    std::vector<PartAlias> foreign;
    BOOST_REQUIRE(w->addPart(ProcessPart(*w, {"1", "2"}, 0, true, &foreign)).ok());
    Tree root;
    root.at(root.add("")).kind = NodeKind::Directory;
    root.at(root.add("1")).kind = NodeKind::Directory;
    root.setChildren(0, 1, 1);
    Metadata m;
    Status s = w->addSnapshot(m, std::move(root));
    BOOST_TEST(!s.ok());  // no place for 2 after 1
    BOOST_TEST(s.message().find("no place for part 0") != std::string::npos, s.message());
  }
}
// A parted snapshot's record as a hostile machine could write it: every
// link between its messages is checked, and each refusal says what is wrong.
BOOST_AUTO_TEST_CASE(a_parted_record_is_checked_link_by_link) {
  const std::vector<RecordRef> chunks = [] {
    std::vector<RecordRef> c(1);
    c[0].rawSize = 4096;
    return c;
  }();
  auto decode = [&](const std::string& raw) {
    Metadata meta;
    Tree tree;
    std::vector<NodeId> parents;
    Status s = DecodeSnapshot(raw, chunks, "rec", &meta, &tree, &parents);
    return std::make_pair(s, std::move(tree));
  };
  {
    auto [s, t] = decode(hostile::PartedRecord());
    BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
    auto [lo, hi] = t.children(0);
    BOOST_TEST(hi - lo == 4u);
    const NodeId net3 = t.child(t.child(0, "3"), "net"), net1 = t.child(t.child(0, "1"), "net");
    BOOST_TEST(t.aliasTarget(net3) == net1);
    BOOST_TEST(t.aliasTarget(t.child(t.child(0, "2"), "net")) == net1);
    BOOST_TEST(t.blob(t.child(net1, "dev")).size == 4u);
  }
  const std::pair<std::string, std::string> bad[] = {
      {hostile::PartedRecord({{1, 2, 0}, {3, 1, 0}}, {{2, 1, 3}}), "foreign alias of node 2 is impossible"},
      {hostile::PartedRecord({{1, 2, 0}, {3, 1, 0}}, {{1, 0, 3}}), "foreign alias of node 1 is impossible"},
      {hostile::PartedRecord({{1, 2, 0}, {3, 1, 0}}, {{2, 0, 99}}), "foreign alias of node 2 is impossible"},
      {hostile::PartedRecord({{1, 2, 0}, {2, 1, 0}}), "is not a run of the root's children"},
      {hostile::PartedRecord({{1, 1, 0}, {2, 2, 0}}), "holds 2 directories where its snapshot names 1"},
      {hostile::PartedRecord({{1, 2, 0}, {4, 1, 0}}), "of its place is not an empty directory"},
      {hostile::PartedRecord({{1, 2, 0}}), "lists 1 parts, its record holds 2"},
      {hostile::PartedRecord({{1, 2, 0}, {3, 1, 0}}, {}), "node 2 has unknown"},  // kind other left as other: fine
  };
  for (size_t k = 0; k + 1 < std::size(bad); ++k) {
    auto [s, t] = decode(bad[k].first);
    BOOST_TEST(!s.ok(), "case " << k);
    BOOST_TEST(s.message().find(bad[k].second) != std::string::npos, "case " << k << ": " << s.message());
  }
  // Without its foreign alias, 3/net is a node of kind other: a tree still.
  BOOST_TEST(decode(bad[std::size(bad) - 1].first).first.ok());
  // A record that stops inside a message, or whose segment table overruns it.
  std::string cut = hostile::PartedRecord();
  cut.resize(cut.size() - 8);
  BOOST_TEST(decode(cut).first.message().find("runs past the record") != std::string::npos, decode(cut).first.message());
  // Messages by the hundred thousand (8 bytes each: a table, no words) are
  // refused before a view of each is kept.
  std::string many(8 * 100000, '\0');
  BOOST_TEST(decode(many).first.message().find("messages in one record") != std::string::npos,
             decode(many).first.message());
  // Two frames whose record claims a terabyte: refused before any buffer.
  auto frame = [](const std::string& raw) {
    std::string out(ZSTD_compressBound(raw.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 1));
    return out;
  };
  std::string frames = frame("a");
  frames += frame("b");
  auto lie = DecompressSnapshotRecord(frames, 1ull << 40, "rec", "");
  BOOST_REQUIRE(!lie.ok());
  BOOST_TEST(lie.status().message().find("is impossible") != std::string::npos, lie.status().message());
}

BOOST_AUTO_TEST_SUITE_END()
