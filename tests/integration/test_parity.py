"""Every agent answers like the leader (issue #14 item 4, first half).

Real redis-server processes (1 master + 2 replicas) and 3 real rsm-agent
processes on loopback:
  - a follower's SENTINEL REPLICAS shows the replicas' link, offset, flags
    and run ids as the leader does (the leader pushes its view: RSM
    LEADERVIEW), where it used to say "unknown";
  - with the master SIGSTOPped (group paused, so that it stays down), a
    follower's SENTINEL MASTER shows s_down and o_down like the leader's,
    and a subscriber of the follower gets +odown;
  - SENTINEL FAILOVER sent to a follower fails over (it is forwarded to
    the leader, as Sentinel takes it anywhere);
  - a replica with replica-announced no is left out of SENTINEL REPLICAS
    on every agent, as Sentinel does;
  - an agent restarted (SIGKILL, then started again) answers
    get-master-addr-by-name with the current master on its very first
    request, polled from the moment its port accepts (it used to answer
    a null array until its log was applied again).

Timings are short (down-after 1000 ms, probe every 100 ms, Raft election
300 ms / heartbeat 30 ms); nothing here asserts a duration.
"""

import socket
import time

from rsmtest import (HOST, Agents, Resp, RespError, TestCase, pairs,
                     wait_until)

from test_sentinel_api import Subscriber

DOWN_AFTER_MS = 1000
PROBE_MS = 100
FAILOVER_WAIT_S = 20

# What a follower must show as the leader does, per replica.
REPLICA_FIELDS = ("name", "ip", "port", "runid", "flags", "role-reported",
                  "master-link-status", "master-link-down-time",
                  "master-host", "master-port", "slave-priority",
                  "slave-repl-offset", "replica-announced")


class ParityTest(TestCase):

    def start_group(self, replica_extra=(), min_interval_ms=60000):
        """1 master + 2 replicas (the first with replica_extra in its
        config) and 3 agents watching them as group "g"; returns (master,
        replicas, agents, leader) once every agent has the master."""
        m = self.redis()
        rs = [self.redis(replicaof=m.port, extra=replica_extra if i == 0
                         else ()) for i in range(2)]
        for r in rs:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15,
                       what="replica %d linked" % r.port)
        args = ["--down-after-ms", DOWN_AFTER_MS,
                "--probe-interval-ms", PROBE_MS,
                "--failover-timeout-ms", 10000,
                "--min-failover-interval-ms", min_interval_ms,
                "--monitor", "g=" + ",".join(r.addr for r in [m] + rs)]
        ag = Agents(self, 3, args=args, election_ms=300, heartbeat_ms=30)
        ag.start()
        leader = ag.wait_leader()
        ag.wait_group("g", lambda g: g["master"] == m.addr, every=True,
                      what="every agent records %s" % m.addr)
        return m, rs, ag, leader

    def replicas(self, agent):
        with Resp(agent.api_port) as c:
            return {pairs(x)["name"]: pairs(x)
                    for x in c.call("SENTINEL", "REPLICAS", "g")}

    def master(self, agent):
        with Resp(agent.api_port) as c:
            return pairs(c.call("SENTINEL", "MASTER", "g"))

    def assert_clean_stop(self, ag):
        """SIGTERM: every agent exits 0 (every handle and link closed;
        under ASan, no leak)."""
        for a in ag.alive():
            self.assertEqual(a.stop(), 0, "agent %d exit status" % a.id)

    def wait_failover(self, ag, old, n=1):
        g = ag.wait_group(
            "g", lambda g: len(g["history"]) >= n and g["in_flight"] is None,
            timeout=FAILOVER_WAIT_S, every=True,
            what="failover #%d on every agent" % n)
        self.assertNotEqual(g["master"], old.addr)
        return g

    # ------------------------------------------------------------------
    def test_follower_replicas_as_the_leader_sees_them(self):
        m, rs, ag, leader = self.start_group()
        followers = [a for a in ag if a is not leader]

        # Offsets move with every replication ping (once a second) and
        # the leader pushes them at least once a second: a follower's
        # offset is one the leader showed within the last 3 s; every other
        # field is the leader's now.
        seen = []  # (time, {replica: offset}) of the leader

        def same(f):
            lead = self.replicas(leader)
            mine = self.replicas(f)
            now = time.monotonic()
            seen.append((now, {n: x["slave-repl-offset"]
                               for n, x in lead.items()}))
            recent = [o for t, o in seen if now - t < 3.0]
            fields = [k for k in REPLICA_FIELDS if k != "slave-repl-offset"]
            want = {n: {k: x[k] for k in fields} for n, x in lead.items()}
            got = {n: {k: x.get(k) for k in fields} for n, x in mine.items()}
            if got != want:
                return None
            for n, x in mine.items():
                if int(x["slave-repl-offset"]) <= 0 or not any(
                        o.get(n) == x["slave-repl-offset"] for o in recent):
                    return None
                got[n]["slave-repl-offset"] = x["slave-repl-offset"]
            return got

        for f in followers:
            got = wait_until(lambda f=f: same(f), timeout=10, interval=0.1,
                             what="agent %d's replicas as the leader's" % f.id)
            self.assertEqual(sorted(got), sorted(r.addr for r in rs))
            for x in got.values():
                self.assertEqual(x["master-link-status"], "ok")
                self.assertEqual(x["flags"], "slave")
                self.assertEqual(x["role-reported"], "slave")
                self.assertRegex(x["runid"], r"^[0-9a-f]{40}$")
                self.assertGreater(int(x["slave-repl-offset"]), 0)
            ms, lms = self.master(f), self.master(leader)
            for k in ("runid", "flags", "role-reported", "num-slaves"):
                self.assertEqual(ms[k], lms[k], k)
        self.assert_clean_stop(ag)

    # ------------------------------------------------------------------
    def test_follower_shows_down_flags_like_the_leader(self):
        m, rs, ag, leader = self.start_group()
        follower = [a for a in ag if a is not leader][0]
        with Resp(leader.api_port, timeout=5) as c:
            self.assertEqual(c.call("RSM", "PAUSE", "g"), "OK")
        downs = Subscriber(follower.api_port, "*down", pattern=True)
        self.addCleanup(downs.close)
        m.pause()  # SIGSTOP: accepts connections, answers nothing
        self.addCleanup(m.resume)

        def flags(a):
            return set(self.master(a)["flags"].split(","))
        wait_until(lambda: {"s_down", "o_down"} <= flags(leader),
                   timeout=10, what="s_down,o_down on the leader")
        wait_until(lambda: {"s_down", "o_down"} <= flags(follower),
                   timeout=10, what="s_down,o_down on a follower")
        ms = self.master(follower)
        self.assertIn("o-down-time", ms)
        self.assertIn("s-down-time", ms)
        self.assertIn("status=odown", follower.call("INFO", "sentinel"))
        downs.wait_for("+odown", lambda p: p.startswith(
            "master g %s %d #quorum " % (HOST, m.port)))
        # it answers again: plain "master" on the follower too
        m.resume()
        wait_until(lambda: flags(follower) == {"master"}, timeout=10,
                   what="flags back to master on the follower")
        downs.wait_for("-odown")

    # ------------------------------------------------------------------
    def test_failover_sent_to_a_follower(self):
        m, rs, ag, leader = self.start_group(min_interval_ms=0)
        follower = [a for a in ag if a is not leader][0]
        with Resp(follower.api_port, timeout=10) as c:
            self.assertEqual(c.call("SENTINEL", "FAILOVER", "g"), "OK")
        g = self.wait_failover(ag, m)
        self.assertEqual(g["history"][-1]["kind"], "manual")
        new = [r for r in rs if r.addr == g["master"]][0]
        # redis-cli through the other follower, as an operator would
        other = [a for a in ag if a is not leader and a is not follower][0]
        wait_until(lambda: m.linked_to(new.port), timeout=15,
                   what="the old master demoted")
        p = self.redis_cli(other.api_port, "SENTINEL", "FAILOVER", "g")
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "OK"),
                         p.stderr)
        self.wait_failover(ag, new, n=2)
        self.assertTrue(other.events("failover-forwarded", group="g"))
        self.assert_clean_stop(ag)

    # ------------------------------------------------------------------
    def test_unannounced_replica_hidden_everywhere(self):
        m, rs, ag, leader = self.start_group(
            replica_extra=["replica-announced no"])
        hidden, shown = rs
        for a in ag:
            got = wait_until(
                lambda a=a: (lambda n: n if n == [shown.addr] else None)(
                    sorted(self.replicas(a))),
                timeout=10, what="agent %d hides %s" % (a.id, hidden.addr))
            self.assertEqual(got, [shown.addr])
            # still counted, as Sentinel counts it
            self.assertEqual(self.master(a)["num-slaves"], "2")

    # ------------------------------------------------------------------
    def first_answer(self, agent, timeout=20):
        """Connect to agent's port from the moment it accepts and return
        the reply to its first get-master-addr-by-name."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection((HOST, agent.api_port),
                                             timeout=2)
            except OSError:
                time.sleep(0.002)
                continue
            c = Resp.__new__(Resp)
            c.sock, c.f = s, s.makefile("rb")
            with c:
                return c.call("SENTINEL", "get-master-addr-by-name", "g")
        self.fail("agent %d never accepted" % agent.id)

    def test_restarted_agent_answers_at_once(self):
        m, rs, ag, leader = self.start_group(min_interval_ms=0)
        with Resp(leader.api_port, timeout=10) as c:
            self.assertEqual(c.call("SENTINEL", "FAILOVER", "g"), "OK")
        g = self.wait_failover(ag, m)
        want = [HOST, g["master"].rsplit(":", 1)[1]]
        for a in ag:
            self.assertEqual(a.call("SENTINEL", "get-master-addr-by-name",
                                    "g"), want)
        follower = [a for a in ag if a is not leader][0]
        for victim in (follower, leader):
            victim.kill()
            victim.start()
            got = self.first_answer(victim)
            self.assertEqual(got, want, "agent %d's first answer after "
                             "its restart" % victim.id)
            self.assertTrue(victim.events("masters-loaded"))
            ag.wait_leader()
            ag.wait_group("g", lambda g_: g_["master"] == g["master"],
                          every=True, what="every agent caught up")
        for a in ag:
            self.assertEqual(a.call("SENTINEL", "get-master-addr-by-name",
                                    "g"), want)
        self.assert_clean_stop(ag)
