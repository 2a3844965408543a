#!/bin/sh
# Set up, build, and run every test suite with ctest.
#   scripts/test.sh [--sanitize] [CTEST ARGS...]
# --sanitize  build with ASan + UBSan in build-sanitize/ and run the suites
#             there; any sanitizer report fails the test that met it.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --test
if [ "${1:-}" = "--sanitize" ]; then
  shift
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROCSNAP_SANITIZE=ON >/dev/null
  cmake --build build-sanitize -j "$(nproc)"
  # A report aborts (exit status non-zero) rather than printing and going on.
  export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
  exec ctest --test-dir build-sanitize --output-on-failure "$@"
fi
ctest --test-dir build --output-on-failure "$@"
