#!/bin/sh
# Replay benchmark: `ps aux` and a read of every file, on a mounted snapshot
# against the same on the live /proc, in one run.
#   bench/replay.sh [--rounds R] [--ps N] [--record]
# --ps N     ps aux runs per round (default 50)
# --record   append the results to bench/RESULTS.md
set -eu
cd "$(dirname "$0")/.."
ROUNDS=3 PSRUNS=50 RECORD=0
USAGE="bench/replay.sh [--rounds R] [--ps N] [--record]"
[ "$(id -u)" = 0 ] || { echo "bench/replay.sh: needs root (procsnap run, FUSE mount)" >&2; exit 2; }
. bench/common.sh
cleanup_extra() { fusermount3 -u "$TMP/mnt" 2>/dev/null || true; }

$BIN capture -q -o "$TMP/r.psnap"
mkdir "$TMP/mnt"
$BIN mount "$TMP/r.psnap" "$TMP/mnt" 2>/dev/null
# The same relative paths on both sides: the files the capture read (a walk
# of the live /proc would also open kmsg and the like, which block).
build/bench/plain_reader "$TMP/r.psnap" --list | sed 's|^/proc/||' > "$TMP/files"
FILES=$(wc -l < "$TMP/files")

# Seconds for N runs of ps aux, timed inside the shell that runs them.
PSLOOP='s=$(date +%s.%N); i=0; while [ $i -lt '"$PSRUNS"' ]; do ps aux >/dev/null; i=$((i+1)); done; e=$(date +%s.%N); awk -v s=$s -v e=$e "BEGIN {print e - s}"'
: > "$TMP/ps.live"; : > "$TMP/ps.replay"; : > "$TMP/walk.live"; : > "$TMP/walk.replay"
walk() { s=$(date +%s.%N); (cd "$1" && timeout 300 xargs -a "$TMP/files" -d '\n' cat >/dev/null 2>&1 || true); e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN {print e - s}'; }
for r in $(seq "$ROUNDS"); do
  sh -c "$PSLOOP" >> "$TMP/ps.live"
  $BIN run "$TMP/r.psnap" -- sh -c "$PSLOOP" >> "$TMP/ps.replay"
  walk /proc >> "$TMP/walk.live"
  walk "$TMP/mnt" >> "$TMP/walk.replay"
done
PSL=$(median < "$TMP/ps.live"); PSR=$(median < "$TMP/ps.replay")
WL=$(median < "$TMP/walk.live"); WR=$(median < "$TMP/walk.replay")
PROCS=$(ls "$TMP/mnt" | grep -c '^[0-9]*$')
RESULT=$(awk -v n="$PSRUNS" -v psl="$PSL" -v psr="$PSR" -v wl="$WL" -v wr="$WR" -v f="$FILES" -v p="$PROCS" 'BEGIN {
  printf "| %d | %.1f ms | %.1f ms | **%.2f** | %d | %.2f s | %.2f s | **%.2f** |\n",
    p, psl / n * 1000, psr / n * 1000, psr / psl, f, wl, wr, wr / wl }')
HEAD="| processes | ps aux live | ps aux on mount | ratio | files | read all live | read all on mount | ratio |"
echo "$HEAD"
echo "$RESULT"
if [ "$RECORD" = 1 ]; then
  {
    echo
    echo "### replay, $(date -u +%Y-%m-%d), $ROUNDS rounds of $PSRUNS ps aux (medians)"
    machine
    echo
    echo "$HEAD"
    echo "|---|---|---|---|---|---|---|---|"
    echo "$RESULT"
  } >> bench/RESULTS.md
fi
