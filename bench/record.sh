#!/bin/sh
# Recording benchmark, in one run on this machine's /proc:
#  - size: 60 snapshots 1 s apart (procsnap record) against one capture,
#    and the bytes each added snapshot costs;
#  - CPU: CPU seconds per recorded snapshot (record --json) against the
#    CPU of one full capture (GNU time, user + system), 1 s apart and at
#    the default 10 s (13 snapshots: two minutes);
#  - peak RSS over a whole segment (360 snapshots 0.1 s apart);
#  - a long recording: 8,640 snapshots of a fixture tree (a day at 10 s),
#    then the time to open it and read one file of the middle snapshot.
#   bench/record.sh [--procs N] [--light] [--record]
# --procs N  first start N extra processes with 3 threads each
# --light    record with --light (rows named "... --light")
set -eu
cd "$(dirname "$0")/.."
PROCS=0 ROUNDS=1 RECORD=0 LIGHT=
USAGE="bench/record.sh [--procs N] [--light] [--record]"
. bench/common.sh
start_load "$PROCS"

# One full capture: bytes and CPU (median of 3).
: > "$TMP/cpu1"
for r in 1 2 3; do
  rm -f "$TMP/one.psnap"
  /usr/bin/time -f "%U %S" -o "$TMP/t" $BIN capture -q -o "$TMP/one.psnap"
  awk '{print $1 + $2}' "$TMP/t" >> "$TMP/cpu1"
done
ONE=$(stat -c %s "$TMP/one.psnap"); CPU1=$(median < "$TMP/cpu1")

# 60 snapshots 1 s apart.
$BIN record $LIGHT -o "$TMP/rec" --interval 1s --count 60 --json > "$TMP/rec.json"
SIXTY=$(du -b -s "$TMP/rec" | awk '{print $1}')
FIRST=$(head -1 "$TMP/rec.json" | sed 's/.*"added_bytes":\([0-9]*\).*/\1/')
CPUREC=$(tail -n +2 "$TMP/rec.json" | sed 's/.*"cpu_seconds":\([0-9.e-]*\).*/\1/' | median)
RESULT=$(awk -v one="$ONE" -v sixty="$SIXTY" -v first="$FIRST" -v c1="$CPU1" -v cr="$CPUREC" 'BEGIN {
  printf "%.0f %.0f %.2f %.3f %.3f %.2f", one / 1024, (sixty - first) / 59 / 1024, sixty / one, c1, cr, cr / c1 }')
set -- $RESULT
echo "one capture $1 KiB; 60 snapshots $(awk -v s="$SIXTY" 'BEGIN {printf "%.0f", s / 1024}') KiB = $3x one; $2 KiB per added snapshot"
echo "CPU: one capture $4 s, per recorded snapshot $5 s (median) = $6x"

# CPU at the default settings (10 s apart): 13 snapshots, 2 minutes.
$BIN record $LIGHT -o "$TMP/rec10" --count 13 --json > "$TMP/rec10.json"
CPU10=$(tail -n +2 "$TMP/rec10.json" | sed 's/.*"cpu_seconds":\([0-9.e-]*\).*/\1/' | median | awk '{printf "%.3f", $1}')
RATIO10=$(awk -v c1="$CPU1" -v c="$CPU10" 'BEGIN {printf "%.2f", c / c1}')
echo "CPU at the default 10 s: per recorded snapshot $CPU10 s (median of 12) = ${RATIO10}x"

# Peak RSS over a whole segment (360 snapshots, 0.1 s apart): what a
# recording left running holds, beyond record-vs-atop.sh's 45 samples.
/usr/bin/time -f "%M" -o "$TMP/t" $BIN record $LIGHT -q -o "$TMP/seg" --interval 100ms --count 360
SEGRSS=$(awk '{printf "%.1f", $1 / 1024}' "$TMP/t")
echo "peak RSS over a segment of 360 snapshots 0.1 s apart: $SEGRSS MiB"

# A day at 10 s: 8,640 snapshots of a fixture tree, as fast as they go.
LONG=
if [ "$PROCS" = 0 ]; then
  sh samples/make_fake_proc.sh "$TMP/tree" 1 42 >/dev/null
  $BIN record -q -o "$TMP/day" --root "$TMP/tree" --interval 10ms --count 8640
  /usr/bin/time -f "%e" -o "$TMP/t" $BIN cat --at 4320 "$TMP/day" 42/status > /dev/null
  OPEN=$(cat "$TMP/t")
  DAYBYTES=$(du -b -s "$TMP/day" | awk '{print $1}'); SEGS=$(ls "$TMP/day" | wc -l)
  echo "8640 snapshots in $SEGS segments, $(awk -v b="$DAYBYTES" 'BEGIN {printf "%.1f", b / 1048576}') MiB: open and read one file of snapshot 4320 in $OPEN s"
  LONG="$OPEN $SEGS"
fi

if [ "$RECORD" = 1 ]; then
  how=; key=; [ -n "$LIGHT" ] && how=" $LIGHT" && key=-light
  record "| record$how: 60 snapshots 1 s apart, $PROCS extra procs | one capture $1 KiB, 60 snapshots $3x it, **$2 KiB per added snapshot** | **$3** | <= 1.5 |" "record-size-$PROCS$key"
  record "| record$how: CPU per snapshot, $PROCS extra procs, 1 s apart | one capture $4 s, recorded snapshot $5 s (median of 59) | **$6** | <= 0.25 |" "record-cpu-$PROCS$key"
  record "| record$how: CPU per snapshot, $PROCS extra procs, default 10 s apart | one capture $4 s, recorded snapshot $CPU10 s (median of 12) | **$RATIO10** | <= 0.25 |" "record-cpu10-$PROCS$key"
  record "| record$how: peak RSS over a segment (360 snapshots 0.1 s apart), $PROCS extra procs | **$SEGRSS MiB** | | <= 32 MiB |" "record-rss-segment-$PROCS$key"
  if [ -n "$LONG" ]; then
    set -- $LONG
    record "| record: open a recording of 8,640 snapshots ($2 segments) and read one file of snapshot 4320 | **$1 s** | | < 1 s |" "record-open-day"
  fi
fi
