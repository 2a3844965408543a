// Writes the seed corpora under fuzz/corpus/ (run from the repository root:
// build/fuzz/make_seeds fuzz/corpus). Seeds are small, real instances of
// what each target reads, so the fuzzer starts past the magic numbers.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "format/archive.h"
#include "format/snapshot_codec.h"
#include "fuzz/hostile_messages.h"

using namespace procsnap;

namespace {

void Put(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

std::string U32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

// A small /proc-shaped tree: a process with status and a link, net/tcp, an alias.
Tree SmallTree(ArchiveWriter* w, int variant = 0) {
  Tree t;
  auto file = [&](NodeId id, const std::string& content) {
    t.at(id).kind = NodeKind::File;
    t.at(id).mode = 0100444;
    if (w) t.setBlob(id, *w->putBlob(content));
  };
  NodeId root = t.add("");
  t.at(root).kind = NodeKind::Directory;
  t.at(root).mode = 040555;
  NodeId first = t.add("1");
  t.add("net");
  t.add("self");
  t.add("uptime");
  t.setChildren(root, first, 4);
  t.at(first).kind = NodeKind::Directory;
  t.at(first).mode = 040555;
  t.at(first + 1).kind = NodeKind::Alias;
  t.at(first + 2).kind = NodeKind::Symlink;
  t.setLinkTarget(first + 2, "1");
  file(first + 3, std::to_string(12 + variant) + ".5 3.1\n");
  NodeId p = t.add("net");
  t.add("stat");
  t.add("status");
  t.setChildren(first, p, 3);
  t.at(p).kind = NodeKind::Directory;
  t.at(p).mode = 040555;
  file(p + 1, "1 (init) S 0 1 1 0 -1 4194560 0 0 0 0 5 6 0 0 20 0 1 0 10 1000 100\n");
  file(p + 2, "Name:\tinit\nState:\tS (sleeping)\nPid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\n");
  NodeId tcp = t.add("tcp");
  t.setChildren(p, tcp, 1);
  file(tcp, "  sl  local_address rem_address   st\n   0: 0100007F:1F90 00000000:0000 0A 0\n");
  t.setAlias(first + 1, p);
  return t;
}

Metadata SmallMetadata() {
  Metadata m;
  m.hostname = "seed";
  m.root = "/proc";
  m.profile = "full";
  m.clockTicks = 100;
  m.pageSize = 4096;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
    return 2;
  }
  std::string out = argv[1];
  // archive_bytes: a real archive of two snapshots.
  std::string archive = out + "/.seed.psnap";
  std::filesystem::create_directories(out);
  std::filesystem::remove(archive);
  {
    auto w = ArchiveWriter::Create(archive);
    for (int i = 0; i < 2; ++i) {
      Metadata m = SmallMetadata();
      (void)(*w)->addSnapshot(m, SmallTree(w->get()));
    }
    (void)(*w)->finish();
  }
  std::ifstream in(archive, std::ios::binary);
  Put(out + "/archive_bytes", "two_snapshots", std::string(std::istreambuf_iterator<char>(in), {}));
  std::filesystem::remove(archive);
  // ... and three written as deltas of the first (format 3).
  {
    WriterOptions delta;
    delta.delta = true;
    auto w = ArchiveWriter::Create(archive, delta);
    for (int i = 0; i < 3; ++i) {
      Metadata m = SmallMetadata();
      m.startWallNs = i;
      (void)(*w)->addSnapshot(m, SmallTree(w->get(), i));
      (void)(*w)->commit();
    }
    (void)(*w)->finish();
  }
  std::ifstream din(archive, std::ios::binary);
  Put(out + "/archive_bytes", "delta_snapshots", std::string(std::istreambuf_iterator<char>(din), {}));
  std::filesystem::remove(archive);

  // ... and three parted ones (format 5): processes 1 and 2 in a part each.
  {
    WriterOptions delta;
    delta.delta = true;
    auto w = ArchiveWriter::Create(archive, delta);
    for (int i = 0; i < 3; ++i) {
      for (const char* pid : {"1", "2"}) {
        Tree part;
        part.at(part.add("")).kind = NodeKind::Directory;
        part.at(part.add(pid)).kind = NodeKind::Directory;
        part.setChildren(0, 1, 1);
        const NodeId stat = part.add("stat");
        part.setChildren(1, stat, 1);
        part.at(stat).kind = NodeKind::File;
        part.setBlob(stat, *(*w)->putBlob(std::string(pid) + " (seed) S " + std::to_string(i) + "\n"));
        (void)(*w)->addPart(std::move(part));
      }
      Tree root;
      root.at(root.add("")).kind = NodeKind::Directory;
      root.at(root.add("1")).kind = NodeKind::Directory;
      root.at(root.add("2")).kind = NodeKind::Directory;
      root.setChildren(0, 1, 2);
      Metadata m = SmallMetadata();
      m.startWallNs = i;
      (void)(*w)->addSnapshot(m, std::move(root));
      (void)(*w)->commit();
    }
    (void)(*w)->finish();
  }
  std::ifstream pin(archive, std::ios::binary);
  Put(out + "/archive_bytes", "parted_snapshots", std::string(std::istreambuf_iterator<char>(pin), {}));
  std::filesystem::remove(archive);

  // snapshot_message: control bytes (snapshot, one 4 KiB chunk), then the message.
  {
    capnp::MallocMessageBuilder mb;
    EncodeSnapshot(mb, SmallMetadata(), SmallTree(nullptr));
    auto flat = capnp::messageToFlatArray(mb);
    std::string msg(reinterpret_cast<const char*>(flat.begin()), flat.size() * sizeof(capnp::word));
    Put(out + "/snapshot_message", "small_tree", std::string("\0\1", 2) + U32(4096) + msg);
    IndexData index;
    index.chunks.resize(2);
    index.chunks[1].offset = 100;
    index.snapshots.resize(1);
    index.snapshots[0].summary.hostname = "seed";
    capnp::MallocMessageBuilder ib;
    EncodeIndex(ib, index);
    auto iflat = capnp::messageToFlatArray(ib);
    std::string imsg(reinterpret_cast<const char*>(iflat.begin()), iflat.size() * sizeof(capnp::word));
    Put(out + "/snapshot_message", "index", std::string("\1\0", 2) + imsg);
    // Lists claiming 30 million zero-size entries in 64 MiB of zero words
    // (control bit 1: the target pads the message; log2 of the pad follows).
    const std::string pad(1, '\x17');  // 2^23 words
    Put(out + "/snapshot_message", "index_claims_millions",
        std::string("\3", 1) + pad + std::string(1, '\0') + hostile::IndexClaiming(30u << 20, 0));
    Put(out + "/snapshot_message", "parted_tree", std::string("\0\1", 2) + U32(4096) + hostile::PartedRecord());
    Put(out + "/snapshot_message", "executables_claim_millions",
        std::string("\2", 1) + pad + std::string(1, '\0') + hostile::SnapshotClaimingExecutables(30u << 20, 0));
  }

  // blob_codec: kallsyms-like lines to encode, and to decode as given.
  std::string kallsyms;
  for (int i = 0; i < 40; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "ffffffff8100%04x T symbol_%d\n", i * 16, i);
    kallsyms += line;
  }
  Put(out + "/blob_codec", "encode_kallsyms", std::string("\1", 1) + U32(0) + kallsyms);
  Put(out + "/blob_codec", "decompress_garbage", std::string("\2", 1) + U32(64) + "\x28\xb5\x2f\xfd" + kallsyms.substr(0, 40));

  // procfs_text: one of each format the parsers read.
  Put(out + "/procfs_text", "status", "Name:\tbash\nState:\tS (sleeping)\nPid:\t42\nVmRSS:\t  4 kB\n");
  Put(out + "/procfs_text", "stat", "42 (a) b)) R 1 42 42 0 -1 0 0 0 0 0 3 4 0 0 20 0 2 0 99 123 45\n");
  Put(out + "/procfs_text", "tcp", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                                   "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1\n");
  Put(out + "/procfs_text", "mountinfo", "36 35 98:0 /root /mnt\\040x rw,noatime master:1 - ext3 /dev/sda rw,errors=continue\n");
  Put(out + "/procfs_text", "snmp", "Tcp: RtoAlgorithm ActiveOpens\nTcp: 1 20\n");
  Put(out + "/procfs_text", "limits", "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n");
  Put(out + "/procfs_text", "unix", "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 1234 @/tmp/x\n");
  Put(out + "/procfs_text", "maps", "00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/dbus (deleted)\n7fff-8000 rw-p 0 0:0 0 [stack]\n");
  // archive_tree reads any bytes as a tree; a few fixed patterns start it.
  for (int i = 0; i < 4; ++i) {
    std::string b;
    for (int j = 0; j < 400; ++j) b += static_cast<char>((j * (37 + i * 11)) ^ (j >> 3));
    Put(out + "/archive_tree", "pattern" + std::to_string(i), b);
  }
  return 0;
}
