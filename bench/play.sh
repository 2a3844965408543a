#!/bin/sh
# play benchmark: the time one refresh of top takes under `procsnap play`
# against the live /proc and against `procsnap run` of one snapshot, in one
# run, with N extra processes of 2 threads each; and how long a switch to
# another snapshot takes to be seen (--control step, then /proc/uptime
# read until it changes).
#   bench/play.sh [--procs N] [--rounds R] [--record]
set -eu
cd "$(dirname "$0")/.."
PROCS=1000 ROUNDS=3 RECORD=0
USAGE="bench/play.sh [--procs N] [--rounds R] [--record]"
[ "$(id -u)" = 0 ] || { echo "bench/play.sh: needs root (procsnap play)" >&2; exit 2; }
. bench/common.sh

FRAMES=10 DELAY=0.2
# Milliseconds per refresh: top's run over FRAMES refreshes, less its delays.
TOPLOOP='s=$(date +%s%N); top -b -n '"$FRAMES"' -d '"$DELAY"' >/dev/null; e=$(date +%s%N); awk -v s=$s -v e=$e "BEGIN {print ((e - s) / 1e6 - ('"$FRAMES"' - 1) * '"$DELAY"' * 1000) / '"$FRAMES"'}"'

start_load "$PROCS" 2 >&2
$BIN record -q -o "$TMP/rec" --interval 1s --count 4
: > "$TMP/live"; : > "$TMP/run"; : > "$TMP/play"
for r in $(seq "$ROUNDS"); do
  sh -c "$TOPLOOP" >> "$TMP/live"
  $BIN run "$TMP/rec" -- sh -c "$TOPLOOP" >> "$TMP/run"
  $BIN play --real-clock "$TMP/rec" -- sh -c "$TOPLOOP" 2>/dev/null >> "$TMP/play"
done
L=$(median < "$TMP/live"); R=$(median < "$TMP/run"); P=$(median < "$TMP/play")

# Switch latency: from `step` written to the control FIFO to the first read
# of /proc/uptime that shows the next snapshot (steps 0.3 s apart, as a
# user's keys: play decodes the next snapshot ahead in the meantime).
mkfifo "$TMP/control"
SWITCH='
import sys, time
def up(): return open("/proc/uptime").read()
for i in range(3):
    time.sleep(0.3)  # as a user steps: the next snapshot has been decoded ahead meanwhile
    a = up(); s = time.monotonic()
    with open(sys.argv[1], "w") as c: c.write("step\n")
    while up() == a: pass
    print(int((time.monotonic() - s) * 1e6))'
$BIN play --real-clock --paused --control "$TMP/control" "$TMP/rec" -- python3 -c "$SWITCH" "$TMP/control" 2>/dev/null > "$TMP/switch"
S=$(median < "$TMP/switch")

set -- $(awk -v l="$L" -v r="$R" -v p="$P" 'BEGIN { printf "%.1f %.1f %.1f %.2f %.2f", l, r, p, r / l, p / l }')
echo "| top refresh, $PROCS extra procs x 2 threads | live $1 ms | run $2 ms (**$4**) | play $3 ms (**$5**) |"
echo "| play: a step seen by the next read | $S us (median of 3) |"
if [ "$RECORD" = 1 ]; then
  record "| play: one top refresh, $PROCS extra procs x 2 threads | live $1 ms, run $2 ms, play $3 ms (median of $ROUNDS rounds of $FRAMES) | **$5** (run $4) | <= 2 |" "play-top-$PROCS"
  record "| play: a --control step seen by the next read of /proc | $S us (median of 3) | - | - |" "play-switch"
fi
