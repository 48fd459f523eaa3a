#!/usr/bin/env python3
"""probe_load.py - what the watchers cost Redis (issue #15): commands/s
and input bytes/s each Redis instance receives from 3 redis-sentinels and
from 3 rsm-agents watching the same topology, idle, in one run.

    probe_load.py [--seconds S] [--impls "sentinel agent"] [--json PATH]

For each implementation, on free loopback ports in a temp dir: 1 master +
2 replicas and 3 watchers started exactly as scripts/bench/restart.py
starts them (redis-sentinel: quorum 2, down-after 1000 ms; rsm-agent:
probe 100 ms, down-after 1000 ms, binary $RSM_AGENT_BIN else
build/rsm-agent). Once every watcher names the master and sees both
replicas linked, and 5 s later, it reads INFO commandstats and INFO stats
(total_net_input_bytes) of every Redis, waits --seconds (60), reads them
again, and reports per instance: commands/s by command and in all, and
input bytes/s. Its own two INFO reads per snapshot are subtracted
(commands and their bytes). The replication stream between the Redis
processes (REPLCONF ACK from replicas to the master) is counted by Redis
like any input; it is the same in both runs.

Prints a table; writes --json (default bench-results/probe-load-<UTC
time>.json). Every process it starts is killed at the end.
"""
import argparse
import json
import os
import signal
import sys
import tempfile
import time
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import restart as rs  # noqa: E402  (the same set-up as the restart series)
import ports as portlib  # noqa: E402

# Our own reads per snapshot: INFO commandstats and INFO stats, each a
# 2-element array request ("*2\r\n$4\r\nINFO\r\n$<n>\r\n<section>\r\n").
OWN = [("INFO", "commandstats"), ("INFO", "stats")]


def request_bytes(args):
    out = "*%d\r\n" % len(args)
    for a in args:
        out += "$%d\r\n%s\r\n" % (len(a), a)
    return len(out.encode())


OWN_BYTES = sum(request_bytes(a) for a in OWN)


def snapshot(port):
    stats = {}
    for k, v in rs.parse_info(rs.cmd(port, "INFO", "commandstats",
                                     timeout=2.0) or "").items():
        if k.startswith("cmdstat_"):
            f = dict(x.split("=", 1) for x in v.split(","))
            stats[k[len("cmdstat_"):]] = int(f["calls"])
    info = rs.parse_info(rs.cmd(port, "INFO", "stats", timeout=2.0) or "")
    return stats, int(info.get("total_net_input_bytes", 0))


def measure(impl, a, work):
    p = portlib.free(9)
    rports, aports, raft_ports = p[0:3], p[3:6], p[6:9]
    d = os.path.join(work, impl)
    os.makedirs(d)
    procs = rs.Procs()
    try:
        rs.start_redis(procs, d, rports, 100)
        rs.start_agents(impl, procs, d, a, rports, aports, raft_ports)
        rs.wait_for(lambda: rs.ready(impl, aports, rports[0], rports[1:]),
                    60, "%s: every watcher ready" % rs.NAMES[impl])
        time.sleep(5.0)
        t0 = time.monotonic()
        before = [snapshot(port) for port in rports]
        time.sleep(a.seconds)
        after = [snapshot(port) for port in rports]
        dt = time.monotonic() - t0
    finally:
        procs.kill_all()
    out = []
    for role, port, (c0, b0), (c1, b1) in zip(
            ("master", "replica", "replica"), rports, before, after):
        calls = {k: c1.get(k, 0) - c0.get(k, 0) for k in c1}
        calls["info"] = calls.get("info", 0) - len(OWN)
        calls = {k: v for k, v in calls.items() if v > 0}
        total = sum(calls.values())
        out.append({"role": role, "port": port, "seconds": dt,
                    "commands_per_s": total / dt,
                    "by_command_per_s": {k: v / dt for k, v in
                                         sorted(calls.items())},
                    "input_bytes_per_s": (b1 - b0 - OWN_BYTES) / dt})
    return out


def main(argv):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--impls", default="sentinel agent")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    a.down_after = 1000
    a.agent_bin = os.environ.get("RSM_AGENT_BIN") or os.path.join(
        rs.REPO, "build", "rsm-agent")
    impls = a.impls.split()
    if any(i not in rs.NAMES for i in impls) or a.seconds <= 0:
        ap.error("--impls of: sentinel agent; --seconds > 0")
    if "agent" in impls and not os.access(a.agent_bin, os.X_OK):
        sys.exit("probe_load: %s not built (or set RSM_AGENT_BIN)" %
                 a.agent_bin)
    if a.json is None:
        os.makedirs(os.path.join(rs.REPO, "bench-results"), exist_ok=True)
        a.json = os.path.join(rs.REPO, "bench-results",
                              "probe-load-%s.json" % time.strftime(
                                  "%Y%m%dT%H%M%SZ", time.gmtime()))
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, rs.on_signal)
    work = tempfile.mkdtemp(prefix="rsm-probe-load-")
    result = {"seconds": a.seconds, "series": {}}
    try:
        for impl in impls:
            print("== %s, idle %.0f s" % (rs.NAMES[impl], a.seconds),
                  flush=True)
            result["series"][impl] = measure(impl, a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if result["series"]:
            with open(a.json, "w") as f:
                json.dump(result, f, indent=2)
    print("\nWhat each Redis receives from 3 watchers, idle (per second; "
          "REPLCONF is Redis's own replication traffic)\n")
    print("%-15s %-8s %10s %12s  %s" % ("impl", "instance", "commands",
                                        "input bytes", "by command"))
    for impl, rows in result["series"].items():
        for r in rows:
            print("%-15s %-8s %10.1f %12.0f  %s" % (
                rs.NAMES[impl], r["role"], r["commands_per_s"],
                r["input_bytes_per_s"],
                " ".join("%s=%.1f" % kv
                         for kv in r["by_command_per_s"].items())))
    if len(result["series"]) == 2:
        print()
        for i, role in enumerate(("master", "replica", "replica")):
            s = result["series"]["sentinel"][i]
            g = result["series"]["agent"][i]
            print("%-8s ours/sentinel: commands %.2f x, input bytes %.2f x"
                  % (role, g["commands_per_s"] / max(s["commands_per_s"],
                                                     1e-9),
                     g["input_bytes_per_s"] /
                     max(s["input_bytes_per_s"], 1e-9)))
    print("\njson: %s" % a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
