#!/bin/sh
# procsnap record beside atop -w and sadc, in one run, at the same interval
# over the same minutes: idle, with N extra processes, and with churn (R
# short-lived processes a second). Per recorder: CPU seconds per sample
# (GNU time, user + system, whole run / samples), peak RSS, bytes per
# sample (procsnap: per added snapshot, the first left out). At 1 s
# (SAMPLES samples) and 10 s (SAMPLES / 3 samples).
#   bench/record-vs-atop.sh [--procs N] [--churn R] [--samples S] [--record]
# Root; installs atop and sysstat with apt-get when missing.
set -eu
cd "$(dirname "$0")/.."
PROCS=1000 CHURN=20 SAMPLES=60 RECORD=0
USAGE="bench/record-vs-atop.sh [--procs N] [--churn R] [--samples S] [--record]"
. bench/common.sh
for p in atop sysstat; do
  dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $p >/dev/null
done
SADC=/usr/lib/sysstat/sadc
CHURNER=
cleanup_extra() { [ -n "$CHURNER" ] && kill "$CHURNER" 2>/dev/null; true; }

# measure NAME INTERVAL SAMPLES: the three recorders side by side, each
# ending by itself after SAMPLES samples; prints a line per recorder:
# name cpu_per_sample_s peak_rss_kib bytes_per_sample.
measure() {
  d="$TMP/$1"; rm -rf "$d"; mkdir -p "$d"
  /usr/bin/time -f "%U %S %M" -o "$d/t.procsnap" \
    $BIN record -q --json -o "$d/rec" --interval "$2s" --count "$3" > "$d/rec.json" &
  a=$!
  /usr/bin/time -f "%U %S %M" -o "$d/t.atop" atop -w "$d/atop.raw" "$2" "$3" > /dev/null 2>&1 &
  b=$!
  /usr/bin/time -f "%U %S %M" -o "$d/t.sadc" $SADC -S DISK "$2" "$3" "$d/sa" > /dev/null 2>&1 &
  c=$!
  wait $a $b $c
  first=$(head -1 "$d/rec.json" | sed 's/.*"added_bytes":\([0-9]*\).*/\1/')
  total=$(du -b -s "$d/rec" | awk '{print $1}')
  awk -v n="$3" -v f="$first" -v t="$total" '{printf "procsnap %.4f %d %.0f\n", ($1 + $2) / n, $3, (t - f) / (n - 1)}' "$d/t.procsnap"
  awk -v n="$3" -v s="$(stat -c %s "$d/atop.raw")" '{printf "atop %.4f %d %.0f\n", ($1 + $2) / n, $3, s / n}' "$d/t.atop"
  awk -v n="$3" -v s="$(stat -c %s "$d/sa")" '{printf "sadc %.4f %d %.0f\n", ($1 + $2) / n, $3, s / n}' "$d/t.sadc"
}

# kib N: N / 1024 with one decimal (bytes in KiB, or KiB in MiB).
kib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1024}'; }

# report SCENARIO INTERVAL: the lines of measure as a paragraph and a row.
report() {
  f="$TMP/$1-$2.txt"
  set -- "$1" "$2" $(awk '{print $2, $3, $4}' "$f" | tr '\n' ' ')
  # $3..$5 procsnap cpu rss bytes; $6..$8 atop; $9..$11 sadc
  cpu_ratio=$(awk -v p="$3" -v a="$6" 'BEGIN {printf "%.2f", (a > 0 ? p / a : 0)}')
  byte_ratio=$(awk -v p="$5" -v a="$8" 'BEGIN {printf "%.2f", p / a}')
  line="$1 at $2 s: CPU per sample procsnap $3 s, atop $6 s, sadc ${9} s (procsnap/atop ${cpu_ratio}x);"
  line="$line peak RSS procsnap $(kib "$4") MiB, atop $(kib "$7") MiB, sadc $(kib "${10}") MiB;"
  line="$line bytes per sample procsnap $(kib "$5") KiB, atop $(kib "$8") KiB, sadc $(kib "${11}") KiB (${byte_ratio}x)"
  echo "$line"
  if [ "$RECORD" = 1 ]; then
    record "| record vs atop: $1, every $2 s | procsnap $3 s CPU, $(kib "$4") MiB RSS, $(kib "$5") KiB a sample; atop $6 s, $(kib "$7") MiB, $(kib "$8") KiB; sadc ${9} s, $(kib "${10}") MiB, $(kib "${11}") KiB | **CPU ${cpu_ratio}x, bytes ${byte_ratio}x atop** | CPU <= 2x, RSS <= 32 MiB, bytes <= 1x (1,000 procs) |" "record-vs-atop-$1-$2"
  fi
}

run_scenario() {
  for i in 1 10; do
    n=$SAMPLES; [ "$i" = 10 ] && n=$((SAMPLES / 3))
    [ "$n" -ge 3 ] || n=3
    echo "$1: $n samples every $i s..." >&2
    measure "$1-$i" "$i" "$n" > "$TMP/$1-$i.txt"
    report "$1" "$i"
  done
}

run_scenario idle
start_load "$PROCS"
run_scenario "$PROCS-procs"
stop_load
# Churn: R short-lived processes a second (each a fork and exec of true).
sh -c "while :; do i=0; while [ \$i -lt $CHURN ]; do /bin/true; i=\$((i + 1)); done; sleep 1; done" &
CHURNER=$!
run_scenario "churn-$CHURN"
kill "$CHURNER"; CHURNER=
machine
