#!/bin/sh
# Reading a recording: top, events and report over a long recording of
# this machine's /proc, each timed (wall, peak RSS) in one run; the report's
# size. The recording is taken back to back (--interval 10ms): what the
# readers cost depends on the number of snapshots and what they hold, not
# on the clock between them.
#   bench/timeline.sh [--procs N] [--count C] [--keep DIR] [--record]
# --procs N   first start N extra processes with 2 threads each
# --count C   snapshots (default 8640, a day at 10 s; 360 is an hour)
# --keep DIR  record into DIR and keep it; a DIR that exists is timed again
#             as it is (recording a day takes half an hour)
set -eu
cd "$(dirname "$0")/.."
PROCS=0 COUNT=8640 RECORD=0 KEEP=
ARGS=
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    *) ARGS="$ARGS $1"; shift ;;
  esac
done
# shellcheck disable=SC2086
set -- $ARGS
USAGE="bench/timeline.sh [--procs N] [--count C] [--record]"
. bench/common.sh
REC=${KEEP:-$TMP/rec}
if [ -d "$REC" ]; then
  COUNT=$($BIN info --json "$REC" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["snapshots"]))')
  echo "timing $REC again: $COUNT snapshots (--procs is what it was recorded with)"
else
  start_load "$PROCS" 2
  START=$(date +%s)
  $BIN record -q -o "$REC" --interval 10ms --count "$COUNT"
  echo "recorded $COUNT snapshots in $(( $(date +%s) - START )) s, $(du -sh "$REC" | cut -f1)"
  stop_load
fi

# timed NAME CMD...: wall seconds and peak RSS (MiB) of CMD into $TMP/NAME.
timed() {
  name=$1; shift
  /usr/bin/time -f "%e %M" -o "$TMP/$name" "$@" > /dev/null
  echo "$name: $(awk '{printf "%.1f s, peak RSS %.0f MiB", $1, $2 / 1024}' "$TMP/$name")"
}
timed log $BIN log "$REC"
timed top $BIN top "$REC"
timed events $BIN events "$REC"
timed report $BIN report "$REC" -o "$TMP/report.html"
SIZE=$(stat -c %s "$TMP/report.html")
echo "report: $(awk -v s="$SIZE" 'BEGIN {printf "%.1f MiB", s / 1048576}')"

if [ "$RECORD" = 1 ]; then
  fig() { awk '{printf "%.1f s, %.0f MiB", $1, $2 / 1024}' "$TMP/$1"; }
  secs() { awk '{printf "%.1f", $1}' "$TMP/$1"; }
  what="$COUNT snapshots, $PROCS extra procs x 2 threads"
  record "| timeline: top, events, report of $what | log $(fig log); top $(fig top); events $(fig events); report $(fig report), $(awk -v s="$SIZE" 'BEGIN {printf "%.1f MiB", s / 1048576}') | **$(secs report) s** | report < 60 s, < 10 MB |" "timeline-$COUNT-$PROCS"
fi
