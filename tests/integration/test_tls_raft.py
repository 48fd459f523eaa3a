"""Raft between agents over mutual TLS (--tls-raft, issue #16): real
rsm-agent and redis-server processes on loopback.

Each agent has its own loopback address (127.0.0.11, .12, .13) and a
certificate naming it (subjectAltName IP), all from one CA made here at
run time (certs.py); no key is committed.

  (a) three agents elect a leader, commit, and fail over a SIGKILLed
      master, every Raft connection inside TLS; /metrics says so;
  (b) an agent whose certificate comes from another CA cannot join: both
      sides log why (reason tls), the two others keep their group;
  (c) an agent with a certificate of the right CA for another member's
      address cannot join: the others refuse it (reason identity, naming
      the address it claims), and it cannot pass itself off as the server
      it is dialled as either;
  (d) a plaintext Raft client (a raft 0.15 handshake and a RequestVote
      with a huge term) on a TLS port is refused: the term does not move
      and nothing crashes.
"""

import os
import re
import socket
import time
import unittest
import urllib.request

import certs
from rsmtest import Agents, TestCase, wait_until
from test_raft_auth import HUGE_TERM, raft_handshake, request_vote

HOSTS = {1: "127.0.0.11", 2: "127.0.0.12", 3: "127.0.0.13"}


class TlsRaftTest(TestCase):

    def setUp(self):
        super().setUp()
        d = os.path.join(self.workdir, "pki")
        os.makedirs(d)
        self.pki = d
        self.ca = certs.make_ca(d, "ca")
        self.otherca = certs.make_ca(d, "otherca")
        self.certs = {i: certs.make_cert(d, self.ca, "agent-%d" % i,
                                         san=["IP:%s" % h])
                      for i, h in HOSTS.items()}

    def tls_args(self, cert, ca=None):
        return ["--tls-raft", "on", "--tls-cert-file", cert.crt,
                "--tls-key-file", cert.key,
                "--tls-ca-cert-file", (ca or self.ca).crt]

    def agents(self, args=(), per_agent=None, start=True):
        """3 agents on their own loopback addresses, each with its own
        certificate unless per_agent {id: (cert, ca)} says otherwise."""
        ag = Agents(self, 3, args=list(args))
        ag.http = {}
        for a in ag:
            a.host = HOSTS[a.id]
        for a in ag:
            cert, ca = (per_agent or {}).get(a.id, (self.certs[a.id], None))
            ag.http[a.id] = self.free_port_on(a.host)
            if start:
                a.start(extra=self.tls_args(cert, ca) + [
                    "--http-bind", "%s:%d" % (a.host, ag.http[a.id])])
        return ag

    def free_port_on(self, host):
        s = socket.socket()
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def metrics(self, ag, a):
        url = "http://%s:%d/metrics" % (a.host, ag.http[a.id])
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.read().decode()

    def metric(self, ag, a, name):
        m = re.search(r"^%s (\S+)$" % re.escape(name), self.metrics(ag, a),
                      re.M)
        return float(m.group(1)) if m else None

    def two_agree(self, ag, ids):
        """Wait until agents ids name the same leader (one of them)."""
        def agree():
            try:
                sts = {i: ag[i].status() for i in ids}
            except (OSError, ValueError):
                return None
            leaders = {(s.get("leader") or {}).get("id") for s in sts.values()}
            if len(leaders) == 1 and leaders.pop() in ids:
                return sts
            return None
        return wait_until(agree, timeout=20, interval=0.3,
                          what="agents %s agree on a leader" % (ids,))

    def events_of(self, a, event):
        return [e for e in a.events(event)]

    def test_a_elect_commit_fail_over(self):
        m, (r1, r2) = self.replication_set(replicas=2)
        ag = self.agents(["--monitor", "g=%s,%s,%s" % (m.addr, r1.addr,
                                                      r2.addr),
                          "--down-after-ms", 2000])
        ld = ag.wait_leader(timeout=20)
        ag.wait_group("g", lambda g: g["master"] == m.addr, timeout=15,
                      every=True, what="every agent records the master")
        for a in ag:
            text = self.metrics(ag, a)
            self.assertRegex(text, r"(?m)^rsm_raft_tls 1$", "agent %d" % a.id)
            self.assertIsNone(re.search(r"(?m)^rsm_raft_tls_failed_total "
                                        r"[1-9]", text), text)
        m.kill()
        g = ag.wait_group(
            "g", lambda g: len(g["history"]) >= 1 and g["in_flight"] is None,
            timeout=30, every=True, what="a completed failover everywhere")
        h = g["history"][0]
        self.assertEqual(h["result"], "completed", h)
        self.assertIn(h["new_master"], (r1.addr, r2.addr), h)
        # the leader's start-up line says Raft runs over mutual TLS
        lines = ld.events("raft-authenticated")
        self.assertTrue(lines and lines[0].get("tls") == "mutual", lines)

    def assert_logged(self, a, event, reason, timeout=15):
        def found():
            for e in a.events(event):
                if reason in e.get("reason", ""):
                    return e
            return None
        return wait_until(found, timeout=timeout, interval=0.3,
                          what="agent %d logs %s with %r" % (a.id, event,
                                                             reason))

    def assert_left_out(self, ag, outsider, seconds=3.0):
        """outsider never learns the others' leader (it may only name
        itself or nobody)."""
        others = [i for i in ag.agents if i != outsider]
        sts = self.two_agree(ag, others)
        lid = (sts[others[0]]["leader"] or {})["id"]
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            st = ag[outsider].status()
            self.assertNotEqual((st.get("leader") or {}).get("id"), lid,
                                "agent %d joined: %s" % (outsider, st))
            time.sleep(0.3)

    def test_b_another_ca_cannot_join(self):
        stranger = certs.make_cert(self.pki, self.otherca, "stranger",
                                   san=["IP:%s" % HOSTS[3]])
        ag = self.agents(per_agent={3: (stranger, self.otherca)})
        self.assert_left_out(ag, 3)
        # the others refuse it, it fails to reach them: both say TLS
        e = self.assert_logged(ag[1], "raft-auth-refused", "TLS")
        self.assertIn("certificate", e.get("detail", "") + e.get("hint", ""),
                      e)
        self.assert_logged(ag[3], "raft-auth-failed", "TLS")
        self.assertGreater(self.metric(ag, ag[1], "rsm_raft_tls_failed_total")
                           or 0, 0)
        for a in ag:
            self.assertTrue(a.alive(), "agent %d died" % a.id)

    def test_c_certificate_of_another_member_cannot_join(self):
        # agent 3 holds a valid certificate of the group's CA, but for the
        # address of agent 2
        ag = self.agents(per_agent={3: (self.certs[2], None)})
        self.assert_left_out(ag, 3)
        e = self.assert_logged(ag[1], "raft-auth-refused",
                               "does not name the member")
        self.assertIn(HOSTS[3], e.get("detail", ""), e)
        self.assertIn("claims", e.get("detail", ""), e)
        # dialled as 127.0.0.13 (by the leader, at least), it shows a
        # certificate for .12: refused
        lid = (ag[1].status().get("leader") or {}).get("id")
        e = self.assert_logged(ag[lid], "raft-auth-failed", "TLS")
        self.assertIn("mismatch", e.get("detail", ""), e)
        # and it hears why it is refused
        self.assert_logged(ag[3], "raft-auth-failed", "does not name")

    def test_d_plaintext_raft_on_a_tls_port(self):
        ag = self.agents()
        ld = ag.wait_leader(timeout=20)
        term = ld.status()["term"]
        victim = [a for a in ag if a is not ld][0]
        s = socket.create_connection((victim.host, victim.raft_port),
                                     timeout=3)
        s.sendall(raft_handshake(7, "127.0.0.1:1") +
                  request_vote(HUGE_TERM, 7))
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
        self.assert_logged(victim, "raft-auth-refused", "TLS")
        time.sleep(1.0)
        for a in ag:
            st = a.status()
            self.assertLess(st["term"], 1000, st)
            self.assertTrue(a.alive())
        self.assertEqual(ag.leader().status()["term"] >= term, True)


if __name__ == "__main__":
    unittest.main()
