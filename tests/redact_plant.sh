#!/bin/sh
# Plants secrets of every class redaction promises to replace, in private
# network, UTS, mount and pid namespaces (run under unshare -n -u -m -p
# --fork --mount-proc), and captures them twice: --profile bugreport (with
# the key file) and full.
# Usage: redact_plant.sh OUTDIR PROCSNAP KEYFILE
set -eu
out=$1 procsnap=$2 key=$3
pids=""
trap 'kill $pids 2>/dev/null || true; umount "$out/m1" "$out/m2" /etc/machine-id 2>/dev/null || true' EXIT

# The machine's addresses: one of a /24 (its network and broadcast are
# identifying too), a local route answering a whole /16, an IPv6 /64.
ip link set lo up
ip addr add 10.77.0.5/24 dev lo
ip route add local 10.98.0.0/16 dev lo
ip -6 addr add fd77::5/64 dev lo 2>/dev/null && echo yes > "$out/ipv6" || echo no > "$out/ipv6"
# A short host name; its domain is spelled only in a mount source.
hostname db-plant7
# Kernel secrets of this namespace that root can read.
sysctl -qw net.ipv4.tcp_fastopen_key=deadbee1-deadbee2-deadbee3-deadbee4
sysctl -qw net.ipv6.conf.lo.stable_secret=fd77:1111::2222 2>/dev/null || true
# A machine-id of this mount namespace; mount sources with the domain and credentials.
printf 'feedfacecafebeef0123456789abcdef\n' > "$out/machine-id"
mount --bind "$out/machine-id" /etc/machine-id
mkdir -p "$out/m1" "$out/m2"
mount -t tmpfs db-plant7.eu.corp-secret.example:/export "$out/m1"
mount -t tmpfs ftp://bob:Planted-Mnt-Ftp-12@files.example/ "$out/m2"
bootid=$(cat /proc/sys/kernel/random/boot_id | tr -d '-')

# A listener on the planted addresses, whose environment holds a password.
env -i PATH=/usr/bin:/bin DB_PASSWORD=Planted-Env-Secret-11 HOSTNAME=db-plant7 SESSION_HINT=Vb71mQp9xZk \
  python3 - --bind=10.77.0.5 --bind6=[fd77::5]:4568 --peer=db-plant7:80 /var/lib/db-plant7/db <<PY &
import socket, os, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.5", 4567)); s.listen()
if open("$out/ipv6").read().strip() == "yes":
    s6 = socket.socket(socket.AF_INET6); s6.bind(("fd77::5", 4568)); s6.listen()
open("$out/ready.listener", "w").close()
time.sleep(600)
PY
pids="$pids $!"

sleeper='import time, sys; open(sys.argv[1], "w").close(); time.sleep(600)'
# Secret-looking arguments, the same password again in a second process.
python3 -c "$sleeper" "$out/ready.args" \
  --password=Planted-Pw-22 --token Planted-Tok-33 https://alice:Planted-Url-44@db.example/x \
  "Authorization: Bearer Planted-Bearer-55" '{"api_key": "Planted-Json-66"}' \
  -o user=bob,password=Planted-Opt-99 eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4eHh4In0.Planted-Jwt-Sig-100 \
  AKIAPLANTED000000001 "--header=X-Auth-Token: Planted-Hdr-111" \
  https://Planted-Tokenuser-222-abcdef@git.example/x "sh -c 'DB_PASS=Planted-Shell-333 db'" &
pids="$pids $!"
# Programs behind wrappers, DSNs, positional and SQL secrets, token shapes.
python3 -c "$sleeper" "$out/ready.forms" \
  sh -c "cd /srv && mysqldump -uroot -pPlanted-Wrap-401 db" then \
  --env=DB_PASSWORD=Planted-Pair-402 then ftp://bob:Planted/Slash-403@files.example/x then \
  --dsn "root:Planted-Dsn-404@tcp(db:3306)/app" then userid=scott/Planted-Oracle-405@orcl then \
  --proxy alice:Planted-Proxy-406@proxy.example:3128 then http -a bob:Planted-Httpie-407 https://a.example/ then \
  htpasswd -b /etc/htpasswd bob Planted-Htpasswd-408 then smbclient //fs/share Planted-Smb-409 -U bob then \
  rabbitmqctl add_user bob Planted-Rabbit-410 then nmcli dev wifi connect home password Planted-Nmcli-411 then \
  redis-cli CONFIG SET requirepass Planted-Redis-412 then mysql -e "CREATE USER u IDENTIFIED BY 'Planted-Sql-413';" then \
  psql -c "ALTER ROLE u WITH PASSWORD 'Planted-Sql-414'" then sh -c 'echo "bob:Planted-Chpasswd-415" | chpasswd' then \
  useradd -p Planted-Useradd-416 bob then openssl enc -k Planted-Openssl-417 then openssl rsa -passin pass:Planted-Openssl-418 then \
  sh -c "gpg --passphrase 'Planted-Gpg-419 second Planted-Gpg-420' -c f" then vault login Planted-Vault-421 then \
  aws configure set aws_secret_access_key Planted-Aws-422 then https://hooks.slack.com/services/T0/B0/PlantedSlack423 then \
  https://discord.com/api/webhooks/1/PlantedDiscord424 then "https://x.blob.core.windows.net/c?sv=1&sig=Planted-Azure-425" then \
  wJalrXUtnFEMI/K7MDENG/bPxRfiCYPlanted426 then sk-proj-PlantedOpenai427abcdefghijk then \
  --password=73915 then --token Qz4x then \
  /dev/mapper/db--plant7--vg-root then db_plant7 then ip-10-77-0-5.ec2.internal then \
  --realm=corp-secret.example then "/var/log/journal/$bootid/system.journal" then \
  fd77:0000:0:0::0005 then FD77::5 then "[fd77::5]:4568" then fd77::5:4568 then 10.98.3.4 then 10.77.0.255 then \
  10.77.0.0/24 then fd77::/64 &
pids="$pids $!"
python3 -c 'import os, sys; os.execv(sys.executable, ["mysql", "-c", "import time, sys; open(sys.argv[1], \"w\").close(); time.sleep(600)", sys.argv[1], "-uroot", "-pPlanted-Mysql-77"])' "$out/ready.mysql" &
pids="$pids $!"
python3 -c 'import os, sys; os.execv(sys.executable, ["sshpass", "-c", "import time, sys; open(sys.argv[1], \"w\").close(); time.sleep(600)", sys.argv[1], "-p", "Planted-Sshpass-88", "ssh", "db"])' "$out/ready.sshpass" &
pids="$pids $!"
# Secrets seen elsewhere: an argument's password in an environment; a short
# and an all-digit one, and an environment value, in another's arguments.
env -i PATH=/usr/bin:/bin OTHER=Planted-Pw-22 python3 -c "$sleeper" "$out/ready.env" 73915 Qz4x Vb71mQp9xZk &
pids="$pids $!"

for f in listener args forms mysql sshpass env; do
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
