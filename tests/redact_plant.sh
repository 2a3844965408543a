#!/bin/sh
# Plants secrets in a new network and UTS namespace (run under unshare -n -u)
# and captures it twice: --profile bugreport (with the key file) and full.
# Usage: redact_plant.sh OUTDIR PROCSNAP KEYFILE
set -eu
out=$1 procsnap=$2 key=$3
pids=""
trap 'kill $pids 2>/dev/null || true' EXIT

ip link set lo up
ip addr add 10.77.0.5/32 dev lo
ip -6 addr add fd77::5/128 dev lo 2>/dev/null && echo yes > "$out/ipv6" || echo no > "$out/ipv6"
hostname plantedhost77.corp-secret.example
# Kernel secrets of this namespace that root can read.
sysctl -qw net.ipv4.tcp_fastopen_key=deadbee1-deadbee2-deadbee3-deadbee4
sysctl -qw net.ipv6.conf.lo.stable_secret=fd77:1111::2222 2>/dev/null || true

# A listener on the planted addresses, whose environment holds a password.
env -i PATH=/usr/bin:/bin DB_PASSWORD=Planted-Env-Secret-11 HOSTNAME=plantedhost77 \
  python3 - --bind=10.77.0.5 --bind6=[fd77::5]:4568 --peer=plantedhost77:80 /var/lib/plantedhost77/db <<PY &
import socket, os, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.5", 4567)); s.listen()
if open("$out/ipv6").read().strip() == "yes":
    s6 = socket.socket(socket.AF_INET6); s6.bind(("fd77::5", 4568)); s6.listen()
open("$out/ready.listener", "w").close()
time.sleep(600)
PY
pids="$pids $!"

# Secret-looking arguments, the same password again in a second process.
python3 -c 'import time, sys; open(sys.argv[1], "w").close(); time.sleep(600)' "$out/ready.args" \
  --password=Planted-Pw-22 --token Planted-Tok-33 https://alice:Planted-Url-44@db.example/x \
  "Authorization: Bearer Planted-Bearer-55" '{"api_key": "Planted-Json-66"}' \
  -o user=bob,password=Planted-Opt-99 eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4eHh4In0.Planted-Jwt-Sig-100 \
  AKIAPLANTED000000001 "--header=X-Auth-Token: Planted-Hdr-111" \
  https://Planted-Tokenuser-222-abcdef@git.example/x "sh -c 'DB_PASS=Planted-Shell-333 db'" &
pids="$pids $!"
python3 -c 'import os, sys; os.execv(sys.executable, ["mysql", "-c", "import time, sys; open(sys.argv[1], \"w\").close(); time.sleep(600)", sys.argv[1], "-uroot", "-pPlanted-Mysql-77"])' "$out/ready.mysql" &
pids="$pids $!"
python3 -c 'import os, sys; os.execv(sys.executable, ["sshpass", "-c", "import time, sys; open(sys.argv[1], \"w\").close(); time.sleep(600)", sys.argv[1], "-p", "Planted-Sshpass-88", "ssh", "db"])' "$out/ready.sshpass" &
pids="$pids $!"
env -i PATH=/usr/bin:/bin OTHER=Planted-Pw-22 python3 -c 'import time, sys; open(sys.argv[1], "w").close(); time.sleep(600)' "$out/ready.env" &
pids="$pids $!"

for f in listener args mysql sshpass env; do
  n=0
  while [ ! -e "$out/ready.$f" ]; do
    n=$((n + 1)); [ $n -lt 3000 ] || { echo "planted process $f never got ready" >&2; exit 1; }
    sleep 0.01
  done
done
ps -eo pid=,args= > "$out/ps.txt"
"$procsnap" capture -q --profile bugreport --key-file "$key" -o "$out/bug.psnap"
"$procsnap" capture -q -o "$out/full.psnap"
echo done
