#!/bin/sh
# The static procsnap (scripts/build-static.sh) where nothing else is
# installed: an empty chroot holding only the binary, /proc and /dev/fuse.
# It must capture, verify, export and mount (as root: no fusermount3).
#   tests/static_chroot.sh [build-static/procsnap]
set -eu
BIN=${1:-build-static/procsnap}
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
  echo "SKIPPED: needs root (chroot, mounts) and /dev/fuse"
  exit 0
fi
if ldd "$BIN" >/dev/null 2>&1; then
  echo "FAILED: $BIN has a dynamic section (ldd reads it)"
  exit 1
fi
C=$(mktemp -d)
cleanup() {
  umount "$C/mnt" 2>/dev/null || true
  umount "$C/dev/fuse" 2>/dev/null || true
  umount "$C/proc" 2>/dev/null || true
  rm -rf "$C"
}
trap cleanup EXIT INT TERM
mkdir -p "$C/proc" "$C/dev" "$C/out" "$C/mnt"
cp "$BIN" "$C/procsnap"
mount -t proc proc "$C/proc"
touch "$C/dev/fuse"
mount --bind /dev/fuse "$C/dev/fuse"
fail() { echo "FAILED: $*"; exit 1; }

rc=0; chroot "$C" /procsnap capture -q -o /out/c.psnap || rc=$?
[ "$rc" -le 1 ] || fail "capture exited $rc"
chroot "$C" /procsnap verify /out/c.psnap > /dev/null || fail "verify"
chroot "$C" /procsnap export /out/c.psnap /out/tree > /dev/null 2>&1 || fail "export"
[ -s "$C/out/tree/1/stat" ] || fail "export holds no 1/stat"
chroot "$C" /procsnap mount /out/c.psnap /mnt > /dev/null 2>&1 || fail "mount"
# The mount is up once mount returned (it forks into the background when ready).
[ -s "$C/mnt/1/stat" ] || fail "the mount shows no 1/stat"
chroot "$C" /procsnap cat /out/c.psnap loadavg > "$C/out/loadavg"
cmp -s "$C/mnt/loadavg" "$C/out/loadavg" || fail "the mount's loadavg differs from the archive's"
umount "$C/mnt"
echo "ok: $BIN captured, verified, exported and mounted in an empty chroot"
