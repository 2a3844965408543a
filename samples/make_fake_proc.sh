#!/bin/sh
# Writes a small procfs-like tree for tests and demos (capture it with
#   procsnap capture --root DIR). Usage: samples/make_fake_proc.sh DIR [PID...]
# Environment: BOOT_ID (boot id), KERNEL (release), START (start time of
# every process, in clock ticks after boot) make trees of other boots,
# other kernels and reused pids.
set -eu
DIR=${1:?usage: make_fake_proc.sh DIR [PID...]}
shift
[ $# -gt 0 ] || set -- 1 42
mkdir -p "$DIR/sys/kernel/random" "$DIR/sys/vm"
printf 'fake-host\n' > "$DIR/sys/kernel/hostname"
printf '%s\n' "${KERNEL:-6.1.0-fake}" > "$DIR/sys/kernel/osrelease"
printf '%s\n' "${BOOT_ID:-00000000-0000-4000-8000-000000000001}" > "$DIR/sys/kernel/random/boot_id"
printf '60\n' > "$DIR/sys/vm/swappiness"
printf 'MemTotal:        2048000 kB\nMemFree:         1024000 kB\n' > "$DIR/meminfo"
printf '0.00 0.01 0.05 1/%s %s\n' "$#" "$1" > "$DIR/loadavg"
for pid in "$@"; do
  mkdir -p "$DIR/$pid/fd" "$DIR/$pid/task/$pid"
  printf 'fake%s\0--flag\0' "$pid" > "$DIR/$pid/cmdline"
  printf 'Name:\tfake%s\nState:\tS (sleeping)\nTgid:\t%s\nPid:\t%s\nPPid:\t1\nThreads:\t1\n' \
    "$pid" "$pid" "$pid" > "$DIR/$pid/status"
  printf '%s (fake%s) S 1 %s %s 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %s 0 0\n' "$pid" "$pid" "$pid" "$pid" "${START:-100}" \
    > "$DIR/$pid/stat"
  cp "$DIR/$pid/status" "$DIR/$pid/task/$pid/status"
  ln -sf /dev/null "$DIR/$pid/fd/0"
done
ln -sfn "$1" "$DIR/self"
