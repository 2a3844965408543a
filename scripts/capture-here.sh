#!/bin/sh
# The main job: set up, capture this machine's /proc, show what was captured.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
OUT=${1:-snapshot.psnap}
rm -f "$OUT"
build/cli/procsnap capture -o "$OUT"
build/cli/procsnap info "$OUT"
build/cli/procsnap verify "$OUT"
echo
echo "Replay it with the usual tools, e.g.:"
echo "  build/cli/procsnap run $OUT -- ps aux"
echo "  build/cli/procsnap export $OUT ./snapshot-proc   # then psutil.PROCFS_PATH = './snapshot-proc'"
