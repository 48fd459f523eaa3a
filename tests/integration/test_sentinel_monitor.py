"""Integration test of SENTINEL MONITOR and SENTINEL REMOVE committed
through the Raft log (issue #14, item 4), with real redis-server processes
(1 master + 2 replicas) and 3 real rsm-agent processes on loopback started
with NO --monitor at all:
  - SENTINEL MONITOR sent to a follower is committed: every agent answers
    get-master-addr-by-name, the acting leader discovers the replicas from
    the master's INFO (SENTINEL REPLICAS lists them on every agent), every
    agent publishes +monitor, and redis-py's Sentinel finds the master;
  - a SIGKILL of that master fails over to one of the discovered replicas;
  - Sentinel's errors: a duplicate name, a bad quorum, a bad port;
  - SENTINEL SET on the new group publishes +set on every agent;
  - SENTINEL REMOVE (to a follower): every agent answers *-1 and "No such
    master", publishes -monitor, the leader stops probing the Redis
    (INFO commandstats shows no new INFO calls), and an agent restarted
    after it does not watch the group; the name can be monitored again.

Timings: probe every 100 ms, Raft election 300 ms / heartbeat 30 ms,
--down-after-ms 1000.
"""

import json
import subprocess
import time

from rsmtest import HOST, Agents, RespError, TestCase, pairs, wait_until
from test_sentinel_api import Subscriber

DOWN_AFTER_MS = 1000
PROBE_MS = 100
SYS_PYTHON = "/usr/bin/python3"


class SentinelMonitorTest(TestCase):

    def start_agents(self):
        args = ["--down-after-ms", DOWN_AFTER_MS,
                "--probe-interval-ms", PROBE_MS,
                "--failover-timeout-ms", 10000,
                "--min-failover-interval-ms", 1000]
        ag = Agents(self, 3, args=args, election_ms=300, heartbeat_ms=30)
        ag.start()
        return ag, ag.wait_leader()

    def master_addr(self, agent, name):
        try:
            return agent.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
        except (OSError, ConnectionError):
            return "unreachable"

    def replicas(self, agent, name):
        return sorted("%s:%s" % (p["ip"], p["port"]) for p in
                      (pairs(r) for r in
                       agent.call("SENTINEL", "REPLICAS", name)))

    def redis_py_master(self, ag, name):
        """Sentinel(...).discover_master(name) with Debian's python3-redis,
        as an unmodified application asks."""
        sentinels = [(HOST, a.api_port) for a in ag]
        code = ("import json\n"
                "from redis.sentinel import Sentinel\n"
                "s = Sentinel(%r, socket_timeout=2)\n"
                "print(json.dumps(list(s.discover_master(%r))))\n"
                % (sentinels, name))
        p = subprocess.run([SYS_PYTHON, "-c", code], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def assert_error(self, agent, prefix, *cmd):
        with self.assertRaises(RespError) as cm:
            agent.call(*cmd)
        self.assertTrue(str(cm.exception).startswith(prefix),
                        "%s: %s" % (" ".join(map(str, cmd)), cm.exception))

    # ------------------------------------------------------------------
    def test_monitor_failover_remove(self):
        m, rs = self.replication_set(2)
        ag, leader = self.start_agents()
        follower = [a for a in ag if a is not leader][0]
        other = [a for a in ag if a not in (leader, follower)][0]
        # no group at all: the agents run, and know of none
        self.assertEqual(leader.call("SENTINEL", "MASTERS"), [])
        self.assertIsNone(self.master_addr(follower, "app"))
        subs = {a.id: Subscriber(a.api_port, "+monitor", "-monitor",
                                 "+set", "+switch-master") for a in ag}

        # MONITOR on a follower: forwarded, committed, +OK
        self.assertEqual(follower.call("SENTINEL", "MONITOR", "app", HOST,
                                       m.port, 2), "OK")
        want = [HOST, str(m.port)]
        for a in ag:
            wait_until(lambda a=a: self.master_addr(a, "app") == want,
                       timeout=10, what="agent %d answers the master" % a.id)
        for a in ag:
            subs[a.id].wait_for("+monitor", timeout=10)
            self.assertEqual(
                [p for c, p in subs[a.id].poll() if c == "+monitor"],
                ["master app %s %d quorum 2" % (HOST, m.port)])
        self.assertEqual(pairs(other.call("SENTINEL", "MASTER", "app"))
                         ["quorum"], "2")
        # the replicas, discovered by the leader, listed on every agent
        want_rs = sorted(r.addr for r in rs)
        for a in ag:
            wait_until(lambda a=a: self.replicas(a, "app") == want_rs,
                       timeout=10, what="agent %d lists the replicas" % a.id)
        wait_until(lambda: sorted(ag.group_status("app")["members"])
                   == sorted([m.addr] + want_rs), timeout=10,
                   what="the members recorded through the log")
        self.assertEqual(self.redis_py_master(ag, "app"), [HOST, m.port])
        st = json.loads(other.call("RSM", "STATUS"))
        self.assertIn("app", [g["name"] for g in st["groups"]])

        # Sentinel's errors, on any agent, nothing committed
        self.assert_error(other, "ERR Duplicated master name",
                          "SENTINEL", "MONITOR", "app", HOST, rs[0].port, 2)
        self.assert_error(leader, "ERR Duplicated master name",
                          "SENTINEL", "MONITOR", "app", HOST, rs[0].port, 2)
        self.assert_error(follower, "ERR Quorum must be 1 or greater",
                          "SENTINEL", "MONITOR", "x", HOST, m.port, 0)
        self.assert_error(follower, "ERR Invalid quorum",
                          "SENTINEL", "MONITOR", "x", HOST, m.port, "two")
        self.assert_error(follower, "ERR Invalid port",
                          "SENTINEL", "MONITOR", "x", HOST, "p", 2)
        self.assert_error(leader, "ERR Invalid port number",
                          "SENTINEL", "MONITOR", "x", HOST, 70000, 2)
        self.assert_error(follower, "ERR No such master with that name",
                          "SENTINEL", "REMOVE", "nosuch")
        self.assertIsNone(self.master_addr(leader, "x"))

        # SENTINEL SET on the new group: +set everywhere
        self.assertEqual(follower.call("SENTINEL", "SET", "app",
                                       "parallel-syncs", 2), "OK")
        for a in ag:
            got = subs[a.id].wait_for("+set", timeout=10)
            self.assertEqual(got, ["master app %s %d parallel-syncs 2"
                                   % (HOST, m.port)])

        # a SIGKILL of the master fails over to a discovered replica
        m.kill()
        new = wait_until(
            lambda: (lambda r: r if r not in (None, want, "unreachable")
                     else None)(self.master_addr(follower, "app")),
            timeout=15, what="a failover of app")
        self.assertIn("%s:%s" % tuple(new), want_rs)
        for a in ag:
            subs[a.id].wait_for("+switch-master", timeout=10)
        new_r = [r for r in rs if r.port == int(new[1])][0]
        other_r = [r for r in rs if r is not new_r][0]
        wait_until(lambda: other_r.linked_to(new_r.port), timeout=15,
                   what="the other replica follows the new master")

        # REMOVE on a follower: gone everywhere, -monitor everywhere
        self.assertEqual(other.call("SENTINEL", "REMOVE", "app"), "OK")
        for a in ag:
            wait_until(lambda a=a: self.master_addr(a, "app") is None,
                       timeout=10, what="agent %d forgets app" % a.id)
            self.assert_error(a, "ERR No such master with that name",
                              "SENTINEL", "MASTER", "app")
            got = subs[a.id].wait_for("-monitor", timeout=10)
            self.assertEqual(got, ["master app %s %s" % tuple(new)])
        self.assertEqual(leader.call("SENTINEL", "MASTERS"), [])
        # the leader no longer probes its Redis
        time.sleep(3 * PROBE_MS / 1000.0)
        before = [r.commandstats().get("info", 0) for r in rs]
        time.sleep(10 * PROBE_MS / 1000.0)
        after = [r.commandstats().get("info", 0) for r in rs]
        # the only INFO since: the test's own INFO commandstats
        self.assertEqual(after, [n + 1 for n in before],
                         "INFO calls after the REMOVE")
        self.assertTrue(ag.events("monitor-group-dropped"))

        # an agent restarted after the REMOVE does not watch it either
        self.assertEqual(other.stop(), 0)
        other.start()
        wait_until(lambda: other.call("PING") == "PONG", timeout=10,
                   what="the restarted agent answers")
        ag.wait_leader()
        time.sleep(1.0)
        self.assertIsNone(self.master_addr(other, "app"))
        self.assertEqual(other.call("SENTINEL", "MASTERS"), [])
        st = json.loads(other.call("RSM", "STATUS"))
        self.assertEqual(st["groups"], [])
        self.assertEqual([g["name"] for g in st["monitor"]["groups"]], [])

        # and the name may be monitored again, afresh
        self.assertEqual(follower.call("SENTINEL", "MONITOR", "app", HOST,
                                       new_r.port, 1), "OK")
        for a in ag:
            wait_until(lambda a=a: self.master_addr(a, "app")
                       == [HOST, str(new_r.port)], timeout=10,
                       what="agent %d answers the group again" % a.id)
        for a in ag.alive():
            self.assertEqual(a.stop(), 0, "agent %d exit status" % a.id)


if __name__ == "__main__":
    import unittest
    unittest.main()
