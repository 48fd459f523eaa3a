"""Integration tests of managed fencing (issue #14 item 1): the agent
leader keeps min-replicas-to-write / min-replicas-max-lag on the master, so
that a master cut off from its replicas stops taking writes by itself, and
lowers it when the agents see the replicas really gone.

3 real rsm-agents and real redis-servers on loopback. The replicas
replicate as ACL user "repl": turning that user off on the master and
killing its connections cuts them from the master for good while they
still answer the agents. Down-after 1000 ms, so min-replicas-max-lag is 1.
"""

import os
import time
import unittest

from fakeredis import Farm
from rsmtest import HOST, Agents, Redis, RespError, TestCase, wait_until

DOWN_AFTER_MS = 1000
PROBE_MS = 100
PASSWORD = "repl-secret"
ACL = ["user repl on >%s ~* &* +@all" % PASSWORD]
REPLICA = ACL + ["masteruser repl", "masterauth %s" % PASSWORD]


def config(r, name):
    return r.call("CONFIG", "GET", name)[1]


def fence_of(r):
    """(min-replicas-to-write, min-replicas-max-lag) of r, as ints."""
    return (int(config(r, "min-replicas-to-write")),
            int(config(r, "min-replicas-max-lag")))


def try_set(r, key="fence:probe"):
    """'OK', or the error reply's first word (NOREPLICAS, ...)."""
    try:
        return r.call("SET", key, "x", timeout=2.0)
    except RespError as e:
        return str(e).split()[0]


class FenceTest(TestCase):

    def group(self):
        m = self.redis(extra=ACL)
        rs = [self.redis(replicaof=m.port, extra=REPLICA) for _ in range(2)]
        for r in rs:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15,
                       what="replica %d linked" % r.port)
        return m, rs

    def start_agents(self, members, extra=()):
        return self.group_agents(members, [
            "--down-after-ms", DOWN_AFTER_MS, "--probe-interval-ms", PROBE_MS,
            "--failover-timeout-ms", 10000,
            "--min-failover-interval-ms", 60000] + list(extra))

    def fence_events(self, ag, name, r):
        return [e for _, e in ag.events(name, group="g")
                if e.get("addr") == r.addr]

    def config_calls(self, r):
        st = r.commandstats()
        return st.get("config|set", 0), st.get("config|get", 0)

    # ------------------------------------------------------------------
    # (a)-(c): kept, refused when cut off, lowered when the replicas are
    # gone, raised again when they are back
    # ------------------------------------------------------------------
    def test_1_fenced_master_refuses_when_cut_off_lowered_then_raised(self):
        m, rs = self.group()
        ag = self.start_agents([m] + rs)

        # (a) The master is fenced, with the lag from down-after; the
        # replicas hold 0; the master's config file has it (REWRITE).
        wait_until(lambda: fence_of(m) == (1, 1), timeout=10,
                   what="min-replicas-to-write 1, max-lag 1 on the master")
        for r in rs:
            self.assertEqual(fence_of(r)[0], 0, r.addr)
        self.assertEqual(len(self.fence_events(ag, "fence-raised", m)), 1)
        self.assertEqual(try_set(m), "OK")

        def conf_lines():
            with open(os.path.join(m.dir, "redis.conf")) as f:
                return [ln.strip() for ln in f
                        if ln.startswith("min-replicas-")]
        wait_until(lambda: "min-replicas-to-write 1" in conf_lines(),
                   timeout=5, what="the fence in the master's config file")
        # Only on a change: nothing is sent while nothing changes.
        calls = self.config_calls(m)
        time.sleep(2.0)
        self.assertEqual(self.config_calls(m), calls,
                         "CONFIG commands sent with nothing changed")

        # (b) The replicas are cut from the master but answer the agents:
        # the master refuses writes by itself, and the agents keep the
        # fence (the replicas could still be promoted).
        m.call("ACL", "SETUSER", "repl", "off")
        m.call("CLIENT", "KILL", "USER", "repl")
        t_cut = time.monotonic()
        wait_until(lambda: try_set(m) == "NOREPLICAS", timeout=10,
                   what="the master refusing writes (NOREPLICAS)")
        refused_after = time.monotonic() - t_cut
        # down-after 1000 ms -> max-lag 1 s: refused 0-3 s after the cut
        self.assertLess(refused_after, 4.0)
        end = time.monotonic() + 3 * DOWN_AFTER_MS / 1000.0
        while time.monotonic() < end:
            self.assertEqual(try_set(m), "NOREPLICAS",
                             "writes taken while cut off from its replicas")
            time.sleep(0.2)
        self.assertEqual(self.fence_events(ag, "fence-lowered", m), [])
        self.assertEqual(fence_of(m), (1, 1))

        # Then the replicas are really gone (SIGSTOP: no reply to the
        # agents either): the fence is lowered and writes work again.
        for r in rs:
            r.pause()
        t_gone = time.monotonic()
        wait_until(lambda: try_set(m) == "OK", timeout=10,
                   what="writes taken again once the replicas are down")
        print("\n  cut -> NOREPLICAS %.2f s; replicas stopped -> writable "
              "%.2f s" % (refused_after, time.monotonic() - t_gone))
        self.assertEqual(fence_of(m)[0], 0)
        low = self.fence_events(ag, "fence-lowered", m)
        self.assertEqual(len(low), 1, low)
        self.assertEqual(low[0]["min_replicas_to_write"], "0")
        self.assertIn("2 of 2 other instances down", low[0]["reason"])

        # (c) The replicas come back and re-link: raised again.
        m.call("ACL", "SETUSER", "repl", "on")
        for r in rs:
            r.resume()
        for r in rs:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15,
                       what="replica %d linked again" % r.port)
        wait_until(lambda: fence_of(m) == (1, 1), timeout=10,
                   what="the fence raised again")
        self.assertEqual(len(self.fence_events(ag, "fence-raised", m)), 2)
        self.assertEqual(try_set(m), "OK")
        # No failover through all of it.
        g = ag.group_status("g")
        self.assertEqual((g["master"], g["epoch"]), (m.addr, 0))

    # ------------------------------------------------------------------
    # A failover: the new master takes writes at once, is fenced once its
    # replica is linked; a returning old master is reset to 0.
    # ------------------------------------------------------------------
    def test_2_failover_new_master_writable_at_once_then_fenced(self):
        m, rs = self.group()
        ag = self.start_agents([m] + rs)
        wait_until(lambda: fence_of(m) == (1, 1), timeout=10,
                   what="the master fenced")
        # Behind the leader's back (it read 0 on the replicas): the
        # replicas are fenced by hand, and whichever is promoted will not
        # let the other one re-link (its user is off there). Promoted like
        # that, a new master would refuse writes for as long as its
        # replica stays away, unless it is lowered at the promotion.
        for r in rs:
            r.call("CONFIG", "SET", "min-replicas-to-write", "1")
            r.call("ACL", "SETUSER", "repl", "off")
        m.kill()
        new = wait_until(
            lambda: next((r for r in rs if r.info().get("role") == "master"),
                         None), timeout=15, interval=0.01,
            what="a replica promoted")
        other = [r for r in rs if r is not new][0]
        # From the moment it says role:master, every write is taken.
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            self.assertEqual(try_set(new), "OK",
                             "the new master refused a write")
            time.sleep(0.02)
        self.assertFalse(other.linked_to(new.port))
        self.assertEqual(fence_of(new)[0], 0)
        low = self.fence_events(ag, "fence-lowered", new)
        self.assertEqual(len(low), 1, low)
        self.assertIn("promoted", low[0]["reason"])
        # Its replica let in: linked, then the new master is fenced.
        new.call("ACL", "SETUSER", "repl", "on")
        wait_until(lambda: other.linked_to(new.port), timeout=15,
                   what="the other replica linked to the new master")
        wait_until(lambda: fence_of(new) == (1, 1), timeout=10,
                   what="the new master fenced")
        self.assertEqual(try_set(new), "OK")

        # The old master comes back with the fence in its config file,
        # as a master: demoted, then reset to 0.
        old = Redis(self.workdir, port=m.port,
                    extra=REPLICA + ["min-replicas-to-write 1"])
        self._procs.append(old)
        old.start()
        wait_until(lambda: old.linked_to(new.port), timeout=20,
                   what="the old master demoted")
        wait_until(lambda: fence_of(old)[0] == 0, timeout=10,
                   what="the demoted master reset to 0")
        self.assertTrue(self.fence_events(ag, "fence-reset", old))
        self.assertEqual(fence_of(new), (1, 1))

    # ------------------------------------------------------------------
    # (d) --fence off
    # ------------------------------------------------------------------
    def test_3_fence_off_leaves_the_settings_alone(self):
        m = self.redis(extra=ACL + ["min-replicas-max-lag 7"])
        rs = [self.redis(replicaof=m.port,
                         extra=REPLICA + ["min-replicas-to-write 2"])
              for _ in range(2)]
        for r in rs:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15,
                       what="replica %d linked" % r.port)
        ag = self.start_agents([m] + rs, extra=["--fence", "off"])
        time.sleep(3.0)  # with fencing on, 3 s is ample (test 1)
        self.assertEqual(fence_of(m), (0, 7))
        for r in rs:
            self.assertEqual(fence_of(r), (2, 10))
        # fence_of's own CONFIG GETs are the only ones
        for r in [m] + rs:
            self.assertEqual(self.config_calls(r), (0, 2), r.addr)
        self.assertEqual([e["fence"] for _, e in ag.events("fence-config")],
                         ["off"] * 3)
        evs = [e["event"] for _, e in ag.events()
               if e["event"].startswith("fence-") and
               e["event"] != "fence-config"]
        self.assertEqual(evs, [])
        # Cut off from its replicas, the master keeps taking writes.
        for r in rs:
            r.pause()
        time.sleep(3.0)
        self.assertEqual(try_set(m), "OK")

    # ------------------------------------------------------------------
    # Something that answers INFO but not CONFIG GET as Redis does (the
    # fake Redis of the scale tests answers +OK): given up once per
    # process, not retried every second.
    # ------------------------------------------------------------------
    def test_4_not_a_redis_config_is_given_up_once(self):
        farm = Farm(3).start()
        self.addCleanup(farm.stop)
        addrs = ["%s:%d" % (HOST, p) for p in farm.groups[0]]
        ag = Agents(self, 3, args=[
            "--down-after-ms", DOWN_AFTER_MS, "--probe-interval-ms", PROBE_MS,
            "--log-level", "debug", "--monitor", "g=%s" % ",".join(addrs)])
        ag.start()
        ag.wait_leader(timeout=15)
        wait_until(lambda: len(ag.events("fence-unavailable")) == 3,
                   timeout=10, what="fence-unavailable for each instance")
        time.sleep(2.0)
        un = [e for _, e in ag.events("fence-unavailable")]
        self.assertEqual(sorted(e["addr"] for e in un), sorted(addrs))
        self.assertEqual(ag.events("fence-failed"), [])
        self.assertEqual(ag.events("fence-read"), [])

    def test_5_bad_fence_flag_is_refused(self):
        ag = Agents(self, 1, args=["--fence", "maybe"])
        a = ag[1].start()
        wait_until(lambda: not a.alive(), timeout=10, what="exit")
        self.assertEqual(a.proc.p.returncode, 2)
        self.assertIn("--fence: 'maybe' is not on or off", a.output())


if __name__ == "__main__":
    unittest.main()
