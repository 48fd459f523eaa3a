#!/usr/bin/env python3
"""raft.py - the body of scripts/bench/raft.sh (which checks the build and
sets RSM_BUILD_DIR): the agent's Raft spine with 3 real agents on loopback.

    raft.py [--runs 10] [--idle-seconds 60] [--applies 2000]
            [--election-ms 700] [--heartbeat-ms 100]

1. failover: SIGKILL the leader, time until another agent is elected and
   ready, from the agents' logs; 2. idle RSS and CPU of each agent;
3. commit latency of raft_apply on the leader (RSM_BENCH_APPLIES hook of
   a test build). The agents come from the integration tests' harness
   (tests/integration: rsmtest, test_agent.Group).
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "tests", "integration"))
from rsmtest import fault_names_in, wait_until      # noqa: E402
from test_agent import Group, ts_seconds            # noqa: E402


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


def failover(g, args):
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


def idle(g, args):
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


def applies(args):
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


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench/raft.sh")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--idle-seconds", type=int, default=60)
    ap.add_argument("--applies", type=int, default=2000)
    ap.add_argument("--election-ms", type=int, default=700)
    ap.add_argument("--heartbeat-ms", type=int, default=100)
    args = ap.parse_args()
    if args.applies > 0 and \
            "RSM_BENCH_APPLIES" not in fault_names_in("rsm-agent"):
        sys.exit("bench-raft: %s/rsm-agent has no RSM_BENCH_APPLIES hook: "
                 "configure it with -DRSM_TEST_FAULTS=ON (or pass "
                 "--applies 0)" % os.environ["RSM_BUILD_DIR"])

    b = Bench()
    try:
        g = Group(b, election_ms=args.election_ms,
                  heartbeat_ms=args.heartbeat_ms).start()
        if args.runs > 0:
            failover(g, args)
        if args.idle_seconds > 0:
            idle(g, args)
    finally:
        b.close()
    if args.applies > 0:
        applies(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
