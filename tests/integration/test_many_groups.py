"""Integration tests of an agent group watching many replication groups:
the number of --monitor groups is what is configured (up to 4096), not a
compiled-in 64.

The 100 groups (300 endpoints) are SIMULATED by tests/integration/
fakeredis.py (one Python process answering PING/INFO on every port, as
masters with 2 linked replicas each): 300 redis-server processes would not
fit a test machine. What a real Redis changes (replication, failover) is
tested elsewhere with real servers.
"""
import os
import re
import time
import urllib.request

from fakeredis import Farm
from rsmtest import Agents, TestCase, binary, free_port, pairs, wait_until

N_GROUPS = 100


def monitor_args(groups):
    out = []
    for i, g in enumerate(groups):
        out += ["--monitor", "g%d=%s" % (i, ",".join(
            "127.0.0.1:%d" % p for p in g))]
    return out


class ManyGroupsTest(TestCase):

    def test_three_agents_watch_100_groups(self):
        farm = Farm(3 * N_GROUPS).start()
        self.addCleanup(farm.stop)
        # probes at 2 Hz (timeout 1.5 s): one Python process serves the
        # 300 endpoints, and a busy test machine must not make it miss.
        # 5 turns of 100 ms (monitor_slice_count: 300 instances counted at
        # the idle rate of about one probe a second, 32 a turn); a 50 ms
        # heartbeat puts them on raft's ticks (rsm_monitor_anchor_ms),
        # which must not change their rate.
        ag = Agents(self, 3, args=monitor_args(farm.groups) +
                    ["--probe-interval-ms", "500"], heartbeat_ms=50)
        http = {}
        for a in ag:
            http[a.id] = free_port()
            a.start(extra=["--http-bind", "127.0.0.1:%d" % http[a.id]])
        leader = ag.wait_leader()
        want = {"g%d" % i: g for i, g in enumerate(farm.groups)}

        def masters(a):
            return {m["name"]: m for m in map(pairs, a.call(
                "SENTINEL", "MASTERS"))}

        # every group's master is recorded, and every agent serves all
        # 100 of them on its client port
        wait_until(lambda: all(len(masters(a)) == N_GROUPS for a in ag),
                   timeout=60, interval=0.5,
                   what="SENTINEL MASTERS with %d entries" % N_GROUPS)
        for a in ag:
            got = masters(a)
            self.assertEqual(set(got), set(want))
            for name, m in got.items():
                self.assertEqual(int(m["port"]), want[name][0], name)
                self.assertEqual(m["num-slaves"], "2", name)
        # a follower's views (what the leader asks it for) cover them all
        follower = next(a for a in ag if a is not leader)
        # (the reply starts with the follower's identity, see identity.h)
        views = wait_until(
            lambda: (lambda v: v if len(v) == N_GROUPS + 1 else None)(
                follower.call("RSM", "VIEWS")),
            timeout=30, what="RSM VIEWS with %d entries" % N_GROUPS)
        self.assertEqual(views[0][:2], ["agent", str(follower.id)])
        self.assertEqual({v[0] for v in views[1:]}, set(want))
        # the leader probes every group, and /metrics shows each one
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" %
                                    http[leader.id], timeout=10) as r:
            text = r.read().decode()
        counts = re.findall(r'^rsm_probe_duration_seconds_count\{group="'
                            r'(g\d+)"\} (\d+)$', text, re.M)
        self.assertEqual({g for g, _ in counts}, set(want))
        self.assertTrue(all(int(c) > 0 for _, c in counts), counts[:5])

        # every instance is still probed once per interval (500 ms), but
        # not all at once: the 300 are probed in turns spread over the
        # interval (5 turns 100 ms apart here)
        farm.reset()
        time.sleep(3)
        with farm.lock:
            periods = sorted(farm.periods["info"])
            last = dict(farm._last["info"])
        self.assertGreater(len(periods), 1000)
        median = periods[len(periods) // 2]
        self.assertTrue(450 <= median <= 550, median)
        masters = [last[g[0]] for g in farm.groups if g[0] in last]
        bins = {int((t * 1000) % 500 // 100) for t in masters}
        self.assertGreaterEqual(len(bins), 4, sorted(bins))

    def test_more_groups_than_the_cap_is_refused(self):
        agent = binary("rsm-agent")
        d = os.path.join(self.workdir, "d")
        groups = [[20000 + i % 40000] for i in range(4097)]
        r = self.run_cmd([agent, "--id", "1", "--peers", "1=127.0.0.1:7001",
                          "--data-dir", d] + monitor_args(groups),
                         timeout=30, env={"PATH": os.environ.get("PATH", "")})
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--monitor: more than 4096 groups", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertFalse(os.path.exists(d))
