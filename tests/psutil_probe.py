# What psutil reports about some processes, as JSON, reading PROCFS ("-" for
# the live /proc). Used by replay_test to compare live, export and mount.
#   /usr/bin/python3 psutil_probe.py PROCFS PID...
import json
import sys

import psutil

procfs, pids = sys.argv[1], [int(p) for p in sys.argv[2:]]
if procfs != "-":
    psutil.PROCFS_PATH = procfs
out = {}
for pid in pids:
    p = psutil.Process(pid)
    out[pid] = {
        "cmdline": p.cmdline(),
        "environ": p.environ(),
        "status": p.status(),
        "ppid": p.ppid(),
        "num_threads": p.num_threads(),
        "memory_info": list(p.memory_info()),
        "open_files": sorted([list(f) for f in p.open_files()]),
        "connections": sorted(
            [c.fd, int(c.family), int(c.type), list(c.laddr), list(c.raddr) if c.raddr else [], c.status]
            for c in p.connections("all")
        ),
        "create_time": p.create_time(),
    }
print(json.dumps(out, sort_keys=True, indent=1))
