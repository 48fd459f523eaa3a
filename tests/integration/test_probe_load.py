"""Integration test of the probe load (issue #15, "probe less, learn the
same"): the acting leader reads INFO replication from every instance each
probe interval, and INFO server and persistence only when they can have
changed (a new connection, loading, a replica whose link is down or
syncing) or every 10 s.

Real redis-server and rsm-agent processes on loopback. What is checked is
what Redis itself counts (INFO commandstats) and what the agents still
learn: a restarted process (new run_id) is still seen as restarted.
"""

import time
import unittest

from rsmtest import TestCase, wait_until

PROBE_MS = 100
WINDOW_S = 3.0


class ProbeLoadTest(TestCase):

    def start(self):
        m, rs = self.replication_set(replicas=2)
        ag = self.group_agents([m] + rs, [
            "--down-after-ms", 2000, "--probe-interval-ms", PROBE_MS],
            election_ms=300, heartbeat_ms=30)
        return m, rs, ag

    def test_info_mostly_replication_only(self):
        m, rs, ag = self.start()
        time.sleep(1.0)  # past the first (full) probes
        before = [r.commandstats().get("info", 0) for r in [m] + rs]
        time.sleep(WINDOW_S)
        after = [r.commandstats().get("info", 0) for r in [m] + rs]
        probes = WINDOW_S * 1000 / PROBE_MS
        for r, b, a in zip([m] + rs, before, after):
            calls = a - b - 1  # our own INFO commandstats
            # one INFO per probe (was three), a full probe at most once
            # in the window (3 more)
            self.assertGreater(calls, probes * 0.5,
                               "%s: the leader stopped probing" % r.addr)
            self.assertLess(calls, probes * 1.5 + 3,
                            "%s: %d INFO calls in %.0f s at %d ms probes: "
                            "still reading three sections" % (
                                r.addr, calls, WINDOW_S, PROBE_MS))

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
