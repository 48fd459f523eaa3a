#!/usr/bin/env bash
# raft.sh - measure the agent's Raft spine on loopback, 3 real agents.
#
#   scripts/bench/raft.sh [--runs 10] [--idle-seconds 60] [--applies 2000]
#                         [--election-ms 700] [--heartbeat-ms 100]
#
# 1. failover: SIGKILL the leader, time until another agent is elected
#    (became-leader) and ready (its barrier committed: leader-ready), read
#    from the agents' logs; the killed agent restarts from its data dir and
#    rejoins before the next run. Median/min/max over --runs.
# 2. idle: RSS and CPU of each agent over --idle-seconds (from /proc).
# 3. apply: commit latency of raft_apply on the leader, entries proposed one
#    after another (test-only RSM_BENCH_APPLIES hook of rsm-agent).
# Needs a build (RSM_BUILD_DIR, default build/); the apply part needs a test
# build, configured with -DRSM_TEST_FAULTS=ON as scripts/test.sh configures
# build/ (a release build has no such hook). Ports are kernel-assigned,
# data dirs live in a temp dir that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
export RSM_BUILD_DIR="${RSM_BUILD_DIR:-$PWD/build}"
[ -x "$RSM_BUILD_DIR/rsm-agent" ] || {
    echo "bench-raft: build first (no $RSM_BUILD_DIR/rsm-agent)" >&2
    exit 1
}
exec python3 - "$@" <<'EOF'
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
from rsmtest import fault_names_in, wait_until      # noqa: E402
from test_agent import Group, ts_seconds            # noqa: E402

ap = argparse.ArgumentParser(prog="scripts/bench/raft.sh")
ap.add_argument("--runs", type=int, default=10)
ap.add_argument("--idle-seconds", type=int, default=60)
ap.add_argument("--applies", type=int, default=2000)
ap.add_argument("--election-ms", type=int, default=700)
ap.add_argument("--heartbeat-ms", type=int, default=100)
args = ap.parse_args()
if args.applies > 0 and "RSM_BENCH_APPLIES" not in fault_names_in("rsm-agent"):
    sys.exit("bench-raft: %s/rsm-agent has no RSM_BENCH_APPLIES hook: "
             "configure it with -DRSM_TEST_FAULTS=ON (or pass --applies 0)"
             % os.environ["RSM_BUILD_DIR"])


class Bench:
    """What Group needs from a TestCase: a work dir and a process list."""

    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="rsm-bench-")
        self._procs = []

    def close(self):
        for p in reversed(self._procs):
            p.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def summary(xs, unit="ms", scale=1000.0):
    xs = sorted(xs)
    return "median %.0f %s, min %.0f, max %.0f (n=%d)" % (
        statistics.median(xs) * scale, unit, xs[0] * scale, xs[-1] * scale,
        len(xs))


def first_after(agent, event, t):
    for e in agent.find(event):
        if ts_seconds(e) >= t:
            return ts_seconds(e)
    return None


def failover(g):
    elected, ready = [], []
    for run in range(args.runs):
        leader = g.wait_leader(timeout=30)
        for a in g.agents.values():
            wait_until(lambda a=a: a.view()[0] == leader.id, timeout=30,
                       what="agent %d follows" % a.id)
        time.sleep(0.5)
        t_kill = time.time()
        leader.proc.kill()
        new = g.wait_leader(timeout=30, other_than=leader)
        te = first_after(new, "became-leader", t_kill)
        tr = first_after(new, "leader-ready", t_kill)
        elected.append(te - t_kill)
        ready.append(tr - t_kill)
        print("  run %2d: agent %d killed -> agent %d elected %.0f ms, "
              "ready %.0f ms" % (run + 1, leader.id, new.id,
                                 (te - t_kill) * 1000, (tr - t_kill) * 1000),
              flush=True)
        leader.start()
        wait_until(lambda: leader.view()[0] == new.id, timeout=30,
                   what="restarted agent rejoins")
    print("failover (SIGKILL leader, election %d ms, heartbeat %d ms, "
          "pre-vote):" % (args.election_ms, args.heartbeat_ms))
    print("  elected: " + summary(elected))
    print("  ready:   " + summary(ready))


def proc_sample(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])       # utime + stime
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return ticks, rss


def idle(g):
    leader = g.wait_leader(timeout=30)
    time.sleep(2)
    hz = os.sysconf("SC_CLK_TCK")
    start = {a.id: proc_sample(a.proc.pid) for a in g.alive()}
    t0 = time.monotonic()
    time.sleep(args.idle_seconds)
    dt = time.monotonic() - t0
    print("idle, %d s:" % args.idle_seconds)
    for a in g.alive():
        ticks, rss = proc_sample(a.proc.pid)
        cpu = (ticks - start[a.id][0]) / hz / dt * 100
        print("  agent %d (%s): RSS %.1f MB, CPU %.2f %% of a core" % (
            a.id, "leader" if a is leader else "follower", rss / 1024.0, cpu))


def applies():
    b = Bench()
    os.environ["RSM_BENCH_APPLIES"] = str(args.applies)
    try:
        g = Group(b, election_ms=args.election_ms,
                  heartbeat_ms=args.heartbeat_ms).start()
        leader = g.wait_leader(timeout=30)
        ev = wait_until(lambda: (leader.find("bench-apply") or [None])[0],
                        timeout=600, interval=0.2, what="bench-apply")
        print("raft_apply commit latency (leader, sequential, fsync, "
              "3 agents): n=%s median %s us, p99 %s us, max %s us, "
              "errors %s, rejected %s" % (
                  ev["n"], ev["median_us"], ev["p99_us"], ev["max_us"],
                  ev["errors"], ev["rejected"]))
    finally:
        del os.environ["RSM_BENCH_APPLIES"]
        b.close()


b = Bench()
try:
    g = Group(b, election_ms=args.election_ms,
              heartbeat_ms=args.heartbeat_ms).start()
    if args.runs > 0:
        failover(g)
    if args.idle_seconds > 0:
        idle(g)
finally:
    b.close()
if args.applies > 0:
    applies()
EOF
