"""Integration tests of issue 16, part 1: TLS on the agents' links to Redis.

Real processes only: Debian's redis-server with --port 0 and a TLS port
(master and two replicas replicating over TLS, tls-auth-clients on by
default), three rsm-agents with --tls-redis and a client certificate.
Every certificate is made at run time by certs.py (the openssl CLI), in
the test's temp dir: no key is ever committed.

Covered: the agents see the group over TLS; a SIGKILL of the master fails
over (a replica promoted, the other re-pointed and linked over TLS, every
agent names the new master) and the new master keeps its TLS settings; an
agent whose CA does not trust the server, and a plaintext agent on the TLS
port, reach no Redis, say why in their log and do not crash. After the
failover, the config files the agents had Redis rewrite (CONFIG REWRITE
after each REPLICAOF) keep every tls-* setting, and a replica restarted
from its rewritten file replicates over TLS again. Bad files at start
(missing, junk, a key that is not the certificate's, an expired
certificate): exit 1, the file named.
"""

import os
import shlex
import socket
import ssl
import subprocess
import time
import unittest

import certs
from rsmtest import (HOST, Agents, Proc, Redis, Resp, TestCase, binary,
                     free_port, wait_until)

DOWN_AFTER_MS = 1000
FAILOVER_WAIT_S = 15


class TlsRedis(Redis):
    """A redis-server with only a TLS port (self.port), replicating over
    TLS, clients authenticated by certificate (Redis's default)."""

    def __init__(self, workdir, pki, **kw):
        super().__init__(workdir, **kw)
        # later lines win: "port 0" replaces the plaintext port
        self.extra += ["port 0", "tls-port %d" % self.port,
                       "tls-cert-file %s" % pki["server"].crt,
                       "tls-key-file %s" % pki["server"].key,
                       "tls-ca-cert-file %s" % pki["ca"].crt,
                       "tls-replication yes"]
        self._ctx = ssl.create_default_context(cafile=pki["ca"].crt)
        self._ctx.load_cert_chain(pki["client"].crt, pki["client"].key)

    def call(self, *args, timeout=2.0):
        sock = socket.create_connection((HOST, self.port), timeout=timeout)
        sock = self._ctx.wrap_socket(sock, server_hostname=HOST)
        with Resp(sock=sock) as c:
            return c.call(*args)


def read_conf(path):
    """{directive: its words} of a redis.conf (quotes removed, later lines
    win); {} while the file is being rewritten or unreadable."""
    conf = {}
    try:
        with open(path) as f:
            for line in f:
                words = shlex.split(line, comments=True)
                if words:
                    conf[words[0].lower()] = words
    except (OSError, ValueError):
        return {}
    return conf


class TestTlsRedis(TestCase):

    def setUp(self):
        super().setUp()
        self.pki = certs.make_set(os.path.join(self.workdir, "certs"))

    def tls_redis(self, **kw):
        r = TlsRedis(self.workdir, self.pki, **kw)
        self._procs.append(r)
        return r.start()

    def tls_set(self):
        m = self.tls_redis()
        rs = [self.tls_redis(replicaof=m.port) for _ in range(2)]
        for r in rs:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15,
                       what="replica %d linked over TLS" % r.port)
        return m, rs

    def tls_args(self, ca="ca"):
        p = self.pki
        return ["--tls-redis", "on", "--tls-cert-file", p["client"].crt,
                "--tls-key-file", p["client"].key,
                "--tls-ca-cert-file", p[ca].crt]

    def agents(self, members, args, n=3):
        ag = Agents(self, n, args=[
            "--monitor", "g=%s" % ",".join(r.addr for r in members),
            "--down-after-ms", str(DOWN_AFTER_MS),
            "--probe-interval-ms", "100"] + args)
        ag.start()
        return ag

    def assert_master_everywhere(self, ag, m):
        for a in ag.alive():
            self.assertEqual(a.call("SENTINEL", "get-master-addr-by-name", "g"),
                             [HOST, str(m.port)], "agent %d" % a.id)

    def test_failover_over_tls(self):
        m, rs = self.tls_set()
        ag = self.agents([m] + rs, self.tls_args())
        ag.wait_leader(timeout=15)
        # the leader read INFO of every instance over TLS: replicas known
        ag.wait_group("g", lambda g: g["master"] == m.addr, timeout=15,
                      every=True, what="every agent records the master")
        self.assert_master_everywhere(ag, m)

        m.kill()
        killed = time.monotonic()
        g = ag.wait_group("g", lambda g: g["master"] != m.addr and
                          g.get("epoch", 0) >= 1, timeout=FAILOVER_WAIT_S,
                          every=True, what="every agent names a new master")
        new = [r for r in rs if r.addr == g["master"]]
        self.assertEqual(len(new), 1, g["master"])
        new = new[0]
        other = [r for r in rs if r is not new][0]
        wait_until(lambda: new.info().get("role") == "master", timeout=10,
                   what="new master promoted")
        wait_until(lambda: other.linked_to(new.port), timeout=15,
                   what="the other replica linked to the new master (TLS)")
        linked_ms = (time.monotonic() - killed) * 1000
        self.assert_master_everywhere(ag, new)
        # reported, not asserted (a benchmark's job): kill -> the other
        # replica linked over TLS, polled, and which path decided
        print("\n  TLS failover: replicas linked %.0f ms after the kill "
              "(down-after %d); %s" % (linked_ms, DOWN_AFTER_MS,
                                       g["history"][-1]["reason"][:60]))
        # the agents' CONFIG REWRITE kept the TLS settings
        self.assertEqual(new.call("CONFIG", "GET", "tls-port"),
                         ["tls-port", str(new.port)])
        self.assertEqual(new.call("CONFIG", "GET", "tls-replication"),
                         ["tls-replication", "yes"])
        self.assertEqual(new.call("CONFIG", "GET", "port"), ["port", "0"])
        self.assert_rewritten_keeps_tls(new, None)
        self.assert_rewritten_keeps_tls(other, new.port)
        self.restart_from_rewritten(other, new)
        for a in ag:
            self.assertTrue(a.alive(), "agent %d died" % a.id)

    def assert_rewritten_keeps_tls(self, r, master_port):
        """r's config file, once the agents' CONFIG REWRITE (sent after
        each REPLICAOF) has recorded the new role (replicaof master_port,
        or none), still holds every TLS setting it was started with."""
        def rewritten():
            conf = read_conf(os.path.join(r.dir, "redis.conf"))
            want = None if master_port is None else \
                ["replicaof", HOST, str(master_port)]
            return conf if conf.get("replicaof") == want else None
        conf = wait_until(rewritten, timeout=10,
                          what="redis %d: config rewritten" % r.port)
        p = self.pki
        for key, want in (("port", "0"), ("tls-port", str(r.port)),
                          ("tls-cert-file", p["server"].crt),
                          ("tls-key-file", p["server"].key),
                          ("tls-ca-cert-file", p["ca"].crt),
                          ("tls-replication", "yes")):
            self.assertEqual(conf.get(key), [key, want],
                             "redis %d: %s after CONFIG REWRITE" % (r.port,
                                                                    key))

    def restart_from_rewritten(self, r, master):
        """Restart r (SIGKILL) from its rewritten config file as it is: it
        must replicate from master again, over TLS (it has no other
        port)."""
        r.kill()
        r.proc = Proc(["redis-server", os.path.join(r.dir, "redis.conf")],
                      os.path.join(r.dir, "redis-restarted.log"))
        wait_until(lambda: r.linked_to(master.port), timeout=15,
                   what="redis %d restarted from its rewritten config, "
                   "linked to %d over TLS" % (r.port, master.port))

    def wait_probe_error(self, a, needle):
        def pred():
            for e in a.events("probe-error"):
                if needle in e.get("error", ""):
                    return e
            return None
        return wait_until(pred, timeout=10,
                          what="agent %d logs '%s'" % (a.id, needle))

    def assert_one_agent_fails_quietly(self, args, needle):
        """One agent with args against the TLS group reaches no Redis,
        logs why (needle) once per instance, and stays up."""
        m, rs = self.tls_set()
        ag = self.agents([m] + rs, args, n=1)
        a = ag[1]
        e = self.wait_probe_error(a, needle)
        self.assertIn(e["addr"], [r.addr for r in [m] + rs])
        time.sleep(1)  # keep probing a while: no crash, no log flood
        self.assertTrue(a.alive(), "agent died:\n" + a.output())
        self.assertIsNotNone(a.status())
        for r in [m] + rs:
            self.assertLessEqual(len(a.events("probe-error", addr=r.addr)), 1,
                                 "one line per distinct error, not per probe")
        self.assertEqual(m.info().get("role"), "master")
        return a

    def test_rsmctl_promote_over_tls(self):
        """The one-shot promotion speaks TLS to Redis's TLS port: a dead
        master's best replica is promoted, the other re-pointed over TLS;
        without --tls it reaches nothing and refuses (exit 3)."""
        m, rs = self.tls_set()
        targets = [r.addr for r in [m] + rs]
        m.kill()
        p = self.pki
        tls = ["--tls", "--cacert", p["ca"].crt, "--cert", p["client"].crt,
               "--key", p["client"].key]
        plain = subprocess.run([binary("rsmctl"), "promote"] + targets,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(plain.returncode, 3, plain.stdout + plain.stderr)
        run = subprocess.run([binary("rsmctl"), "promote"] + tls + targets,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        roles = {r.port: r.info().get("role") for r in rs}
        self.assertEqual(sorted(roles.values()), ["master", "slave"], roles)
        new = [r for r in rs if roles[r.port] == "master"][0]
        other = [r for r in rs if r is not new][0]
        wait_until(lambda: other.linked_to(new.port), timeout=15,
                   what="the other replica linked to the promoted one (TLS)")

    def test_untrusted_server_certificate(self):
        # a CA that did not sign the servers' certificate
        a = self.assert_one_agent_fails_quietly(
            self.tls_args(ca="otherca"), "certificate verify failed")
        self.assertIn("TLS handshake failed", a.output())

    def test_plaintext_agent_on_the_tls_port(self):
        self.assert_one_agent_fails_quietly([], "a TLS port?")


class TestTlsFiles(TestCase):
    """Bad TLS files at start: exit 1, the file named."""

    def setUp(self):
        super().setUp()
        self.certs = os.path.join(self.workdir, "certs")
        self.pki = certs.make_set(self.certs)

    def start_fails(self, *args):
        c = lambda n: os.path.join(self.certs, n)  # noqa: E731
        argv = [binary("rsm-agent"), "--id", "1", "--peers",
                "1=%s:%d" % (HOST, free_port()), "--data-dir",
                os.path.join(self.workdir, "d"), "--http-bind", "off",
                "--api-bind", "%s:%d" % (HOST, free_port()), "--tls-redis", "on"]
        argv += [a if not a.startswith("@") else c(a[1:]) for a in args]
        out = self.run_cmd(argv, timeout=20)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        return out.stdout + out.stderr

    def test_bad_files_name_the_file(self):
        err = self.start_fails("--tls-cert-file", "@client.crt",
                               "--tls-key-file", "@missing.key")
        self.assertIn("missing.key", err)
        # a certificate and a key that is not its key
        err = self.start_fails("--tls-cert-file", "@mismatched.crt",
                               "--tls-key-file", "@mismatched.key")
        self.assertIn("does not match", err)
        self.assertIn("mismatched.key", err)
        err = self.start_fails("--tls-cert-file", "@expired.crt",
                               "--tls-key-file", "@expired.key")
        self.assertIn("certificate expired", err)
        self.assertIn("expired.crt", err)
        with open(os.path.join(self.certs, "junk.pem"), "w") as f:
            f.write("not a certificate\n")
        err = self.start_fails("--tls-ca-cert-file", "@junk.pem")
        self.assertIn("junk.pem", err)


if __name__ == "__main__":
    unittest.main()
