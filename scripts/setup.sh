#!/bin/sh
# Installs what procsnap needs on Debian 12 (as root) and builds it in build/.
# Used by the two README commands; safe to run again.
#   scripts/setup.sh [--fuzz|--test|--packages|--package]
#     --fuzz  also installs clang-16 and libFuzzer and skips the build
#             (scripts/fuzz.sh builds).
#     --test  also installs what only tests use (chromium, to open a report)
#             and opens /dev/fuse to users where no udev did.
#     --packages  installs the build's packages and stops (build-static.sh).
#     --package  also installs help2man and dpkg-dev, and stops (package.sh).
set -eu
cd "$(dirname "$0")/.."
PACKAGES="build-essential cmake pkg-config libzstd-dev zstd capnproto libcapnp-dev libcli11-dev
  libboost-test-dev libfuse3-dev fuse3 libssl-dev nlohmann-json3-dev time
  procps psmisc lsof net-tools python3-psutil faketime sysstat git"
FUZZ=
if [ "${1:-}" = "--fuzz" ]; then
  FUZZ=1
  PACKAGES="$PACKAGES clang-16 libfuzzer-16-dev libclang-rt-16-dev llvm-16"
fi
[ "${1:-}" = "--test" ] && PACKAGES="$PACKAGES chromium"
[ "${1:-}" = "--package" ] && PACKAGES="$PACKAGES help2man dpkg-dev"
MISSING=
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING="$MISSING $p"
done
if [ -n "$MISSING" ]; then
  echo "installing:$MISSING"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $MISSING >/dev/null
fi
# Tests run procsnap without root too, which opens /dev/fuse as the user:
# Debian's udev rule makes it 0666, a machine without udev keeps 0600.
if [ "${1:-}" = "--test" ] && [ -c /dev/fuse ] && [ "$(id -u)" = 0 ] && [ "$(stat -c %a /dev/fuse)" = 600 ]; then
  echo "making /dev/fuse 0666, as Debian's udev rule does (this machine has no udev)"
  chmod 0666 /dev/fuse
fi
[ -n "$FUZZ" ] && exit 0
[ "${1:-}" = "--packages" ] || [ "${1:-}" = "--package" ] && exit 0
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
