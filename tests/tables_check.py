#!/usr/bin/env python3
"""Reads the JSON Lines tables procsnap wrote, as a query engine would (every
DIR/<table>/**/*.jsonl), and checks them against what the test saw live.
  tables_check.py DIR EXPECT_JSON
EXPECT_JSON: {"live_host", "child_pid", "child_sha256", "child_rss_kb", "child_threads", "port",
              "swappiness", "fixture_host", "pids" (ps -e), "listen_ports" (ss -tln)}; prints every failure, exits 1 on any."""
import glob
import json
import os
import re
import sys

tables_dir, expect = sys.argv[1], json.loads(sys.argv[2])
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def load(table):
    rows = []
    for path in sorted(glob.glob(os.path.join(tables_dir, table, "**", "*.jsonl"), recursive=True)):
        check(re.search(r"/host=[^/]+/[^/]+\.jsonl$", path), f"{path}: not DIR/{table}/host=HOST/ARCHIVE.jsonl")
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                row = json.loads(line)
                check(isinstance(row, dict), f"{path}:{n}: not an object")
                host = os.path.basename(os.path.dirname(path))[len("host="):]
                check(row.get("host") == host or "_" in host, f"{path}:{n}: host {row.get('host')} in {host}")
                rows.append(row)
    return rows


TYPES = {"host": str, "time": str, "snapshot": int}
for table in ["processes", "threads", "sockets", "sysctls", "mounts", "modules", "interfaces", "system"]:
    rows = load(table)
    check(rows or table == "modules", f"{table}: no rows")  # a kernel without modules has none
    for row in rows:
        for col, typ in TYPES.items():
            check(isinstance(row.get(col), typ), f"{table}: {col} is {row.get(col)!r}")
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["time"]), f"{table}: time {row['time']}")
        for col, value in row.items():
            if col.endswith(("_bytes", "_seconds", "_port", "mount_id", "parent_id")) or col in ("pid", "ppid", "tid", "uid", "gid",
                                                                                "threads", "fds", "inode", "netns"):
                check(value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)),
                      f"{table}: {col} = {value!r} is not a number")

live, fixture = expect["live_host"], expect["fixture_host"]
procs = load("processes")
by_host = {}
for p in procs:
    by_host.setdefault(p["host"], []).append(p)
check(len(by_host.get(live, [])) > 5, f"processes of {live}: {len(by_host.get(live, []))}")
check(sorted(p["pid"] for p in by_host.get(fixture, [])) == [1, 42], f"processes of {fixture}")

child = [p for p in by_host.get(live, []) if p["pid"] == expect["child_pid"]]
check(len(child) == 1, f"child {expect['child_pid']}: {len(child)} rows")
if child:
    c = child[0]
    check(c["state"] == "T", f"child state {c['state']}")
    check(c["exe_sha256"] == expect["child_sha256"], f"child exe_sha256 {c['exe_sha256']} vs sha256sum {expect['child_sha256']}")
    check(c["rss_bytes"] == expect["child_rss_kb"] * 1024, f"child rss_bytes {c['rss_bytes']} vs ps {expect['child_rss_kb']} kB")
    check(c["threads"] == expect["child_threads"], f"child threads {c['threads']}")
    check(c["comm"] == "child_helper", f"child comm {c['comm']}")
    check(isinstance(c["cpu_user_seconds"], (int, float)), "child cpu_user_seconds")
    check(isinstance(c["netns"], int), f"child netns {c['netns']}")
    threads = [t for t in load("threads") if t["host"] == live and t["pid"] == expect["child_pid"]]
    check(len(threads) == expect["child_threads"], f"child thread rows {len(threads)}")

# Every process ps saw before and after the capture has its row; every TCP
# port ss saw listening then has a LISTEN row.
live_pids = {p["pid"] for p in by_host.get(live, [])}
missing = [p for p in expect["pids"] if p not in live_pids]
check(not missing, f"pids ps lists but processes lacks: {missing}")
listening = {s["local_port"] for s in load("sockets") if s["host"] == live and s["state"] == "LISTEN"
             and s["protocol"] in ("tcp", "tcp6")}
missing = [p for p in expect["listen_ports"] if p not in listening]
check(not missing, f"ports ss lists as listening but sockets lacks: {missing}")

# The listener joined to its process by (host, time, pid).
socks = [s for s in load("sockets") if s["host"] == live and s["local_port"] == expect["port"]
         and s["state"] == "LISTEN" and s["protocol"] == "tcp"]
check(len(socks) == 1, f"listener on {expect['port']}: {socks}")
if socks:
    owner = [p for p in procs if (p["host"], p["time"], p["pid"]) == (live, socks[0]["time"], socks[0]["pid"])]
    check(len(owner) == 1 and owner[0]["pid"] == expect["child_pid"], f"listener's process: {owner}")

sysctls = {(s["host"], s["name"]): s["value"] for s in load("sysctls")}
check(sysctls.get((live, "vm.swappiness")) == expect["swappiness"], f"vm.swappiness {sysctls.get((live, 'vm.swappiness'))}")
check(sysctls.get((fixture, "vm.swappiness")) == "60", "fixture vm.swappiness")

system = load("system")
check(len([s for s in system if s["host"] == live]) == 1, "one system row per snapshot")
for s in system:
    if s["host"] == live:
        check(isinstance(s["mem_total_bytes"], int) and s["mem_total_bytes"] > 0, f"mem_total_bytes {s['mem_total_bytes']}")
        check(isinstance(s["cpus"], int) and s["cpus"] > 0, f"cpus {s['cpus']}")
        check(isinstance(s["load1"], (int, float)), f"load1 {s['load1']}")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
