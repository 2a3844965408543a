#!/bin/sh
# Builds the Debian package build-package/procsnap_VERSION_ARCH.deb: the
# binary, man pages (help2man), bash completion, the record service
# (disabled), the README. Installs what it needs as scripts/setup.sh does.
#   scripts/package.sh
# Then: apt install ./build-package/procsnap_*.deb
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --package
cmake -S . -B build-package -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DPROCSNAP_MAN=ON >/dev/null
cmake --build build-package -j "$(nproc)" --target procsnap man
rm -f build-package/procsnap_*.deb
(cd build-package && cpack -G DEB >/dev/null)
deb=$(ls build-package/procsnap_*.deb)
echo "$deb: $(du -h "$deb" | cut -f1)"
dpkg-deb --field "$deb" Package Version Architecture Depends Recommends
