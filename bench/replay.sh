#!/bin/sh
# Replay benchmark: `ps aux` and a read of every file, on a mounted snapshot
# against the same on the live /proc, in one run; with no extra processes
# and with N extra processes of 2 threads each.
#   bench/replay.sh [--procs N] [--rounds R] [--ps N] [--record]
# --procs N  extra processes for the second measurement (default 1000; 0 skips it)
# --ps N     ps aux runs per round (default 20)
# --record   put the results into the table at the top of bench/RESULTS.md
set -eu
cd "$(dirname "$0")/.."
PROCS=1000 ROUNDS=3 PSRUNS=20 RECORD=0
USAGE="bench/replay.sh [--procs N] [--rounds R] [--ps N] [--record]"
[ "$(id -u)" = 0 ] || { echo "bench/replay.sh: needs root (procsnap run, FUSE mount)" >&2; exit 2; }
. bench/common.sh
cleanup_extra() { fusermount3 -u "$TMP/mnt" 2>/dev/null || true; }

# Seconds for N runs of ps aux, timed inside the shell that runs them.
PSLOOP='s=$(date +%s.%N); i=0; while [ $i -lt '"$PSRUNS"' ]; do ps aux >/dev/null; i=$((i+1)); done; e=$(date +%s.%N); awk -v s=$s -v e=$e "BEGIN {print e - s}"'
walk() { s=$(date +%s.%N); (cd "$1" && timeout 600 xargs -a "$TMP/files" -d '\n' cat >/dev/null 2>&1 || true); e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN {print e - s}'; }

HEAD="| extra procs | mode | ps aux live | ps aux on mount | ratio | files | read all live | read all on mount | ratio |"
echo "$HEAD"
measure() {  # extra-procs
  rm -f "$TMP/r.psnap"
  $BIN capture -q -o "$TMP/r.psnap"
  mkdir -p "$TMP/mnt"
  # The same relative paths on both sides: the files the capture read (a
  # walk of the live /proc would also open kmsg and the like, which block).
  build/bench/plain_reader "$TMP/r.psnap" --list | sed 's|^/proc/||' > "$TMP/files"
  FILES=$(wc -l < "$TMP/files")
  # The default (content sizes, the kernel opens files itself), errors at
  # open (a round trip per open), procfs sizes (direct_io).
  for mode in content content-open procfs; do
    case $mode in
      content) OPTS="--sizes content" ;;
      content-open) OPTS="--sizes content --open-errors open" ;;
      procfs) OPTS="--sizes procfs" ;;
    esac
    # shellcheck disable=SC2086
    $BIN mount $OPTS "$TMP/r.psnap" "$TMP/mnt" 2>/dev/null
    : > "$TMP/ps.live"; : > "$TMP/ps.replay"; : > "$TMP/walk.live"; : > "$TMP/walk.replay"
    for r in $(seq "$ROUNDS"); do
      sh -c "$PSLOOP" >> "$TMP/ps.live"
      # shellcheck disable=SC2086
      $BIN run $OPTS "$TMP/r.psnap" -- sh -c "$PSLOOP" >> "$TMP/ps.replay"
      walk /proc >> "$TMP/walk.live"
      walk "$TMP/mnt" >> "$TMP/walk.replay"
    done
    fusermount3 -u "$TMP/mnt"
    PSL=$(median < "$TMP/ps.live"); PSR=$(median < "$TMP/ps.replay")
    WL=$(median < "$TMP/walk.live"); WR=$(median < "$TMP/walk.replay")
    set -- "$1" $(awk -v n="$PSRUNS" -v psl="$PSL" -v psr="$PSR" -v wl="$WL" -v wr="$WR" 'BEGIN {
      printf "%.1f %.1f %.2f %.2f %.2f %.2f", psl / n * 1000, psr / n * 1000, psr / psl, wl, wr, wr / wl }')
    echo "| $1 | $OPTS | $2 ms | $3 ms | **$4** | $FILES | $5 s | $6 s | **$7** |"
    if [ "$RECORD" = 1 ]; then
      record "| replay: ps aux, $1 extra procs x 2 threads, $OPTS | live $2 ms, mount $3 ms ($PSRUNS runs, median of $ROUNDS rounds) | **$4** | <= 2 |" "replay-ps-$1-$mode"
      record "| replay: cat every file ($FILES), $1 extra procs, $OPTS | live $5 s, mount $6 s | **$7** | <= 2 |" "replay-read-$1-$mode"
    fi
    set -- "$1"
  done
}
measure 0
if [ "$PROCS" -gt 0 ]; then
  start_load "$PROCS" 2 >&2
  measure "$PROCS"
fi
