"""The agent's HTTP port against real agents and real redis-servers on
loopback: /healthz, /readyz and /metrics (checked by promtext, a strict
Prometheus text-format parser, and by prometheus_client's parser when it is
installed) on the leader and on followers, through a failover, and on an
agent left alone when its peers stop. Bad requests get 400 and a closed
connection.
"""

import http.client
import json
import math
import os
import signal
import socket
import time
import unittest

import promtext
from agentset import Agents
from rsmtest import HOST, Proc, TestCase, binary, call, free_port, wait_until

GROUP = "g"


def get(port, path, method="GET", timeout=3.0):
    """(status, headers dict, body text) of one request."""
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        body = r.read().decode()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def raw(port, data, timeout=3.0):
    """Send raw bytes; return everything read until the server closes."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out.decode(errors="replace")
            out += chunk
    finally:
        s.close()


def metrics(port):
    status, headers, body = get(port, "/metrics")
    if status != 200:
        raise AssertionError("/metrics: %d %s" % (status, body))
    if not headers["content-type"].startswith("text/plain; version=0.0.4"):
        raise AssertionError("content type %r" % headers["content-type"])
    fams = promtext.parse(body)
    promtext.second_opinion(body)
    return fams


class HttpApiTest(TestCase):

    def setUp(self):
        super().setUp()
        self.m, self.rs = self.replication_set(replicas=2)
        self.addrs = [self.m.addr] + [r.addr for r in self.rs]
        self.agents = Agents(self, 3, "%s=%s" % (GROUP, ",".join(self.addrs)))
        self.agents.start_all()
        wait_until(lambda: all(self.committed(i) == self.m.addr
                               for i in self.agents.ids),
                   timeout=20, what="every agent has the master committed")

    def committed(self, i):
        try:
            for g in self.agents.status(i)["groups"]:
                if g["name"] == GROUP:
                    return g["master"]
        except (OSError, ValueError):
            pass
        return None

    def test_probes_and_metrics_on_leader_and_followers(self):
        ag = self.agents
        leader = ag.leader()
        self.assertIsNotNone(leader)
        # The leader probes every instance: wait until all are up.
        wait_until(lambda: metrics(ag.http[leader])["rsm_group_instances"]
                   .get(group=GROUP, state="up") == 3,
                   timeout=10, what="the leader sees 3 instances up")
        # A follower starts probing the master once it has applied it.
        for i in ag.ids:
            wait_until(lambda i=i: metrics(ag.http[i])["rsm_instance_up"].get(
                group=GROUP, instance=self.m.addr) == 1, timeout=10,
                what="agent %d probed the master" % i)
        for i in ag.ids:
            with self.subTest(agent=i):
                st, _, body = get(ag.http[i], "/healthz")
                self.assertEqual(st, 200)
                self.assertTrue(body.startswith("ok"))
                st, _, body = get(ag.http[i], "/readyz")
                self.assertEqual(st, 200, body)
                self.assertTrue(body.startswith("ready: "), body)
                f = metrics(ag.http[i])
                is_leader = i == leader
                self.assertEqual(f["rsm_agent_id"].get(), i)
                self.assertEqual(f["rsm_raft_state"].get(state="leader"),
                                 1 if is_leader else 0)
                self.assertEqual(f["rsm_raft_state"].get(state="follower"),
                                 0 if is_leader else 1)
                self.assertEqual(f["rsm_raft_has_leader"].get(), 1)
                self.assertEqual(f["rsm_raft_leader_id"].get(), leader)
                self.assertEqual(f["rsm_monitor_acting"].get(),
                                 1 if is_leader else 0)
                self.assertGreaterEqual(f["rsm_raft_commit_index"].get(), 1)
                self.assertEqual(f["rsm_raft_members"].get(), 3)
                self.assertEqual(f["rsm_group_master"].get(
                    group=GROUP, master=self.m.addr), 1)
                self.assertEqual(len(f["rsm_group_master"].samples), 1)
                self.assertEqual(f["rsm_group_epoch"].get(group=GROUP), 0)
                self.assertEqual(f["rsm_group_failovers_total"].get(
                    group=GROUP, result="completed"), 0)
                # the leader keeps a link to each follower's API (views)
                self.assertEqual(f["rsm_api_clients"].get(),
                                 0 if is_leader else 1)
                self.assertEqual(f["rsm_http_clients"].get(), 1)
                inst = f["rsm_instance_up"]
                if is_leader:
                    for a in self.addrs:
                        self.assertEqual(inst.get(group=GROUP, instance=a), 1)
                    self.assertEqual(f["rsm_group_master_status"].get(
                        group=GROUP, status="ok"), 1)
                else:
                    # a follower probes the committed master only
                    self.assertEqual([s[1]["instance"] for s in inst.samples],
                                     [self.m.addr])
                    self.assertEqual(f["rsm_group_master_status"].samples, [])
                h = f["rsm_probe_duration_seconds"]
                count = h.get("rsm_probe_duration_seconds_count", group=GROUP)
                self.assertGreater(count, 0)
                self.assertEqual(h.get("rsm_probe_duration_seconds_bucket",
                                       group=GROUP, le="+Inf"), count)
                self.assertLess(h.get("rsm_probe_duration_seconds_sum",
                                      group=GROUP) / count, 0.1)

    def test_bad_requests(self):
        port = self.agents.http[1]
        st, headers, body = get(port, "/metrics", method="HEAD")
        self.assertEqual(st, 200)
        self.assertEqual(body, "")
        self.assertGreater(int(headers["content-length"]), 1000)
        self.assertEqual(get(port, "/nope")[0], 404)
        st, headers, _ = get(port, "/metrics", method="POST")
        self.assertEqual(st, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")
        for bad in (b"GET /metrics HTTP/1.1\r\nHost\r\n\r\n",
                    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
                    b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n"):
            out = raw(port, bad)  # returns only once the server closes
            self.assertRegex(out, r"^HTTP/1\.1 4\d\d ")
            self.assertIn("Connection: close\r\n", out)
        # keep-alive: two requests on one connection
        c = http.client.HTTPConnection(HOST, port, timeout=3)
        for path in ("/healthz", "/readyz"):
            c.request("GET", path)
            self.assertEqual(c.getresponse().read()[:2], b"ok" if
                             path == "/healthz" else b"re")
        c.close()
        self.assertTrue(self.agents.procs[1].alive())

    def test_failover_counted_everywhere_and_lone_agent_not_ready(self):
        ag = self.agents
        self.m.kill()
        wait_until(lambda: all(self.committed(i) not in (None, self.m.addr)
                               for i in ag.ids),
                   timeout=20, what="the failover committed everywhere")
        new = self.committed(1)

        def done(i):
            f = metrics(ag.http[i])
            return f["rsm_group_failovers_total"].get(
                group=GROUP, result="completed") == 1 and \
                f["rsm_group_failover_in_flight"].get(group=GROUP) == 0
        for i in ag.ids:
            wait_until(lambda i=i: done(i), timeout=20,
                       what="agent %d counted the failover" % i)
            f = metrics(ag.http[i])
            self.assertEqual(f["rsm_group_master"].get(group=GROUP,
                                                       master=new), 1)
            self.assertEqual(f["rsm_group_epoch"].get(group=GROUP), 1)
            d = f["rsm_group_last_failover_duration_seconds"].get(group=GROUP)
            self.assertTrue(0 <= d < 30, d)
            ts = f["rsm_group_last_failover_end_timestamp_seconds"].get(
                group=GROUP)
            self.assertLess(abs(ts - time.time()), 60)
        leader = ag.leader()
        wait_until(lambda: metrics(ag.http[leader])["rsm_instance_up"].get(
            group=GROUP, instance=self.m.addr) == 0, timeout=10,
            what="the leader reports the old master down")
        f = metrics(ag.http[leader])
        self.assertGreater(f["rsm_probe_failures_total"].get(group=GROUP), 0)

        # Alone: stop the two others; the last one loses its leader.
        lone = [i for i in ag.ids if i != leader][0]
        for i in ag.ids:
            if i != lone:
                ag.procs[i].stop()
        t0 = time.monotonic()
        wait_until(lambda: get(ag.http[lone], "/readyz")[0] == 503,
                   timeout=15, what="the lone agent is not ready")
        took = time.monotonic() - t0
        st, _, body = get(ag.http[lone], "/readyz")
        self.assertEqual(st, 503)
        self.assertIn("no leader known", body)
        self.assertEqual(get(ag.http[lone], "/healthz")[0], 200)
        f = metrics(ag.http[lone])
        self.assertEqual(f["rsm_raft_has_leader"].get(), 0)
        self.assertEqual(f["rsm_raft_state"].get(state="leader"), 0)
        print("lone agent not ready %.2f s after its peers stopped" % took)


class HttpBindTest(TestCase):

    def agent(self, *extra):
        api, raft = free_port(), free_port()
        argv = [binary("rsm-agent"), "--id", "1",
                "--peers", "1=%s:%d" % (HOST, raft),
                "--data-dir", os.path.join(self.workdir, "a"),
                "--api-bind", "%s:%d" % (HOST, api)] + list(extra)
        p = Proc(argv, os.path.join(self.workdir, "agent.log"))
        self._procs.append(p)
        return p, api

    def test_explicit_port_in_use_fails_off_disables(self):
        s = socket.socket()
        s.bind((HOST, 0))
        s.listen(1)
        try:
            p, _ = self.agent("--http-bind", "%s:%d" % (HOST,
                                                        s.getsockname()[1]))
            self.assertEqual(p.p.wait(10), 1)
            self.assertIn("start-failed", p.output())
            self.assertIn("http listen", p.output())
        finally:
            s.close()
        p, api = self.agent("--http-bind", "off")
        wait_until(lambda: call(api, "PING") == "PONG", timeout=10,
                   what="agent up")
        self.assertNotIn("http-listening", p.output())
        self.assertEqual(p.stop(), 0)
        p, _ = self.agent("--http-bind", "%s:nope" % HOST)
        self.assertEqual(p.p.wait(10), 2)


if __name__ == "__main__":
    unittest.main()
