#!/bin/sh
# The static binary against the dynamic one, in one run: file size
# (stripped copies of both) and the wall time of a capture of this
# machine's /proc (median of 5 each, alternating).
#   bench/static.sh [--record]
set -eu
cd "$(dirname "$0")/.."
PROCS=0 RECORD=0
USAGE="bench/static.sh [--record]"
. bench/common.sh
[ -x build-static/procsnap ] || scripts/build-static.sh > /dev/null
cp build/cli/procsnap "$TMP/dynamic" && strip "$TMP/dynamic"
DYN=$(stat -c %s "$TMP/dynamic"); STA=$(stat -c %s build-static/procsnap)
: > "$TMP/td"; : > "$TMP/ts"
for r in 1 2 3 4 5; do
  for kind in dynamic static; do
    bin=$TMP/dynamic; [ "$kind" = static ] && bin=build-static/procsnap
    rm -f "$TMP/c.psnap"
    /usr/bin/time -f "%e" -o "$TMP/t" "$bin" capture -q -o "$TMP/c.psnap" || true
    cat "$TMP/t" >> "$TMP/t$(echo $kind | cut -c1)"
  done
done
TD=$(median < "$TMP/td"); TS=$(median < "$TMP/ts")
RES=$(awk -v d="$DYN" -v s="$STA" -v td="$TD" -v ts="$TS" 'BEGIN {printf "%.1f %.1f %.2f %.2f", d / 1048576, s / 1048576, s / d, ts / td}')
set -- $RES
echo "size: dynamic $1 MiB (plus its shared libraries), static $2 MiB ($3x)"
echo "capture: dynamic $TD s, static $TS s (median of 5) = $4x"
if [ "$RECORD" = 1 ]; then
  record "| static binary: size and capture time against the dynamic build (both stripped) | dynamic $1 MiB + shared libraries, static $2 MiB; capture dynamic $TD s, static $TS s (median of 5) | **$4** | ~1 |" "static"
fi
