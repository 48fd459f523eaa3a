"""A release build carries no test code (issue #13 part 4).

The test-only fault points (a crash right after a committed decision, the
apply benchmark on the live log, the DNS server of `rsmctl promote --srv`)
are compiled only with -DRSM_TEST_FAULTS=ON. This file configures a fresh
build with the defaults and -DCMAKE_BUILD_TYPE=Release in a temporary
directory (only the rsm-agent and rsmctl targets) and checks, by behaviour
and in the binaries, that the variables which switch the fault points on
do nothing there. Every check has its positive control on the build under
test (RSM_BUILD_DIR, a test build): the same command with the same
variables obeys them, so that a check which could not fail fails.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from rsmtest import (BUILD_DIR, HOST, TEST_FAULT_NAMES, Agents, SrvResponder,
                     TestCase, binary, require_test_faults, wait_until)

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SRV_NAME = "_redis._tcp.rsm.test"
# glibc's resolver: one try of one second, should the system's name server
# be asked (it must not matter which answers: only ours knows the name).
RESOLVER_ENV = {"RES_OPTIONS": "timeout:1 attempts:1"}
AGENT_ARGS = ["--down-after-ms", 1000, "--probe-interval-ms", 100,
              "--failover-timeout-ms", 10000,
              "--min-failover-interval-ms", 60000, "--parallel-syncs", 1]
FAULT_ENV = {"RSM_FAULT_CRASH_AFTER_DECIDE": "1", "RSM_BENCH_APPLIES": "3"}


def strings(path):
    """The printable strings of a file, as `strings -a` lists them."""
    p = subprocess.run(["strings", "-a", path], capture_output=True,
                       text=True, check=True)
    return p.stdout


class ReleaseBuildTest(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.release = tempfile.mkdtemp(prefix="rsm-release-")
        # No -DRSM_TEST_FAULTS: the default is what a release gets.
        p = subprocess.run(["cmake", "-S", SRC, "-B", cls.release,
                            "-DCMAKE_BUILD_TYPE=Release"],
                           capture_output=True, text=True)
        if p.returncode == 0:
            p = subprocess.run(["cmake", "--build", cls.release, "--target",
                                "rsm-agent", "rsmctl", "-j2"],
                               capture_output=True, text=True)
        if p.returncode != 0:
            shutil.rmtree(cls.release, ignore_errors=True)
            raise AssertionError("the release build failed:\n" +
                                 p.stdout[-4000:] + p.stderr[-4000:])

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("RSM_KEEP_TMP"):
            shutil.rmtree(cls.release, ignore_errors=True)

    # -- helpers ----------------------------------------------------------
    def start_agents(self, members, build_dir):
        ag = Agents(self, 3, env=FAULT_ENV, build_dir=build_dir,
                    args=AGENT_ARGS + ["--monitor", "g=" + ",".join(
                        r.addr for r in members)])
        ag.start()
        ag.wait_leader(timeout=15)
        ag.wait_group("g", lambda g: g["master"] == members[0].addr,
                      every=True, what="every agent records the master")
        return ag

    def srv_promote(self, build_dir, dns):
        env = dict(os.environ, RSM_TEST_DNS_SERVER=dns.addr, **RESOLVER_ENV)
        return self.run_cmd([binary("rsmctl", build_dir), "promote",
                             "--srv", SRV_NAME], env=env)

    # -- the build itself -------------------------------------------------
    def test_default_build_has_no_fault_points(self):
        with open(os.path.join(self.release, "CMakeCache.txt")) as f:
            opt = [ln for ln in f.read().splitlines()
                   if ln.startswith("RSM_TEST_FAULTS:")]
        self.assertEqual(opt, ["RSM_TEST_FAULTS:BOOL=OFF"])
        with open(os.path.join(SRC, "deploy", "Dockerfile")) as f:
            self.assertNotIn("RSM_TEST_FAULTS=ON", f.read())
        for name, faults in TEST_FAULT_NAMES.items():
            rel = strings(binary(name, self.release))
            self.assertEqual([n for n in faults if n in rel], [],
                             "test-only names in the release %s" % name)
            # positive control: the test build has every one of them
            test = strings(binary(name))
            self.assertEqual([n for n in faults if n not in test], [],
                             "%s of %s lacks its fault points"
                             % (name, BUILD_DIR))

    # -- rsmctl promote --srv ---------------------------------------------
    def test_release_rsmctl_ignores_RSM_TEST_DNS_SERVER(self):
        require_test_faults(self, "rsmctl")
        m, rs = self.replication_set(replicas=2)
        m.kill()
        for r in rs:
            wait_until(lambda r=r: r.info()["master_link_status"] == "down",
                       timeout=10, what="replica %d sees link down" % r.port)
        dns = SrvResponder({SRV_NAME: [(10, 5, r.port, HOST) for r in rs]})
        self.addCleanup(dns.close)

        res = self.srv_promote(self.release, dns)
        self.assertEqual(dns.queries, [],
                         "the release rsmctl asked the test DNS server")
        self.assertEqual(res.returncode, 3, res.stdout + res.stderr)
        self.assertIn(SRV_NAME, res.stderr)
        self.assertEqual([r.info()["role"] for r in rs], ["slave", "slave"])

        # positive control: the test build asks our server and promotes
        res = self.srv_promote(None, dns)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn((SRV_NAME, 33), dns.queries)
        self.assertEqual(sorted(r.info()["role"] for r in rs),
                         ["master", "slave"])

    # -- rsm-agent ----------------------------------------------------------
    def test_release_agent_ignores_crash_after_decide_and_bench(self):
        """With RSM_FAULT_CRASH_AFTER_DECIDE and RSM_BENCH_APPLIES set, the
        release agents run no benchmark and fail over without a crash."""
        m, rs = self.replication_set(replicas=2)
        ag = self.start_agents([m] + rs, self.release)
        leader = ag.wait_leader()
        m.kill()
        g = ag.wait_group("g", lambda g: (len(g["history"]) == 1 and
                                          g["in_flight"] is None),
                          timeout=20, every=True,
                          what="the release agents' failover to complete")
        self.assertEqual(g["history"][0]["result"], "completed", g)
        self.assertIn(g["master"], [r.addr for r in rs])
        self.assertEqual([a.alive() for a in ag], [True] * 3,
                         "a release agent died")
        self.assertIs(ag.wait_leader(), leader)
        self.assertTrue(ag.events("propose", entry="decide-failover"))
        for ev in ("fault-crash-after-decide", "bench-apply"):
            self.assertEqual(ag.events(ev), [], ev)

    def test_test_build_agent_obeys_crash_after_decide_and_bench(self):
        """Positive control of the test above, same variables on the build
        under test: the leader runs the benchmark, and dies right after
        its decision commits."""
        require_test_faults(self)
        m, rs = self.replication_set(replicas=2)
        ag = self.start_agents([m] + rs, None)
        leader = ag.wait_leader()
        wait_until(lambda: leader.events("bench-apply"), timeout=15,
                   what="the test build's apply benchmark")
        m.kill()
        wait_until(lambda: not leader.alive(), timeout=15,
                   what="the test build's leader to crash after decide")
        self.assertTrue(leader.events("fault-crash-after-decide", group="g"))
        self.assertEqual(leader.proc.p.returncode, -9)

if __name__ == "__main__":
    unittest.main()
