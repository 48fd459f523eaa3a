"""rsmtest - shared harness for integration tests with real processes.

Every process is started here, tracked by PID and stopped by PID (never by
name). Ports come from the kernel (bind to port 0 on 127.0.0.1), so tests
running in parallel do not collide. Only loopback addresses are used.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

# The RESP2 client (resp.py, shared with test_minicluster and scripts/),
# re-exported: tests import Resp, RespError and call from here.
from rsmparse import parse_info, parse_logfmt, poll  # noqa: F401
from resp import Resp, RespError, call  # noqa: F401

HOST = "127.0.0.1"
BUILD_DIR = os.environ.get(
    "RSM_BUILD_DIR",
    os.path.join(os.path.dirname(__file__), "..", "..", "build"))


def binary(name, build_dir=None):
    """Path of a built binary (rsmctl, rsm-agent) of build_dir (default:
    the build under test)."""
    path = os.path.join(build_dir or BUILD_DIR, name)
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest  # never reached in CI: ctest builds first
    return path


# The test-only fault points of each binary (compiled with
# -DRSM_TEST_FAULTS=ON only): the environment variables that switch them
# on and the events they log. A release build holds none of these strings.
TEST_FAULT_NAMES = {
    "rsm-agent": ("RSM_FAULT_CRASH_AFTER_DECIDE", "fault-crash-after-decide",
                  "RSM_BENCH_APPLIES", "bench-apply"),
    "rsmctl": ("RSM_TEST_DNS_SERVER",),
}


def fault_names_in(name, build_dir=None):
    """Which of TEST_FAULT_NAMES[name] the binary holds (as `strings`
    would find them: anywhere in the file)."""
    with open(binary(name, build_dir), "rb") as f:
        data = f.read()
    return [n for n in TEST_FAULT_NAMES[name] if n.encode() in data]


def require_test_faults(tc, name="rsm-agent"):
    """Fail tc (never skip) unless the binary under test has its test-only
    fault points: a test that relies on them would otherwise time out or,
    worse, pass without checking anything."""
    found = fault_names_in(name)
    if len(found) != len(TEST_FAULT_NAMES[name]):
        tc.fail("%s in %s was built without the test-only fault points "
                "(configure with -DRSM_TEST_FAULTS=ON, as scripts/test.sh "
                "does)" % (name, BUILD_DIR))


_reserved = set()


def free_port():
    """A loopback TCP port nobody listens on right now (and that this
    process has not handed out before)."""
    while True:
        s = socket.socket()
        s.bind((HOST, 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _reserved and port + 10000 < 65536:
            _reserved.add(port)
            return port


def pairs(flat):
    """A flat [k1, v1, k2, v2, ...] reply (Sentinel's, HELLO's) as a
    dict."""
    if flat is None:
        return None
    it = iter(flat)
    return dict(zip(it, it))


def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    return poll(pred, timeout, what, interval)


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------
class Proc:
    """A child process we started; stopped by PID only."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=self.log,
                                  stdin=subprocess.DEVNULL, env=env)
        self.pid = self.p.pid
        self.stopped = False

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=None, timeout=10.0):
        # (the default cannot be signal.SIGTERM: in this class body the name
        # `signal` is the method above)
        if sig is None:
            sig = signal.SIGTERM
        if self.stopped:
            return self.p.returncode
        if self.p.poll() is None:
            try:
                os.kill(self.pid, signal.SIGCONT)
                os.kill(self.pid, sig)
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
            except ProcessLookupError:
                pass
        self.stopped = True
        self.log.close()
        return self.p.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    # Defined after stop(): inside the class body this name would hide the
    # signal module from stop()'s default argument.
    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Redis:
    """One redis-server on 127.0.0.1:<port> in its own directory."""

    def __init__(self, workdir, port=None, password=None, extra=(),
                 replicaof=None, priority=None):
        self.port = port or free_port()
        self.dir = os.path.join(workdir, "redis-%d" % self.port)
        os.makedirs(self.dir, exist_ok=True)
        self.password = password
        self.extra = list(extra)
        self.replicaof = replicaof
        self.priority = priority
        self.proc = None

    @property
    def addr(self):
        return "%s:%d" % (HOST, self.port)

    def start(self):
        conf = [
            "port %d" % self.port, "bind %s" % HOST, "dir %s" % self.dir,
            "save \"\"", "appendonly no", "daemonize no",
            "repl-ping-replica-period 1", "repl-timeout 5",
            "repl-diskless-sync-delay 0",  # replicas link in ms, not 5 s
            "protected-mode no", "logfile \"\"",
        ]
        if self.password:
            conf += ["requirepass %s" % self.password,
                     "masterauth %s" % self.password]
        if self.replicaof:
            conf.append("replicaof %s %d" % (HOST, self.replicaof))
        if self.priority is not None:
            conf.append("replica-priority %d" % self.priority)
        conf += self.extra
        path = os.path.join(self.dir, "redis.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        os.chmod(path, 0o600)  # may hold a password
        self.proc = Proc(["redis-server", path],
                         os.path.join(self.dir, "redis.log"))
        wait_until(lambda: self.call("PING") == "PONG", timeout=10,
                   what="redis %d up" % self.port)
        return self

    def call(self, *args, timeout=2.0):
        return call(self.port, *args, timeout=timeout, password=self.password)

    def info(self, section="replication"):
        return parse_info(self.call("INFO", section))

    def linked_to(self, master_port):
        i = self.info()
        return (i.get("role") == "slave"
                and int(i.get("master_port", 0)) == master_port
                and i.get("master_link_status") == "up")

    def pause(self):
        """SIGSTOP: the kernel still accepts connections, nothing answers."""
        self.proc.signal(signal.SIGSTOP)

    def resume(self):
        self.proc.signal(signal.SIGCONT)

    def write_keys(self, prefix, n, value_size=16, batch=200):
        """SET prefix0..prefix<n-1> to values of value_size bytes,
        pipelined in batches on one connection."""
        value = "v" * value_size
        with Resp(self.port, password=self.password) as c:
            for start in range(0, n, batch):
                end = min(n, start + batch)
                for i in range(start, end):
                    c.send("SET", "%s%d" % (prefix, i), value)
                for i in range(start, end):
                    c.read()

    def commandstats(self):
        """{command: calls} from INFO commandstats."""
        out = {}
        for k, v in self.info("commandstats").items():
            if k.startswith("cmdstat_"):
                fields = dict(f.split("=", 1) for f in v.split(","))
                out[k[len("cmdstat_"):]] = int(fields["calls"])
        return out

    def offset(self):
        """The replication offset that ranking uses."""
        i = self.info()
        key = "slave_repl_offset" if i.get("role") == "slave" \
            else "master_repl_offset"
        return int(i[key])

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            self.proc.stop(sig)

    def kill(self):
        if self.proc:
            self.proc.kill()


class TestCase(unittest.TestCase):
    """Base class: a temp dir and a list of things to stop at the end."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="rsm-it-")
        self._procs = []

    def tearDown(self):
        for p in reversed(self._procs):
            try:
                p.stop(signal.SIGKILL)
            except Exception:
                pass
        if not os.environ.get("RSM_KEEP_TMP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def redis(self, **kw):
        r = Redis(self.workdir, **kw)
        self._procs.append(r)
        return r.start()

    def group_agents(self, members, args=(), **kw):
        """3 agents watching group "g" = members (master first) with the
        flags args; returns once every agent records the master. kw go
        to Agents (election_ms, heartbeat_ms, env, ...)."""
        ag = Agents(self, 3, args=["--monitor", "g=%s" % ",".join(
            r.addr for r in members)] + list(args), **kw)
        ag.start()
        ag.wait_leader(timeout=15)
        m = members[0]
        ag.wait_group("g", lambda g: g["master"] == m.addr, timeout=15,
                      every=True, what="every agent records the master")
        return ag

    def replication_set(self, replicas=2, **kw):
        """Start 1 master + N replicas; wait until every link is up."""
        m = self.redis(**kw)
        rs = [self.redis(replicaof=m.port, **kw) for _ in range(replicas)]
        for r in rs:
            wait_until(lambda r=r: r.linked_to(m.port), timeout=15,
                       what="replica %d linked" % r.port)
        return m, rs

    def wait_replicated(self, m, rs, timeout=15):
        """Wait until every replica in rs has everything m wrote (its
        offset equals m's). Redis replicates asynchronously: a write the
        master acknowledged may not have left it yet."""
        wait_until(lambda: all(r.offset() == m.offset() for r in rs),
                   timeout=timeout, what="replicas caught up with %s" % m.addr)

    def rsmctl(self, *args, timeout=60, env=None):
        """Run build/rsmctl with args; returns CompletedProcess (text)."""
        return self.run_cmd([binary("rsmctl")] + [str(a) for a in args],
                            timeout=timeout, env=env)

    def redis_cli(self, port, *args, password=None, timeout=30):
        """Run redis-cli -p port args...; the password, if any, goes in
        REDISCLI_AUTH, never in the arguments. Returns CompletedProcess."""
        env = dict(os.environ)
        if password is not None:
            env["REDISCLI_AUTH"] = password
        return self.run_cmd(["redis-cli", "-h", HOST, "-p", str(port)]
                            + [str(a) for a in args], timeout=timeout,
                            env=env)

    def run_cmd(self, argv, timeout=60, env=None, input=None):
        """Run a command to completion; returns CompletedProcess (text)."""
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, env=env, input=input)


# --------------------------------------------------------------------------
# DNS
# --------------------------------------------------------------------------
class SrvResponder:
    """A tiny DNS server on 127.0.0.1 (UDP, kernel-chosen port) answering
    SRV queries from a fixed table {name: [(priority, weight, port,
    target), ...]}; any other query gets NXDOMAIN. Runs in a thread of the
    test process; close() stops it."""

    def __init__(self, records):
        import threading
        self.records = {k.rstrip(".").lower(): v for k, v in records.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def addr(self):
        return "%s:%d" % (HOST, self.port)

    @staticmethod
    def _name(labels):
        out = b""
        for part in labels.split("."):
            if part:
                out += bytes([len(part)]) + part.encode()
        return out + b"\0"

    def _answer(self, q):
        import struct
        tid, _flags, qd = struct.unpack(">HHH", q[:6])
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode().lower())
            i += 1 + q[i]
        qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
        question = q[12:i + 5]
        name = ".".join(labels)
        self.queries.append((name, qtype))
        recs = self.records.get(name) if qtype == 33 else None
        if recs is None:
            return struct.pack(">HHHHHH", tid, 0x8183, 1, 0, 0, 0) + question
        out = struct.pack(">HHHHHH", tid, 0x8580, 1, len(recs), 0, 0)
        out += question
        for prio, weight, port, target in recs:
            rdata = struct.pack(">HHH", prio, weight, port) + self._name(target)
            out += b"\xc0\x0c" + struct.pack(">HHIH", 33, 1, 30, len(rdata))
            out += rdata
        return out

    def _serve(self):
        while not self._stop:
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self._answer(q), peer)
            except (IndexError, ValueError, OSError):
                pass

    def close(self):
        self._stop = True
        self._thread.join()
        self.sock.close()


# --------------------------------------------------------------------------
# rsm-agent groups
# --------------------------------------------------------------------------


class Agent:
    """One rsm-agent of an Agents group: fixed id, ports and data dir.
    Every start is a new process with its own log file; events() reads the
    logs of every start, oldest first."""

    def __init__(self, group, id_):
        self.group = group
        self.id = id_
        # Its address: 127.0.0.1 unless a test gives each agent its own
        # loopback address (e.g. certificates naming each member).
        self.host = HOST
        self.raft_port = free_port()
        self.api_port = free_port()
        self.data_dir = os.path.join(group.tc.workdir, "agent%d" % id_)
        self.proc = None
        self.procs = []

    @property
    def api(self):
        return "%s:%d" % (self.host, self.api_port)

    def member_addr(self):
        return "%s:%d/%d" % (self.host, self.raft_port, self.api_port)

    def argv(self, extra=()):
        g = self.group
        rest = [str(a) for a in g.args] + [str(a) for a in extra]
        # The HTTP port defaults to 0.0.0.0:26380: tests stay on loopback
        # and never share a fixed port, so it is off unless a test asks.
        if "--http-bind" not in rest:
            rest += ["--http-bind", "off"]
        return [binary("rsm-agent", g.build_dir), "--id", str(self.id),
                "--peers", g.peers(),
                "--raft-bind", "%s:%d" % (self.host, self.raft_port),
                "--api-bind", self.api, "--data-dir", self.data_dir,
                "--election-timeout-ms", str(g.election_ms),
                "--heartbeat-timeout-ms", str(g.heartbeat_ms), *rest]

    def start(self, extra=(), env=None):
        """Start (or restart) this agent. env: extra variables on top of
        the group's and the test process's environment."""
        e = dict(os.environ)
        e.update(self.group.env)
        if env:
            e.update(env)
        log = os.path.join(self.group.tc.workdir, "agent%d.%d.log"
                           % (self.id, len(self.procs) + 1))
        self.proc = Proc(self.argv(extra), log, env=e)
        self.procs.append(self.proc)
        self.group.tc._procs.append(self.proc)
        return self

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None:
            return self.proc.stop(sig)
        return None

    def kill(self):
        return self.stop(signal.SIGKILL)

    def call(self, *args, timeout=2.0):
        return call(self.api_port, *args, host=self.host, timeout=timeout,
                    password=self.group.password)

    def status(self):
        """RSM STATUS as a dict."""
        import json
        return json.loads(self.call("RSM", "STATUS"))

    def group_status(self, name):
        """The replicated state of group `name` from this agent's status,
        or None if it has none yet."""
        for g in self.status().get("groups", []):
            if g.get("name") == name:
                return g
        return None

    def output(self):
        return "".join(p.output() for p in self.procs)

    def events(self, event=None, **fields):
        """Parsed log lines of every start of this agent, oldest first,
        optionally only those with this event name and field values."""
        out = []
        for p in self.procs:
            for line in p.output().splitlines():
                e = parse_logfmt(line)
                if not e:
                    continue
                if event is not None and e["event"] != event:
                    continue
                if all(e.get(k) == str(v) for k, v in fields.items()):
                    out.append(e)
        return out


class Agents:
    """N rsm-agent processes on loopback forming one Raft group: ports from
    free_port(), data dirs in the test's temp dir, peers given as
    "id=127.0.0.1:raft/api". Every process is registered with the TestCase,
    so tearDown stops it by PID. With `password`, every call() starts
    with AUTH (for agents started with --requirepass-file).

        ag = Agents(self, 3, args=["--monitor", "g=127.0.0.1:7000,..."])
        ag.start()
        leader = ag.wait_leader()
    """

    def __init__(self, tc, n=3, args=(), env=None, election_ms=300,
                 heartbeat_ms=30, password=None, build_dir=None):
        self.tc = tc
        self.build_dir = build_dir  # of rsm-agent; None: the build under test
        self.password = password  # for AUTH on the agents' API, if set
        self.args = list(args)
        self.env = dict(env or {})
        self.election_ms = election_ms
        self.heartbeat_ms = heartbeat_ms
        self.agents = {i: Agent(self, i) for i in range(1, n + 1)}

    def __iter__(self):
        return iter(self.agents.values())

    def __getitem__(self, id_):
        return self.agents[id_]

    def peers(self):
        return ",".join("%d=%s" % (a.id, a.member_addr()) for a in self)

    def start(self):
        for a in self:
            a.start()
        return self

    def alive(self):
        return [a for a in self if a.alive()]

    def stop(self, sig=signal.SIGTERM):
        for a in self.alive():
            a.stop(sig)

    def statuses(self):
        """{agent: status} of every live agent that answers."""
        out = {}
        for a in self.alive():
            try:
                out[a] = a.status()
            except (OSError, RespError, ConnectionError, ValueError):
                pass
        return out

    def leader(self):
        """The agent every live agent names as leader, once it says it is
        the leader itself; None otherwise."""
        sts = self.statuses()
        if not sts or len(sts) < len(self.alive()):
            return None
        ids = {(s.get("leader") or {}).get("id") for s in sts.values()}
        if len(ids) != 1 or None in ids:
            return None
        lid = ids.pop()
        ld = self.agents.get(lid)
        if ld is None or ld not in sts or sts[ld].get("role") != "leader":
            return None
        return ld

    def wait_leader(self, timeout=15, other_than=None):
        def pred():
            ld = self.leader()
            return ld if ld is not None and ld is not other_than else None
        return wait_until(pred, timeout=timeout, interval=0.02,
                          what="an agreed agent leader")

    def group_status(self, name):
        """Group `name` as the first live agent that answers reports it
        (the leader first), or None."""
        ld = self.leader()
        order = sorted(self.alive(), key=lambda a: a is not ld)
        for a in order:
            try:
                return a.group_status(name)
            except (OSError, RespError, ConnectionError, ValueError):
                continue
        return None

    def wait_group(self, name, pred, timeout=15, what=None, every=False):
        """Wait until pred(group status) holds (on every live agent if
        every=True); returns the group status."""
        def check():
            if every:
                gs = [a.group_status(name) for a in self.alive()]
                if gs and all(g is not None and pred(g) for g in gs):
                    return gs[0]
                return None
            g = self.group_status(name)
            return g if g is not None and pred(g) else None
        return wait_until(check, timeout=timeout, interval=0.05,
                          what=what or "group %s condition" % name)

    def events(self, event=None, **fields):
        """[(agent, event dict)] across every agent's logs."""
        return [(a, e) for a in self for e in a.events(event, **fields)]


class RoleWatcher:
    """Polls INFO replication on some Redis instances from a thread, every
    `interval` s, and keeps what it saw: at each sample the set of ports
    answering role:master. Instances that do not answer (killed, stopped)
    are skipped for that sample.

    The reads of one sample are one after the other: a switchover that
    demotes a and then promotes b between the read of a and the read of b
    would show both as masters. So a sample with several masters is read
    again at once in the reverse order and keeps only the ports that
    answer master both times (one such swap cannot fool both orders);
    ever_master still counts every master read.

        w = RoleWatcher([m, r1, r2]).start()
        ...
        w.stop()
        w.max_masters, w.ever_master
    """

    def __init__(self, redises, interval=0.02, timeout=0.2):
        import threading
        self.redises = list(redises)
        self.interval = interval
        self.timeout = timeout
        self.samples = []          # (monotonic time, frozenset of ports)
        self._ever = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._conns = {}

    def start(self):
        self._thread.start()
        return self

    def _role(self, r):
        c = self._conns.get(r.port)
        try:
            if c is None:
                c = Resp(r.port, timeout=self.timeout, password=r.password)
                self._conns[r.port] = c
            return parse_info(c.call("INFO", "replication")).get("role")
        except (OSError, RespError, ConnectionError):
            if c is not None:
                c.close()
            self._conns.pop(r.port, None)
            return None

    def _masters(self, redises):
        return frozenset(r.port for r in redises
                         if self._role(r) == "master")

    def _run(self):
        while not self._stop.is_set():
            t = time.monotonic()
            masters = self._masters(self.redises)
            self._ever |= masters
            if len(masters) > 1:
                masters &= self._masters(reversed(self.redises))
            self.samples.append((t, masters))
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        for c in self._conns.values():
            c.close()
        self._conns.clear()
        return self

    @property
    def max_masters(self):
        return max((len(s) for _, s in self.samples), default=0)

    @property
    def ever_master(self):
        return set(self._ever)
