"""Integration tests of issue 9: planned switchover with no lost writes,
by Redis's FAILOVER TO and by the pause method (CLIENT PAUSE WRITE, the
target catches up, the old master is demoted first, then the target
promoted, then CLIENT UNPAUSE).

3 real rsm-agent processes monitor one group of 3 real redis-server
processes (ports from free_port()). A writer thread keeps writing unique
keys to whichever instance is master; a RoleWatcher samples every
instance's role every 20 ms. Switchovers are asked with
`rsmctl switchover` (which follows NOTLEADER and waits for the result in
the committed history) or RSM SWITCHOVER on an agent's client port.

RSM_SWITCHOVERS=N sets the number of back-and-forth switchovers (20 by
default, as the issue asks; about 40 s for the whole file).
"""

import os
import signal
import threading
import time
import unittest

from rsmtest import (HOST, Agents, RespError, Resp, RoleWatcher, TestCase,
                     parse_info, wait_until)

DOWN_AFTER_MS = 1000
PROBE_MS = 100
FAILOVER_TIMEOUT_MS = 10000
N_SWITCHOVERS = int(os.environ.get("RSM_SWITCHOVERS", "20"))


class Writer:
    """Writes w:<i> = i to the current master from a thread; keeps the
    numbers Redis acknowledged and when."""

    def __init__(self, redises):
        self.redises = list(redises)
        self.acked = []  # (monotonic time, i)
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _master(self):
        for r in self.redises:
            try:
                with Resp(r.port, timeout=0.5) as c:
                    if parse_info(c.call("INFO", "replication")).get(
                            "role") == "master":
                        return Resp(r.port, timeout=5.0)
            except (OSError, RespError, ConnectionError):
                continue
        return None

    def _run(self):
        conn, i = None, 0
        while not self._stop.is_set():
            if conn is None:
                conn = self._master()
                if conn is None:
                    time.sleep(0.01)
                    continue
            try:
                conn.call("SET", "w:%d" % i, i)
                self.acked.append((time.monotonic(), i))
            except (OSError, RespError, ConnectionError):
                self.errors += 1
                conn.close()
                conn = None
            i += 1  # a failed write may still exist: never reuse its key
        if conn is not None:
            conn.close()

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self

    def max_gap(self, t0, t1):
        """Longest time without an acknowledged write within [t0, t1]."""
        ts = [t0] + [t for t, _ in self.acked if t0 <= t <= t1] + [t1]
        return max(b - a for a, b in zip(ts, ts[1:]))


class SwitchoverTest(TestCase):

    def start_group(self, redis_extra=(), agent_args=(), agent_env=None):
        m, (r1, r2) = self.replication_set(2, extra=list(redis_extra))
        args = ["--down-after-ms", DOWN_AFTER_MS,
                "--probe-interval-ms", PROBE_MS,
                "--failover-timeout-ms", FAILOVER_TIMEOUT_MS,
                "--min-failover-interval-ms", 60000,
                "--parallel-syncs", 1,
                "--monitor", "g=%s" % ",".join(r.addr for r in (m, r1, r2))]
        ag = Agents(self, 3, args=args + list(agent_args), env=agent_env)
        ag.start()
        ag.wait_leader(timeout=15)
        ag.wait_group("g", lambda g: g["master"] == m.addr, timeout=15,
                      every=True, what="master recorded")
        return ag, m, r1, r2

    def agents_arg(self, ag):
        return ",".join(a.api for a in ag)

    def assert_all_acked_on(self, w, r):
        keys = ["w:%d" % i for _, i in w.acked]
        missing = []
        for k in range(0, len(keys), 500):
            chunk = keys[k:k + 500]
            vals = r.call("MGET", *chunk)
            missing += [x for x, v in zip(chunk, vals) if v is None]
        self.assertEqual(missing[:20], [], "%d of %d acknowledged writes "
                         "lost on %s" % (len(missing), len(keys), r.addr))

    def back_and_forth(self, ag, m, r1, r2, n):
        """n switchovers m -> r1 -> m ... with a writer: no acknowledged
        write lost, never two masters, +switch-master for each. Returns
        the group status at the end."""
        redises = [m, r1, r2]
        # a Sentinel-aware client's subscription
        sub = Resp(ag.leader().api_port, timeout=60)
        sub.call("SUBSCRIBE", "+switch-master")
        w = Writer(redises).start()
        watch = RoleWatcher(redises).start()
        wait_until(lambda: len(w.acked) > 100, timeout=10, what="writes")
        gaps = []
        cur = m
        for k in range(n):
            to = r1 if cur is m else m
            wait_until(lambda: to.linked_to(cur.port), timeout=15,
                       what="%s linked to %s" % (to.addr, cur.addr))
            time.sleep(3 * PROBE_MS / 1000.0)  # the leader has seen it
            t0 = time.monotonic()
            p = self.rsmctl("switchover", "g", "--to", to.addr,
                            "--timeout-ms", 5000, "--wait", 30,
                            "--agents", self.agents_arg(ag))
            t1 = time.monotonic()
            self.assertEqual(p.returncode, 0,
                             "switchover #%d: %s%s" % (k + 1, p.stdout,
                                                         p.stderr))
            self.assertIn("switchover of g completed", p.stdout)
            self.assertIn("%s -> %s" % (cur.addr, to.addr), p.stdout)
            gaps.append(w.max_gap(t0, t1))
            cur = to
        wait_until(lambda: len(w.acked) > 0 and
                   w.acked[-1][0] > time.monotonic() - 0.5, timeout=10,
                   what="writes go on after the last switchover")
        w.stop()
        watch.stop()
        self.assertEqual(cur.info()["role"], "master")
        self.wait_replicated(cur, [r for r in redises if r is not cur])
        # No acknowledged write lost, on the master and on every replica.
        for r in redises:
            self.assert_all_acked_on(w, r)
        # Never two instances answering role:master at once.
        self.assertLessEqual(watch.max_masters, 1, [
            s for _, s in watch.samples if len(s) > 1][:5])
        self.assertEqual(watch.ever_master, {m.port, r1.port})
        g = ag.group_status("g")
        self.assertEqual(len(g["history"]), n)
        for h in g["history"]:
            self.assertEqual(h["kind"], "switchover", h)
            self.assertEqual(h["result"], "completed", h)
            self.assertEqual(h["data_at_risk"], 0, h)
        # Clients saw +switch-master for each.
        seen = []
        while len(seen) < n:
            msg = sub.read()
            if msg[0] in ("message", b"message"):
                seen.append(msg[2] if isinstance(msg[2], str)
                            else msg[2].decode())
        sub.close()
        self.assertEqual(seen[0], "g %s %d %s %d" % (HOST, m.port, HOST,
                                                    r1.port))
        gaps.sort()
        print("\nswitchover write unavailability over %d: median %.0f ms, "
              "max %.0f ms; writer errors %d, %d writes acked"
              % (len(gaps), 1000 * gaps[len(gaps) // 2], 1000 * gaps[-1],
                 w.errors, len(w.acked)))
        return g

    def test_switchovers_back_and_forth_lose_no_write(self):
        ag, m, r1, r2 = self.start_group(
            agent_args=["--switchover-method", "failover"])
        self.back_and_forth(ag, m, r1, r2, N_SWITCHOVERS)
        # Redis's FAILOVER did it: no CLIENT PAUSE from the agents
        for r in (m, r1):
            stats = r.commandstats()
            self.assertGreater(stats.get("failover", 0), 0, stats)
            self.assertEqual(stats.get("client|pause", 0), 0, stats)

    def test_failover_renamed_pause_method_loses_no_write(self):
        """FAILOVER renamed away (rename-command in the config file): the
        agents, set to prefer FAILOVER TO, find out and switch over by the
        pause method."""
        ag, m, r1, r2 = self.start_group(
            redis_extra=['rename-command FAILOVER ""'],
            agent_args=["--switchover-method", "failover"])
        with self.assertRaises(RespError) as cm:
            m.call("FAILOVER", "ABORT")
        self.assertIn("unknown command", str(cm.exception))
        g = self.back_and_forth(ag, m, r1, r2, N_SWITCHOVERS)
        for h in g["history"]:
            self.assertIn("pause method: FAILOVER unknown", h["reason"], h)
        for r in (m, r1):
            stats = r.commandstats()
            self.assertGreater(stats.get("client|pause", 0), 0, stats)
            self.assertGreater(stats.get("client|unpause", 0), 0, stats)
        ev = [e for _, e in ag.events()]
        names = [e["event"] for e in ev]
        for name in ("failover-cmd", "+pause-writes", "+caught-up",
                     "+convert-to-slave", "+unpause-writes",
                     "+promoted-slave"):
            self.assertIn(name, names)
        # the safe order, on the leader that did the first switchover
        def kind(c):
            if c.startswith("CLIENT PAUSE"):
                return "pause"
            if c == "REPLICAOF NO ONE":
                return "promote"
            return {"CLIENT UNPAUSE": "unpause"}.get(c, c.split(" ")[0])
        cmds = [kind(e["command"]) for e in ev
                if e["event"] == "redis-command"]
        first = cmds.index("unpause")
        self.assertEqual(cmds[:first + 1],
                         ["pause", "REPLICAOF", "promote", "unpause"])

    def test_failover_denied_by_acl_pause_method(self):
        """The agents' ACL user may not run FAILOVER: NOPERM -> the pause
        method, one switchover with a writer, nothing lost."""
        ag, m, r1, r2 = self.start_group(
            redis_extra=["user rsm on >rsm-secret ~* &* +@all -failover"],
            agent_args=["--switchover-method", "failover",
                        "--redis-user", "rsm"],
            agent_env={"RSM_REDIS_PASSWORD": "rsm-secret"})
        w = Writer([m, r1, r2]).start()
        wait_until(lambda: len(w.acked) > 100, timeout=10, what="writes")
        p = self.rsmctl("switchover", "g", "--to", r1.addr, "--timeout-ms",
                        5000, "--wait", 30, "--agents", self.agents_arg(ag))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        n = len(w.acked)
        wait_until(lambda: len(w.acked) > n + 50, timeout=10,
                   what="writes on the new master")
        w.stop()
        h = ag.group_status("g")["history"][0]
        self.assertEqual(h["result"], "completed", h)
        self.assertIn("pause method: FAILOVER denied by ACL", h["reason"])
        self.assertEqual(r1.info()["role"], "master")
        self.assertGreater(m.commandstats().get("client|pause", 0), 0)
        self.wait_replicated(r1, [m, r2])
        for r in (m, r1, r2):
            self.assert_all_acked_on(w, r)

    def test_stopped_target_aborts_old_master_serves(self):
        ag, m, r1, r2 = self.start_group(
            agent_args=["--switchover-method", "failover"])
        w = Writer([m, r1, r2]).start()
        wait_until(lambda: len(w.acked) > 100, timeout=10, what="writes")
        ld = ag.leader()
        r1.pause()  # SIGSTOP: it will never catch up
        try:
            self.assertEqual(ld.call("RSM", "SWITCHOVER", "g", r1.addr,
                                     "2000"), "OK")
            # in flight: another switchover or a failover is refused
            with self.assertRaises(RespError) as cm:
                ld.call("RSM", "SWITCHOVER", "g")
            self.assertIn("INPROG", str(cm.exception))
            with self.assertRaises(RespError) as cm:
                ld.call("SENTINEL", "FAILOVER", "g")
            self.assertIn("INPROG", str(cm.exception))
            g = ag.wait_group("g", lambda g: len(g["history"]) == 1 and
                              g["in_flight"] is None, timeout=15,
                              what="switchover ended")
        finally:
            r1.resume()
        h = g["history"][0]
        self.assertEqual(h["kind"], "switchover", h)
        self.assertEqual(h["result"], "aborted", h)
        self.assertIn("keeps serving", h["reason"])
        self.assertEqual(g["master"], m.addr)
        self.assertEqual(m.info()["role"], "master")
        n = len(w.acked)
        wait_until(lambda: len(w.acked) > n + 50, timeout=5,
                   what="the old master takes writes again")
        self.assertEqual(m.call("SET", "after-abort", "1"), "OK")
        w.stop()
        self.wait_replicated(m, [r1, r2])
        for r in (m, r1, r2):
            self.assert_all_acked_on(w, r)

    def test_pause_method_stopped_target_aborts_and_unpauses(self):
        ag, m, r1, r2 = self.start_group()  # pause: the default
        w = Writer([m, r1, r2]).start()
        wait_until(lambda: len(w.acked) > 100, timeout=10, what="writes")
        ld = ag.leader()
        r1.pause()  # SIGSTOP: it will never catch up
        try:
            t0 = time.monotonic()
            self.assertEqual(ld.call("RSM", "SWITCHOVER", "g", r1.addr,
                                     "8000"), "OK")
            wait_until(lambda: m.commandstats().get("client|pause", 0) > 0,
                       timeout=5, what="writes paused")
            g = ag.wait_group("g", lambda g: len(g["history"]) == 1 and
                              g["in_flight"] is None, timeout=15,
                              what="switchover ended")
            t1 = time.monotonic()
        finally:
            r1.resume()
        h = g["history"][0]
        self.assertEqual(h["kind"], "switchover", h)
        self.assertEqual(h["result"], "aborted", h)
        self.assertIn("unreachable", h["reason"])
        self.assertIn("keeps serving", h["reason"])
        self.assertEqual(g["master"], m.addr)
        self.assertEqual(m.info()["role"], "master")
        # unpaused by the agent, long before the pause's own 8 s end
        self.assertEqual(m.commandstats().get("client|unpause", 0), 1)
        self.assertLess(t1 - t0, 6.0)
        s0 = time.monotonic()
        self.assertEqual(m.call("SET", "after-abort", "1"), "OK")
        self.assertLess(time.monotonic() - s0, 0.5)
        n = len(w.acked)
        wait_until(lambda: len(w.acked) > n + 50, timeout=5,
                   what="the old master takes writes again")
        w.stop()
        self.wait_replicated(m, [r1, r2])
        for r in (m, r1, r2):
            self.assert_all_acked_on(w, r)
        # never demoted nor promoted anything
        self.assertEqual(r1.commandstats().get("replicaof", 0), 0)
        self.assertEqual(m.commandstats().get("replicaof", 0), 0)

    def test_refused_while_paused_and_bad_targets(self):
        ag, m, r1, r2 = self.start_group()
        args = ["--agents", self.agents_arg(ag)]
        p = self.rsmctl("pause", "g", *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.rsmctl("switchover", "g", *args)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("paused", p.stderr)
        p = self.rsmctl("resume", "g", *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        # not an instance of the group / the master itself
        p = self.rsmctl("switchover", "g", "--to", "127.0.0.1:1", *args)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("not a configured instance", p.stderr)
        p = self.rsmctl("switchover", "g", "--to", m.addr, *args)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        # a priority-0 replica is never a target
        r2.call("CONFIG", "SET", "replica-priority", "0")
        time.sleep(3 * PROBE_MS / 1000.0)
        p = self.rsmctl("switchover", "g", "--to", r2.addr, *args)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("not eligible", p.stderr)
        # a follower answers NOTLEADER on the client port
        ld = ag.leader()
        fo = [a for a in ag if a is not ld][0]
        with self.assertRaises(RespError) as cm:
            fo.call("RSM", "SWITCHOVER", "g")
        self.assertIn("NOTLEADER", str(cm.exception))
        self.assertEqual(ag.group_status("g")["epoch"], 0)
        # and then one that works, to the best replica (r1)
        p = self.rsmctl("switchover", "g", *args)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("-> %s" % r1.addr, p.stdout)


if __name__ == "__main__":
    unittest.main()
