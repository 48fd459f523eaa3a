"""Integration tests of issue 14, items 2 and 3 (write safety), with real
redis-server 7.0 processes and 3 real rsm-agent processes on loopback.

2. A replica that never completed a sync with its master is never promoted
   by the agents (it holds none of the master's data); the plan reason
   says why there is no failover; `rsmctl failover --force` may still
   promote it, on the operator's word.
3. A master restarted with its data and a slow load answers INFO while it
   loads (loading:1, master_repl_offset:0 until the end): that is not an
   empty restart, and no failover starts while it loads.

The replica that never synced is made the way the issue's user met it: it
points at a master whose full sync waits out repl-diskless-sync-delay (set
to 60 s on the master once the other replica has synced). Redis 7.0.15
then reports master_link_status:down, master_link_down_since_seconds:-1,
slave_repl_offset:1 (checked before each test goes on).

Timings as in test_failover.py: down-after 1000 ms, probes every 100 ms,
Raft election 300 ms.
"""

import json
import time
import unittest
from unittest import mock

import rsmtest
from rsmtest import Agents, RoleWatcher, TestCase, wait_until

DOWN_AFTER_MS = 1000
PROBE_MS = 100
KEYS = 10000
NEVER = "never completed a sync with the master"


class WriteSafetyTest(TestCase):

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def start_agents(self, name, members):
        """3 agents monitoring group name = members (the first one the
        master); returns once every agent records it."""
        args = ["--down-after-ms", DOWN_AFTER_MS,
                "--probe-interval-ms", PROBE_MS,
                "--failover-timeout-ms", 10000,
                "--min-failover-interval-ms", 60000,
                "--monitor", "%s=%s" % (name, ",".join(r.addr
                                                       for r in members))]
        ag = Agents(self, 3, args=args)
        ag.start()
        ag.wait_leader(timeout=15)
        m = members[0]
        ag.wait_group(name, lambda g: g["master"] == m.addr, timeout=15,
                      every=True, what="every agent records %s" % m.addr)
        return ag

    def plan_reasons(self, ag, name):
        return [e.get("reason", "") for _, e in ag.events("plan", group=name)]

    def assert_keys(self, r, n):
        """r holds k0..k<n-1> (one MGET per 1000)."""
        for start in range(0, n, 1000):
            keys = ["k%d" % i for i in range(start, min(n, start + 1000))]
            missing = [k for k, v in zip(keys, r.call("MGET", *keys))
                       if v is None]
            self.assertEqual(missing, [], "%s lacks %d keys" % (r.addr,
                                                                len(missing)))

    def unsynced_replica(self, m, priority=None):
        """A replica of m whose first full sync waits 60 s: m delays
        diskless syncs from now on."""
        m.call("CONFIG", "SET", "repl-diskless-sync", "yes")
        m.call("CONFIG", "SET", "repl-diskless-sync-delay", "60")
        r = self.redis(replicaof=m.port, priority=priority)

        def waiting():
            i = r.info()
            return (i.get("master_link_status") == "down"
                    and i.get("master_link_down_since_seconds") == "-1"
                    and int(i.get("slave_repl_offset", -1)) <= 1
                    and "%d" % r.port in str(m.info()))
        wait_until(waiting, timeout=10,
                   what="%s waiting for its first sync" % r.addr)
        return r

    # ------------------------------------------------------------------
    # item 2: never promote a replica that never synced
    # ------------------------------------------------------------------
    def test_1_master_killed_synced_replica_promoted_never_the_unsynced(self):
        m = self.redis()
        synced = self.redis(replicaof=m.port)
        wait_until(lambda: synced.linked_to(m.port), timeout=15,
                   what="replica linked")
        m.write_keys("k", KEYS)
        self.wait_replicated(m, [synced])
        # the better priority: a policy without the rule picks it first
        unsynced = self.unsynced_replica(m, priority=10)
        ag = self.start_agents("g", [m, synced, unsynced])
        w = RoleWatcher([synced, unsynced]).start()
        m.kill()

        g = ag.wait_group("g", lambda g: (len(g["history"]) == 1 and
                                          g["in_flight"] is None),
                          timeout=20, every=True, what="failover ended")
        w.stop()
        h = g["history"][0]
        self.assertEqual((h["old_master"], h["new_master"], h["kind"]),
                         (m.addr, synced.addr, "automatic"), h)
        self.assertNotIn(unsynced.port, w.ever_master)
        self.assert_keys(synced, KEYS)
        # re-pointed to the new master (no sync delay there), it syncs
        wait_until(lambda: unsynced.linked_to(synced.port), timeout=15,
                   what="the unsynced replica linked to the new master")
        self.assert_keys(unsynced, KEYS)
        decided = [e for _, e in ag.events("+try-failover")]
        self.assertTrue(decided)

    def test_2_only_unsynced_replica_no_failover_until_forced(self):
        m = self.redis()
        m.write_keys("k", 1000)
        r = self.unsynced_replica(m)
        ag = self.start_agents("g", [m, r])
        m.kill()
        t0 = time.monotonic()

        def explained():
            for reason in self.plan_reasons(ag, "g"):
                if "no eligible candidate" in reason and NEVER in reason:
                    return reason
            return None
        reason = wait_until(explained, timeout=DOWN_AFTER_MS / 1000.0 + 10,
                            what="a plan reason naming the unsynced replica")
        self.assertIn("%s: %s" % (r.addr, NEVER), reason)
        # still nothing well past down-after
        time.sleep(max(0, t0 + 3 * DOWN_AFTER_MS / 1000.0 - time.monotonic()))
        for a in ag.alive():
            g = a.group_status("g")
            self.assertEqual((g["master"], g["epoch"], g["history"],
                              g["in_flight"]), (m.addr, 0, [], None))
        self.assertEqual(r.info()["role"], "slave")
        self.assertIn(NEVER, json.dumps(ag.wait_leader().status()),
                      "RSM STATUS does not say why there is no failover")
        agents = ",".join(a.api for a in ag)

        # a manual failover is refused, with the reason
        p = self.rsmctl("failover", "--agents", agents, "g", timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(NEVER, p.stderr)
        self.assertEqual(r.info()["role"], "slave")

        # forced: promoted
        p = self.rsmctl("failover", "--force", "--agents", agents, "g",
                        timeout=40)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(r.info()["role"], "master")
        g = ag.wait_group("g", lambda g: g["master"] == r.addr, timeout=10,
                          every=True, what="every agent records it")
        h = g["history"][0]
        self.assertEqual((h["new_master"], h["kind"]), (r.addr, "manual"), h)
        self.assertIn("manual failover forced: %s" % NEVER, h["reason"])
        self.assertTrue(ag.events("+forced-not-synced"))

    # ------------------------------------------------------------------
    # item 3: a restart while loading is not an empty restart
    # ------------------------------------------------------------------
    def test_3_master_restarted_with_data_slow_load_no_failover(self):
        # `save` so that SIGTERM writes an RDB with the final offset
        m = self.redis(extra=["save 3600 1"])
        rs = [self.redis(replicaof=m.port) for _ in range(2)]
        for r in rs:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15,
                       what="replica linked")
        m.write_keys("k", KEYS, value_size=64)
        self.wait_replicated(m, rs)
        ag = self.start_agents("g", [m] + rs)
        run_id = m.info("server")["run_id"]
        ag.wait_group("g", lambda g: g.get("master_run_id") == run_id,
                      timeout=15, every=True, what="run_id recorded")
        time.sleep(3 * PROBE_MS / 1000.0)  # the leader has read its offset

        m.stop()  # SIGTERM: saves, exits
        # About 0.5 ms per key: a load of several down-afters. Answering
        # while loading, as a large data set does every 2 MB by default.
        m.extra += ["key-load-delay 500",
                    "loading-process-events-interval-bytes 1024"]
        with mock.patch.object(rsmtest, "wait_until", lambda *a, **k: None):
            m.start()  # returns at once: PING says LOADING for a while
        t0 = time.monotonic()
        wait_until(lambda: m.info("persistence").get("loading") == "1",
                   timeout=5, what="the master loading")
        wait_until(lambda: m.info("persistence").get("loading") == "0",
                   timeout=60, interval=0.2, what="the master loaded")
        loaded_in = time.monotonic() - t0
        self.assertGreater(loaded_in, 3 * DOWN_AFTER_MS / 1000.0,
                           "the load was too quick to show anything")
        # replicas back with it, by a partial sync
        for r in rs:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15,
                       what="%s linked to the restarted master" % r.addr)
        time.sleep(2 * DOWN_AFTER_MS / 1000.0)

        reasons = self.plan_reasons(ag, "g")
        self.assertTrue(any("loading its data set" in x for x in reasons),
                        "the leader never saw it loading: %s" % reasons)
        self.assertFalse(ag.events("+try-failover"))
        for a in ag.alive():
            g = a.group_status("g")
            self.assertEqual((g["master"], g["epoch"], g["history"],
                              g["in_flight"]), (m.addr, 0, [], None),
                             "agent %d" % a.id)
        self.assertEqual(m.info()["role"], "master")
        self.assert_keys(m, KEYS)
        for r in rs:
            self.assertEqual(r.info()["role"], "slave")
            self.assert_keys(r, KEYS)
        # recorded under its new run_id once judged
        new_run_id = m.info("server")["run_id"]
        ag.wait_group("g", lambda g: g.get("master_run_id") == new_run_id,
                      timeout=10, every=True, what="new run_id recorded")
        print("\n  loaded %d keys in %.1f s, no failover" % (KEYS, loaded_in))


if __name__ == "__main__":
    unittest.main()
