"""Integration tests of issue 13, part 1 and 2: agents check who answers,
and learn each other's addresses from the group instead of guessing.

Real rsm-agent and redis-server processes on loopback. The scenario of the
issue: three agents on one host with different client ports and `--peers`
without "/apiport". Before identities, the leader took its own client port
for the others' and counted its own view of the master three times; cut
alone from a live master it failed it over. Now every agent commits its
own addresses to the log (AdvertiseAgent), every RSM VIEWS reply names the
agent that sent it, and the leader counts a view only from the member it
asked.

The leader is made predictable (agent 1) with a short election timeout for
agent 1 and long ones for the others, so that a test can cut exactly the
leader from the master: agent 1 runs as user nobody (setpriv), and an
nftables rule of the test's own table drops that user's packets to the
master's port only.
"""

import json
import os
import socket
import subprocess
import threading
import time
import unittest

from resp import RespError, Status, encode_reply, read_reply
from rsmtest import (HOST, Agents, Proc, TestCase, binary, free_port,
                     wait_until)

DOWN_AFTER_MS = 1000
NOBODY = 65534


def start_agent(agent, extra=(), prefix=()):
    """Start agent like Agent.start, with argv prefixed (e.g. setpriv)."""
    env = dict(os.environ)
    env.update(agent.group.env)
    log = os.path.join(agent.group.tc.workdir, "agent%d.%d.log"
                       % (agent.id, len(agent.procs) + 1))
    agent.proc = Proc(list(prefix) + agent.argv(extra), log, env=env)
    agent.procs.append(agent.proc)
    agent.group.tc._procs.append(agent.proc)


class FakeAgent:
    """A RESP server that answers like an agent that is not the one it
    claims to be: RSM VIEWS says the given master is down, under the
    identity `claim_id`. Everything else gets +OK (AUTH, RSM ADVERTISE) or
    an error. Counts the RSM VIEWS it answered."""

    def __init__(self, master, claim_id, cluster_id=""):
        self.master = master
        self.claim_id = claim_id
        self.cluster_id = cluster_id
        self.views_asked = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def addr(self):
        return "%s:%d" % (HOST, self.port)

    def _views(self, group):
        return encode_reply([
            ["agent", str(self.claim_id), "cluster", str(self.cluster_id)],
            [group, HOST, self.master.port, "down", 5000]])

    def _client(self, conn):
        with conn, conn.makefile("rb") as f:
            while not self._stop:
                try:
                    req = read_reply(f)
                except (OSError, ValueError):
                    return
                words = [str(w).upper() for w in req[:2]] \
                    if isinstance(req, list) else []
                if words == ["RSM", "VIEWS"]:
                    self.views_asked += 1
                    conn.sendall(self._views("g"))
                elif words[:1] in (["AUTH"], ["PING"]) or \
                        words == ["RSM", "ADVERTISE"]:
                    conn.sendall(encode_reply(Status("OK")))
                else:
                    conn.sendall(encode_reply(RespError("ERR fake agent")))

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._client, args=(conn,),
                             daemon=True).start()

    def close(self):
        self._stop = True
        self._thread.join()
        self.sock.close()


class IdentityTest(TestCase):

    def agents(self, m, rs, extra_of=None, prefix_of=None, http=False):
        """3 agents watching group g = m + rs, peers without "/apiport",
        agent 1 the leader (short election timeout). extra_of/prefix_of:
        {id: [...]} per agent."""
        args = ["--down-after-ms", DOWN_AFTER_MS, "--probe-interval-ms", 100,
                "--failover-timeout-ms", 10000,
                "--monitor", "g=%s" % ",".join(r.addr for r in [m] + rs)]
        ag = Agents(self, 3, args=args, election_ms=1500, heartbeat_ms=50)
        ag.peers = lambda: ",".join("%d=%s:%d" % (a.id, HOST, a.raft_port)
                                    for a in ag)
        for a in ag:
            extra = list((extra_of or {}).get(a.id, []))
            if a.id == 1:
                extra += ["--election-timeout-ms", "150"]
            if http:
                a.http_port = free_port()
                extra += ["--http-bind", "%s:%d" % (HOST, a.http_port)]
            start_agent(a, extra, (prefix_of or {}).get(a.id, ()))
        ld = ag.wait_leader(timeout=20)
        self.assertEqual(ld.id, 1, "agent 1 (short election timeout) "
                         "should lead")
        ag.wait_group("g", lambda g: g["master"] == m.addr, every=True,
                      timeout=15, what="every agent records the master")
        return ag

    def wait_advertised(self, ag, want):
        """Every live agent's RSM STATUS lists member id at want[id] as
        advertised; returns the status of agent 1."""
        def ok():
            for a in ag.alive():
                st = a.status()
                got = {mb["id"]: mb["api"] for mb in st["members"]
                       if mb.get("advertised")}
                if got != want:
                    return None
            return ag[1].status()
        return wait_until(ok, timeout=15, what="addresses advertised")

    def decisions(self, ag):
        return [e for _, e in ag.events("propose", entry="decide-failover")]

    # ------------------------------------------------------------------
    def test_agents_learn_addresses_and_cluster_id_from_the_group(self):
        """No "/apiport" and a different client port on each agent: every
        agent ends up with the others' real client and HTTP addresses,
        committed by each agent itself, and one cluster id, also kept in
        every data dir."""
        m, rs = self.replication_set(2)
        ag = self.agents(m, rs, http=True)
        want = {a.id: a.api for a in ag}
        st = self.wait_advertised(ag, want)
        cid = st["cluster_id"]
        self.assertRegex(cid, r"^[0-9a-f]{32}$")
        for a in ag:
            s = a.status()
            self.assertEqual(s["cluster_id"], cid)
            https = {mb["id"]: mb["http"] for mb in s["members"]}
            self.assertEqual(https, {b.id: "%s:%d" % (HOST, b.http_port)
                                     for b in ag})
            with open(os.path.join(a.data_dir, "cluster-id")) as f:
                self.assertEqual(f.read().strip(), cid)
        # Followers name the leader's real address.
        err = None
        try:
            ag[2].call("RSM", "PAUSE", "g")
        except Exception as e:  # RespError
            err = str(e)
        self.assertIn("NOTLEADER 1 %s" % ag[1].api, err or "")
        # RSM VIEWS names the agent that answers and its cluster.
        v = ag[3].call("RSM", "VIEWS")
        self.assertEqual(v[0], [b"agent", b"3", b"cluster", cid.encode()]
                         if isinstance(v[0][0], bytes)
                         else ["agent", "3", "cluster", cid])
        # A restarted agent keeps the cluster id and its address.
        ag[3].stop()
        start_agent(ag[3], ["--http-bind", "%s:%d" % (HOST, ag[3].http_port)])
        wait_until(lambda: ag[3].status()["cluster_id"] == cid, timeout=15,
                   what="restarted agent 3 knows the cluster id")
        self.assertEqual(ag[3].events("cluster-id-changed"), [])

    # ------------------------------------------------------------------
    def test_wrong_apiport_for_self_refused_at_start(self):
        """An agent whose own "/apiport" in --peers is not the port it
        serves refuses to start and names the flags."""
        ag = Agents(self, 3, args=["--monitor", "g=127.0.0.1:1"])
        a = ag[1]
        bad = ",".join("%d=%s:%d/%d" % (b.id, HOST, b.raft_port,
                                        b.api_port + (1 if b.id == 1 else 0))
                       for b in ag)
        r = subprocess.run(
            [binary("rsm-agent"), "--id", "1", "--peers", bad,
             "--api-bind", a.api, "--data-dir", a.data_dir,
             "--http-bind", "off"], capture_output=True, text=True,
            timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--peers gives agent 1 the client port %d, but it "
                      "serves %d (--api-bind)" % (a.api_port + 1, a.api_port),
                      r.stderr)

    # ------------------------------------------------------------------
    def test_fake_agent_answering_under_another_id_is_ignored(self):
        """Agents 2 and 3 advertise (a wrong --advertise-api) the address
        of a script that answers RSM VIEWS with "down" as agent 7. With the
        master SIGSTOPped for 4 x down-after, the leader has only its own
        vote: no failover, a peer-identity-mismatch logged, and both
        members shown as misconfigured by RSM STATUS and rsmctl status."""
        m, rs = self.replication_set(2)
        fake = FakeAgent(m, claim_id=7)
        self.addCleanup(fake.close)
        wrong = ["--advertise-api", fake.addr]
        ag = self.agents(m, rs, extra_of={2: wrong, 3: wrong})
        self.wait_advertised(ag, {1: ag[1].api, 2: fake.addr, 3: fake.addr})
        m.proc.signal(19)  # SIGSTOP
        try:
            wait_until(lambda: fake.views_asked >= 2, timeout=10,
                       what="the leader asks the fake agent")
            time.sleep(4 * DOWN_AFTER_MS / 1000)
            st = ag[1].status()
        finally:
            m.proc.signal(18)  # SIGCONT
        self.assertEqual(self.decisions(ag), [])
        self.assertEqual(ag.group_status("g")["epoch"], 0)
        mism = [e for e in ag[1].events("peer-identity-mismatch")
                if e["check"] == "other-agent"]
        self.assertEqual(sorted({int(e["id"]) for e in mism}), [2, 3])
        self.assertIn("answered as agent 7", mism[0]["reason"])
        peers = {p["id"]: p for p in st["monitor"]["peers"]}
        for i in (2, 3):
            self.assertTrue(peers[i]["misconfigured"], peers)
            self.assertIn("answered as agent 7", peers[i]["problem"])
        r = self.rsmctl("status", "--agent", ag[1].api)
        self.assertIn("misconfigured", r.stdout)
        r = self.rsmctl("status", "--agent", ag[1].api, "--json")
        agents = {a["id"]: a for a in json.loads(r.stdout)["agents"]}
        self.assertTrue(agents[2]["misconfigured"])
        self.assertIsNone(agents[1]["misconfigured"])

    def test_control_fake_agent_with_a_right_id_is_counted(self):
        """Control for the test above (it can fail): the same script
        claiming to be agent 2 is counted as agent 2, so the leader and
        "agent 2" make a quorum and the stopped master is failed over."""
        m, rs = self.replication_set(2)
        fake = FakeAgent(m, claim_id=2)
        self.addCleanup(fake.close)
        wrong = ["--advertise-api", fake.addr]
        ag = self.agents(m, rs, extra_of={2: wrong, 3: wrong})
        self.wait_advertised(ag, {1: ag[1].api, 2: fake.addr, 3: fake.addr})
        m.proc.signal(19)
        try:
            ag.wait_group("g", lambda g: g["epoch"] >= 1, timeout=15,
                          what="failover decided")
        finally:
            m.proc.signal(18)
        self.assertTrue(self.decisions(ag))

    # ------------------------------------------------------------------
    def test_leader_cut_alone_from_live_master_no_failover(self):
        """The issue's scenario: no "/apiport", different client ports, the
        agent leader alone cut from the master (nftables, by uid) for 5 s:
        the two followers see it up, so nothing fails over. Then, with the
        cut gone, a real SIGKILL of the master is failed over."""
        if subprocess.run(["nft", "list", "tables"],
                          capture_output=True).returncode != 0:
            self.fail("nft does not work here (run as root)")
        os.chmod(self.workdir, 0o755)
        m, rs = self.replication_set(2)
        nobody = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                  "--clear-groups", "--"]
        # agent 1's data dir must be nobody's
        d1 = os.path.join(self.workdir, "agent1")
        os.makedirs(d1)
        os.chown(d1, NOBODY, NOBODY)
        ag = self.agents(m, rs, prefix_of={1: nobody})
        self.wait_advertised(ag, {a.id: a.api for a in ag})
        table = "rsmtest_identity_%d" % os.getpid()
        nft = ["nft", "-f", "-"]
        rules = ("table inet %s {\n chain out {\n"
                 "  type filter hook output priority 0;\n"
                 "  meta skuid %d ip daddr 127.0.0.1 tcp dport %d drop\n"
                 " }\n}\n" % (table, NOBODY, m.port))
        subprocess.run(nft, input=rules, text=True, check=True)
        self.addCleanup(subprocess.run, ["nft", "delete", "table", "inet",
                                         table], capture_output=True)
        try:
            wait_until(lambda: (ag[1].status()["monitor"]["groups"][0]
                                ["verdict"] or {}).get("no_reply_ms", 0)
                       > DOWN_AFTER_MS, timeout=10,
                       what="the leader has no reply from the master")
            time.sleep(4)
            verdict = ag[1].status()["monitor"]["groups"][0]["verdict"]
        finally:
            subprocess.run(["nft", "delete", "table", "inet", table],
                           capture_output=True)
        self.assertEqual(self.decisions(ag), [], verdict)
        self.assertEqual(ag.group_status("g")["epoch"], 0)
        self.assertEqual(ag.leader().id, 1)
        self.assertLess(verdict["votes"], verdict["quorum"], verdict)
        # Before the others' addresses were committed, the guess (this
        # agent's own port on their host) pointed at the leader itself:
        # refused, never asked, never counted.
        self.assertLessEqual({e["check"] for e in
                              ag[1].events("peer-identity-mismatch")},
                             {"address-is-self"})
        self.assertEqual(m.call("ROLE")[0], "master")

        # With the cut gone, a dead master is still failed over.
        m.kill()
        g = ag.wait_group("g", lambda g: g["epoch"] == 1 and
                          g["in_flight"] is None, timeout=20,
                          what="failover after the kill")
        self.assertIn(g["master"], [r.addr for r in rs])


if __name__ == "__main__":
    unittest.main()
