@0xd0bff1ac9d5376cc;
# procsnap archive messages. See FORMAT.md for the records that carry them.
# Each message is stored zstd-compressed in one record; readers copy every
# field out once, check it, and never follow a pointer twice.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("procsnap::schema");

# The last record of an archive: where everything is.
struct Index {
  formatVersion @0 :UInt32;        # equals the header's version
  chunks @1 :List(RecordRef);      # blob chunks; a file node's `ref` indexes this list
  snapshots @2 :List(SnapshotRef); # in capture order; snapshot N of the CLI is entry N
  keyframeChunks @3 :UInt32;       # format 3: chunks 0..keyframeChunks-1 are the first
                                   # snapshot's (all or its first few), the prefix of
                                   # delta chunks (0: none yet)
  # Format 4: an index lists only what came after an earlier index record,
  # `previous`, which lists what came before (FORMAT.md: the index chain).
  previous @4 :RecordRef;          # storedSize 0: none, this index lists everything
  chunksBefore @5 :UInt32;         # chunks listed by `previous` and its chain
  snapshotsBefore @6 :UInt32;      # snapshots listed by `previous` and its chain
  sequence @7 :UInt32;             # 1 for the file's first index record, then +1 per record
}

# Position of one record in the file (offset of its 32-byte record header).
struct RecordRef {
  offset @0 :UInt64;      # bytes from the start of the file
  storedSize @1 :UInt64;  # compressed payload bytes, header not included
  rawSize @2 :UInt64;     # payload bytes after decompression
  checksum @3 :UInt64;    # same value as in the record header
  encoding @4 :UInt32;    # chunks only: 0 plain concatenation of blobs,
                          # 1 one blob in the address-lines encoding (FORMAT.md)
  plainSize @5 :UInt64;   # chunks with encoding 1: bytes after decoding
  prefix @6 :UInt32;      # format 3: 0 = none. Else the zstd frame was compressed
                          # with a prefix (ZSTD_CCtx_refPrefix): for a chunk, the
                          # contents of chunks 0..prefix-1 concatenated (the
                          # archive's keyframe); for a snapshot record, the raw
                          # record of snapshot prefix-1, an earlier one. In format
                          # 3 a prefix never has one; in format 4 a snapshot's
                          # prefix may (chains at most kMaxPrefixDepth long).
}

struct SnapshotRef {
  record @0 :RecordRef;
  startWallNs @1 :Int64;  # copy of Metadata.startWallNs, for listing without loading
  hostname @2 :Text;
  nodeCount @3 :UInt64;
}

# One captured moment: metadata plus the tree, stored column by column
# (every list in `nodes` has one entry per node) because columns of similar
# values compress far better than rows.
struct Snapshot {
  metadata @0 :Metadata;
  strings @1 :List(Text);  # names, link targets and notes; entry 0 is "" (format 1-3)
  nodes @2 :Nodes;
  stringBytes @3 :Data;    # format 4: the same table as one blob, each string followed
                           # by a NUL byte (a list of Text has a pointer per string, and
                           # one string more shifts every pointer: a delta record pays)
  # Format 5, a parted snapshot (FORMAT.md): its record holds one message
  # per part, then this one; `parts` names where each part's top-level
  # directories go. A part's message is a Snapshot too: a stand-in root
  # (node 0) whose children are its process directories, no metadata.
  parts @4 :List(Part);
  foreignAliases @5 :List(ForeignAlias);  # in a part: aliases of an earlier part's nodes
}

# Where a part goes: the nodes firstNode .. firstNode+count-1 of the
# snapshot's own message are children of its root, empty directories that
# the part's top-level directories (the same names, in order) replace.
struct Part {
  firstNode @0 :UInt32;
  count @1 :UInt32;
  prefix @2 :UInt32;  # 0: compressed alone; k: against the message of part k-1
                      # of the prefix snapshot's record
}

# An alias whose directory lies in an earlier part of the same snapshot.
# The part's own node is stored as kind 4 (other) and becomes the alias.
struct ForeignAlias {
  node @0 :UInt32;    # in this part
  part @1 :UInt32;    # an earlier part (index into the root message's `parts`)
  target @2 :UInt32;  # a directory node of that part
}

struct Nodes {
  # Node 0 is the capture root. A directory's children are the nodes
  # ref .. ref+aux-1, sorted bytewise by name, and always have a larger
  # index than their directory, so the tree has no cycles.
  name @0 :List(UInt32);      # index into strings
  kind @1 :List(UInt8);       # 0 directory, 1 file, 2 symlink, 3 alias, 4 other
  mode @2 :List(UInt32);      # st_mode as captured (type and permission bits)
  uid @3 :List(UInt32);
  gid @4 :List(UInt32);
  mtimeNs @5 :List(Int64);    # st_mtime in ns since the epoch
  statSize @6 :List(UInt64);  # st_size as the file system reported it (0 for most of procfs)
  size @7 :List(UInt64);      # bytes recorded: a file's content length
  error @8 :List(Int32);      # errno met while stating/reading/listing; 0 = none
  reason @9 :List(UInt8);     # 0 none, 1 skipped by policy, 2 truncated at the size cap,
                              # 3 excluded by option/profile, 4 capture time limit, 5 redacted,
                              # 6 carried from an earlier snapshot (format 3)
  note @10 :List(UInt32);     # index into strings: why (the policy rule), 0 = none
  ref @11 :List(UInt32);      # file: chunk index; directory: first child;
                              # symlink: string index of the target; alias: node it stands for
  aux @12 :List(UInt32);      # file: byte offset in the chunk's raw bytes; directory: child count
  dirRefsDelta @13 :Bool;     # format 2: a directory with children stores in `ref` its first
                              # child minus that of the previous such directory (mod 2^32)
}

struct Metadata {
  hostname @0 :Text;
  kernelRelease @1 :Text;
  kernelVersion @2 :Text;
  bootId @3 :Text;
  machineId @4 :Text;
  startWallNs @5 :Int64;       # CLOCK_REALTIME
  endWallNs @6 :Int64;
  startMonoNs @7 :Int64;       # CLOCK_MONOTONIC
  endMonoNs @8 :Int64;
  startBootNs @9 :Int64;       # CLOCK_BOOTTIME, comparable with process start times
  root @10 :Text;              # the captured directory, e.g. "/proc"
  profile @11 :Text;           # full, bugreport or tuning
  options @12 :List(Text);     # the capture options, one "--name=value" each
  excludes @13 :List(Text);    # exclude globs in effect
  capturerUid @14 :UInt32;
  capturerGid @15 :UInt32;
  capEffective @16 :UInt64;    # CapEff bitmask of the capturing process
  procMountOptions @17 :Text;  # super options of the procfs mount (hidepid, subset), "" if not procfs
  toolVersion @18 :Text;
  formatVersion @19 :UInt32;
  clockTicks @20 :UInt32;      # sysconf(_SC_CLK_TCK) of the capturing host
  pageSize @21 :UInt32;
  counts @22 :Counts;
  notes @23 :List(Text);       # things a reader should know (hidden pids, pid reuse, limits hit)
  executables @24 :List(Executable);  # every distinct program a process ran (added in format 4)
  redactionKinds @25 :List(KindCount); # what redaction replaced, per kind (added in format 4)
}

# One program file that processes of the snapshot run, found through
# /proc/PID/exe and read once per device and inode.
struct Executable {
  device @0 :UInt64;           # st_dev and st_ino of the file the exe link opens
  inode @1 :UInt64;
  size @2 :UInt64;
  mtimeNs @3 :Int64;
  path @4 :Text;               # the exe link's target, as the first process showed it
  pids @5 :List(UInt32);       # processes running it, ascending
  sha256 @6 :Text;             # lowercase hex of the whole file; "" when not hashed
  error @7 :Int32;             # errno met opening or reading it; 0 = none
  note @8 :Text;               # why not hashed or not kept (a limit), or why kept
  keptChunk @9 :UInt32;        # the file's bytes, kept when it is no longer on disk
  keptOffset @10 :UInt32;      # (deleted, memfd, /dev/shm, replaced): a blob reference
  keptSize @11 :UInt64;        # as a file node's; 0 = not kept
}

struct KindCount {
  kind @0 :Text;
  count @1 :UInt64;
}

struct Counts {
  files @0 :UInt64;
  directories @1 :UInt64;
  links @2 :UInt64;
  aliases @3 :UInt64;
  bytes @4 :UInt64;            # content bytes recorded, before dedup and compression
  errors @5 :UInt64;           # nodes with a non-zero error
  skipped @6 :UInt64;          # nodes with reason 1, 3 or 4
  truncated @7 :UInt64;
  redactions @8 :UInt64;       # values replaced by the bugreport profile
  uniqueBytes @9 :UInt64;      # bytes of blobs first stored by this snapshot
}
