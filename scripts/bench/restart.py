#!/usr/bin/env python3
"""restart.py - the master killed and restarted at once with its data
(issue #15): does rsm-agent fail over, and redis-sentinel, and how long
until the group is healthy again.

    restart.py [--runs N] [--impls "sentinel agent"] [--down-after MS]
               [--watch S] [--keys N] [--json PATH] [--workdir DIR] [--keep]

For each implementation, on free loopback ports in a temp dir: 1 master +
2 replicas (every instance `appendonly yes`, `appendfsync everysec`,
`save ""`, diskless sync with delay 0 like the failover bench), 1000 keys
written and replicated, then 3 redis-sentinel processes (quorum 2,
down-after 1000 ms, failover-timeout 10000, parallel-syncs 1) or 3
rsm-agent processes started with scripts/bench/agent.sh's flags (binary
$RSM_AGENT_BIN, else build/rsm-agent; probe 100 ms; --http-bind off, to
stay on loopback; $RSM_BENCH_AGENT_ARGS appended). Once every agent names
the master and sees both replicas linked, each run:

  1. SIGKILLs the current master (the one the agents name) and, as soon as
     it is reaped, starts the same redis-server with the same config file,
     dir and port; gap = kill -> the port accepts connects again (pong =
     -> PING answers PONG, not LOADING). A run is a restart "within 150
     ms" only if gap < 150 ms; the table says so per run;
  2. watches for --watch seconds (5): failover = an agent naming another
     master (get-master-addr-by-name), a replica reporting role:master, or
     the failover count rising (rsm-agent: the epoch / history of the
     group in RSM STATUS; redis-sentinel: config-epoch of SENTINEL MASTER);
     failovers = how many (history entries / config-epoch steps, at least
     1 if any sign); healthy = from the kill until the start of the last
     stretch, lasting to the end of the window, in which exactly one
     instance is master, answers PING, lists both others online, and both
     report role:slave with their link to it up; keys = DBSIZE of that
     master at the end (of --keys written);
  3. waits until the agents agree again and settles 1 s before the next.

Events (PSUBSCRIBE * on every agent): the first +sdown / +odown /
+reboot of the master, +try-failover and +switch-master, in ms from the
kill, are in the JSON.

Prints a table per implementation and a summary; writes --json (default
bench-results/restart-<UTC time>.json): {"runs", "down_after_ms",
"watch_s", "keys", "series": {"sentinel"|"agent": {"runs": [...],
"summary": {...}}}}. Exit 1 if a run failed (error, not healthy at the
end). Every process it starts is killed at the end, also on errors,
Ctrl-C and SIGTERM; the temp dir is removed unless --keep or a run failed.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)
from resp import Resp, RespError  # noqa: E402
from rsmparse import parse_info  # noqa: E402,F401
import ports as portlib  # noqa: E402

HOST = "127.0.0.1"
NAME = "mymaster"
NAMES = {"sentinel": "redis-sentinel", "agent": "rsm-agent"}
GAP_LIMIT_MS = 150
EVENTS = ("+sdown", "+odown", "+reboot", "+try-failover", "+switch-master",
          "-sdown", "-odown")


class Fatal(Exception):
    pass


# --------------------------------------------------------------------------
# processes: every one started here is tracked and killed at the end
# --------------------------------------------------------------------------
class Procs:
    def __init__(self):
        self.procs = {}  # name -> Popen (the latest of that name)
        self.argv = {}
        self.logs = {}

    def start(self, name, argv, log):
        with open(log, "ab") as f:
            p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        self.procs[name], self.argv[name], self.logs[name] = p, argv, log
        return p

    def restart(self, name):
        return self.start(name, self.argv[name], self.logs[name])

    def kill_all(self):
        live = [p for p in self.procs.values() if p.poll() is None]
        for p in live:
            try:
                os.kill(p.pid, signal.SIGCONT)  # a stopped one cannot exit
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        end = time.monotonic() + 3
        for p in live:
            try:
                p.wait(timeout=max(0.05, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs = {}


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


# --------------------------------------------------------------------------
# RESP helpers
# --------------------------------------------------------------------------
def cmd(port, *args, timeout=0.3):
    """One command on a new connection; None if it fails or errs."""
    try:
        with Resp(port, timeout=timeout) as c:
            return c.call(*args)
    except (OSError, RespError, ValueError):
        return None


class Poller:
    """Persistent connections, reopened after a failure."""

    def __init__(self, timeout=0.3):
        self.conns, self.timeout = {}, timeout

    def q(self, port, *args):
        c = self.conns.get(port)
        try:
            if c is None:
                c = self.conns[port] = Resp(port, timeout=self.timeout)
            c.send(*args)
            r = c.read(raise_errors=False)
            return None if isinstance(r, RespError) else r
        except (OSError, ValueError):
            if c is not None:
                c.close()
            self.conns.pop(port, None)
            return None

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}


def pairs(lst):
    if not isinstance(lst, list):
        return {}
    return {lst[i]: lst[i + 1] for i in range(0, len(lst) - 1, 2)}


class Events:
    """PSUBSCRIBE * on every agent: (time, port, channel, payload)."""

    def __init__(self, ports):
        self.ev, self.lock, self.conns = [], threading.Lock(), []
        for p in ports:
            try:
                c = Resp(p, timeout=1.0)
                c.call("PSUBSCRIBE", "*")
                c.sock.settimeout(None)
            except (OSError, RespError, ValueError):
                continue
            self.conns.append(c)
            threading.Thread(target=self.loop, args=(c, p),
                             daemon=True).start()

    def loop(self, c, port):
        while True:
            try:
                m = c.read(raise_errors=False)
            except Exception:  # closed at the end
                return
            if isinstance(m, list) and len(m) == 4 and m[0] == "pmessage":
                with self.lock:
                    self.ev.append((time.monotonic(), port, m[2], str(m[3])))

    def since(self, t0):
        """{event: first ms after t0} for the master's events."""
        first = {}
        with self.lock:
            evs = [e for e in self.ev if e[0] >= t0]
        for t, _, ch, payload in evs:
            if ch not in EVENTS:
                continue
            if ch.endswith("down") or ch == "+reboot":
                if not payload.startswith("master "):
                    continue
            first.setdefault(ch, round((t - t0) * 1000, 1))
        return first

    def close(self):
        for c in self.conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()


# --------------------------------------------------------------------------
# the topology
# --------------------------------------------------------------------------
def start_redis(procs, work, ports, keys):
    master = ports[0]
    for i, port in enumerate(ports):
        d = os.path.join(work, "redis-%d" % port)
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "redis.conf")
        lines = ["port %d" % port, "bind %s" % HOST, "daemonize no",
                 'save ""', "appendonly yes", "appendfsync everysec",
                 "dir %s" % d, "logfile %s" % os.path.join(d, "redis.log"),
                 "repl-diskless-sync yes", "repl-diskless-sync-delay 0"]
        if i > 0:
            lines.append("replicaof %s %d" % (HOST, master))
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        procs.start("redis-%d" % port, ["redis-server", conf],
                    os.path.join(d, "stdout.log"))
    for port in ports:
        wait_for(lambda: cmd(port, "PING") == "PONG", 10,
                 "redis on port %d" % port)
    with Resp(master) as c:
        c.send_many([("SET", "key:%d" % i, "v" * 32) for i in range(keys)])
        for _ in range(keys):
            c.read()
    for port in ports[1:]:
        wait_for(lambda: cmd(port, "DBSIZE") == keys, 30,
                 "%d keys on the replica %d" % (keys, port))


def start_agents(impl, procs, work, a, rports, aports, raft_ports):
    master = rports[0]
    for i, port in enumerate(aports):
        d = os.path.join(work, "%s-%d" % (impl, port))
        os.makedirs(d, exist_ok=True)
        if impl == "sentinel":
            conf = os.path.join(d, "sentinel.conf")
            with open(conf, "w") as f:
                f.write("\n".join([
                    "port %d" % port, "bind %s" % HOST, "daemonize no",
                    "dir %s" % d,
                    "logfile %s" % os.path.join(d, "sentinel.log"),
                    "sentinel monitor %s %s %d 2" % (NAME, HOST, master),
                    "sentinel down-after-milliseconds %s %d" % (
                        NAME, a.down_after),
                    "sentinel failover-timeout %s 10000" % NAME,
                    "sentinel parallel-syncs %s 1" % NAME]) + "\n")
            argv = ["redis-sentinel", conf]
        else:
            # scripts/bench/agent.sh's flags, with any free ports
            peers = ",".join("%d=%s:%d/%d" % (j + 1, HOST, raft_ports[j], p)
                             for j, p in enumerate(aports))
            argv = [a.agent_bin, "--id", str(i + 1), "--peers", peers,
                    "--raft-bind", "%s:%d" % (HOST, raft_ports[i]),
                    "--api-bind", "%s:%d" % (HOST, port),
                    "--http-bind", "off",
                    "--data-dir", os.path.join(d, "raft"),
                    "--monitor", "%s=%s" % (NAME, ",".join(
                        "%s:%d" % (HOST, p) for p in rports)),
                    "--quorum", "2", "--down-after-ms", str(a.down_after),
                    "--failover-timeout-ms", "10000", "--parallel-syncs",
                    "1", "--probe-interval-ms",
                    os.environ.get("RSM_BENCH_PROBE_MS", "100")]
            argv += os.environ.get("RSM_BENCH_AGENT_ARGS", "").split()
        procs.start("%s-%d" % (impl, port), argv,
                    os.path.join(d, "stdout.log"))
    for port in aports:
        wait_for(lambda: cmd(port, "PING") == "PONG", 20,
                 "%s on port %d" % (impl, port))


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise Fatal("%s: not within %.0f s" % (what, timeout))


def named(aports):
    """The master port every agent names, or None if they differ."""
    got = set()
    for p in aports:
        r = cmd(p, "SENTINEL", "get-master-addr-by-name", NAME)
        got.add(int(r[1]) if isinstance(r, list) and len(r) == 2 else None)
    return got.pop() if len(got) == 1 else None


def ready(impl, aports, master, replicas):
    """Every agent names master, flags it master, sees both replicas
    linked (and redis-sentinel the other sentinels); rsm-agent: no
    failover in flight."""
    for p in aports:
        if cmd(p, "SENTINEL", "get-master-addr-by-name", NAME) != [
                HOST, str(master)]:
            return False
        m = pairs(cmd(p, "SENTINEL", "MASTER", NAME))
        if m.get("flags") != "master" or \
                int(m.get("num-slaves", 0)) != len(replicas):
            return False
        if impl == "sentinel" and \
                int(m.get("num-other-sentinels", 0)) != len(aports) - 1:
            return False
        for r in cmd(p, "SENTINEL", "REPLICAS", NAME) or []:
            r = pairs(r)
            if r.get("flags") != "slave" or \
                    r.get("master-link-status") != "ok":
                return False
        if impl == "agent":
            g = group_status(p)
            if g is None or g.get("in_flight") is not None:
                return False
    return True


def group_status(port, poller=None):
    raw = poller.q(port, "RSM", "STATUS") if poller else \
        cmd(port, "RSM", "STATUS", timeout=1.0)
    try:
        st = json.loads(raw or "")
    except ValueError:
        return None
    for g in st.get("groups") or []:
        if g.get("name") == NAME:
            return g
    return None


def failover_count(impl, aports, poller=None):
    """The highest failover count any agent reports: rsm-agent, the
    number of history entries (the epoch if higher); redis-sentinel, the
    config-epoch."""
    best = None
    for p in aports:
        if impl == "agent":
            g = group_status(p, poller)
            if g is None:
                continue
            n = max(len(g.get("history") or []), int(g.get("epoch") or 0))
        else:
            r = poller.q(p, "SENTINEL", "MASTER", NAME) if poller else \
                cmd(p, "SENTINEL", "MASTER", NAME)
            m = pairs(r)
            if "config-epoch" not in m:
                continue
            n = int(m["config-epoch"])
        best = n if best is None else max(best, n)
    return best


def healthy_master(infos, rports):
    """The port of the one master that answers, lists both others online,
    and both others linked to it; None if the group is not so."""
    masters = [p for p in rports if infos.get(p, {}).get("role") == "master"]
    if len(masters) != 1:
        return None
    m = masters[0]
    mi = infos[m]
    online = {int(v.split("port=")[1].split(",")[0])
              for k, v in mi.items()
              if k.startswith("slave") and k[5:].isdigit()
              and "state=online" in v}
    others = [p for p in rports if p != m]
    if set(others) - online or mi.get("loading") == "1":
        return None
    for p in others:
        i = infos.get(p, {})
        if i.get("role") != "slave" or i.get("master_port") != str(m) or \
                i.get("master_link_status") != "up":
            return None
    return m


# --------------------------------------------------------------------------
# one run
# --------------------------------------------------------------------------
def one_run(impl, a, procs, rports, aports, events, run_no):
    master = named(aports)
    if master is None:
        raise Fatal("the agents do not agree on the master")
    name = "redis-%d" % master
    before = failover_count(impl, aports)
    old = procs.procs[name]
    t0 = time.monotonic()
    os.kill(old.pid, signal.SIGKILL)
    old.wait()
    t_reaped = time.monotonic()
    procs.restart(name)
    t_listen = t_pong = None
    while time.monotonic() - t0 < 10:
        try:
            s = socket.create_connection((HOST, master), timeout=0.2)
        except OSError:
            time.sleep(0.0005)
            continue
        if t_listen is None:
            t_listen = time.monotonic()
        try:
            with Resp(sock=s) as c:
                r = c.call("PING")
        except (OSError, RespError, ValueError):
            r = None
        if r == "PONG":
            t_pong = time.monotonic()
            break
        time.sleep(0.001)
    if t_listen is None:
        raise Fatal("the restarted master %d never listened" % master)

    pol = Poller()
    addrs_seen, promoted, count_max = set(), set(), before
    t_healthy, final_master, last_count_poll = None, None, 0.0
    try:
        while True:
            now = time.monotonic()
            if now - t0 >= a.watch:
                break
            infos = {}
            for p in rports:
                i = parse_info(pol.q(p, "INFO", "replication"))
                i.update(parse_info(pol.q(p, "INFO", "persistence"))
                         if i.get("role") == "master" else {})
                infos[p] = i
                if p != master and i.get("role") == "master":
                    promoted.add(p)
            for p in aports:
                r = pol.q(p, "SENTINEL", "get-master-addr-by-name", NAME)
                if isinstance(r, list) and len(r) == 2:
                    addrs_seen.add(int(r[1]))
            if now - last_count_poll >= 0.1:
                last_count_poll = now
                n = failover_count(impl, aports, pol)
                if n is not None and (count_max is None or n > count_max):
                    count_max = n
            hm = healthy_master(infos, rports)
            if hm is None:
                t_healthy = final_master = None
            elif t_healthy is None or hm != final_master:
                t_healthy, final_master = now, hm
            time.sleep(0.01)
    finally:
        pol.close()

    after = failover_count(impl, aports)
    if after is not None and (count_max is None or after > count_max):
        count_max = after
    steps = (count_max - before) if None not in (count_max, before) else 0
    moved = bool(addrs_seen - {master}) or bool(promoted)
    failovers = max(steps, 1 if moved else 0)
    now_named = named(aports)
    reasons = []
    if impl == "agent" and steps > 0:
        g = group_status(aports[0]) or {}
        reasons = [h.get("reason") for h in (g.get("history") or [])[-steps:]]
    keys = cmd(final_master, "DBSIZE") if final_master else None
    gap = (t_listen - t0) * 1000
    r = {
        "run": run_no, "killed_port": master,
        "reap_ms": round((t_reaped - t0) * 1000, 1),
        "gap_ms": round(gap, 1),
        "pong_ms": round((t_pong - t0) * 1000, 1) if t_pong else None,
        "within_limit": gap < GAP_LIMIT_MS,
        "failovers": failovers, "failed_over": failovers > 0,
        "promoted_replicas": sorted(promoted),
        "named_ports_seen": sorted(addrs_seen),
        "count_before": before, "count_after": count_max,
        "final_master": final_master, "agents_name": now_named,
        "t_healthy_ms": round((t_healthy - t0) * 1000, 1)
        if t_healthy else None,
        "keys": keys, "keys_written": a.keys,
        "events": events.since(t0),
        "reasons": reasons,
    }
    return r


def wait_settled(impl, aports, rports, timeout=30):
    """Until the agents agree on a healthy master, then 1 s."""
    def ok():
        m = named(aports)
        if m is None:
            return False
        infos = {p: parse_info(cmd(p, "INFO", "replication")) for p in rports}
        return healthy_master(infos, rports) == m and \
            ready(impl, aports, m, [p for p in rports if p != m])
    wait_for(ok, timeout, "%s: the group healthy and agreed on" % impl)
    time.sleep(1.0)


def series(impl, a, work, rports, aports, raft_ports):
    d = os.path.join(work, impl)
    os.makedirs(d)
    procs, events, runs = Procs(), None, []
    try:
        start_redis(procs, d, rports, a.keys)
        start_agents(impl, procs, d, a, rports, aports, raft_ports)
        wait_for(lambda: ready(impl, aports, rports[0], rports[1:]), 60,
                 "%s: every agent ready" % NAMES[impl])
        time.sleep(1.0)
        events = Events(aports)
        for i in range(1, a.runs + 1):
            try:
                r = one_run(impl, a, procs, rports, aports, events, i)
            except Fatal as e:
                r = {"run": i, "error": str(e)}
            runs.append(r)
            print_run(impl, r)
            if i < a.runs:
                try:
                    wait_settled(impl, aports, rports)
                except Fatal as e:
                    for j in range(i + 1, a.runs + 1):
                        runs.append({"run": j, "error": "not run: %s" % e})
                    print("%s: %s: the remaining runs not run" % (
                        NAMES[impl], e), flush=True)
                    break
    except Fatal as e:
        print("%s: %s" % (NAMES[impl], e), flush=True)
        runs.append({"run": len(runs) + 1, "error": str(e)})
    finally:
        if events:
            events.close()
        procs.kill_all()
    return runs


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
HEAD = "%-15s %3s %7s %7s %-10s %9s %9s %7s %-11s %s" % (
    "impl", "run", "gap ms", "pong ms", "<150 ms?", "failovers",
    "healthy", "keys", "master", "events (ms from the kill)")


def fmt(x, d=0):
    return "-" if x is None else "%.*f" % (d, x)


def print_run(impl, r):
    if "error" in r:
        print("%-15s %3d ERROR %s" % (NAMES[impl], r["run"], r["error"]),
              flush=True)
        return
    ev = " ".join("%s=%s" % (k, v) for k, v in sorted(
        r["events"].items(), key=lambda kv: kv[1]))
    moved = "" if r["final_master"] == r["killed_port"] else \
        " (was %d)" % r["killed_port"]
    print("%-15s %3d %7s %7s %-10s %9d %9s %7s %-11s %s" % (
        NAMES[impl], r["run"], fmt(r["gap_ms"], 1), fmt(r["pong_ms"], 1),
        "yes" if r["within_limit"] else "NO, slow",
        r["failovers"], fmt(r["t_healthy_ms"]),
        "%s/%d" % (r["keys"] if r["keys"] is not None else "-",
                   r["keys_written"]),
        "%s%s" % (r["final_master"] or "-", moved), ev or "-"), flush=True)


def summarize(runs, keys):
    ok = [r for r in runs if "error" not in r]
    valid = [r for r in ok if r["within_limit"]]
    healthy = [r["t_healthy_ms"] for r in valid
               if r["t_healthy_ms"] is not None]
    return {
        "runs": len(runs), "completed": len(ok), "valid": len(valid),
        "failed_over": sum(1 for r in valid if r["failed_over"]),
        "failovers": sum(r["failovers"] for r in valid),
        "healthy": len(healthy),
        "gap_ms_median": statistics.median([r["gap_ms"] for r in ok])
        if ok else None,
        "gap_ms_max": max([r["gap_ms"] for r in ok]) if ok else None,
        "t_healthy_ms_median": statistics.median(healthy)
        if healthy else None,
        "keys_kept": sum(1 for r in valid if r["keys"] == keys),
    }


def main(argv):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--impls", default="sentinel agent")
    ap.add_argument("--down-after", type=int, default=1000)
    ap.add_argument("--watch", type=float, default=5.0,
                    help="s watched after each kill")
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--json", default=None)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)
    impls = a.impls.split()
    if a.runs < 1 or any(i not in NAMES for i in impls):
        ap.error("--runs >= 1, --impls of: sentinel agent")
    a.agent_bin = os.environ.get("RSM_AGENT_BIN") or os.path.join(
        REPO, "build", "rsm-agent")
    if "agent" in impls and not os.access(a.agent_bin, os.X_OK):
        sys.exit("restart: %s not built (or set RSM_AGENT_BIN)" % a.agent_bin)
    for b in ("redis-server", "redis-sentinel"):
        if not shutil.which(b):
            sys.exit("restart: %s not installed" % b)
    if a.json is None:
        os.makedirs(os.path.join(REPO, "bench-results"), exist_ok=True)
        a.json = os.path.join(REPO, "bench-results", "restart-%s.json" %
                              time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    work = a.workdir or tempfile.mkdtemp(prefix="rsm-restart-")
    os.makedirs(work, exist_ok=True)
    print("workdir: %s" % work, flush=True)
    print("Master SIGKILLed and restarted at once with its data "
          "(appendonly yes), 1 master + 2 replicas, 3 agents, quorum 2, "
          "down-after %d ms; %d runs, each watched %.0f s\n" % (
              a.down_after, a.runs, a.watch), flush=True)
    print(HEAD, flush=True)
    result = {"runs": a.runs, "down_after_ms": a.down_after,
              "watch_s": a.watch, "keys": a.keys,
              "gap_limit_ms": GAP_LIMIT_MS, "series": {}}
    failed, done = False, False
    try:
        for impl in impls:
            # 3 Redis, 3 agents, 3 Raft ports, all held at once: distinct
            p = portlib.free(9)
            runs = series(impl, a, work, p[0:3], p[3:6], p[6:9])
            s = summarize(runs, a.keys)
            result["series"][impl] = {"runs": runs, "summary": s}
            failed |= s["completed"] < a.runs or s["healthy"] < s["valid"]
        done = True
    finally:
        if result["series"]:
            with open(a.json, "w") as f:
                json.dump(result, f, indent=2)
        if not done and not a.keep and not a.workdir:
            # interrupted: every process is gone (series' finally)
            shutil.rmtree(work, ignore_errors=True)
    print("\nsummary (only runs whose restart took < %d ms count)" %
          GAP_LIMIT_MS)
    for impl, v in result["series"].items():
        s = v["summary"]
        print("%-15s restarts < %d ms: %d/%d; failed over in %d of them "
              "(%d failovers); healthy again in %d, median %s ms after the "
              "kill; every key kept in %d; gap median %s ms, max %s ms" % (
                  NAMES[impl], GAP_LIMIT_MS, s["valid"], s["runs"],
                  s["failed_over"], s["failovers"], s["healthy"],
                  fmt(s["t_healthy_ms_median"]), s["keys_kept"],
                  fmt(s["gap_ms_median"], 1), fmt(s["gap_ms_max"], 1)))
    print("\njson: %s" % a.json)
    if failed or a.keep:
        print("kept: %s" % work)
    elif not a.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
