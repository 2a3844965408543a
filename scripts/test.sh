#!/bin/sh
# Set up, build, and run every test suite with ctest.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure "$@"
