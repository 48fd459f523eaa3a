#!/usr/bin/env python3
"""container-test.py - the kills of scripts/container-test.sh.

Drives a running container cluster (3 Redis "PREFIX-redis-N", 3 agents
"PREFIX-rsm-N", made by container-test.sh) with `podman kill` and measures
through the containers' addresses on their private network (Python's
standard library only: the tests' RESP client,
tests/integration/resp.py).

Per Redis master kill (SIGKILL of the master's container), from the kill:
  failover_ms   until a replica is master and every other running replica is
                linked to it (master_link_status:up), as the agents committed
  committed_ms  until the agents' committed master changed
  epochs        failover epochs used (1 when the first attempt succeeded)
  result        the agents' history entry (completed, completed-with-
                stragglers, aborted)
  kept          keys written and acknowledged by both replicas (WAIT) before
                the kill, found on the new master
  rejoin_s      the killed container started again until it is a linked
                replica of the new master (rsmctl redis-boot)
A master kill passes with epochs 1, result completed, every key kept and
failover_ms below down-after + 2000.

Per agent leader kill: new_leader_ms, until a surviving agent is leader and
the other survivor follows it; passes below 3000 ms (election timeouts
plus the pre-vote round), then the killed agent is started again and must
rejoin.
"""
import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

REDIS = ["redis-0", "redis-1", "redis-2"]
AGENTS = ["rsm-0", "rsm-1", "rsm-2"]
KEYS = 1000

# the RESP client shared with the tests
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "tests", "integration"))
from resp import Resp  # noqa: E402


def resp(ip, port, *cmds, timeout=0.5):
    """Send the commands (tuples) in one write; the list of replies (an
    error reply as a RespError value)."""
    with Resp(port, host=ip, timeout=timeout) as c:
        c.send_many(cmds)
        return [c.read(raise_errors=False) for _ in cmds]


class FakeDNS(threading.Thread):
    """--slow-dns: the containers' only nameserver, answering like
    aardvark-dns on a network whose upstream resolver does not answer: the
    name of a running container (also NAME.dns.podman) gets its address
    (TTL 0; AAAA: no address), any other name - a killed container's - is
    "forwarded upstream" and never answered, so the resolver in the
    container gives up only after its timeouts (glibc: 5 s x 2 attempts,
    per name tried)."""

    def __init__(self, cluster, bind_ip):
        super().__init__(daemon=True)
        self.c = cluster
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
        self.sock.bind((bind_ip, 53))
        self.answered = self.dropped = 0

    def run(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(512)
                r = self.reply(q)
            except Exception:  # a malformed query is dropped
                continue
            if r is None:
                self.dropped += 1
            else:
                self.answered += 1
                self.sock.sendto(r, peer)

    def reply(self, q):
        qid, flags, qd = struct.unpack(">HHH", q[:6])
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode().lower())
            i += 1 + q[i]
        qtype, _ = struct.unpack(">HH", q[i + 1:i + 5])
        question = q[12:i + 5]
        name = ".".join(labels)
        if name.endswith(".dns.podman"):
            name = name[:-len(".dns.podman")]
        ip = self.c.ip.get(name)
        if name not in REDIS + AGENTS or name in self.c.down or not ip:
            return None
        answer = b""
        if qtype == 1:  # A
            answer = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 0, 4) +
                      socket.inet_aton(ip))
        hdr = struct.pack(">HHHHHH", qid, 0x8580, 1, 1 if answer else 0, 0, 0)
        return hdr + question + answer


def podman(*args, timeout=120):
    return subprocess.run(["podman", *args], capture_output=True, text=True,
                          timeout=timeout)


class Cluster:
    def __init__(self, prefix, workdir):
        self.prefix = prefix
        self.dir = workdir
        self.ip = {}
        self.down = set()
        for n in REDIS + AGENTS:
            self.refresh_ip(n)

    def cname(self, n):
        return "%s-%s" % (self.prefix, n)

    def refresh_ip(self, n):
        p = podman("inspect", "-f",
                   "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                   self.cname(n))
        self.ip[n] = p.stdout.strip() or None

    def info(self, n, timeout=0.3):
        if n in self.down or not self.ip.get(n):
            return None
        try:
            r = resp(self.ip[n], 6379, ("INFO", "replication"),
                     timeout=timeout)[0]
        except (OSError, ValueError):
            return None
        if not isinstance(r, str):
            return None
        d = {}
        for line in r.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                d[k] = v
        return d

    def status(self, n, timeout=0.3):
        if n in self.down or not self.ip.get(n):
            return None
        try:
            r = resp(self.ip[n], 26379, ("RSM", "STATUS"), timeout=timeout)[0]
            return json.loads(r) if isinstance(r, str) else None
        except (OSError, ValueError):
            return None

    def statuses(self):
        return {n: self.status(n) for n in AGENTS if n not in self.down}

    def committed(self):
        """(leader id, group dict) from the first agent that knows a leader."""
        for n in AGENTS:
            st = self.status(n)
            if st and st.get("leader") and st.get("groups"):
                return st["leader"]["id"], st["groups"][0]
        return None, None

    def stable(self, timeout=180):
        """Wait until every running agent follows one leader, nothing is in
        flight and every running replica is linked to the committed master.
        The committed group."""
        end = time.monotonic() + timeout
        why = "nothing yet"
        while time.monotonic() < end:
            sts = self.statuses()
            leaders = {st["leader"]["id"] if st and st.get("leader") else None
                       for st in sts.values()}
            if len(leaders) != 1 or None in leaders:
                why = "agents' leaders: %s" % leaders
                time.sleep(0.2)
                continue
            g = next(iter(sts.values()))["groups"]
            g = g[0] if g else None
            if not g or not g.get("master") or g.get("in_flight"):
                why = "group: %s" % (g and {k: g.get(k) for k in
                                             ("master", "in_flight")})
                time.sleep(0.2)
                continue
            mhost = g["master"].rsplit(":", 1)[0]
            ok = (self.info(mhost) or {}).get("role") == "master"
            for n in REDIS:
                if n == mhost or n in self.down:
                    continue
                i = self.info(n) or {}
                if not (i.get("role") == "slave" and i.get("master_host") == mhost
                        and i.get("master_link_status") == "up"):
                    ok = False
                    why = "%s: %s" % (n, {k: i.get(k) for k in
                                          ("role", "master_host",
                                           "master_link_status")})
            if ok:
                return g
            time.sleep(0.2)
        raise TimeoutError("not stable after %d s: %s" % (timeout, why))

    def kill(self, n):
        t0 = time.monotonic()
        p = podman("kill", "--signal", "KILL", self.cname(n))
        if p.returncode != 0:
            raise RuntimeError("podman kill %s: %s" % (n, p.stderr.strip()))
        self.down.add(n)
        return t0, time.monotonic() - t0

    def start(self, n):
        p = podman("start", self.cname(n))
        if p.returncode != 0:
            raise RuntimeError("podman start %s: %s" % (n, p.stderr.strip()))
        self.down.discard(n)
        self.refresh_ip(n)

    def save_logs(self, tag, since):
        for n in REDIS + AGENTS:
            p = podman("logs", "--since", since, self.cname(n))
            with open(os.path.join(self.dir, "%s-%s.log" % (tag, n)), "w") as f:
                f.write(p.stdout + p.stderr)


def latest(history):
    return max(history, key=lambda h: h["epoch"]) if history else None


def master_kill(c, round_no, down_after):
    g = c.stable()
    old = g["master"].rsplit(":", 1)[0]
    epoch0 = g["epoch"]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
    # keys acknowledged by both replicas before the kill
    cmds = [("SET", "ct:%d:%d" % (round_no, j), "v") for j in range(KEYS)]
    cmds.append(("WAIT", 2, 2000))
    replies = resp(c.ip[old], 6379, *cmds, timeout=5)
    acked = KEYS if replies[-1] == 2 else 0
    t0, kill_s = c.kill(old)
    t_linked = t_commit = None
    new = None
    g1 = None
    deadline = t0 + 60
    while time.monotonic() < deadline:
        now = time.monotonic()
        infos = {n: c.info(n) for n in REDIS if n != old}
        if t_linked is None:
            masters = [n for n, i in infos.items()
                       if i and i.get("role") == "master"]
            if len(masters) == 1:
                m = masters[0]
                if all(i and i.get("role") == "slave" and i.get("master_host") == m
                       and i.get("master_link_status") == "up"
                       for n, i in infos.items() if n != m):
                    t_linked, new = now, m
        _, g1 = c.committed()
        if g1 and g1.get("master") and g1["master"].rsplit(":", 1)[0] != old:
            if t_commit is None:
                t_commit = now
            if (t_linked is not None and not g1.get("in_flight")
                    and g1["master"].rsplit(":", 1)[0] == new
                    and g1["epoch"] > epoch0):
                break
        time.sleep(0.02)
    row = {"kill": round_no, "what": "master", "victim": old, "new": new,
           "kill_ms": round(kill_s * 1000),
           "failover_ms": round((t_linked - t0) * 1000) if t_linked else None,
           "committed_ms": round((t_commit - t0) * 1000) if t_commit else None}
    h = latest((g1 or {}).get("history") or [])
    row["epochs"] = (g1["epoch"] - epoch0) if g1 else None
    row["result"] = h["result"] if h and h["epoch"] > epoch0 else "none"
    kept = 0
    if new:
        ks = ["ct:%d:%d" % (round_no, j) for j in range(KEYS)]
        kept = sum(resp(c.ip[new], 6379, ("EXISTS", *ks[i:i + 200]),
                        timeout=5)[0] for i in range(0, KEYS, 200))
    row["kept"] = "%d/%d" % (kept, acked)
    # the old master comes back (redis-boot: a replica of the new one)
    t1 = time.monotonic()
    c.start(old)
    try:
        c.stable(timeout=120)
        row["rejoin_s"] = round(time.monotonic() - t1, 1)
    except TimeoutError as e:
        row["rejoin_s"] = None
        row["note"] = str(e)
    row["pass"] = bool(row["failover_ms"] is not None
                       and row["failover_ms"] <= down_after + 2000
                       and row["epochs"] == 1 and row["result"] == "completed"
                       and kept == acked == KEYS
                       and row["rejoin_s"] is not None)
    if not row["pass"]:
        c.save_logs("master-kill-%d" % round_no, since)
    return row


def leader_kill(c, round_no):
    c.stable()
    lid, _ = c.committed()
    victim = AGENTS[lid - 1]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
    t0, kill_s = c.kill(victim)
    t_new, new = None, None
    while time.monotonic() < t0 + 60:
        sts = c.statuses()
        for n, st in sts.items():
            if st and st.get("role") == "leader" and st["id"] != lid:
                others = [o for o in sts.values() if o is not st]
                if all(o and o.get("leader") and o["leader"]["id"] == st["id"]
                       for o in others):
                    t_new, new = time.monotonic(), n
        if t_new:
            break
        time.sleep(0.02)
    row = {"kill": round_no, "what": "leader", "victim": victim, "new": new,
           "kill_ms": round(kill_s * 1000),
           "new_leader_ms": round((t_new - t0) * 1000) if t_new else None}
    t1 = time.monotonic()
    c.start(victim)
    try:
        c.stable(timeout=120)
        row["rejoin_s"] = round(time.monotonic() - t1, 1)
    except TimeoutError as e:
        row["rejoin_s"] = None
        row["note"] = str(e)
    row["pass"] = bool(t_new and row["new_leader_ms"] <= 3000
                       and row["rejoin_s"] is not None)
    if not row["pass"]:
        c.save_logs("leader-kill-%d" % round_no, since)
    return row


def combined_kill(c, round_no, down_after, gap_s=2.5):
    """The master, then gap_s later the agent leader (its election then runs
    while every agent still tries to reach the dead master)."""
    g = c.stable()
    old = g["master"].rsplit(":", 1)[0]
    lid, _ = c.committed()
    victim = AGENTS[lid - 1]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
    t0, _ = c.kill(old)
    time.sleep(gap_s)
    t1, _ = c.kill(victim)
    t_new = t_linked = None
    new_leader = new = None
    while time.monotonic() < t0 + 90 and not (t_new and t_linked):
        now = time.monotonic()
        if t_new is None:
            sts = c.statuses()
            for n, st in sts.items():
                if st and st.get("role") == "leader" and st["id"] != lid and \
                        all(o and o.get("leader") and
                            o["leader"]["id"] == st["id"]
                            for o in sts.values() if o is not st):
                    t_new, new_leader = now, n
        if t_linked is None:
            infos = {n: c.info(n) for n in REDIS if n != old}
            ms = [n for n, i in infos.items() if i and i.get("role") == "master"]
            if len(ms) == 1 and all(
                    i and i.get("role") == "slave" and i.get("master_host") == ms[0]
                    and i.get("master_link_status") == "up"
                    for n, i in infos.items() if n != ms[0]):
                t_linked, new = now, ms[0]
        time.sleep(0.02)
    row = {"kill": round_no, "what": "both", "victim": "%s+%s" % (old, victim),
           "new": "%s+%s" % (new, new_leader),
           "new_leader_ms": round((t_new - t1) * 1000) if t_new else None,
           "failover_ms": round((t_linked - t0) * 1000) if t_linked else None}
    c.start(old)
    c.start(victim)
    try:
        c.stable(timeout=180)
        row["rejoin_s"] = round(time.monotonic() - t0, 1)
    except TimeoutError as e:
        row["rejoin_s"] = None
        row["note"] = str(e)
    row["pass"] = bool(t_new and row["new_leader_ms"] <= 3000 and t_linked
                       and row["rejoin_s"] is not None)
    if not row["pass"]:
        c.save_logs("both-kill-%d" % round_no, since)
    return row


def healthchecks(c):
    out = []
    for n in REDIS + AGENTS:
        p = podman("healthcheck", "run", c.cname(n), timeout=30)
        txt = (p.stdout + p.stderr).strip().splitlines()
        out.append("%s %s" % (n, "healthy" if p.returncode == 0 else
                              "unhealthy (%s)" % (txt[-1] if txt else
                                                  "rc=%d" % p.returncode)))
    return out


def fmt(v):
    return "-" if v is None else str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--master-kills", type=int, default=20)
    ap.add_argument("--leader-kills", type=int, default=5)
    ap.add_argument("--down-after-ms", type=int, default=5000)
    ap.add_argument("--combined-kills", type=int, default=0)
    ap.add_argument("--label", default="")
    ap.add_argument("--fake-dns", metavar="IP",
                    help="serve the containers' DNS on IP:53 (--slow-dns)")
    a = ap.parse_args()

    c = Cluster(a.prefix, a.dir)
    dns = None
    if a.fake_dns:
        dns = FakeDNS(c, a.fake_dns)
        dns.start()
    t = time.monotonic()
    g = c.stable(timeout=240)
    print("cluster up in %.1f s: master %s, epoch %d" %
          (time.monotonic() - t, g["master"], g["epoch"]), flush=True)
    hc = healthchecks(c)
    print("healthchecks: " + ", ".join(hc), flush=True)
    rows = []
    hdr = ("%-4s %-6s %-7s %-7s %7s %11s %12s %6s %-26s %-9s %8s  %s" %
           ("kill", "what", "victim", "new", "kill_ms", "failover_ms",
            "committed_ms", "epochs", "result", "kept", "rejoin_s", "verdict"))
    print(hdr, flush=True)
    for i in range(1, a.master_kills + 1):
        try:
            r = master_kill(c, i, a.down_after_ms)
        except Exception as e:  # a broken round is reported, not fatal
            r = {"kill": i, "what": "master", "pass": False, "note": repr(e)}
        rows.append(r)
        print("%-4s %-6s %-7s %-7s %7s %11s %12s %6s %-26s %-9s %8s  %s%s" % (
            r["kill"], "master", fmt(r.get("victim")), fmt(r.get("new")),
            fmt(r.get("kill_ms")), fmt(r.get("failover_ms")),
            fmt(r.get("committed_ms")), fmt(r.get("epochs")),
            fmt(r.get("result")), fmt(r.get("kept")), fmt(r.get("rejoin_s")),
            "ok" if r["pass"] else "FAIL",
            "  " + r["note"] if r.get("note") else ""), flush=True)
    if a.leader_kills:
        print("%-4s %-6s %-7s %-7s %7s %13s %8s  %s" % (
            "kill", "what", "victim", "new", "kill_ms", "new_leader_ms",
            "rejoin_s", "verdict"), flush=True)
    for i in range(1, a.leader_kills + 1):
        try:
            r = leader_kill(c, i)
        except Exception as e:
            r = {"kill": i, "what": "leader", "pass": False, "note": repr(e)}
        rows.append(r)
        print("%-4s %-6s %-7s %-7s %7s %13s %8s  %s%s" % (
            r["kill"], "leader", fmt(r.get("victim")), fmt(r.get("new")),
            fmt(r.get("kill_ms")), fmt(r.get("new_leader_ms")),
            fmt(r.get("rejoin_s")), "ok" if r["pass"] else "FAIL",
            "  " + r["note"] if r.get("note") else ""), flush=True)

    if a.combined_kills:
        print("%-4s %-6s %-15s %-15s %13s %11s %8s  %s" % (
            "kill", "what", "victims", "new", "new_leader_ms", "failover_ms",
            "rejoin_s", "verdict"), flush=True)
    for i in range(1, a.combined_kills + 1):
        try:
            r = combined_kill(c, i, a.down_after_ms)
        except Exception as e:
            r = {"kill": i, "what": "both", "pass": False, "note": repr(e)}
        rows.append(r)
        print("%-4s %-6s %-15s %-15s %13s %11s %8s  %s%s" % (
            r["kill"], "both", fmt(r.get("victim")), fmt(r.get("new")),
            fmt(r.get("new_leader_ms")), fmt(r.get("failover_ms")),
            fmt(r.get("rejoin_s")), "ok" if r["pass"] else "FAIL",
            "  " + r["note"] if r.get("note") else ""), flush=True)

    with open(os.path.join(a.dir, "results.json"), "w") as f:
        json.dump({"label": a.label, "rows": rows}, f, indent=1)
    print("\nsummary (%s, down-after %d ms):" % (a.label, a.down_after_ms))
    for what, key in (("master", "failover_ms"), ("leader", "new_leader_ms"),
                      ("both", "new_leader_ms")):
        rs = [r for r in rows if r["what"] == what]
        if not rs:
            continue
        vals = sorted(r[key] for r in rs if r.get(key) is not None)
        med = statistics.median(vals) if vals else None
        print("  %s kills: %d/%d passed; %s median %s, min %s, max %s" % (
            what, sum(r["pass"] for r in rs), len(rs), key, fmt(med),
            fmt(vals[0] if vals else None), fmt(vals[-1] if vals else None)))
    print("  results: %s (logs of failed kills next to it)" %
          os.path.join(a.dir, "results.json"))
    if dns:
        print("  fake DNS: %d queries answered, %d left unanswered" %
              (dns.answered, dns.dropped))
    passed = sum(r["pass"] for r in rows)
    print("%d passed, %d failed" % (passed, len(rows) - passed))
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
