#!/bin/sh
# Capture benchmark: procsnap capture against a plain reader of the same
# files (bench/plain_reader.cpp), in one run, on this machine's /proc.
#   bench/capture.sh [--procs N] [--rounds R] [--record]
# --procs N  first start N extra processes with 3 threads each
# --record   put the results into the table at the top of bench/RESULTS.md
set -eu
cd "$(dirname "$0")/.."
PROCS=0 ROUNDS=3 RECORD=0
USAGE="bench/capture.sh [--procs N] [--rounds R] [--record]"
. bench/common.sh
start_load "$PROCS"

$BIN capture -q -o "$TMP/warm.psnap"   # warm the caches; its file list is the reader's
: > "$TMP/plain" ; : > "$TMP/snap" ; : > "$TMP/rss"
for r in $(seq "$ROUNDS"); do
  build/bench/plain_reader "$TMP/warm.psnap" | awk '{print $(NF-1)}' >> "$TMP/plain"
  rm -f "$TMP/r.psnap"
  /usr/bin/time -f "%e %M" -o "$TMP/t" $BIN capture -q -o "$TMP/r.psnap"
  awk '{print $1}' "$TMP/t" >> "$TMP/snap"
  awk '{print $2}' "$TMP/t" >> "$TMP/rss"
done
PLAIN=$(median < "$TMP/plain"); SNAP=$(median < "$TMP/snap"); RSS=$(sort -n "$TMP/rss" | tail -1)
# The size is compared without the bytes kept of programs no longer on disk
# (not /proc files, so not in the baseline); the default archive's size,
# with them, is printed beside it.
KEPT_ARCH=$(stat -c %s "$TMP/r.psnap")
rm -f "$TMP/r.psnap"
$BIN capture -q --keep-exe-max 0 -o "$TMP/r.psnap"
build/bench/plain_reader "$TMP/r.psnap" --concat "$TMP/concat" > "$TMP/plain.out"
zstd -q -19 --long -T0 "$TMP/concat" -o "$TMP/concat.zst"
ARCH=$(stat -c %s "$TMP/r.psnap"); RAW=$(stat -c %s "$TMP/concat"); ZST=$(stat -c %s "$TMP/concat.zst")
echo "default archive (with kept executables): $((KEPT_ARCH / 1024)) KiB; without: $((ARCH / 1024)) KiB"

FILES=$(awk '{print $1}' "$TMP/plain.out")
RESULT=$(awk -v p="$PLAIN" -v s="$SNAP" -v a="$ARCH" -v z="$ZST" -v raw="$RAW" -v rss="$RSS" -v f="$FILES" -v n="$PROCS" 'BEGIN {
  printf "| %d | %d | %.3f s | %.3f s | **%.2f** | %.1f MiB | %.0f KiB | %.0f KiB | **%.2f** | **%.1f MiB** |\n",
    n, f, p, s, s / p, raw / 1048576, a / 1024, z / 1024, a / z, rss / 1024 }')
echo "| extra procs | files | plain reader | procsnap capture | time ratio | concatenated | archive | zstd -19 --long | size ratio | peak RSS |"
echo "$RESULT"
if [ "$RECORD" = 1 ]; then
  set -- $(awk -v p="$PLAIN" -v s="$SNAP" -v a="$ARCH" -v z="$ZST" -v rss="$RSS" 'BEGIN {
    printf "%.2f %.2f %.0f %.0f %.1f", s / p, a / z, a / 1024, z / 1024, rss / 1024 }')
  record "| capture: time, $PROCS extra procs x 3 threads ($FILES files) | procsnap $SNAP s, plain reader $PLAIN s (median of $ROUNDS) | **$1** | <= 0.5 |" "capture-time-$PROCS"
  record "| capture: size, $PROCS extra procs | archive $3 KiB (--keep-exe-max 0; $((KEPT_ARCH / 1024)) KiB by default, with the bytes of programs gone from disk), zstd -19 --long $4 KiB | **$2** | <= 1.0 |" "capture-size-$PROCS"
  record "| capture: peak RSS, $PROCS extra procs | **$5 MiB** | | <= 64 MiB |" "capture-rss-$PROCS"
fi
