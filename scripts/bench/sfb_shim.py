#!/usr/bin/env python3
"""sfb_shim.py - run the shared sentinel_failover_bench.py with one change,
for rsm-agent only.

    sfb_shim.py BENCH.py [bench arguments...]

(It once also made the bench's readiness check read a follower's
"unknown" replica link as "ok": followers now show the leader's view of
the replicas, RSM LEADERVIEW, so the bench runs unchanged without
--kill-leader.)

--kill-leader (taken out before the bench sees its arguments; rsm-agent
only): the failover starts while the agent leader dies. Once the topology
is ready, the shim asks every agent (RSM STATUS) which one leads; right
after the bench's kill of the master (same signal) it SIGKILLs that agent,
and drops it from the agents the bench waits for (discovery = every
surviving agent names the new master; the dead one is not restarted).
Prints "leader-kill: run N killed agent on port P" per run.

--tls (taken out too; both redis-sentinel and rsm-agent): Redis only on
its TLS port (port 0, tls-port = the bench's port, tls-replication yes,
client certificates required: Redis's default), the sentinels with
tls-replication yes (TLS to Redis and between sentinels, on a tls-port =
their port + 500; their port the bench asks stays plaintext), the agents
with --tls-redis (agent.sh, RSM_BENCH_TLS_DIR). The certificates are made
for the run by tests/integration/certs.py in <--workdir>/certs. The bench
talks TLS to Redis (its RESP client's socket wrapped), plaintext to the
sentinels and agents.
"""
import importlib.util
import json
import os
import signal
import socket
import ssl
import sys
import tempfile

kill_leader = "--kill-leader" in sys.argv
if kill_leader:
    sys.argv.remove("--kill-leader")
tls = "--tls" in sys.argv
if tls:
    sys.argv.remove("--tls")
path = sys.argv[1]
sys.argv = [path] + sys.argv[2:]
spec = importlib.util.spec_from_file_location("sfb", path)
sfb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sfb)

orig_try_cmd = sfb.try_cmd

if kill_leader:
    if "--agent-cmd" not in sys.argv:
        sys.exit("sfb_shim: --kill-leader needs --agent-cmd (rsm-agent)")
    state = {"run": 0}
    real_kill = os.kill
    orig_start_cluster = sfb.start_cluster
    orig_start_agents = sfb.start_agents
    orig_wait_ready = sfb.wait_ready

    def leader_port(ports):
        """The API port of the agent every agent names as leader, or None."""
        seen = set()
        for p in ports:
            try:
                st = json.loads(orig_try_cmd(p, "RSM", "STATUS") or "{}")
                seen.add(int(st["leader"]["api"].rsplit(":", 1)[1]))
            except (ValueError, KeyError, TypeError, AttributeError):
                return None
        return seen.pop() if len(seen) == 1 and list(seen)[0] in ports \
            else None

    def start_cluster(a, procs, rundir):
        ports, redis = orig_start_cluster(a, procs, rundir)
        state.update(run=state["run"] + 1, master_pid=redis[ports[0]].pid,
                     leader=None, done=False)
        return ports, redis

    def start_agents(a, procs, rundir, master_port):
        ports, agents = orig_start_agents(a, procs, rundir, master_port)
        state.update(ports=ports, agents=agents)
        return ports, agents

    def wait_ready(a, master_port, replica_ports, agent_ports, timeout=60):
        if not orig_wait_ready(a, master_port, replica_ports, agent_ports,
                               timeout=timeout):
            return False
        for _ in range(100):
            state["leader"] = leader_port(agent_ports)
            if state["leader"] is not None:
                return True
            sfb.time.sleep(0.1)
        return False

    def kill(pid, sig):
        real_kill(pid, sig)
        if pid == state.get("master_pid") and not state["done"] and \
                sig in (signal.SIGKILL, signal.SIGSTOP) and state["leader"]:
            state["done"] = True
            lp = state["leader"]
            real_kill(state["agents"][lp].pid, signal.SIGKILL)
            state["ports"].remove(lp)  # the bench waits for the others
            print("leader-kill: run %d killed agent on port %d" % (
                state["run"], lp), flush=True)

    sfb.start_cluster = start_cluster
    sfb.start_agents = start_agents
    sfb.wait_ready = wait_ready
    sfb.os.kill = kill

# ---------------------------------------------------------------- --tls
# Redis on its TLS port only, everybody over TLS to it (the test PKI of
# tests/integration/certs.py, made in the bench's workdir for this run).

TLS_SENTINEL_OFFSET = 500  # a sentinel's tls-port = its (plaintext) port + this


def tls_dir():
    """The directory of this run's certificates: <workdir>/certs."""
    a = sys.argv
    base = a[a.index("--workdir") + 1] if "--workdir" in a[:-1] else \
        tempfile.mkdtemp(prefix="rsm-fobench-tls-")
    return os.path.join(base, "certs")


def make_pki(d):
    """ca, server (Redis and the sentinels: both ends of their links) and
    client (the bench and the agents), signed by ca."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "tests", "integration"))
    import certs
    ca = certs.make_ca(d, "ca")
    return {"ca": ca,
            "server": certs.make_cert(d, ca, "server",
                                      san=["IP:127.0.0.1", "DNS:localhost"]),
            "client": certs.make_cert(d, ca, "client")}


def tls_conf_lines(pki):
    return ["tls-cert-file %s" % pki["server"].crt,
            "tls-key-file %s" % pki["server"].key,
            "tls-ca-cert-file %s" % pki["ca"].crt,
            "tls-replication yes"]


def install_tls():
    """Patch the bench: redis.conf gets "port 0" and its port as tls-port
    (later lines win); sentinel.conf keeps its plaintext port (the bench
    and the agents' API stay plaintext) and gets a tls-port for the links
    between sentinels (announced in hellos when tls-replication is yes),
    and tls-replication yes, which makes its links to Redis TLS; the
    bench's RESP client wraps its sockets to Redis ports in TLS; the
    agents (agent.sh) read RSM_BENCH_TLS_DIR."""
    d = tls_dir()
    pki = make_pki(d)
    os.environ["RSM_BENCH_TLS_DIR"] = d
    ctx = ssl.create_default_context(cafile=pki["ca"].crt)
    ctx.load_cert_chain(pki["client"].crt, pki["client"].key)
    tls_ports = set()
    orig_write_conf = sfb.write_conf

    def conf_port(lines):
        return int(next(ln.split()[1] for ln in lines
                        if ln.startswith("port ")))

    def write_conf(path, lines):
        name = os.path.basename(path)
        if name == "redis.conf":
            port = conf_port(lines)
            tls_ports.add(port)
            lines = lines + ["port 0", "tls-port %d" % port] + \
                tls_conf_lines(pki)
        elif name == "sentinel.conf":
            lines = lines + ["tls-port %d" % (conf_port(lines) +
                                              TLS_SENTINEL_OFFSET)] + \
                tls_conf_lines(pki)
        orig_write_conf(path, lines)

    class Conn(sfb.Conn):
        """The bench's client; over TLS to the Redis ports."""

        def __init__(self, port, host=sfb.HOST, timeout=0.5):
            if port not in tls_ports:
                super().__init__(port, host=host, timeout=timeout)
                return
            sock = socket.create_connection((host, port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.sock = ctx.wrap_socket(sock, server_hostname=host)
            except (OSError, ssl.SSLError):
                sock.close()
                raise
            self.f = self.sock.makefile("rb")

    sfb.write_conf = write_conf
    sfb.Conn = Conn
    print("tls: Redis on tls-port only, certificates in %s" % d, flush=True)


if tls:
    install_tls()
else:
    os.environ.pop("RSM_BENCH_TLS_DIR", None)  # the agents: plaintext

sys.exit(sfb.main())
