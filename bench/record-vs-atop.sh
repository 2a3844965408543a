#!/bin/sh
# procsnap record (as it is by default, and with --light) beside atop -w
# and sadc, in one run, at the same interval over the same minutes: idle,
# with N extra processes, and with churn (R short-lived processes a
# second). Per recorder: CPU seconds per sample (GNU time, user + system,
# whole run / samples: procsnap's first and every 30th snapshot read
# everything), peak RSS, bytes per sample (procsnap: per added snapshot,
# the first left out); for procsnap also the median CPU of a snapshot
# after the first (record --json). At 1 s (SAMPLES samples) and 10 s
# (SAMPLES / 3 samples).
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

# measure NAME INTERVAL SAMPLES: twice (procsnap as by default, then with
# --light), the three recorders side by side, each ending by itself after
# SAMPLES samples; prints a line per recorder and pass: name
# cpu_per_sample_s peak_rss_kib bytes_per_sample [procsnap: median CPU of
# a snapshot after the first]. Two procsnaps at once would each read the
# other running.
measure() {
  for r in rec light; do
    d="$TMP/$1/$r"; rm -rf "$d"; mkdir -p "$d"
    flags=; [ $r = light ] && flags=--light
    /usr/bin/time -f "%U %S %M" -o "$d/t.procsnap" \
      $BIN record -q --json $flags -o "$d/rec" --interval "$2s" --count "$3" > "$d/rec.json" &
    a=$!
    /usr/bin/time -f "%U %S %M" -o "$d/t.atop" atop -w "$d/atop.raw" "$2" "$3" > /dev/null 2>&1 &
    b=$!
    /usr/bin/time -f "%U %S %M" -o "$d/t.sadc" $SADC -S DISK "$2" "$3" "$d/sa" > /dev/null 2>&1 &
    c=$!
    wait $a $b $c
    first=$(head -1 "$d/rec.json" | sed 's/.*"added_bytes":\([0-9]*\).*/\1/')
    total=$(du -b -s "$d/rec" | awk '{print $1}')
    tick=$(tail -n +2 "$d/rec.json" | sed 's/.*"cpu_seconds":\([0-9.e-]*\).*/\1/' | median)
    awk -v n="$3" -v f="$first" -v t="$total" -v r="$r" -v k="$tick" \
      '{printf "%s %.4f %d %.0f %.4f\n", r, ($1 + $2) / n, $3, (t - f) / (n - 1), k}' "$d/t.procsnap"
    awk -v n="$3" -v s="$(stat -c %s "$d/atop.raw")" -v r="$r" '{printf "atop-%s %.4f %d %.0f\n", r, ($1 + $2) / n, $3, s / n}' "$d/t.atop"
    awk -v n="$3" -v s="$(stat -c %s "$d/sa")" -v r="$r" '{printf "sadc-%s %.4f %d %.0f\n", r, ($1 + $2) / n, $3, s / n}' "$d/t.sadc"
  done
}

# kib N: N / 1024 with one decimal (bytes in KiB, or KiB in MiB).
kib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1024}'; }

# report SCENARIO INTERVAL: the lines of measure as a paragraph and a row.
report() {
  f="$TMP/$1-$2.txt"
  scenario=$1 every=$2
  get() { awk -v n="$1" -v c="$2" '$1 == n {print $c}' "$f"; }
  ratio() { awk -v p="$1" -v a="$2" 'BEGIN {printf "%.2f", (a > 0 ? p / a : 0)}'; }
  line="$scenario at $every s:"
  cells=
  for r in rec light; do
    name="procsnap"; [ $r = light ] && name="procsnap --light"
    a=$(get atop-$r 2)
    one="$name $(get $r 2) s CPU a sample ($(ratio "$(get $r 2)" "$a")x atop's $a s; a snapshot after the first $(get $r 5) s, $(ratio "$(get $r 5)" "$a")x), $(kib "$(get $r 3)") MiB peak RSS (atop $(kib "$(get atop-$r 3)")), $(kib "$(get $r 4)") KiB a sample ($(ratio "$(get $r 4)" "$(get atop-$r 4)")x atop's $(kib "$(get atop-$r 4)"))"
    line="$line $one;"
    cells="$cells$one; "
  done
  sadc="sadc $(get sadc-rec 2) s, $(kib "$(get sadc-rec 3)") MiB, $(kib "$(get sadc-rec 4)") KiB"
  echo "$line $sadc"
  if [ "$RECORD" = 1 ]; then
    record "| record vs atop: $scenario, every $every s | $cells$sadc | **--light $(ratio "$(get light 2)" "$(get atop-light 2)")x, default $(ratio "$(get rec 2)" "$(get atop-rec 2)")x atop's CPU** | CPU <= 2x, RSS <= 32 MiB, bytes <= 1x (1,000 procs) |" "record-vs-atop-$scenario-$every"
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
