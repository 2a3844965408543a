#!/bin/sh
# The Debian package on this machine, as a user meets it: apt installs it,
# the binary, man pages, completion and the record service work, and apt
# remove leaves none of its files behind. Run by .ci/run after
# scripts/package.sh.
#   tests/package_install.sh build-package/procsnap_VERSION_ARCH.deb
set -eu
[ "$(id -u)" = 0 ] || { echo "SKIPPED: installing a package needs root"; exit 0; }
deb=$(realpath "$1")
fail() { echo "package_install: FAILED: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DEBIAN_FRONTEND=noninteractive
if dpkg-query -W -f='${Status}' procsnap 2>/dev/null | grep -q installed; then
  apt-get purge -y -qq procsnap >/dev/null
fi

apt-get install -y -qq "$deb" >/dev/null || fail "apt-get install $deb"
dpkg-query -L procsnap > "$tmp/files"
[ "$(command -v procsnap)" = /usr/bin/procsnap ] || fail "procsnap is not /usr/bin/procsnap"
procsnap --version | grep -q "^procsnap $(dpkg-deb -f "$deb" Version) " || fail "--version is not the package's"
procsnap capture -q -o "$tmp/here.psnap" || fail "capture"
procsnap verify "$tmp/here.psnap" >/dev/null || fail "verify"

# A man page per command, named for it.
for c in $(procsnap --help | sed -n '/^Subcommands:/,$ s/^  \([a-z][a-z-]*\)  .*/\1/p'); do
  page=/usr/share/man/man1/procsnap-$c.1.gz
  [ -f "$page" ] || fail "no man page $page"
  upper=$(echo "procsnap-$c" | tr a-z A-Z)
  zcat "$page" | grep -q "^\.TH $upper " || fail "$page is not the page of procsnap-$c"
  zcat "$page" | grep -q '^\.SH OPTIONS' || fail "$page has no options"
done
[ -f /usr/share/man/man1/procsnap.1.gz ] || fail "no procsnap(1)"
if command -v man >/dev/null; then
  man -w procsnap-record >/dev/null || fail "man cannot find procsnap-record"
fi

# Completion: commands, options, an option's values.
complete() {
  bash -c '. /usr/share/bash-completion/completions/procsnap; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _procsnap; echo "${COMPREPLY[*]}"' _ "$@"
}
[ "$(complete procsnap ca)" = "capture cat" ] || fail "completion of 'ca': $(complete procsnap ca)"
[ "$(complete procsnap mount --open)" = "--open-errors" ] || fail "completion of mount --open"
[ "$(complete procsnap mount --sizes p)" = "procfs" ] || fail "completion of --sizes values"

# The record service: installed, disabled, and its command line works.
unit=/usr/lib/systemd/system/procsnap-record.service
[ -f "$unit" ] || fail "no $unit"
! ls /etc/systemd/system/*.wants/procsnap-record.service >/dev/null 2>&1 || fail "the service is enabled"
if [ -d /run/systemd/system ]; then
  [ "$(systemctl is-enabled procsnap-record.service 2>/dev/null || true)" = disabled ] || fail "not disabled"
fi
start=$(sed -n 's/^ExecStart=//p' "$unit")
case $start in /usr/bin/procsnap\ record*) ;; *) fail "ExecStart is $start" ;; esac
# shellcheck disable=SC2086
$(echo "$start" | sed "s|/var/lib/procsnap/%H|$tmp/rec|") --count 1 || fail "the service's command line: $start"
[ "$(procsnap info --json "$tmp/rec" | python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot_count"])')" = 1 ] ||
  fail "the service's command line recorded no snapshot"
[ -f /usr/share/doc/procsnap/README.md ] || fail "no README"

apt-get remove -y -qq procsnap >/dev/null || fail "apt-get remove"
while read -r f; do
  [ -d "$f" ] && continue  # directories shared with other packages (/usr/bin)
  [ ! -e "$f" ] || fail "apt remove left $f"
done < "$tmp/files"
[ ! -d /usr/share/doc/procsnap ] || fail "apt remove left /usr/share/doc/procsnap"
status=$(dpkg-query -W -f='${Status}' procsnap 2>/dev/null || true)
case $status in *config-files*) fail "apt remove left the package as config-files: $status" ;; esac
echo "package_install: $(basename "$deb") installed, checked, removed: nothing left"
