# Shared by the bench scripts (sourced from the repository root): their
# options, a build, a scratch directory, extra processes, medians, the
# machine line. A script sets its defaults and USAGE, then sources this.

# Options named in the script's USAGE: --procs N, --rounds R, --ps N, --churn R,
# --samples N, --light (LIGHT=--light, for procsnap record), --record.
# --record puts the script's figures into the table at the top of
# bench/RESULTS.md, replacing the ones they supersede.
while [ $# -gt 0 ]; do
  case " $USAGE " in *" [$1"*) ;; *) echo "usage: $USAGE" >&2; exit 2 ;; esac
  case "$1" in
    --procs) PROCS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --ps) PSRUNS=$2; shift 2 ;;
    --churn) CHURN=$2; shift 2 ;;
    --samples) SAMPLES=$2; shift 2 ;;
    --light) LIGHT=--light; shift ;;
    --record) RECORD=1; shift ;;
  esac
done
[ -x build/cli/procsnap ] && [ -x build/bench/plain_reader ] && [ -x build/bench/load_procs ] || {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j "$(nproc)" >/dev/null; }
BIN=$(pwd)/build/cli/procsnap
TMP=$(mktemp -d)
LOAD=
# A script may redefine cleanup_extra after sourcing this file.
cleanup_extra() { :; }
cleanup() { cleanup_extra; [ -n "$LOAD" ] && kill "$LOAD" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

# start_load N [T]: N extra processes with T threads each (default 3),
# until stop_load or the end of the script.
start_load() {
  [ "$1" -gt 0 ] || return 0
  rm -f "$TMP/ready"; mkfifo "$TMP/ready"
  build/bench/load_procs "$1" "${2:-3}" > "$TMP/ready" &
  LOAD=$!
  read -r _ started < "$TMP/ready"
  echo "started $started extra processes with ${2:-3} threads each"
}
stop_load() { [ -n "$LOAD" ] && kill "$LOAD" && wait "$LOAD" 2>/dev/null; LOAD=; }

# record ROW KEY: puts ROW (a markdown table row) into the table of current
# figures at the top of bench/RESULTS.md, in place of the row marked KEY,
# and dates the table's machine line.
record() {
  row="$1 <!-- $2 -->"
  awk -v key="<!-- $2 -->" -v row="$row" -v machine="$(machine), measured $(date -u +%Y-%m-%d)" '
    index($0, key) { if (!done) print row; done = 1; next }
    /^<!-- end of current -->/ && !done { print row; done = 1 }
    /^Machine:/ && !m { print machine; m = 1; next }
    { print }' bench/RESULTS.md > "$TMP/results" && cp "$TMP/results" bench/RESULTS.md
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

machine() {
  echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r)"
}
