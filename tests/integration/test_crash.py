"""Integration tests of the crash path (issue #15): a master whose process
is gone is failed over without waiting for down-after, and only then.

A dead process and a hung one differ on the wire: the kernel of a dead
process's host refuses new connects at once, a hung (SIGSTOPped) process
gives only silence. The agents fail over early only with three kinds of
evidence (every connect of the leader refused for --crash-confirm-ms, a
quorum of agents refused, every answering replica reporting its link
down; the pure rule is unit-tested in tests/unit/test_detector.c). Here
real rsm-agent and redis-server processes on loopback check the decisions
a user meets:

- SIGKILL of the master with down-after 30000 (Sentinel's default): the
  failover is decided, committed and completed long before down-after,
  and its recorded reason says it was a crash;
- SIGSTOP of the master: no early failover; it waits for down-after and
  its reason is silence, not a crash;
- --crash-confirm-ms 0 turns the crash path off: a SIGKILLed master waits
  for down-after like a hung one.

No timing assertion beyond "before down-after" (a decision, not a speed:
the benchmark in scripts/bench/ reports the times).
"""

import time
import unittest

from rsmtest import HOST, TestCase, wait_until

PROBE_MS = 100
ELECTION_MS = 300
HEARTBEAT_MS = 30
LONG_DOWN_AFTER_MS = 30000  # Sentinel's default
SHORT_DOWN_AFTER_MS = 4000


class CrashTest(TestCase):

    def start_agents(self, members, down_after_ms, extra=()):
        return self.group_agents(members, [
            "--down-after-ms", down_after_ms, "--probe-interval-ms", PROBE_MS,
            "--failover-timeout-ms", 10000,
            "--min-failover-interval-ms", 60000] + list(extra),
            election_ms=ELECTION_MS, heartbeat_ms=HEARTBEAT_MS)

    def history_after(self, ag, timeout):
        """The group once every live agent has a completed failover."""
        return ag.wait_group(
            "g", lambda g: len(g["history"]) >= 1 and g["in_flight"] is None,
            timeout=timeout, every=True,
            what="a completed failover on every agent")

    def leader_reason(self, ag):
        """The leader's verdict on the master now, with its reason."""
        ld = ag.leader()
        verdict = ld.status()["monitor"]["groups"][0]["verdict"] or {}
        return verdict.get("reason", "")

    def assert_no_decision(self, ag, seconds, what):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for a in ag.alive():
                g = a.group_status("g")
                self.assertEqual(g["history"], [], "%s: agent %d failed "
                                 "over: %s" % (what, a.id, g["history"]))
                self.assertIsNone(g["in_flight"], "%s: agent %d has a "
                                  "failover in flight" % (what, a.id))
            time.sleep(0.1)

    def test_1_sigkill_fails_over_before_down_after(self):
        m, (r1, r2) = self.replication_set(replicas=2)
        ag = self.start_agents([m, r1, r2], LONG_DOWN_AFTER_MS)
        m.write_keys("k", 200)
        self.wait_replicated(m, [r1, r2])
        killed = time.monotonic()
        m.kill()
        g = self.history_after(ag, timeout=20)
        elapsed = time.monotonic() - killed
        self.assertLess(elapsed, LONG_DOWN_AFTER_MS / 1000.0,
                        "completed only after down-after: not the crash path")
        h = g["history"][0]
        # the old master is silent, not a straggler: it is re-pointed when
        # it answers again
        self.assertEqual(h["result"], "completed", h)
        self.assertIn("crashed", h["reason"], h)
        self.assertIn("refused", h["reason"], h)
        new = r1 if h["new_master"] == r1.addr else r2
        other = r2 if new is r1 else r1
        self.assertIn(h["new_master"], (r1.addr, r2.addr), h)
        wait_until(lambda: other.linked_to(new.port), timeout=15,
                   what="the other replica linked to the new master")
        self.assertEqual(new.info()["role"], "master")
        for i in range(200):
            self.assertEqual(new.call("GET", "k%d" % i) is not None, True)
        for a in ag.alive():
            self.assertEqual(
                a.call("SENTINEL", "get-master-addr-by-name", "g"),
                [HOST, str(new.port)], "agent %d" % a.id)
        # the leader logged the crash evidence as a named event
        crashed = [e for _, e in ag.events("master-crashed")]
        self.assertTrue(crashed, "no master-crashed event")
        self.assertIn("refused", crashed[0].get("reason", ""), crashed[0])

    def test_2_sigstop_waits_for_down_after(self):
        m, (r1, r2) = self.replication_set(replicas=2)
        ag = self.start_agents([m, r1, r2], SHORT_DOWN_AFTER_MS)
        stopped = time.monotonic()
        m.pause()  # SIGSTOP
        try:
            # silence, not refusals: nothing before down-after
            self.assert_no_decision(ag, SHORT_DOWN_AFTER_MS / 1000.0 * 0.6,
                                    "SIGSTOPped master")
            self.assertNotIn("crash", self.leader_reason(ag))
            g = self.history_after(ag, timeout=30)
            # silence counts from the last reply, which may precede the
            # SIGSTOP by one idle probe period of the master
            # (min(down-after/2, 1 s)): down-after less that, at least
            self.assertGreaterEqual(time.monotonic() - stopped,
                                    SHORT_DOWN_AFTER_MS / 1000.0 - 1.0)
            h = g["history"][0]
            self.assertNotIn("crashed", h["reason"], h)
            self.assertIn("no reply", h["reason"], h)
        finally:
            m.resume()

    def test_3_crash_confirm_zero_turns_the_crash_path_off(self):
        m, (r1, r2) = self.replication_set(replicas=2)
        ag = self.start_agents([m, r1, r2], LONG_DOWN_AFTER_MS,
                               extra=["--crash-confirm-ms", 0])
        m.kill()
        self.assert_no_decision(ag, 4.0, "crash path off")
        reason = self.leader_reason(ag)
        self.assertIn("no reply for", reason)
        self.assertNotIn("crash", reason)


if __name__ == "__main__":
    unittest.main()
