#!/usr/bin/env python3
"""scale.py - one failover agent watching N Redis endpoints: rsm-agent (a
group of one agent, so the leader) at --probe-interval-ms 100 (10 Hz), and
redis-sentinel (one sentinel, quorum 1) on the same endpoints.

    scale.py [--points "10 100 300 1000"] [--seconds 30]
             [--impls "agent sentinel agent-1hz"] [--fake c|python]
             [--agent build/rsm-agent]

The endpoints are SIMULATED, not redis-server processes: one process
serves every port (scripts/bench/fake_redis.c, compiled here with cc; or,
with --fake python, the asyncio tests/integration/fakeredis.py, to show what
a Python endpoint server costs). They answer PING, INFO (server, persistence,
replication), SUBSCRIBE/PUBLISH per port and +OK to the rest, as groups of
3 (a master and 2 linked replicas; the last group smaller when N is not a
multiple of 3). One --monitor (one `sentinel monitor`) per group.

For each point and implementation prints one CSV line (header first):
  cpu_percent      the agent's CPU, % of one core: median of 5 s samples
  rss_kb           at the end
  lat_p50_ms, lat_p99_ms, lat_mean_ms, lat_le20_frac
                   rsm-agent only: probe latency (send -> last reply) from
                   its own histogram rsm_probe_duration_seconds on /metrics
                   (difference over the window, all groups; quantiles
                   interpolated inside the buckets like Prometheus'
                   histogram_quantile); le20 = share of probes <= 20 ms
  failed           probes without an answer in the window (agent)
  info_p50_ms, info_p99_ms   time between two INFO replication (plain INFO
                   for redis-sentinel) on one port, seen by the endpoint
                   server: 100 ms when the agent keeps up at 10 Hz
  ping_p50_ms      same for PING (redis-sentinel pings every 1 s)
  cmds_per_s       commands the endpoint server answered per second
  fake_cpu_percent the endpoint server's own CPU (is it the bottleneck?)
redis-sentinel's probe rates are its own (PING 1/s, INFO 1/10 s, hello
1/2 s per instance) and cannot be set to 10 Hz; it exposes no probe
latency. "agent-1hz" is rsm-agent probing once a second (--probe-interval-ms
1000), the rate of redis-sentinel's PINGs, for a like-for-like CPU ratio.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ("impl", "n", "groups", "probe_hz", "cpu_percent", "rss_kb",
           "lat_p50_ms", "lat_p99_ms", "lat_mean_ms", "lat_le20_frac",
           "failed", "info_p50_ms", "info_p99_ms", "ping_p50_ms",
           "cmds_per_s", "fake_cpu_percent", "fake", "note")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def proc_sample(pid):
    """(utime + stime ticks, RSS kB) of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return int(fields[11]) + int(fields[12]), rss


# --------------------------------------------------------------------------
# The endpoint servers
# --------------------------------------------------------------------------
class Fake:
    """A running endpoint server (C or Python) and its stdin protocol."""

    def __init__(self, kind, n, tmp):
        if kind == "c":
            exe = os.path.join(tmp, "fake_redis")
            if not os.path.exists(exe):
                subprocess.run(["cc", "-O2", "-o", exe,
                                os.path.join(HERE, "fake_redis.c")],
                               check=True)
            argv = [exe, str(n)]
        else:
            argv = [sys.executable, os.path.join(
                HERE, "..", "..", "tests", "integration", "fakeredis.py"),
                str(n)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "ports":
            raise RuntimeError("endpoint server did not start")
        self.ports = [int(p) for p in line[1:]]
        self.groups = [self.ports[i:i + 3] for i in range(0, n, 3)]

    def ask(self, what):
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().split()

    def reset(self):
        self.ask("reset")

    def stats(self):
        """{info: (n, p50, p99, max), ping: (...), commands: n}"""
        w = self.ask("stats")
        return {"info": tuple(float(x) for x in w[1:5]),
                "ping": tuple(float(x) for x in w[6:10]),
                "commands": int(w[11])}

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------
# Reading the agent's probe-latency histogram
# --------------------------------------------------------------------------
BUCKET = re.compile(r'^rsm_probe_duration_seconds_bucket\{group="[^"]*",'
                    r'le="([^"]+)"\} (\d+)$')


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as r:
        return r.read().decode()


def histogram(text):
    """{upper bound (s, inf): cumulative count over every group}, sum s,
    failed, instances up, acting."""
    h, total, failed, up, acting = {}, 0.0, 0, 0, False
    for line in text.splitlines():
        m = BUCKET.match(line)
        if m:
            le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
            h[le] = h.get(le, 0) + int(m.group(2))
        elif line.startswith("rsm_probe_duration_seconds_sum{"):
            total += float(line.split()[-1])
        elif line.startswith("rsm_probe_failures_total{"):
            failed += int(line.split()[-1])
        elif line.startswith("rsm_instance_up{"):
            up += int(line.split()[-1])
        elif line.startswith("rsm_monitor_acting "):
            acting = line.split()[-1] == "1"
    return h, total, failed, up, acting


def quantile(h, q):
    """Like Prometheus' histogram_quantile, in ms (h cumulative)."""
    bounds = sorted(h)
    n = h[bounds[-1]] if bounds else 0
    if n == 0:
        return None
    rank, lo, below = q * n, 0.0, 0
    for b in bounds:
        if h[b] >= rank:
            if b == float("inf"):
                return lo * 1000
            inside = h[b] - below
            frac = (rank - below) / inside if inside else 1.0
            return (lo + (b - lo) * frac) * 1000
        lo, below = b, h[b]
    return lo * 1000


# --------------------------------------------------------------------------
# One point
# --------------------------------------------------------------------------
def start_agent(a, fake, tmp, probe_ms):
    raft, api, http = free_port(), free_port(), free_port()
    argv = [a.agent, "--id", "1",
            "--peers", "1=127.0.0.1:%d/%d" % (raft, api),
            "--raft-bind", "127.0.0.1:%d" % raft,
            "--api-bind", "127.0.0.1:%d" % api,
            "--http-bind", "127.0.0.1:%d" % http,
            "--data-dir", os.path.join(tmp, "raft"), "--log-level", "warn",
            "--probe-interval-ms", str(probe_ms), "--down-after-ms", "5000"]
    for i, g in enumerate(fake.groups):
        argv += ["--monitor", "g%d=%s" % (i, ",".join(
            "127.0.0.1:%d" % p for p in g))]
    log = open(os.path.join(tmp, "agent.log"), "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    n = len(fake.ports)
    deadline = time.monotonic() + 30 + n / 50
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            _, _, _, up, acting = histogram(metrics(http))
            if acting and up >= n:
                return proc, http
        except OSError:
            pass
        time.sleep(0.5)
    return proc, None


def start_sentinel(fake, tmp):
    port = free_port()
    conf = os.path.join(tmp, "sentinel.conf")
    with open(conf, "w") as f:
        f.write("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n"
                "daemonize no\nprotected-mode no\n" % (
                    port, tmp, os.path.join(tmp, "sentinel.log")))
        for i, g in enumerate(fake.groups):
            f.write("sentinel monitor g%d 127.0.0.1 %d 1\n"
                    "sentinel down-after-milliseconds g%d 5000\n" % (
                        i, g[0], i))
    proc = subprocess.Popen(["redis-sentinel", conf],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    want = sum(len(g) - 1 for g in fake.groups)
    deadline = time.monotonic() + 30 + len(fake.ports) / 50
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            r = subprocess.run(["redis-cli", "-p", str(port), "SENTINEL",
                                "MASTERS"], capture_output=True, text=True,
                               timeout=10)
            lines = r.stdout.splitlines()
            seen = sum(int(lines[i + 1]) for i, x in enumerate(lines)
                       if x == "num-slaves" and i + 1 < len(lines))
            if seen >= want:
                return proc, port
        except (subprocess.TimeoutExpired, ValueError):
            pass
        time.sleep(0.5)
    return proc, None


def measure(a, impl, n, fake_kind):
    groups = (n + 2) // 3
    row = dict.fromkeys(COLUMNS, "")
    probe_ms = 1000 if impl == "agent-1hz" else a.probe_ms
    agent = impl.startswith("agent")
    row.update(impl=impl, n=n, groups=groups, fake=fake_kind,
               probe_hz="%g" % (1000.0 / probe_ms) if agent else "1")
    tmp = tempfile.mkdtemp(prefix="rsm-scale.")
    fake = proc = None
    try:
        fake = Fake(fake_kind, n, tmp)
        if agent:
            proc, port = start_agent(a, fake, tmp, probe_ms)
        else:
            proc, port = start_sentinel(fake, tmp)
        if port is None:
            log = os.path.join(tmp, "agent.log" if agent else "sentinel.log")
            tail = open(log).read()[-300:] if os.path.exists(log) else ""
            row["note"] = "did not get ready: " + re.sub(r"[\s,]+", " ", tail)
            return row
        time.sleep(a.warmup)
        hz = os.sysconf("SC_CLK_TCK")
        h0 = histogram(metrics(port)) if agent else None
        fake.reset()
        cpu = []
        t0 = t_prev = time.monotonic()
        c_prev, _ = proc_sample(proc.pid)
        f0, _ = proc_sample(fake.proc.pid)
        step = min(5, a.seconds)
        for _ in range(max(1, a.seconds // step)):
            time.sleep(step)
            t, (c, rss) = time.monotonic(), proc_sample(proc.pid)
            cpu.append(100.0 * (c - c_prev) / hz / (t - t_prev))
            t_prev, c_prev = t, c
        f1, _ = proc_sample(fake.proc.pid)
        dt = time.monotonic() - t0
        st = fake.stats()
        row.update(cpu_percent="%.2f" % statistics.median(cpu), rss_kb=rss,
                   info_p50_ms="%.1f" % st["info"][1],
                   info_p99_ms="%.1f" % st["info"][2],
                   ping_p50_ms="%.1f" % st["ping"][1],
                   cmds_per_s="%.0f" % (st["commands"] / dt),
                   fake_cpu_percent="%.2f" % (100.0 * (f1 - f0) / hz / dt))
        if agent:
            h1 = histogram(metrics(port))
            d = {le: h1[0].get(le, 0) - h0[0].get(le, 0) for le in h1[0]}
            count = d.get(float("inf"), 0)
            le20 = d[max(x for x in d if x <= 0.020001)]
            row.update(
                lat_p50_ms=fmt(quantile(d, 0.5), 2),
                lat_p99_ms=fmt(quantile(d, 0.99), 2),
                lat_mean_ms=fmt((h1[1] - h0[1]) * 1000 / count
                                if count else None, 2),
                lat_le20_frac=fmt(le20 / count if count else None, 4),
                failed=h1[2] - h0[2])
        return row
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        row["note"] = "error: %s" % re.sub(r"[\s,]+", " ", str(e))
        return row
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if fake is not None:
            fake.close()
        shutil.rmtree(tmp, ignore_errors=True)


def fmt(x, digits):
    return "" if x is None else "%.*f" % (digits, x)


def main():
    ap = argparse.ArgumentParser(prog="scale.py")
    ap.add_argument("--points", default="10 100 300 1000")
    ap.add_argument("--impls", default="agent sentinel agent-1hz")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--probe-ms", type=int, default=100)
    ap.add_argument("--fake", choices=("c", "python"), default="c")
    ap.add_argument("--agent", default="build/rsm-agent")
    a = ap.parse_args()
    print(",".join(COLUMNS), flush=True)
    for n in map(int, a.points.split()):
        for impl in a.impls.split():
            row = measure(a, impl, n, a.fake)
            print(",".join(str(row[c]) for c in COLUMNS), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
