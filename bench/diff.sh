#!/bin/sh
# Diff benchmark: procsnap diff of two full captures of the live machine
# taken 1 s apart, with N extra processes; wall time and peak memory.
#   bench/diff.sh [--procs N] [--rounds R] [--record]
set -eu
cd "$(dirname "$0")/.."
PROCS=1000 ROUNDS=3 RECORD=0
USAGE="bench/diff.sh [--procs N] [--rounds R] [--record]"
. bench/common.sh
start_load "$PROCS"
$BIN capture -q -o "$TMP/a.psnap"
sleep 1
$BIN capture -q -o "$TMP/b.psnap"
: > "$TMP/t"; : > "$TMP/rss"
for r in $(seq "$ROUNDS"); do
  /usr/bin/time -f "%e %M" -o "$TMP/m" $BIN diff "$TMP/a.psnap" "$TMP/b.psnap" > "$TMP/out" || true
  tail -1 "$TMP/m" | awk '{print $1}' >> "$TMP/t"  # GNU time adds a line when the status is not 0
  tail -1 "$TMP/m" | awk '{print $2}' >> "$TMP/rss"
done
T=$(median < "$TMP/t"); RSS=$(sort -n "$TMP/rss" | tail -1)
LINES=$(wc -l < "$TMP/out")
NPROCS=$(ls -d /proc/[0-9]* | wc -l)
RESULT=$(awk -v p="$PROCS" -v n="$NPROCS" -v t="$T" -v r="$RSS" -v l="$LINES" 'BEGIN {
  printf "| %d | %d | **%.2f s** | %.1f MiB | %d |\n", p, n, t, r / 1024, l }')
HEAD="| extra procs | processes | diff time | peak RSS | lines of default output |"
echo "$HEAD"; echo "$RESULT"
if [ "$RECORD" = 1 ]; then
  record "| diff: two captures 1 s apart, $PROCS extra procs x 3 threads | **$T s**, peak RSS $(awk -v r="$RSS" 'BEGIN {printf "%.1f", r / 1024}') MiB, $LINES lines | | < 2 s |" "diff-$PROCS"
fi
