"""The authenticated Raft port (--cluster-secret-file): real agents, real
sockets on loopback.

  (a) three agents with the same secret elect a leader, commit, survive a
      leader kill and let the killed one catch up after its restart;
  (b) a forged raft 0.15 handshake + RequestVote with a huge term, sent to a
      follower and to the leader, changes nothing (term, leader, log), the
      connection is closed and /metrics counts it; so do an idle connection
      (deadline), our own HELLO with a made-up proof, and a flood of
      connections (at most 64 handshakes at once). The same bytes DO
      move the term of a group without a secret, and of this group once the
      sender knows the secret: they are well-formed, the handshake is what
      stops them;
  (c) an agent with another secret never joins; every side logs why, once
      per peer and reason, and the fix (the right secret) lets it catch up;
      an agent of another group (same secret, another cluster id) is
      refused; the README's rolling procedure from no secret to a secret;
  (d) bad flag input: an empty, short or unreadable secret file, a short
      RSM_CLUSTER_SECRET: a clear error, exit 2, the secret never printed.
"""

import hashlib
import hmac
import os
import re
import socket
import struct
import time
import unittest
import urllib.request

from rsmtest import HOST, Agents, TestCase, binary, free_port, wait_until

SECRET = b"0123456789abcdef-raft-auth-test-secret"
HUGE_TERM = 1 << 40


# --------------------------------------------------------------------------
# What goes on the wire
# --------------------------------------------------------------------------
def raft_handshake(server_id, address):
    """raft_uv_tcp 0.15's handshake: protocol 1, id, address length (padded
    to 8), the address with its NUL; all little endian."""
    addr = address.encode() + b"\0"
    addr = addr.ljust((len(addr) + 7) // 8 * 8, b"\0")
    return struct.pack("<QQQ", 1, server_id, len(addr)) + addr


def request_vote(term, candidate):
    """A RequestVote (type 3) that may disrupt a leader (flag bit 0), not a
    pre-vote, with a log that looks up to date."""
    body = struct.pack("<QQQQQ", term, candidate, 1 << 30, term - 1, 1)
    return struct.pack("<QQ", 3, len(body)) + body


def rsma(kind, body):
    """Our handshake's framing (raftauth.h)."""
    return b"RSMA" + bytes([1, kind]) + struct.pack(">H", len(body)) + body


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def our_handshake(port, server_id, secret, client_id=7,
                  address="127.0.0.1:1"):
    """HELLO, CHALLENGE, PROOF as raftauth.h says, computed here with
    hmac/hashlib. With the wrong secret the server's proof does not verify
    here, and a made-up client proof is sent anyway. Returns the socket
    (the handshake done or not) and whether the server's proof held."""
    s = socket.create_connection((HOST, port), timeout=3)
    nonce = os.urandom(32)
    addr = address.encode()
    hello = (struct.pack(">QQ", client_id, server_id) + nonce + b"\0" +
             bytes([len(addr)]) + addr)
    s.sendall(rsma(1, hello))
    hdr = recv_exact(s, 8)
    assert hdr[:6] == b"RSMA\x01\x02", hdr
    body = recv_exact(s, struct.unpack(">H", hdr[6:8])[0])
    transcript = hello + body[:-32]
    want = hmac.new(secret, b"server" + transcript, hashlib.sha256).digest()
    ok = hmac.compare_digest(want, body[-32:])
    proof = hmac.new(secret, b"client" + transcript, hashlib.sha256).digest()
    s.sendall(rsma(3, proof))
    return s, ok


def closed_by_peer(s, timeout=5.0):
    """True once the other side closes s (EOF or reset) within timeout;
    whatever it sent before is returned too."""
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return True, got
            got += chunk
    except ConnectionResetError:
        return True, got
    except socket.timeout:
        return False, got
    finally:
        s.close()


def drain_until_closed(socks, timeout):
    """{socket: bytes received} of the sockets the other side closed
    within timeout (the rest stay open, unread data kept in the kernel)."""
    import selectors
    sel = selectors.DefaultSelector()
    got = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        got[s] = b""
    closed = {}
    deadline = time.monotonic() + timeout
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
            s = key.fileobj
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                got[s] += chunk
                continue
            sel.unregister(s)
            closed[s] = got[s]
    sel.close()
    return closed


def metric(port, name):
    with urllib.request.urlopen("http://%s:%d/metrics" % (HOST, port),
                                timeout=3) as r:
        text = r.read().decode()
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def raft_view(agent):
    st = agent.status()
    return (st["term"], (st.get("leader") or {}).get("id"), st["last_index"],
            st["commit_index"])


class RaftAuthTest(TestCase):

    def secret_file(self, name, content):
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def start_group(self, secret=None, n=3, per_agent=None):
        """n agents with an HTTP port each; secret: bytes for every agent,
        per_agent: {id: bytes} overrides it (None: no secret)."""
        ag = Agents(self, n)
        ag.http = {}
        paths = {}
        for a in ag:
            ag.http[a.id] = free_port()
            s = (per_agent or {}).get(a.id, secret)
            extra = ["--http-bind", "%s:%d" % (HOST, ag.http[a.id])]
            if s is not None:
                if s not in paths:
                    paths[s] = self.secret_file("secret%d" % len(paths), s)
                extra += ["--cluster-secret-file", paths[s]]
            a.start(extra=extra)
        return ag

    def settled(self, ag, agents=None):
        """Wait until every agent reports the same leader and its log stops
        moving (the entries every new leader commits are in); returns
        {agent: raft_view}."""
        agents = list(agents or ag)
        last = {}

        def still():
            views = {a: raft_view(a) for a in agents}
            leaders = {v[1] for v in views.values()}
            ok = (len(leaders) == 1 and None not in leaders and
                  len({v[2] for v in views.values()}) == 1 and
                  views == last.get("v"))
            last["v"] = views
            return views if ok else None
        return wait_until(still, timeout=15, interval=0.4,
                          what="a settled group")

    def stop_cleanly(self, ag):
        """SIGTERM with a handshake in progress on every agent (an idle
        connection): each must close it and exit 0 (1 if a handle was left
        on the loop; an ASan build also fails on a leak)."""
        idle = [socket.create_connection((HOST, a.raft_port)) for a in ag]
        for a in ag:
            self.assertEqual(a.stop(), 0, "agent %d:\n%s"
                             % (a.id, a.output()[-3000:]))
        for s in idle:
            s.close()

    def forge(self, port):
        """The raft 0.15 handshake + RequestVote(huge term) to port;
        returns (closed by the agent, bytes it sent back)."""
        s = socket.create_connection((HOST, port), timeout=3)
        s.sendall(raft_handshake(99, "127.0.0.1:1") +
                  request_vote(HUGE_TERM, 99))
        return closed_by_peer(s)

    # ----------------------------------------------------------------------
    def test_a_b_secret_group_works_and_refuses_forgeries(self):
        ag = self.start_group(SECRET)
        leader = ag.wait_leader()
        for a in ag:
            self.assertEqual(len(a.events("raft-authenticated")), 1)
            self.assertEqual(a.events("raft-unauthenticated"), [])
            self.assertEqual(metric(ag.http[a.id], "rsm_raft_auth_enabled"), 1)
        before = self.settled(ag)

        # (a) the leader dies: the other two elect one and commit; the old
        # one restarts, reconnects (both directions) and catches up.
        leader.kill()
        new = ag.wait_leader(other_than=leader)
        wait_until(lambda: raft_view(new)[3] > before[leader][3], timeout=10,
                   what="a commit by the new leader")
        leader.start(extra=["--http-bind", "%s:%d" % (HOST, ag.http[leader.id]),
                            "--cluster-secret-file",
                            os.path.join(self.workdir, "secret0")])
        views = self.settled(ag)
        self.assertEqual(views[leader][1], new.id)
        for a in ag:
            self.assertEqual(metric(ag.http[a.id],
                                    "rsm_raft_auth_refused_total"), 0, a.id)
            self.assertEqual(metric(ag.http[a.id],
                                    "rsm_raft_auth_failed_total"), 0, a.id)

        # (b) forged RequestVotes to a follower and to the leader; an idle
        # connection; our handshake without the secret.
        follower = next(a for a in ag if a is not new)
        idle = socket.create_connection((HOST, new.raft_port))
        t0 = time.monotonic()
        for target in (follower, new):
            closed, got = self.forge(target.raft_port)
            self.assertTrue(closed, "agent %d kept a forged connection open"
                            % target.id)
            self.assertTrue(got == b"" or got.startswith(b"RSMA"), got)
            s, proved = our_handshake(target.raft_port, target.id,
                                      b"not-the-secret-0123456789")
            self.assertFalse(proved, "a proof made with another secret held")
            self.assertTrue(closed_by_peer(s)[0])
        closed, _ = closed_by_peer(idle, timeout=5)
        self.assertTrue(closed)
        self.assertGreater(time.monotonic() - t0, 1.5)  # the 2 s deadline
        time.sleep(1.0)  # several election timeouts (300 ms)
        after = self.settled(ag)
        for a in ag:
            self.assertEqual(after[a][:3], views[a][:3],
                             "agent %d: term, leader or log moved" % a.id)
        refused = {a.id: metric(ag.http[a.id], "rsm_raft_auth_refused_total")
                   for a in ag}
        self.assertEqual(refused[follower.id], 2, refused)
        self.assertEqual(refused[new.id], 3, refused)  # + the idle one
        ev = follower.events("raft-auth-refused")
        self.assertTrue(any("plain raft handshake" in e["reason"] and
                            e.get("claimed_id") is None for e in ev), ev)
        self.assertTrue(any(e.get("claimed_id") == "7" and
                            "bad proof" in e["reason"] for e in ev), ev)
        self.assertTrue(any("not finished in time" in e["reason"]
                            for e in new.events("raft-auth-refused")))

        # Positive control on this very group: the same RequestVote after
        # our handshake with the right secret does move the term.
        s, proved = our_handshake(follower.raft_port, follower.id, SECRET)
        self.assertTrue(proved)
        s.sendall(request_vote(HUGE_TERM, 7))
        wait_until(lambda: raft_view(follower)[0] >= HUGE_TERM, timeout=5,
                   what="the term of agent %d to jump" % follower.id)
        s.close()
        self.stop_cleanly(ag)
        for a in ag:
            self.assertNotIn(SECRET.decode(), a.output())

    def test_b_same_bytes_move_a_group_without_secret(self):
        ag = self.start_group(None)
        leader = ag.wait_leader()
        for a in ag:
            self.assertEqual(len(a.events("raft-unauthenticated")), 1)
            self.assertEqual(metric(ag.http[a.id], "rsm_raft_auth_enabled"), 0)
        follower = next(a for a in ag if a is not leader)
        self.assertLess(raft_view(follower)[0], 1000)
        s = socket.create_connection((HOST, follower.raft_port), timeout=3)
        s.sendall(raft_handshake(99, "127.0.0.1:1") +
                  request_vote(HUGE_TERM, 99))
        wait_until(lambda: raft_view(follower)[0] >= HUGE_TERM, timeout=5,
                   what="the term of agent %d to jump" % follower.id)
        s.close()
        self.assertEqual(metric(ag.http[follower.id],
                                "rsm_raft_auth_refused_total"), 0)

    def test_c_agent_with_another_secret_never_joins(self):
        wrong = b"fedcba9876543210-another-secret"
        ag = self.start_group(SECRET, per_agent={3: wrong})
        a1, a2, a3 = ag[1], ag[2], ag[3]

        def two_agree():
            v1, v2 = raft_view(a1), raft_view(a2)
            return v1[1] is not None and v1[1] == v2[1] and v1[1] != 3
        wait_until(two_agree, timeout=15, what="1 and 2 agree on a leader")
        time.sleep(3.0)  # three connect retries of every side
        v1, v3 = raft_view(a1), raft_view(a3)
        st3 = a3.status()
        self.assertIsNone((st3.get("leader") or {}).get("id"), st3)
        self.assertLessEqual(v3[2], 1, "agent 3 received entries")
        self.assertGreater(v1[3], v3[2])

        # agent 3 says why, naming this agent's flag and the other member
        fails3 = a3.events("raft-auth-failed")
        self.assertTrue(fails3)
        for e in fails3:
            self.assertIn("bad proof", e["reason"])
            self.assertIn("--cluster-secret-file", e["hint"])
            self.assertIn("member %s" % e["peer"], e["hint"])
        self.assertEqual({e["peer"] for e in fails3}, {"1", "2"})
        # the others log the refusal, once per peer and reason (3 s of
        # retries every second: one line, not three): both refuse agent 3's
        # votes; the leader also fails to reach agent 3 with heartbeats
        # (the other one only if it ran for leader too)
        lid = raft_view(a1)[1]
        for a in (a1, a2):
            failed = a.events("raft-auth-failed", peer=3)
            if a.id == lid:
                self.assertEqual(len(failed), 1, failed)
            else:
                self.assertLessEqual(len(failed), 1, failed)
            for e in failed:
                self.assertIn("bad proof", e["reason"])
            refused = a.events("raft-auth-refused", claimed_id=3)
            self.assertEqual(len(refused), 1, refused)
            self.assertIn("refused the handshake: bad proof",
                          refused[0]["reason"])
            self.assertIn("--cluster-secret-file", refused[0]["hint"])
            self.assertGreaterEqual(
                metric(ag.http[a.id], "rsm_raft_auth_failed_total"),
                2 if a.id == lid else 0)
            self.assertGreaterEqual(
                metric(ag.http[a.id], "rsm_raft_auth_refused_total"), 2)
        self.assertGreaterEqual(
            metric(ag.http[3], "rsm_raft_auth_failed_total"), 4)

        # the fix: the right secret; agent 3 catches up
        a3.stop()
        a3.start(extra=["--http-bind", "%s:%d" % (HOST, ag.http[3]),
                        "--cluster-secret-file",
                        self.secret_file("right", SECRET + b"\n")])
        self.settled(ag)
        self.stop_cleanly(ag)

    def test_b_connection_flood_is_bounded(self):
        """At most 64 handshakes at once: more connections are refused at
        once (ERROR "busy"), the others at the deadline; all are counted."""
        ag = self.start_group(SECRET, n=1)
        a = ag.wait_leader()
        socks = []
        for _ in range(7):  # in tens: a burst would overflow the backlog
            socks += [socket.create_connection((HOST, a.raft_port))
                      for _ in range(10)]
            time.sleep(0.02)
        early = drain_until_closed(socks, 1.0)  # well before the 2 s deadline
        busy = b"RSMA\x01\x04\x00\x01\x0d"      # ERROR, reason busy
        self.assertEqual(sorted(early.values()), [busy] * 6)
        late = drain_until_closed([s for s in socks if s not in early], 5.0)
        timeout = b"RSMA\x01\x04\x00\x01\x0a"   # ERROR, reason timeout
        self.assertEqual(sorted(late.values()), [timeout] * 64)
        for s in socks:
            s.close()
        wait_until(lambda: metric(ag.http[a.id],
                                  "rsm_raft_auth_refused_total") == 70,
                   timeout=5, what="70 refusals counted")
        self.assertTrue(a.events("raft-auth-refused", reason="too many "
                                 "handshakes in progress"))
        self.stop_cleanly(ag)

    def test_c_agent_of_another_group_is_refused(self):
        """Same secret, another group: an agent whose data dir belongs to
        another cluster (cluster ids differ) is refused both ways round,
        and the log names both cluster ids."""
        ag = Agents(self, 3)
        sec = self.secret_file("secret", SECRET)
        a1, a2, a3 = ag[1], ag[2], ag[3]
        for a in (a1, a2):
            a.start(extra=["--cluster-secret-file", sec])
        cid = wait_until(lambda: a1.status().get("cluster_id") or None,
                         timeout=15, what="group A's cluster id")
        # agent 3's data dir is a one-agent group of its own, made first
        # on another port, then started where group A expects agent 3
        other = free_port()
        b = Agents(self, 1)
        b[1].id = 3
        b[1].data_dir = a3.data_dir
        b[1].raft_port = other
        b[1].start(extra=["--cluster-secret-file", sec])
        cid_b = wait_until(lambda: b[1].status().get("cluster_id") or None,
                           timeout=15, what="group B's cluster id")
        self.assertNotEqual(cid, cid_b)
        b[1].stop()
        b[1].raft_port = a3.raft_port
        b[1].start(extra=["--cluster-secret-file", sec])
        ev = wait_until(lambda: b[1].events("raft-auth-refused"), timeout=10,
                        what="agent 3 (group B) refusing group A's leader")
        self.assertIn("another cluster", ev[0]["reason"])
        self.assertIn(cid, ev[0]["detail"])
        self.assertIn(cid_b, ev[0]["detail"])
        lid = raft_view(a1)[1]
        failed = wait_until(lambda: ag[lid].events("raft-auth-failed", peer=3),
                            timeout=10, what="group A's leader failing")
        self.assertIn("refused the handshake: the peer belongs to another "
                      "cluster", failed[0]["reason"])
        self.assertEqual(b[1].status()["cluster_id"], cid_b)
        self.assertEqual(raft_view(a1)[1], lid)

    def test_c_rolling_from_no_secret_to_a_secret(self):
        """The README's procedure: agents that run without a secret get it
        one at a time. Old and new agents cannot talk, each side says why,
        and a majority of either kind keeps (or takes over) the group."""
        ag = self.start_group(None, per_agent={3: SECRET})
        a1, a2, a3 = ag[1], ag[2], ag[3]
        wait_until(lambda: raft_view(a1)[1] in (1, 2) and
                   raft_view(a1)[1] == raft_view(a2)[1], timeout=15,
                   what="1 and 2 (no secret) agree on a leader")
        wait_until(lambda: a3.events("raft-auth-refused") and
                   a3.events("raft-auth-failed"), timeout=10,
                   what="agent 3 to log both directions")
        self.assertTrue(any("plain raft handshake" in e["reason"] and
                            "without a cluster secret" in e["hint"]
                            for e in a3.events("raft-auth-refused")))
        self.assertTrue(any("closed the connection" in e["reason"] and
                            "without a cluster secret" in e["hint"]
                            for e in a3.events("raft-auth-failed")))
        self.assertIsNone(raft_view(a3)[1])
        self.assertLessEqual(raft_view(a3)[2], 1)

        # the second one gets the secret: 2 and 3 take over, 1 is left out
        a2.stop()
        a2.start(extra=["--http-bind", "%s:%d" % (HOST, ag.http[2]),
                        "--cluster-secret-file",
                        os.path.join(self.workdir, "secret0")])
        self.settled(ag, agents=[a2, a3])
        # and the last one
        a1.stop()
        a1.start(extra=["--http-bind", "%s:%d" % (HOST, ag.http[1]),
                        "--cluster-secret-file",
                        os.path.join(self.workdir, "secret0")])
        self.settled(ag)
        self.stop_cleanly(ag)

    def test_d_bad_secret_input(self):
        data = os.path.join(self.workdir, "d")
        base = [binary("rsm-agent"), "--id", "1", "--peers",
                "1=%s:%d" % (HOST, free_port()), "--data-dir", data,
                "--http-bind", "off"]
        short = b"tooshort-SECRET"  # 15 bytes
        cases = [
            (["--cluster-secret-file", self.secret_file("empty", b"")], {},
             "is empty"),
            (["--cluster-secret-file", self.secret_file("nl", b"\n")], {},
             "is empty"),
            (["--cluster-secret-file", self.secret_file("short", short)], {},
             "is 15 bytes long, at least 16"),
            (["--cluster-secret-file",
              self.secret_file("shortnl", short + b"\n")], {},
             "is 15 bytes long, at least 16"),
            (["--cluster-secret-file", os.path.join(self.workdir, "none")],
             {}, "cannot read"),
            (["--cluster-secret-file", self.workdir], {}, "cannot read"),
            (["--cluster-secret-file",
              self.secret_file("long", b"x" * 1025)], {},
             "longer than 1024 bytes"),
            ([], {"RSM_CLUSTER_SECRET": short.decode()},
             "RSM_CLUSTER_SECRET: the cluster secret is 15 bytes long"),
            ([], {"RSM_CLUSTER_SECRET_FILE":
                  os.path.join(self.workdir, "none")},
             "RSM_CLUSTER_SECRET_FILE: cannot read"),
        ]
        for extra, env, want in cases:
            with self.subTest(extra=extra, env=env):
                e = dict(os.environ)
                e.update(env)
                p = self.run_cmd(base + extra, env=e, timeout=10)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(want, p.stderr)
                self.assertIn("--cluster-secret-file" if extra else
                              list(env)[0], p.stderr)
                self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
                self.assertNotIn(short.decode(), p.stderr + p.stdout)
                self.assertFalse(os.path.exists(data))
        p = self.run_cmd([binary("rsm-agent"), "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("--cluster-secret-file FILE", p.stdout)
        self.assertIn("RSM_CLUSTER_SECRET", p.stdout)


if __name__ == "__main__":
    unittest.main()
