"""A Kubernetes-like mini-cluster in network namespaces.

Three agents (rsm-0..2) and three Redis (redis-0..2), each process in its
own network namespace with its own address on a bridge that lives in a hub
namespace the test creates, and a per-namespace hosts file
(/etc/netns/<ns>/hosts, which `ip netns exec` mounts over /etc/hosts) that
gives the StatefulSet-style names rsm-N.rsm.<ns>.svc and
redis-N.redis.<ns>.svc. Agents run as they do in deploy/agents.yaml: the id
from the host name (each in its own UTS namespace, hostname rsm-N), peers
and monitored instances by name, the same ports everywhere. Redis is
started through `rsmctl redis-boot` as in deploy/redis.yaml.

Scenario: first bootstrap; /readyz and /metrics on leader and followers;
SIGKILL of the master -> failover; the old master back with its data ->
replica; an agent stopped, given a NEW address under the same name while
the group moves on, restarted -> it rejoins and catches up; the current
master restarted empty through redis-boot -> it waits, the agents fail
over, it comes back as a replica and no acknowledged key is lost; the
leader cut off from its peers -> its /readyz says 503, the others elect a
new leader and stay ready. Needs root and iproute2; everything it creates
(namespaces, veths, hosts files) carries the test's PID and is removed at
the end. Addresses are private (10.78.x.0/24) and exist only inside these
namespaces.
"""

import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

import promtext
from resp import Resp, RespError
from rsmtest import Proc, TestCase, binary, wait_until

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_lock = threading.Lock()

NS = "test"           # the Kubernetes namespace in the names
GROUP = "mymaster"
RAFT, API, HTTP, REDIS = 7000, 26379, 26380, 6379


def sh(*argv, check=True):
    p = subprocess.run(argv, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), p.stderr.strip()))
    return p


def can_run():
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "needs iproute2 and util-linux (unshare)"
    probe = "rsmk-probe-%d" % os.getpid()
    if sh("ip", "netns", "add", probe, check=False).returncode != 0:
        return "cannot create network namespaces here"
    sh("ip", "netns", "del", probe, check=False)
    return None


class Net:
    """The hub namespace with a bridge, and one namespace per pod."""

    def __init__(self):
        pid = os.getpid()
        self.tag = "rsmk%d" % pid
        self.subnet = "10.78.%d" % (pid % 200 + 20)
        self.hub = self.tag + "-hub"
        self.pods = {}      # pod name -> (namespace, ip)
        self.made = []
        self.hosts_dirs = []
        self._fds = {}
        self._root = os.open("/proc/self/ns/net", os.O_RDONLY)

    def up(self):
        sh("ip", "netns", "add", self.hub)
        self.made.append(self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")

    def add_pod(self, pod, host):
        ns = "%s-%s" % (self.tag, pod)
        sh("ip", "netns", "add", ns)
        self.made.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        self.pods[pod] = [ns, None]
        self.attach(pod, host)
        return ns

    def attach(self, pod, host):
        """(Re)connect a pod to the bridge with address .host."""
        ns = self.pods[pod][0]
        hub_end = "v%s%s" % (pod.replace("-", "")[-6:], host)
        sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer",
           "name", hub_end, "netns", self.hub)
        sh("ip", "-n", self.hub, "link", "set", hub_end, "master", "br0")
        sh("ip", "-n", self.hub, "link", "set", hub_end, "up")
        ip = "%s.%d" % (self.subnet, host)
        sh("ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        self.pods[pod][1] = ip

    def detach(self, pod):
        sh("ip", "-n", self.pods[pod][0], "link", "del", "eth0")

    def link(self, pod, up):
        sh("ip", "-n", self.pods[pod][0], "link", "set", "eth0",
           "up" if up else "down")

    def write_hosts(self):
        """Every namespace's hosts file, rewritten in place (running
        processes see the bind-mounted file's new content)."""
        lines = ["127.0.0.1 localhost"]
        for pod, (_, ip) in sorted(self.pods.items()):
            svc = pod.rsplit("-", 1)[0]
            lines.append("%s %s.%s.%s.svc" % (ip, pod, svc, NS))
        text = "\n".join(lines) + "\n"
        for pod, (ns, _) in self.pods.items():
            d = "/etc/netns/%s" % ns
            if d not in self.hosts_dirs:
                os.makedirs(d, exist_ok=True)
                self.hosts_dirs.append(d)
            with open(os.path.join(d, "hosts"), "w") as f:
                f.write(text)

    def name(self, pod):
        svc = pod.rsplit("-", 1)[0]
        return "%s.%s.%s.svc" % (pod, svc, NS)

    def connect(self, pod, port, timeout=1.0, host=None):
        """A TCP socket made inside the pod's namespace."""
        ns = self.pods[pod][0]
        with _lock:
            fd = self._fds.get(ns)
            if fd is None:
                fd = self._fds[ns] = os.open("/run/netns/" + ns, os.O_RDONLY)
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            try:
                return socket.create_connection((host or "127.0.0.1", port),
                                                timeout=timeout)
            finally:
                if _libc.setns(self._root, CLONE_NEWNET) != 0:
                    os._exit(3)

    def down(self):
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        for ns in reversed(self.made):
            sh("ip", "netns", "del", ns, check=False)
        for d in self.hosts_dirs:
            shutil.rmtree(d, ignore_errors=True)
        os.close(self._root)


class MiniClusterTest(TestCase):

    @classmethod
    def setUpClass(cls):
        why = can_run()
        if why:
            raise unittest.SkipTest(why)

    def setUp(self):
        super().setUp()
        self.net = Net()
        self.addCleanup(self.net.down)
        self.net.up()
        self.agents = {}
        self.redis = {}
        for i in range(3):
            self.net.add_pod("rsm-%d" % i, 11 + i)
        for i in range(3):
            self.net.add_pod("redis-%d" % i, 21 + i)
        self.net.write_hosts()
        self.password = "pw-%d" % os.getpid()
        self.pwfile = os.path.join(self.workdir, "password")
        with open(self.pwfile, "w") as f:
            f.write(self.password + "\n")
        os.chmod(self.pwfile, 0o600)

    # ---- processes -----------------------------------------------------

    def start_agent(self, i):
        pod = "rsm-%d" % i
        peers = ",".join("%d=%s:%d" % (j + 1, self.net.name("rsm-%d" % j),
                                      RAFT) for j in range(3))
        monitor = "%s=%s" % (GROUP, ",".join(
            "%s:%d" % (self.net.name("redis-%d" % j), REDIS)
            for j in range(3)))
        cmd = ("hostname %s && exec %s" % (pod, binary("rsm-agent")))
        env = dict(os.environ, RSM_ID_FROM_HOSTNAME="1", RSM_PEERS=peers,
                   RSM_RAFT_BIND="0.0.0.0:%d" % RAFT,
                   RSM_API_BIND="0.0.0.0:%d" % API,
                   RSM_HTTP_BIND="0.0.0.0:%d" % HTTP,
                   RSM_DATA_DIR=os.path.join(self.workdir, pod),
                   RSM_MONITOR=monitor, RSM_DOWN_AFTER_MS="1000",
                   RSM_MIN_FAILOVER_INTERVAL_MS="0",
                   RSM_REPOINT_GRACE_MS="1000",
                   RSM_REDIS_PASSWORD_FILE=self.pwfile)
        p = Proc(["ip", "netns", "exec", self.net.pods[pod][0], "unshare",
                  "--uts", "sh", "-c", cmd],
                 os.path.join(self.workdir, "%s.log" % pod), env=env)
        self.agents[i] = p
        self._procs.append(p)
        return p

    def start_redis(self, i, wipe=False):
        pod = "redis-%d" % i
        d = os.path.join(self.workdir, pod)
        if wipe and os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "redis.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind 0.0.0.0\nprotected-mode no\ndir %s\n"
                    "appendonly no\nsave 3600 1\nlogfile \"\"\n"
                    "repl-ping-replica-period 1\nrepl-timeout 5\n"
                    "repl-diskless-sync-delay 0\n"
                    "requirepass \"%s\"\nmasterauth \"%s\"\n" %
                    (REDIS, d, self.password, self.password))
        os.chmod(conf, 0o600)
        agents = ",".join("%s:%d" % (self.net.name("rsm-%d" % j), API)
                          for j in range(3))
        argv = ["ip", "netns", "exec", self.net.pods[pod][0],
                binary("rsmctl"), "redis-boot", "--agents", agents,
                "--group", GROUP, "--self",
                "%s:%d" % (self.net.name(pod), REDIS), "--data-dir", d,
                "--poll-ms", "200", "--", "redis-server", conf]
        p = Proc(argv, os.path.join(d, "boot.log"))
        self.redis[i] = p
        self._procs.append(p)
        return p

    # ---- queries -------------------------------------------------------

    def rcall(self, pod, *args, port=REDIS, password=None):
        c = Resp(sock=self.net.connect(pod, port), password=password)
        try:
            return c.call(*args)
        finally:
            c.close()

    def redis_call(self, i, *args):
        return self.rcall("redis-%d" % i, *args, password=self.password)

    def redis_info(self, i):
        out = {}
        for line in self.redis_call(i, "INFO", "replication").splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                out[k] = v.strip()
        return out

    def redis_up(self, i):
        try:
            return self.redis_call(i, "PING") == "PONG"
        except (OSError, RespError, ConnectionError):
            return False

    def status(self, i):
        return json.loads(self.rcall("rsm-%d" % i, "RSM", "STATUS", port=API))

    def safe_status(self, i):
        try:
            return self.status(i)
        except (OSError, ValueError, ConnectionError, RespError):
            return None

    def committed(self, i):
        st = self.safe_status(i)
        for g in (st or {}).get("groups", []):
            if g["name"] == GROUP:
                return g["master"]
        return None

    def leader(self, among=(0, 1, 2)):
        for i in among:
            st = self.safe_status(i)
            if st and st["role"] == "leader":
                return i
        return None

    def http(self, i, path):
        c = http.client.HTTPConnection("127.0.0.1", HTTP, timeout=2)
        c.sock = self.net.connect("rsm-%d" % i, HTTP)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def master_index(self, among=(0, 1, 2)):
        name = None
        for i in among:
            name = self.committed(i) or name
        for j in range(3):
            if name == "%s:%d" % (self.net.name("redis-%d" % j), REDIS):
                return j
        return None

    def linked(self, i, m):
        try:
            inf = self.redis_info(i)
        except (OSError, RespError, ConnectionError):
            return False
        return (inf.get("role") == "slave" and inf.get("master_host") ==
                self.net.name("redis-%d" % m) and
                inf.get("master_link_status") == "up")

    def wait_group(self, m, others, timeout=30):
        for j in others:
            wait_until(lambda j=j: self.linked(j, m), timeout=timeout,
                       what="redis-%d replica of redis-%d" % (j, m))

    # ---- the scenario --------------------------------------------------

    def test_minicluster(self):
        t_all = time.monotonic()
        for i in range(3):
            self.start_agent(i)
        for i in range(3):
            self.start_redis(i)
        wait_until(lambda: all(self.committed(i) for i in range(3)),
                   timeout=40, what="a master committed on every agent")
        m = self.master_index()
        self.wait_group(m, [j for j in range(3) if j != m])
        for i in range(3):
            wait_until(lambda i=i: self.http(i, "/readyz")[0] == 200,
                       timeout=10, what="rsm-%d ready" % i)
        lead = self.leader()
        self.assertIsNotNone(lead)
        ids = {i: self.status(i)["id"] for i in range(3)}
        self.assertEqual(ids, {0: 1, 1: 2, 2: 3})  # from the host names
        for i in range(3):
            st, body = self.http(i, "/metrics")
            self.assertEqual(st, 200)
            fams = promtext.parse(body)
            promtext.second_opinion(body)
            self.assertEqual(fams["rsm_raft_state"].get(state="leader"),
                             1 if i == lead else 0)
            self.assertEqual(fams["rsm_group_master"].get(
                group=GROUP, master="%s:%d" % (self.net.name("redis-%d" % m),
                                               REDIS)), 1)

        # Writes that must survive everything below.
        for k in range(300):
            self.redis_call(m, "SET", "key%d" % k, "v%d" % k)
        wait_until(lambda: all(self.redis_call(j, "DBSIZE") == 300
                               for j in range(3)), timeout=10,
                   what="every replica has the keys")

        # 1. SIGKILL the master: the agents fail over.
        t0 = time.monotonic()
        self.redis[m].kill()
        wait_until(lambda: self.master_index() not in (None, m), timeout=30,
                   what="a failover")
        m2 = self.master_index()
        print("failover after SIGKILL: %.2f s" % (time.monotonic() - t0))
        self.assertEqual(self.redis_call(m2, "GET", "key299"), "v299")
        # the old master back with its data: a replica of the new one
        self.start_redis(m)
        self.wait_group(m2, [j for j in range(3) if j != m2])

        # 2. An agent (not the leader) stopped and moved to a new address
        #    under the same name, while the group goes on without it.
        lead = self.leader()
        moved = [i for i in range(3) if i != lead][0]
        self.agents[moved].stop()
        self.net.detach("rsm-%d" % moved)
        self.net.attach("rsm-%d" % moved, 31 + moved)
        self.net.write_hosts()

        # 3. Meanwhile the current master restarts empty through
        #    redis-boot: it must wait, then come back as a replica.
        self.redis[m2].kill()
        t0 = time.monotonic()
        self.start_redis(m2, wipe=True)
        alive = [i for i in range(3) if i != moved]
        wait_until(lambda: "boot-wait" in self.redis[m2].output(),
                   timeout=15, what="redis-boot waits")
        self.assertFalse(self.redis_up(m2), "an empty master must not start")
        wait_until(lambda: self.master_index(alive) not in (None, m2),
                   timeout=30, what="the failover away from the empty master")
        m3 = self.master_index(alive)
        wait_until(lambda: self.linked(m2, m3), timeout=30,
                   what="the emptied master back as a replica")
        print("empty master back as a replica: %.2f s" %
              (time.monotonic() - t0))
        for j in range(3):
            wait_until(lambda j=j: self.redis_call(j, "DBSIZE") == 300,
                       timeout=20, what="redis-%d has all 300 keys" % j)
        self.assertEqual(self.redis_call(m2, "GET", "key0"), "v0")

        # The moved agent comes back at its new address and catches up.
        t0 = time.monotonic()
        self.start_agent(moved)
        want = "%s:%d" % (self.net.name("redis-%d" % m3), REDIS)
        try:
            wait_until(lambda: self.committed(moved) == want, timeout=30,
                       what="the moved agent caught up")
        except AssertionError:
            for i in range(3):
                print("rsm-%d" % i, sh("ip", "netns", "exec",
                      self.net.pods["rsm-%d" % i][0], "ss", "-tnoi").stdout)
            raise
        wait_until(lambda: self.http(moved, "/readyz")[0] == 200,
                   timeout=10, what="the moved agent ready")
        st = self.status(moved)
        self.assertTrue(st["leader"])
        print("agent at its new address rejoined: %.2f s" %
              (time.monotonic() - t0))

        # 4. The leader cut off from its peers: 503 there, 200 elsewhere.
        lead = self.leader()
        others = [i for i in range(3) if i != lead]
        self.net.link("rsm-%d" % lead, False)
        t0 = time.monotonic()
        wait_until(lambda: self.http(lead, "/readyz")[0] == 503,
                   timeout=15, what="the cut-off leader not ready")
        print("cut-off leader not ready after %.2f s" %
              (time.monotonic() - t0))
        wait_until(lambda: self.leader(others) is not None, timeout=15,
                   what="a new leader among the others")
        for i in others:
            wait_until(lambda i=i: self.http(i, "/readyz")[0] == 200,
                       timeout=10, what="rsm-%d ready" % i)
            self.assertEqual(self.http(i, "/healthz")[0], 200)
        self.assertEqual(self.http(lead, "/healthz")[0], 200)
        st, body = self.http(lead, "/readyz")
        self.assertIn("no leader known", body)
        self.net.link("rsm-%d" % lead, True)
        wait_until(lambda: self.http(lead, "/readyz")[0] == 200, timeout=15,
                   what="healed agent ready again")

        for i in range(3):
            self.assertTrue(self.agents[i].alive(), "rsm-%d died" % i)
            self.assertEqual(self.agents[i].stop(), 0)
        print("mini-cluster scenario: %.1f s" % (time.monotonic() - t_all))


if __name__ == "__main__":
    unittest.main()
