#!/bin/sh
# Builds the libFuzzer targets (clang-16, ASan + UBSan) in build-fuzz/ and
# runs each for SECONDS (default 60), starting from fuzz/corpus/TARGET and
# fuzz/dict/TARGET.dict. Prints libFuzzer's summary per target; exits
# non-zero if any target met a crash, leak, timeout or out-of-memory.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# What a target finds is left in build-fuzz/findings/TARGET/ (crash-*,
# leak-*, timeout-*, oom-*); copy it to fuzz/regressions/TARGET/ once fixed
# so tests/fuzz_test.cpp replays it in every build.
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-"archive_bytes archive_tree snapshot_message blob_codec procfs_text redact_text"}
case "$SECONDS_EACH" in *[!0-9]*|'') echo "fuzz.sh: SECONDS must be a whole number, not '$SECONDS_EACH'" >&2; exit 2;; esac

scripts/setup.sh --fuzz
CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROCSNAP_FUZZ=ON >/dev/null
for t in $TARGETS; do BUILD_LIST="${BUILD_LIST:-} fuzz_$t"; done
# shellcheck disable=SC2086
cmake --build build-fuzz -j "$(nproc)" --target $BUILD_LIST

# Reports name functions and lines (llvm-16 brings the symbolizer).
export ASAN_OPTIONS="detect_leaks=1:external_symbolizer_path=/usr/bin/llvm-symbolizer-16:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
failed=
for t in $TARGETS; do
  work=build-fuzz/corpus/$t findings=build-fuzz/findings/$t
  mkdir -p "$work" "$findings"
  dict=
  [ -f "fuzz/dict/$t.dict" ] && dict="-dict=fuzz/dict/$t.dict"
  log=build-fuzz/findings/$t.log
  # The decoders' own budget (kDecodeExpansion) keeps a message's cost to a
  # few times its size: a message of at most 64 MiB must decode in far less
  # than a gigabyte, and a list claiming millions of entries must not.
  rss=2048 malloc=1536
  [ "$t" = snapshot_message ] && rss=1024 malloc=512
  echo "== $t: ${SECONDS_EACH}s"
  # New inputs go to the scratch corpus; the committed seeds are only read.
  # shellcheck disable=SC2086
  if build-fuzz/fuzz/fuzz_$t "$work" "fuzz/corpus/$t" $dict -max_total_time="$SECONDS_EACH" \
      -timeout=10 -rss_limit_mb=$rss -malloc_limit_mb=$malloc -artifact_prefix="$findings/" \
      -print_final_stats=1 >"$log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)" "$log" | sed 's/^/   /'
    echo "   ok: no crash, leak, timeout or out-of-memory"
  else
    tail -n 40 "$log" | sed 's/^/   /'
    echo "   FAILED: see $log and $findings/"
    failed="$failed $t"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz.sh: findings in:$failed" >&2
  exit 1
fi
echo "fuzz.sh: every target ran ${SECONDS_EACH}s clean"
