#!/usr/bin/env python3
"""scale.py - one rsm-agent (a group of one, so the leader) watching N Redis
endpoints at --probe-interval-ms (default 100 ms = 10 Hz).

    scale.py [--points "10 100 300"] [--seconds 30] [--agent build/rsm-agent]

The endpoints are NOT real redis-server processes: one asyncio process
serves every port (PING, INFO replication/server/persistence, +OK to the
rest), as groups of 3 (a master and 2 replicas linked to it; the last
group smaller when N is not a multiple of 3), one --monitor per group.
--monitor takes at most RSM_MAX_GROUPS (64) groups, so a point needing
more than 64 groups of 3 is reported as over the cap and not run.

For each point prints one CSV line: n, groups, agent CPU % of a core
(median of 5 s samples over --seconds, after a warm-up), agent RSS kB, and
the probe period p50/p99 seen by the fake server (time between two INFO
replication on the same port; 100 ms when the agent keeps up) and the
number of probes served. The agent does not expose its probe latency, so
the period is the measure of keeping up.
"""
import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

MAX_GROUPS = 64


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def bulk(text):
    b = text.encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)


class Fake:
    """Every endpoint in one event loop; role of each port from its group."""

    def __init__(self, n):
        self.n = n
        self.socks = []
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            s.setblocking(False)
            self.socks.append(s)
        self.ports = [s.getsockname()[1] for s in self.socks]
        self.groups = [self.ports[i:i + 3] for i in range(0, n, 3)]
        self.master_of = {}
        for g in self.groups:
            for p in g:
                self.master_of[p] = g[0]
        self.times = {p: [] for p in self.ports}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def info(self, port, section):
        m = self.master_of[port]
        s = section.lower()
        if s == "server":
            return ("# Server\r\nredis_version:7.0.15\r\nrun_id:%040x\r\n"
                    "tcp_port:%d\r\nprocess_id:1\r\n" % (port, port))
        if s == "persistence":
            return "# Persistence\r\nloading:0\r\n"
        if port == m:
            g = [p for p in self.ports if self.master_of[p] == m and p != m]
            lines = ["# Replication", "role:master",
                     "connected_slaves:%d" % len(g)]
            for i, p in enumerate(g):
                lines.append("slave%d:ip=127.0.0.1,port=%d,state=online,"
                             "offset=1000,lag=0" % (i, p))
            lines += ["master_replid:%040x" % m, "master_repl_offset:1000"]
        else:
            lines = ["# Replication", "role:slave", "master_host:127.0.0.1",
                     "master_port:%d" % m, "master_link_status:up",
                     "master_last_io_seconds_ago:0",
                     "master_sync_in_progress:0", "slave_repl_offset:1000",
                     "slave_priority:100", "slave_read_only:1",
                     "connected_slaves:0", "master_replid:%040x" % m,
                     "master_repl_offset:1000"]
        return "\r\n".join(lines) + "\r\n"

    async def serve(self, port, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                if not line.startswith(b"*"):
                    continue
                args = []
                for _ in range(int(line[1:])):
                    ln = await reader.readline()
                    data = await reader.readexactly(int(ln[1:]) + 2)
                    args.append(data[:-2].decode(errors="replace"))
                cmd = args[0].upper() if args else ""
                if cmd == "PING":
                    writer.write(b"+PONG\r\n")
                elif cmd == "INFO":
                    sec = args[1] if len(args) > 1 else "replication"
                    if sec.lower() == "replication":
                        self.times[port].append(time.monotonic())
                    writer.write(bulk(self.info(port, sec)))
                else:
                    writer.write(b"+OK\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        for s, p in zip(self.socks, self.ports):
            self.loop.run_until_complete(asyncio.start_server(
                lambda r, w, p=p: self.serve(p, r, w), sock=s))
        self.loop.run_forever()

    def start(self):
        self.thread.start()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def proc_sample(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return int(fields[11]) + int(fields[12]), rss


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def point(a, n):
    groups = (n + 2) // 3
    if groups > MAX_GROUPS:
        return "%d,%d,,,,,,over RSM_MAX_GROUPS=%d" % (n, groups, MAX_GROUPS)
    fake = Fake(n)
    fake.start()
    tmp = tempfile.mkdtemp(prefix="rsm-scale.")
    raft, api = free_port(), free_port()
    argv = [a.agent, "--id", "1",
            "--peers", "1=127.0.0.1:%d/%d" % (raft, api),
            "--raft-bind", "127.0.0.1:%d" % raft,
            "--api-bind", "127.0.0.1:%d" % api, "--data-dir", tmp + "/raft",
            "--probe-interval-ms", str(a.probe_ms), "--down-after-ms", "5000"]
    for i, g in enumerate(fake.groups):
        argv += ["--monitor", "g%d=%s" % (i, ",".join(
            "127.0.0.1:%d" % p for p in g))]
    log = open(os.path.join(tmp, "agent.log"), "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(a.warmup)
        if proc.poll() is not None:
            log.close()
            tail = open(os.path.join(tmp, "agent.log")).read()[-300:]
            return "%d,%d,,,,,,agent exited: %s" % (
                n, groups, tail.replace("\n", " ").replace(",", ";"))
        hz = os.sysconf("SC_CLK_TCK")
        for p in fake.times:
            fake.times[p] = []
        cpu, rss = [], 0
        t_prev, (c_prev, _) = time.monotonic(), proc_sample(proc.pid)
        step = 5 if a.seconds >= 10 else a.seconds
        for _ in range(max(1, a.seconds // step)):
            time.sleep(step)
            t, (c, rss) = time.monotonic(), proc_sample(proc.pid)
            cpu.append(100.0 * (c - c_prev) / hz / (t - t_prev))
            t_prev, c_prev = t, c
        periods = []
        for ts in list(fake.times.values()):
            periods += [(b - x) * 1000 for x, b in zip(ts, ts[1:])]
        probes = sum(len(ts) for ts in fake.times.values())
        return "%d,%d,%.2f,%d,%.1f,%.1f,%d,%s" % (
            n, groups, statistics.median(cpu), rss, pct(periods, 0.5) or 0,
            pct(periods, 0.99) or 0, probes, "")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(prog="scale.py")
    ap.add_argument("--points", default="10 100 300")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--probe-ms", type=int, default=100)
    ap.add_argument("--agent", default="build/rsm-agent")
    a = ap.parse_args()
    print("n,groups,agent_cpu_percent,agent_rss_kb,probe_period_p50_ms,"
          "probe_period_p99_ms,probes,note", flush=True)
    for n in map(int, a.points.split()):
        print(point(a, n), flush=True)


if __name__ == "__main__":
    sys.exit(main())
