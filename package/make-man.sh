#!/bin/sh
# Writes a man page per command into OUTDIR from procsnap's own --help
# (help2man), so that the pages never say other than the program.
#   package/make-man.sh BINARY OUTDIR
set -eu
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
mkdir -p "$out"
# help2man runs "procsnap ...": the usage lines then name procsnap, not
# the build path.
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
ln -s "$bin" "$shim/procsnap"
export PATH="$shim:$PATH"
commands=$(procsnap --help | sed -n '/^Subcommands:/,$ s/^  \([a-z][a-z-]*\)  .*/\1/p')
[ -n "$commands" ] || { # Compressed as Debian ships man pages (no name or time in the gzip header).
gzip -9nf "$out"/*.1
echo "make-man.sh: no commands in 'procsnap --help'" >&2; exit 1; }
see_also=$(for c in $commands; do printf '.BR procsnap\\-%s (1),\n' "$c"; done)
cat > "$shim/main.h2m" <<H2M
[SEE ALSO]
$see_also
.PP
/usr/share/doc/procsnap/README.md
H2M
help2man --no-info --no-discard-stderr --include="$shim/main.h2m" \
  --name="record /proc into one archive and replay any moment of it as /proc" \
  --output="$out/procsnap.1" procsnap
for c in $commands; do
  summary=$(procsnap --help | sed -n "s/^  $c  *//p")
  printf '[SEE ALSO]\n.BR procsnap (1)\n' > "$shim/cmd.h2m"
  help2man --no-info --no-discard-stderr --include="$shim/cmd.h2m" --name="$summary" \
    --help-option="$c --help" --version-option="--version" --output="$out/procsnap-$c.1" procsnap
  # The page is procsnap-COMMAND(1), not procsnap(1).
  upper=$(echo "procsnap-$c" | tr a-z A-Z)
  sed -i -e "s/^\.TH PROCSNAP /.TH $upper /" -e "s/^procsnap \\\\- /procsnap\\\\-$c \\\\- /" "$out/procsnap-$c.1"
done
# Compressed as Debian ships man pages (no name or time in the gzip header).
gzip -9nf "$out"/*.1
echo "make-man.sh: $(ls "$out" | wc -l) pages in $out"
