"""A Redis application as integration tests need one: Debian's python3-redis
(redis-py 4.3) finding the master through Sentinel-compatible agents and
writing through it, as an unmodified application would.

Run with the system interpreter (/usr/bin/python3, where python3-redis
lives), not the test's. Until the stop file exists it loops:
Sentinel(...).discover_master(name) and one SET through master_for(name),
recording each outcome; then it prints one JSON object on stdout:

  {"first_master": [host, port] | null, "last_master": [...] | null,
   "writes": [[t, key, ok, master_port_or_null, error_or_null], ...],
   "discover_errors": n}

t is seconds on the monotonic clock of this process since it started. The
password for the agents (if any) is read from --password-file, never taken
from the command line.
"""

import argparse
import json
import os
import sys
import time

from redis.exceptions import RedisError
from redis.sentinel import MasterNotFoundError, Sentinel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentinels", required=True, help="host:port,...")
    ap.add_argument("--name", required=True)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--password-file")
    ap.add_argument("--prefix", default="k")
    ap.add_argument("--interval", type=float, default=0.02)
    args = ap.parse_args()

    sentinels = []
    for item in args.sentinels.split(","):
        host, port = item.rsplit(":", 1)
        sentinels.append((host, int(port)))
    kw = {}
    if args.password_file:
        with open(args.password_file) as f:
            kw["password"] = f.readline().rstrip("\r\n")
    s = Sentinel(sentinels, socket_timeout=0.5, sentinel_kwargs=kw)
    master = s.master_for(args.name, socket_timeout=0.5)
    pool = master.connection_pool

    t0 = time.monotonic()
    out = {"first_master": None, "last_master": None, "writes": [],
           "discover_errors": 0}
    i = 0
    while not os.path.exists(args.stop_file):
        try:
            addr = s.discover_master(args.name)
            out["last_master"] = list(addr)
            if out["first_master"] is None:
                out["first_master"] = list(addr)
        except MasterNotFoundError:
            out["discover_errors"] += 1
        key = "%s%d" % (args.prefix, i)
        try:
            master.set(key, str(i))
            port = pool.master_address[1] if pool.master_address else None
            out["writes"].append([time.monotonic() - t0, key, True, port,
                                  None])
        except (RedisError, OSError) as e:
            out["writes"].append([time.monotonic() - t0, key, False, None,
                                  type(e).__name__])
        i += 1
        if args.ready_file and i == 1:
            open(args.ready_file, "w").close()
        time.sleep(args.interval)
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
