#!/bin/sh
# Tables benchmark, in one run on this machine's /proc: the time of
# procsnap tables (every table) of a capture against the time that capture
# took, and the peak memory of tables over many archives.
#   bench/tables.sh [--procs N] [--rounds R] [--record]
# --procs N  first start N extra processes with 3 threads each
# --record   put the results into the table at the top of bench/RESULTS.md
set -eu
cd "$(dirname "$0")/.."
PROCS=0 ROUNDS=3 RECORD=0
USAGE="bench/tables.sh [--procs N] [--rounds R] [--record]"
. bench/common.sh
start_load "$PROCS"

: > "$TMP/cap" ; : > "$TMP/tab"
for r in $(seq "$ROUNDS"); do
  rm -rf "$TMP/c.psnap" "$TMP/t"
  /usr/bin/time -f "%e" -o "$TMP/tc" $BIN capture -q -o "$TMP/c.psnap"
  cat "$TMP/tc" >> "$TMP/cap"
  /usr/bin/time -f "%e %M" -o "$TMP/tt" $BIN tables -q "$TMP/c.psnap" -o "$TMP/t"
  awk '{print $1}' "$TMP/tt" >> "$TMP/tab"
done
CAP=$(median < "$TMP/cap"); TAB=$(median < "$TMP/tab")
ROWS=$(cat "$TMP"/t/*/*/*.jsonl | wc -l)
RATIO=$(awk -v c="$CAP" -v t="$TAB" 'BEGIN {printf "%.2f", t / c}')
echo "capture $CAP s, tables $TAB s ($ROWS rows) = ${RATIO}x"

# Memory over many archives: 20 copies of the capture, read 2 at a time.
mkdir -p "$TMP/many"
for i in $(seq 20); do cp "$TMP/c.psnap" "$TMP/many/h$i.psnap"; done
rm -rf "$TMP/tm"
/usr/bin/time -f "%e %M" -o "$TMP/tm2" $BIN tables -q -j 2 "$TMP"/many/*.psnap -o "$TMP/tm"
set -- $(cat "$TMP/tm2")
MANY_S=$1 MANY_RSS=$(awk -v k="$2" 'BEGIN {printf "%.0f", k / 1024}')
echo "20 archives: $MANY_S s, peak RSS $MANY_RSS MiB"

if [ "$RECORD" = 1 ]; then
  record "| tables: every table of a capture, $PROCS extra procs x 3 threads ($ROWS rows) | tables $TAB s, capture $CAP s (median of $ROUNDS) | **$RATIO** | <= 0.5 |" "tables-time-$PROCS"
  record "| tables: 20 such archives, 2 at a time | $MANY_S s, **peak RSS $MANY_RSS MiB** | | bounded |" "tables-rss-$PROCS"
fi
