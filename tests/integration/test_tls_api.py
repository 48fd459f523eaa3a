"""Integration tests of issue 16: TLS on the agents' client port (RESP,
the Sentinel protocol) and HTTP port, --tls-auth-clients, rsmctl --tls,
and the certificates re-read on SIGHUP.

Real processes only: Debian's redis-server (plaintext here: TLS to Redis
is test_tls_redis's), rsm-agents with --tls-api on and --tls-http on,
redis-py's Sentinel (Debian's python3-redis, run by the system
interpreter), redis-cli --tls, curl, openssl's certificates from certs.py
made in the test's temp dir (no key is ever committed).

redis-py 4.3 (Debian 12) passes only the socket_* options of
Sentinel(..., **kwargs) to its connections to the sentinels: the TLS
options for the sentinels go in sentinel_kwargs (the top-level ssl=True is
for the connections to the master it finds).
"""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

import certs
from rsmtest import (HOST, Agent, Agents, Resp, TestCase, binary, free_port,
                     wait_until)

DOWN_AFTER_MS = 1000
FAILOVER_WAIT_S = 20
SYS_PYTHON = "/usr/bin/python3"  # where python3-redis lives

# Sentinel discovery through TLS client ports, as an application does it:
# argv = CA, client cert, client key, group, then host:port of each agent.
DISCOVER = """
import json, sys
from redis.sentinel import Sentinel
ca, crt, key, name = sys.argv[1:5]
tls = {"ssl": True, "ssl_ca_certs": ca, "ssl_certfile": crt,
       "ssl_keyfile": key, "socket_timeout": 2.0}
hosts = [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in sys.argv[5:]]
s = Sentinel(hosts, sentinel_kwargs=tls, socket_timeout=2.0)
print(json.dumps(list(s.discover_master(name))))
"""


def tls_context(pki, cert=True):
    """A client context trusting pki's CA, with the client certificate
    unless cert is False."""
    ctx = ssl.create_default_context(cafile=pki["ca"].crt)
    if cert:
        ctx.load_cert_chain(pki["client"].crt, pki["client"].key)
    return ctx


def tls_call(ctx, port, *args, timeout=2.0):
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock = ctx.wrap_socket(sock, server_hostname=HOST)
    with Resp(sock=sock) as c:
        return c.call(*args)


def served_subject(ctx, port):
    """The CN of the certificate the server at port shows now."""
    sock = socket.create_connection((HOST, port), timeout=2.0)
    with ctx.wrap_socket(sock, server_hostname=HOST) as s:
        subject = dict(x[0] for x in s.getpeercert()["subject"])
    return subject["commonName"]


class TlsAgent(Agent):
    """An agent whose client and HTTP ports speak TLS: call() over TLS,
    an HTTP port of its own."""

    def __init__(self, group, id_):
        super().__init__(group, id_)
        self.http_port = free_port()

    def argv(self, extra=()):
        return super().argv(["--http-bind", "%s:%d" % (HOST, self.http_port)]
                            + list(extra))

    def call(self, *args, timeout=2.0):
        return tls_call(self.group.ctx, self.api_port, *args, timeout=timeout)


class TlsAgents(Agents):
    def __init__(self, tc, ctx, n=3, args=(), **kw):
        super().__init__(tc, n, args=args, **kw)
        self.ctx = ctx
        self.agents = {i: TlsAgent(self, i) for i in range(1, n + 1)}


class TestTlsApi(TestCase):

    def setUp(self):
        super().setUp()
        self.certs = os.path.join(self.workdir, "certs")
        self.pki = certs.make_set(self.certs)
        self.ctx = tls_context(self.pki)

    def tls_args(self, cert="server", auth="yes"):
        p = self.pki
        return ["--tls-api", "on", "--tls-http", "on",
                "--tls-auth-clients", auth,
                "--tls-cert-file", p[cert].crt, "--tls-key-file", p[cert].key,
                "--tls-ca-cert-file", p["ca"].crt]

    def discover(self, ag):
        p = self.pki
        out = self.run_cmd([SYS_PYTHON, "-c", DISCOVER, p["ca"].crt,
                            p["client"].crt, p["client"].key, "g"] +
                           [a.api for a in ag.alive()], timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def cli(self, port, *args, cert=True):
        p = self.pki
        tls = ["--tls", "--cacert", p["ca"].crt]
        if cert:
            tls += ["--cert", p["client"].crt, "--key", p["client"].key]
        return self.run_cmd(["redis-cli", "-h", HOST, "-p", str(port)] + tls +
                            [str(a) for a in args], timeout=30)

    def curl(self, port, path, cert=True):
        p = self.pki
        argv = ["curl", "-sS", "--max-time", "10", "--cacert", p["ca"].crt]
        if cert:
            argv += ["--cert", p["client"].crt, "--key", p["client"].key]
        return self.run_cmd(argv + ["https://%s:%d%s" % (HOST, port, path)],
                            timeout=30)

    def test_sentinel_clients_find_the_master_over_tls(self):
        m, rs = self.replication_set()
        # quorum 2 (the default): the leader needs another agent's view,
        # which it asks over that agent's TLS client port (RSM VIEWS)
        ag = TlsAgents(self, self.ctx, args=[
            "--monitor", "g=%s" % ",".join(r.addr for r in [m] + rs),
            "--down-after-ms", str(DOWN_AFTER_MS),
            "--probe-interval-ms", "100"] + self.tls_args())
        ag.start()
        ag.wait_leader(timeout=15)
        ag.wait_group("g", lambda g: g["master"] == m.addr, timeout=15,
                      every=True, what="every agent records the master")
        self.assertEqual(self.discover(ag), [HOST, m.port])
        for a in ag:
            out = self.cli(a.api_port, "SENTINEL", "get-master-addr-by-name",
                           "g")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout.split(), [HOST, str(m.port)])
            out = self.curl(a.http_port, "/metrics")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("rsm_agent_id %d" % a.id, out.stdout)

        m.kill()
        g = ag.wait_group("g", lambda g: g["master"] != m.addr,
                          timeout=FAILOVER_WAIT_S, every=True,
                          what="every agent names a new master")
        new = [r for r in rs if r.addr == g["master"]]
        self.assertEqual(len(new), 1, g["master"])
        wait_until(lambda: self.discover(ag) == [HOST, new[0].port],
                   timeout=10, what="Sentinel clients find the new master")
        for a in ag:
            self.assertTrue(a.alive(), "agent %d died:\n%s" % (a.id,
                                                               a.output()))
            # the agents' own links to each other's client ports speak TLS
            self.assertEqual(a.events("tls-failed"), [], "agent %d" % a.id)

    def one_agent(self, args):
        ag = TlsAgents(self, self.ctx, n=1, args=args)
        ag.start()
        ag.wait_leader(timeout=15)
        return ag[1]

    def test_clients_refused_and_accepted(self):
        a = self.one_agent(self.tls_args(auth="yes"))
        # a plaintext client on the TLS client port: refused, nothing breaks
        with self.assertRaises((OSError, ConnectionError)):
            with Resp(a.api_port, timeout=2.0) as c:
                c.call("PING")
        wait_until(lambda: a.events("tls-failed", listener="api"),
                   what="tls-failed logged for the plaintext client")
        self.assertEqual(tls_call(self.ctx, a.api_port, "PING"), "PONG")
        # --tls-auth-clients yes: no certificate, no answer
        with self.assertRaises((OSError, ConnectionError)):
            tls_call(tls_context(self.pki, cert=False), a.api_port, "PING")
        out = self.cli(a.api_port, "PING", cert=False)
        self.assertNotIn("PONG", out.stdout)
        self.assertEqual(self.cli(a.api_port, "PING").stdout.strip(), "PONG")
        self.assertNotEqual(self.curl(a.http_port, "/healthz",
                                      cert=False).returncode, 0)
        out = self.curl(a.http_port, "/healthz")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("ok"), out.stdout)
        # a plaintext HTTP client on the HTTPS port
        out = self.run_cmd(["curl", "-sS", "--max-time", "5",
                            "http://%s:%d/healthz" % (HOST, a.http_port)])
        self.assertNotEqual(out.returncode, 0, out.stdout)
        wait_until(lambda: a.events("tls-failed", listener="http"),
                   what="tls-failed logged for the plaintext HTTP client")
        # rsmctl with its certificate
        p = self.pki
        out = self.rsmctl("status", "--agents", a.api, "--tls", "--cacert",
                          p["ca"].crt, "--cert", p["client"].crt, "--key",
                          p["client"].key)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("leader", out.stdout)
        # and without: refused, saying so
        out = self.rsmctl("status", "--agents", a.api, "--tls", "--cacert",
                          p["ca"].crt)
        self.assertEqual(out.returncode, 3, out.stdout + out.stderr)
        self.assertTrue(a.alive(), a.output())
        self.assertEqual(tls_call(self.ctx, a.api_port, "PING"), "PONG")

    def test_rsmctl_with_a_ca_only_and_sighup_reload(self):
        # the agent's certificate files, replaced later by the test
        live_crt = os.path.join(self.workdir, "live.crt")
        live_key = os.path.join(self.workdir, "live.key")
        shutil.copy(self.pki["server"].crt, live_crt)
        shutil.copy(self.pki["server"].key, live_key)
        args = self.tls_args(auth="no")
        args[args.index("--tls-cert-file") + 1] = live_crt
        args[args.index("--tls-key-file") + 1] = live_key
        a = self.one_agent(args)
        ca = self.pki["ca"].crt
        out = self.rsmctl("status", "--agents", a.api, "--tls", "--cacert", ca)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("leader", out.stdout)
        # the variables do the same
        env = dict(os.environ, RSM_TLS="1", RSM_TLS_CACERT=ca,
                   RSM_AGENT=a.api)
        out = self.rsmctl("status", env=env)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        # a CA that did not sign the agent's certificate
        out = self.rsmctl("status", "--agents", a.api, "--tls", "--cacert",
                          self.pki["otherca"].crt)
        self.assertEqual(out.returncode, 3, out.stdout + out.stderr)
        self.assertIn("certificate verify failed", out.stderr)
        noauth = tls_context(self.pki, cert=False)
        self.assertEqual(served_subject(noauth, a.api_port), "server")

        # a broken certificate: the old one is kept, and the log says why
        with open(live_crt, "w") as f:
            f.write("not a certificate\n")
        a.proc.signal(signal.SIGHUP)
        e = wait_until(lambda: a.events("tls-reload-failed"),
                       what="tls-reload-failed logged")[0]
        self.assertIn(live_crt, e["error"])
        self.assertEqual(e["context"], "server")
        self.assertEqual(served_subject(noauth, a.api_port), "server")
        self.assertEqual(tls_call(noauth, a.api_port, "PING"), "PONG")
        self.assertTrue(a.alive(), a.output())

        # a new valid certificate: new connections see it
        new = certs.make_cert(self.certs, self.pki["ca"], "server2",
                              san=["IP:127.0.0.1"])
        shutil.copy(new.key, live_key)
        shutil.copy(new.crt, live_crt)
        a.proc.signal(signal.SIGHUP)
        wait_until(lambda: a.events("tls-reloaded", context="server"),
                   what="tls-reloaded logged")
        self.assertEqual(served_subject(noauth, a.api_port), "server2")
        self.assertEqual(tls_call(noauth, a.api_port, "PING"), "PONG")
        out = self.curl(a.http_port, "/healthz", cert=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        # the group was not restarted: still the one leader, term 1
        st = a.status()
        self.assertEqual(st.get("role"), "leader")
        self.assertEqual(len(a.events("became-leader")), 1)
        self.assertEqual(len(a.events("node-started")), 1)


class TestTlsApiStart(TestCase):
    """What stops an agent at start: exit 1 naming the file for a bad
    file, exit 2 for a bad flag."""

    def setUp(self):
        super().setUp()
        self.certs = os.path.join(self.workdir, "certs")
        self.pki = certs.make_set(self.certs)

    def start(self, *args):
        argv = [binary("rsm-agent"), "--id", "1", "--peers",
                "1=%s:%d" % (HOST, free_port()), "--data-dir",
                os.path.join(self.workdir, "d"), "--http-bind", "off",
                "--api-bind", "%s:%d" % (HOST, free_port())] + list(args)
        return self.run_cmd(argv, timeout=20)

    def files(self, cert):
        return ["--tls-cert-file", cert.crt, "--tls-key-file", cert.key,
                "--tls-ca-cert-file", self.pki["ca"].crt]

    def test_bad_files_exit_1_naming_the_file(self):
        out = self.start("--tls-api", "on", *self.files(self.pki["expired"]))
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("certificate expired", out.stderr)
        self.assertIn(self.pki["expired"].crt, out.stderr)
        self.assertIn("context=server", out.stderr)
        missing = certs.Cert("missing", os.path.join(self.certs, "none.crt"),
                             self.pki["server"].key)
        out = self.start("--tls-api", "on", *self.files(missing))
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("none.crt", out.stderr)
        self.assertIn("No such file", out.stderr)
        # a TLS port and no certificate
        out = self.start("--tls-api", "on")
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("needs --tls-cert-file and --tls-key-file", out.stderr)
        # --tls-raft: the Raft port too
        out = self.start("--tls-raft", "on")
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("needs --tls-cert-file", out.stderr)
        self.assertIn("context=raft-server", out.stderr)

    def test_bad_flags_exit_2(self):
        out = self.start("--tls-auth-clients", "maybe")
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("'maybe' is not yes, no or optional", out.stderr)
        out = self.start("--tls-http", "on", *self.files(self.pki["server"]))
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("--http-bind is off", out.stderr)
        env = dict(os.environ, RSM_TLS_API="yes")
        out = self.run_cmd([binary("rsm-agent"), "--id", "1", "--peers",
                            "1=%s:%d" % (HOST, free_port()), "--data-dir",
                            os.path.join(self.workdir, "d")], env=env,
                           timeout=20)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("RSM_TLS_API: 'yes' is not on or off", out.stderr)


if __name__ == "__main__":
    unittest.main()
