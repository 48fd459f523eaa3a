"""Integration test of the probe load (issue #15, "probe less, learn the
same"): an idle group is probed at idle rates, not each probe interval.
The acting leader reads INFO replication from the committed master every
down-after/2 (at most 1 s) and from the other instances about once a
second, INFO server and persistence only when they can have changed (a
new connection, loading, a replica whose link is down or syncing) or every
10 s; each follower PINGs the master about once a second. A suspected
master, a change seen or a request makes the group busy again: probed
each probe interval.

Real redis-server and rsm-agent processes on loopback. What is checked is
what Redis itself counts (INFO commandstats) and what the agents still
learn: a restarted process (new run_id) is still seen as restarted.
"""

import time
import unittest

from rsmtest import TestCase, wait_until

PROBE_MS = 100
DOWN_AFTER_MS = 2000
IDLE_MS = 1000  # min(down-after/2, 1 s) for the master, 1 s for the rest
WINDOW_S = 3.0
SETTLE_S = 4.0  # a new leader's group is busy for its first seconds


class ProbeLoadTest(TestCase):

    def start(self):
        m, rs = self.replication_set(replicas=2)
        ag = self.group_agents([m] + rs, [
            "--down-after-ms", DOWN_AFTER_MS, "--probe-interval-ms", PROBE_MS],
            election_ms=300, heartbeat_ms=30)
        return m, rs, ag

    def test_idle_group_probed_at_idle_rates(self):
        m, rs, ag = self.start()
        time.sleep(SETTLE_S)
        before = [r.commandstats() for r in [m] + rs]
        time.sleep(WINDOW_S)
        after = [r.commandstats() for r in [m] + rs]
        idle_probes = WINDOW_S * 1000 / IDLE_MS
        fast_probes = WINDOW_S * 1000 / PROBE_MS
        for r, b, a in zip([m] + rs, before, after):
            calls = a.get("info", 0) - b.get("info", 0) - 1  # our own
            self.assertGreater(calls, idle_probes * 0.5,
                               "%s: the leader stopped probing" % r.addr)
            # one INFO replication per idle period, a full probe (3 INFO)
            # at most once in the window; each probe interval would be 30
            self.assertLess(calls, idle_probes * 1.5 + 3,
                            "%s: %d INFO calls in %.0f s: probed faster "
                            "than the idle rate (%d at %d ms probes)" % (
                                r.addr, calls, WINDOW_S, fast_probes,
                                PROBE_MS))
        pings = after[0].get("ping", 0) - before[0].get("ping", 0)
        # 2 followers, about one PING a second each
        self.assertGreater(pings, 2 * idle_probes * 0.5,
                           "the followers stopped probing the master")
        self.assertLess(pings, 2 * idle_probes * 1.5,
                        "%d PINGs in %.0f s from 2 followers: faster than "
                        "once a second each" % (pings, WINDOW_S))

    def test_restart_still_seen(self):
        m, rs, ag = self.start()
        time.sleep(1.0)
        r = rs[0]
        r.kill()
        r.start()  # a new process: a new run_id, on a new connection
        leader = ag.leader()

        def restarted():
            mon = leader.status()["monitor"]["groups"][0]
            for inst in mon["instances"]:
                if inst["addr"] == r.addr and inst["state"] == "restarted":
                    return True
            return False

        wait_until(restarted, timeout=10, interval=0.02,
                   what="the leader sees %s restarted" % r.addr)


if __name__ == "__main__":
    unittest.main()
