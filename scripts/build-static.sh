#!/bin/sh
# Builds one static procsnap (glibc and every library linked in, from
# Debian 12's .a archives) into build-static/procsnap, and checks it:
# `ldd` must find no dynamic section. Installs the build packages as
# scripts/setup.sh does.
#   scripts/build-static.sh
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --packages
cmake -S . -B build-static -DCMAKE_BUILD_TYPE=Release -DPROCSNAP_STATIC=ON >/dev/null
cmake --build build-static -j "$(nproc)" --target procsnap
cp build-static/cli/procsnap build-static/procsnap
strip build-static/procsnap
if ldd build-static/procsnap >/dev/null 2>&1; then
  echo "build-static/procsnap: ldd finds a dynamic section; the build is not static" >&2
  exit 1
fi
echo "build-static/procsnap: static ($(du -h build-static/procsnap | cut -f1)); $(build-static/procsnap --version)"
