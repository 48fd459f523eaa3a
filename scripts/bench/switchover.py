#!/usr/bin/env python3
"""switchover.py - the body of scripts/bench/switchover.sh (which checks
what it needs and sets RSM_BUILD_DIR): write unavailability of planned
master moves, rsm-agent's `rsmctl switchover` by each method against
redis-sentinel's `SENTINEL FAILOVER`.

    switchover.py RUNS TESTS_DIR

RUNS moves back and forth per series; TESTS_DIR is tests/integration,
whose harness (rsmtest, test_switchover.Writer) starts the processes.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, sys.argv[2])  # tests/integration
from rsmtest import (Agents, Proc, Resp, RespError, RoleWatcher,  # noqa: E402
                     TestCase, free_port, pairs, wait_until)
from test_switchover import Writer  # noqa: E402


class Bench(TestCase):
    def runTest(self):
        pass


def two_master_s(watch, t0, t1):
    s = [(t, len(m)) for t, m in watch.samples if t0 <= t <= t1]
    return sum(b[0] - a[0] for a, b in zip(s, s[1:]) if a[1] > 1)


def lost(w, r):
    keys = ["w:%d" % i for _, i in w.acked]
    n = 0
    for k in range(0, len(keys), 500):
        vals = r.call("MGET", *keys[k:k + 500])
        n += sum(v is None for v in vals)
    return n


def role(r):
    try:
        return r.info()["role"]
    except Exception:
        return None


def run(impl, runs):
    tc = Bench()
    tc.setUp()
    try:
        m, (r1, r2) = tc.replication_set(2)
        redises = [m, r1, r2]
        if impl.startswith("ours-"):
            ag = Agents(tc, 3, args=[
                "--down-after-ms", 1000, "--probe-interval-ms", 100,
                "--switchover-method", impl[len("ours-"):],
                "--monitor", "g=%s" % ",".join(r.addr for r in redises)])
            ag.start()
            ag.wait_leader(timeout=15)
            ag.wait_group("g", lambda g: g["master"] == m.addr, timeout=15,
                          every=True)
            agents = ",".join(a.api for a in ag)
        else:
            sents = []
            for i in range(3):
                port = free_port()
                conf = os.path.join(tc.workdir, "sentinel%d.conf" % i)
                with open(conf, "w") as f:
                    f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                            "sentinel monitor mymaster 127.0.0.1 %d 2\n"
                            "sentinel down-after-milliseconds mymaster 1000\n"
                            "sentinel failover-timeout mymaster 10000\n"
                            "sentinel parallel-syncs mymaster 1\n"
                            % (port, tc.workdir, m.port))
                p = Proc(["redis-sentinel", conf],
                         os.path.join(tc.workdir, "sentinel%d.log" % i))
                tc._procs.append(p)
                sents.append(port)
            wait_until(lambda: all(
                int(pairs(Resp(p).call("SENTINEL", "master", "mymaster"))[
                    "num-other-sentinels"]) == 2 for p in sents),
                timeout=30, what="sentinels know each other")
        w = Writer(redises).start()
        watch = RoleWatcher(redises).start()
        wait_until(lambda: len(w.acked) > 100, timeout=10)
        gaps, doubles = [], []
        cur = m
        for k in range(runs):
            to = r1 if cur is m else m
            wait_until(lambda: to.linked_to(cur.port), timeout=30)
            time.sleep(0.5)
            t0 = time.monotonic()
            if impl.startswith("ours-"):
                p = tc.rsmctl("switchover", "g", "--to", to.addr,
                              "--timeout-ms", 5000, "--agents", agents)
                if p.returncode != 0:
                    raise RuntimeError(p.stdout + p.stderr)
            else:
                # Sentinel picks the replica itself: make `to` the only
                # candidate with the other replica's priority at 0.
                other = [r for r in redises if r not in (cur, to)][0]
                other.call("CONFIG", "SET", "replica-priority", "0")
                to.call("CONFIG", "SET", "replica-priority", "100")
                time.sleep(1.2)  # sentinels re-read INFO every 1 s

                def ask():
                    try:
                        return Resp(sents[k % 3]).call(
                            "SENTINEL", "FAILOVER", "mymaster") == "OK"
                    except RespError:
                        return False
                t0 = time.monotonic()
                wait_until(ask, timeout=60, interval=0.2)
            wait_until(lambda: role(to) == "master" and
                       role(cur) == "slave" and cur.linked_to(to.port),
                       timeout=60, interval=0.02,
                       what="%s: move #%d over" % (impl, k + 1))
            t1 = time.monotonic()
            time.sleep(0.3)
            gaps.append(w.max_gap(t0, t1 + 0.3))
            doubles.append(two_master_s(watch, t0, t1))
            cur = to
        time.sleep(1)
        w.stop()
        watch.stop()
        wait_until(lambda: all(r.offset() == cur.offset()
                               for r in redises if r is not cur), timeout=30)
        return gaps, doubles, lost(w, cur), len(w.acked)
    finally:
        tc.tearDown()


def main(argv):
    runs = int(argv[0])
    res = {}
    for impl in ("ours-failover", "ours-pause", "SENTINEL FAILOVER"):
        print("%s: %d moves..." % (impl, runs), flush=True)
        res[impl] = run(impl, runs)
    print("\n%-17s %12s %12s %14s %14s %10s" % (
        "", "unavail med", "unavail max", "2 masters med", "2 masters max",
        "lost/acked"))
    for impl, (gaps, doubles, nlost, nacked) in res.items():
        print("%-17s %9.0f ms %9.0f ms %11.0f ms %11.0f ms %5d/%d" % (
            impl, 1000 * statistics.median(gaps), 1000 * max(gaps),
            1000 * statistics.median(doubles), 1000 * max(doubles), nlost,
            nacked))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
