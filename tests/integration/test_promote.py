"""`rsmctl promote` against real redis-server processes on loopback.

The scenarios of issue #2: a healthy set is left alone; a dead master is
replaced by the replica with the highest offset; priority 0 is never chosen;
an unreachable endpoint is reported and skipped; AUTH works without the
password ever showing; bad input is refused before anything is contacted.
"""

import json
import os
import socket
import unittest

from rsmtest import (HOST, Resp, SrvResponder, TestCase, require_test_faults,
                     wait_until)

PASSWORD = "it-Secret-pw-9271"


def roles(servers):
    return [s.info()["role"] for s in servers]


class PromoteTest(TestCase):

    # -- helpers ----------------------------------------------------------
    def kill_master(self, master, replicas, paused=()):
        """SIGKILL the master, SIGCONT the replicas in `paused`, and wait
        until every replica has noticed the link is down."""
        master.kill()
        for r in paused:
            r.resume()
        for r in replicas:
            wait_until(lambda r=r: r.info()["master_link_status"] == "down",
                       timeout=10, what="replica %d sees link down" % r.port)

    def cut_off(self, master, replica):
        """SIGSTOP `replica` and close the master's end of its link: it
        keeps what it had, misses every later write, and cannot reconnect
        before the master dies. (SIGSTOP alone is not enough: what the
        master already sent sits in the replica's socket buffer, which
        grows to megabytes on loopback, and is read after SIGCONT.)"""
        link = None
        for line in replica.call("CLIENT", "LIST").splitlines():
            f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if "M" in f.get("flags", ""):
                link = f["laddr"]
        self.assertIsNotNone(link, "replica %d has no master link"
                             % replica.port)
        replica.pause()
        master.call("CLIENT", "KILL", "ADDR", link)

    def caught_up(self, master, replicas):
        """Wait until every replica has applied all the master wrote."""
        target = master.offset()
        for r in replicas:
            wait_until(lambda r=r: r.offset() >= target, timeout=10,
                       what="replica %d at offset %d" % (r.port, target))

    def diverge(self, master, replicas, lagging):
        """Make each replica in `lagging` fall behind by a different
        amount: cut one more of them off before each round of writes."""
        live = list(replicas)
        master.write_keys("base:", 500)
        for n, r in enumerate(lagging):
            self.caught_up(master, live)
            self.cut_off(master, r)
            live.remove(r)
            master.write_keys("round%d:" % n, 300, value_size=1000)
        self.caught_up(master, live)

    def assert_linked_to(self, new_master, replicas):
        for r in replicas:
            wait_until(lambda r=r: r.linked_to(new_master.port), timeout=20,
                       what="%d linked to %d" % (r.port, new_master.port))

    def replicaof_calls(self, servers):
        return [s.commandstats().get("replicaof", 0) for s in servers]

    def assert_ok(self, res, code=0):
        self.assertEqual(res.returncode, code,
                         "exit %d\nstdout:\n%s\nstderr:\n%s"
                         % (res.returncode, res.stdout, res.stderr))

    # -- 1 ----------------------------------------------------------------
    def test_healthy_set_is_left_alone(self):
        m, rs = self.replication_set(replicas=2)
        everyone = [m] + rs
        res = self.rsmctl("promote", *[s.addr for s in everyone])
        self.assert_ok(res)
        self.assertIn("decision: healthy", res.stdout)
        self.assertEqual(roles(everyone), ["master", "slave", "slave"])
        self.assertEqual(self.replicaof_calls(everyone), [0, 0, 0])
        for s in everyone:  # the table lists every instance
            self.assertIn(s.addr, res.stdout)

    # -- 2 ----------------------------------------------------------------
    def test_dead_master_highest_offset_promoted_keys_kept(self):
        m, rs = self.replication_set(replicas=5)
        self.diverge(m, rs, rs[:2])
        self.kill_master(m, rs, paused=rs[:2])
        offsets = {r.port: r.offset() for r in rs}
        self.assertEqual(len(set(offsets.values())), 3, offsets)  # diverged
        best = max(offsets.values())
        keys_before = {r.port: r.call("DBSIZE") for r in rs}

        res = self.rsmctl("promote", m.addr, *[r.addr for r in rs])
        self.assert_ok(res)
        self.assertIn("decision: promote", res.stdout)
        self.assertIn("REPLICAOF NO ONE: ok", res.stdout)
        new = [r for r in rs if r.info()["role"] == "master"]
        self.assertEqual(len(new), 1, res.stdout)
        new = new[0]
        self.assertEqual(offsets[new.port], best, res.stdout)
        others = [r for r in rs if r is not new]
        self.assert_linked_to(new, others)
        n_keys = keys_before[new.port]
        self.assertEqual(new.call("DBSIZE"), n_keys)
        self.assertEqual(new.call("GET", "round1:299"), "v" * 1000)
        for r in others:
            wait_until(lambda r=r: r.call("DBSIZE") == n_keys, timeout=10,
                       what="replica %d has every key" % r.port)

        # Running it again converges: nothing more is changed.
        before = self.replicaof_calls(rs)
        again = self.rsmctl("promote", m.addr, *[r.addr for r in rs])
        self.assert_ok(again)
        self.assertIn("decision: healthy", again.stdout)
        self.assertEqual(self.replicaof_calls(rs), before)

    # -- 3 ----------------------------------------------------------------
    def test_priority_zero_is_never_chosen(self):
        m = self.redis()
        zero = self.redis(replicaof=m.port, priority=0)
        rs = [self.redis(replicaof=m.port) for _ in range(2)]
        for r in [zero] + rs:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15)
        self.diverge(m, [zero] + rs, rs)  # `zero` stays the most advanced
        self.kill_master(m, [zero] + rs, paused=rs)
        offsets = {r.port: r.offset() for r in rs}
        self.assertGreater(zero.offset(), max(offsets.values()))

        res = self.rsmctl("promote", *[r.addr for r in [zero] + rs])
        self.assert_ok(res)
        self.assertIn("priority", res.stdout)
        self.assertEqual(zero.info()["role"], "slave")
        new = [r for r in rs if r.info()["role"] == "master"]
        self.assertEqual(len(new), 1, res.stdout)
        self.assertEqual(offsets[new[0].port], max(offsets.values()))
        self.assert_linked_to(new[0],
                              [zero] + [r for r in rs if r is not new[0]])

    # -- 4 ----------------------------------------------------------------
    def test_unreachable_endpoint_reported_and_skipped(self):
        m, rs = self.replication_set(replicas=3)
        hung, rest = rs[0], rs[1:]
        hung.pause()  # accepts TCP, never answers: only a timeout finds it
        self.kill_master(m, rest)
        res = self.rsmctl("promote", "--timeout-ms", "300", m.addr,
                          *[r.addr for r in rs])
        self.assert_ok(res)
        self.assertIn("no reply within 300 ms", res.stdout)
        self.assertIn("cannot connect", res.stdout)  # the dead master
        new = [r for r in rest if r.info()["role"] == "master"]
        self.assertEqual(len(new), 1)
        self.assert_linked_to(new[0], [r for r in rest if r is not new[0]])

        # Back again: the next run re-points it, the one after is a no-op.
        hung.resume()
        wait_until(lambda: hung.info()["master_link_status"] == "down")
        res = self.rsmctl("promote", m.addr, *[r.addr for r in rs])
        self.assert_ok(res)
        self.assertIn("decision: repoint", res.stdout)
        self.assert_linked_to(new[0], [hung])
        res = self.rsmctl("promote", m.addr, *[r.addr for r in rs])
        self.assert_ok(res)
        self.assertIn("decision: healthy", res.stdout)

    # -- 5 ----------------------------------------------------------------
    def test_password_from_file_or_env_never_shown(self):
        m, rs = self.replication_set(replicas=2, password=PASSWORD)
        self.kill_master(m, rs)
        addrs = [m.addr] + [r.addr for r in rs]

        without = self.rsmctl("promote", *addrs)
        self.assert_ok(without, 3)
        self.assertIn("NOAUTH", without.stdout)

        bad = os.path.join(self.workdir, "bad-pw")
        with open(bad, "w") as f:
            f.write("not-" + PASSWORD + "\n")
        wrong = self.rsmctl("promote", "--password-file", bad, *addrs)
        self.assert_ok(wrong, 3)
        self.assertIn("AUTH refused", wrong.stdout)

        env = dict(os.environ, RSM_REDIS_PASSWORD=PASSWORD)
        dry = self.rsmctl("promote", "--dry-run", "--json", *addrs, env=env)
        self.assert_ok(dry)
        self.assertEqual(json.loads(dry.stdout)["verdict"], "promote")

        pw = os.path.join(self.workdir, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(pw, 0o600)
        res = self.rsmctl("promote", "--password-file", pw, *addrs)
        self.assert_ok(res)
        new = [r for r in rs if r.info()["role"] == "master"][0]
        self.assert_linked_to(new, [r for r in rs if r is not new])
        for out in (without, wrong, dry, res):
            self.assertNotIn(PASSWORD, out.stdout + out.stderr)

    # -- 6 ----------------------------------------------------------------
    def test_bad_input_exits_2_and_contacts_nothing(self):
        # The endpoint is a listener of this test on its own loopback
        # address (127.0.0.77), counting connections: a Redis on 127.0.0.1
        # can also be reached by agents of another test running at the same
        # time whose old master had the same port, which once counted one
        # connection too many here.
        lst = socket.socket()
        lst.bind(("127.0.0.77", 0))
        lst.listen(64)
        lst.settimeout(0.2)
        self.addCleanup(lst.close)
        ep = "127.0.0.77:%d" % lst.getsockname()[1]
        pwdir = os.path.join(self.workdir, "a-directory")
        os.mkdir(pwdir)
        cases = [
            [ep, "127.0.0.1"],                 # no port
            [ep, "127.0.0.1:0"],               # port 0
            [ep, "127.0.0.1:65536"],           # port too large
            [ep, "127.0.0.1:63x9"],            # not a number
            [ep, "[::1:6379"],                 # unbalanced bracket
            [ep, "bad host:6379"],             # bad character
            ["--frobnicate", ep],              # unknown flag
            [ep, "--timeout-ms", "soon"],      # bad number
            [ep, "--timeout-ms"],              # missing value
            ["--password-file", "/nonexistent/pw", ep],
            ["--password-file", pwdir, ep],    # unreadable
            ["--user", "alice", ep],           # user without password
            [ep, ep],                          # listed twice
            ["--srv", "no spaces allowed", ep],  # bad SRV name
            [],                                # nothing to do it on
        ]
        for args in cases:
            res = self.rsmctl("promote", *args)
            self.assertEqual(res.returncode, 2, (args, res.stderr))
            self.assertEqual(res.stdout, "", args)
            lines = res.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, (args, res.stderr))
            self.assertIn("rsmctl promote:", lines[0])
        accepted = 0
        while True:
            try:
                conn, _ = lst.accept()
            except socket.timeout:
                break
            conn.close()
            accepted += 1
        self.assertEqual(accepted, 0, "rsmctl connected to the endpoint")
        # control: a valid call does connect (so the count can fail)
        self.rsmctl("promote", "--timeout-ms", "300", ep)
        lst.settimeout(2)
        conn, _ = lst.accept()
        conn.close()

    def test_hung_master_still_followed_is_not_replaced(self):
        m, rs = self.replication_set(replicas=2)
        m.pause()  # unreachable from here, but the replicas' links are up
        res = self.rsmctl("promote", "--timeout-ms", "200", m.addr,
                          *[r.addr for r in rs])
        self.assert_ok(res, 3)
        self.assertIn("decision: master-elsewhere", res.stdout)
        m.resume()
        self.assertEqual(roles([m] + rs), ["master", "slave", "slave"])
        self.assertEqual(self.replicaof_calls(rs), [0, 0])

    def test_failure_part_way_names_what_is_left(self):
        m = self.redis()
        good = [self.redis(replicaof=m.port) for _ in range(2)]
        stuck = self.redis(replicaof=m.port, priority=0,
                           extra=['rename-command REPLICAOF ""',
                                  'rename-command SLAVEOF ""'])
        for r in good + [stuck]:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15)
        self.kill_master(m, good + [stuck])
        res = self.rsmctl("promote", *[r.addr for r in good + [stuck]])
        self.assert_ok(res, 1)
        self.assertIn("FAILED", res.stdout)
        self.assertIn("left to do: re-point %s" % stuck.addr, res.stdout)
        new = [r for r in good if r.info()["role"] == "master"]
        self.assertEqual(len(new), 1)
        other = [r for r in good if r is not new[0]]
        self.assert_linked_to(new[0], other)

    def test_dry_run_json_changes_nothing(self):
        m, rs = self.replication_set(replicas=2)
        self.kill_master(m, rs)
        res = self.rsmctl("promote", "--dry-run", "--json", m.addr,
                          *[r.addr for r in rs])
        self.assert_ok(res)
        doc = json.loads(res.stdout)
        self.assertEqual(doc["verdict"], "promote")
        self.assertTrue(doc["dry_run"])
        self.assertEqual(doc["steps"], [])
        self.assertIn(doc["master"], [r.addr for r in rs])
        by_addr = {i["address"]: i for i in doc["instances"]}
        self.assertFalse(by_addr[m.addr]["reachable"])
        self.assertEqual(by_addr[rs[0].addr]["role"], "replica")
        self.assertEqual(sorted(i["rank"] for i in doc["instances"]
                                if i["rank"]), [1, 2])
        self.assertEqual(roles(rs), ["slave", "slave"])
        self.assertEqual(self.replicaof_calls(rs), [0, 0])

    def test_json_reports_steps(self):
        m, rs = self.replication_set(replicas=2)
        self.kill_master(m, rs)
        res = self.rsmctl("promote", "--json", *[r.addr for r in rs])
        self.assert_ok(res)
        doc = json.loads(res.stdout)
        self.assertEqual(doc["result"], "done")
        self.assertEqual([s["action"] for s in doc["steps"]],
                         ["promote", "verify", "repoint"])
        self.assertTrue(all(s["ok"] for s in doc["steps"]))

    def test_srv_discovery(self):
        require_test_faults(self, "rsmctl")  # RSM_TEST_DNS_SERVER
        m, rs = self.replication_set(replicas=2)
        self.kill_master(m, rs)
        dns = SrvResponder({"_redis._tcp.rsm.test": [
            (10, 5, r.port, HOST) for r in rs]})
        self.addCleanup(dns.close)
        env = dict(os.environ, RSM_TEST_DNS_SERVER=dns.addr)
        res = self.rsmctl("promote", "--srv", "_redis._tcp.rsm.test",
                          env=env)
        self.assert_ok(res)
        self.assertEqual(sorted(roles(rs)), ["master", "slave"])
        missing = self.rsmctl("promote", "--srv", "_nope._tcp.rsm.test",
                              env=env)
        self.assert_ok(missing, 3)
        self.assertIn("_nope._tcp.rsm.test", missing.stderr)


if __name__ == "__main__":
    unittest.main()
