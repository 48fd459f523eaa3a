"""What runs during a fault: the Writer (acknowledged writes, with the
master's replication id and offset), the Pollers (every Redis's role and
whether it takes writes, through its own namespace), the replication
Lineage they learn, and the windows with two masters."""

import random
import threading
import time

from resp import RespError

from .common import REDIS_PORT, ip_of, parse_info
from .netns import dial


class Lineage:
    """Replication ids seen and where each was forked from:
    parent[replid] = (replid2, last offset inherited). From INFO
    replication of any instance (master_replid2 / second_repl_offset)."""

    NULL = "0" * 40

    def __init__(self):
        self.parent = {}
        self.conflicts = []
        self.lock = threading.Lock()

    def learn(self, info):
        rid, rid2 = info.get("master_replid"), info.get("master_replid2")
        if not rid or not rid2 or rid2 == self.NULL:
            return
        try:
            off = int(info.get("second_repl_offset", "-1")) - 1
        except ValueError:
            return
        if off < 0:
            return
        with self.lock:
            old = self.parent.get(rid)
            if old is None:
                self.parent[rid] = (rid2, off)
            elif old != (rid2, off):
                self.conflicts.append((rid, old, (rid2, off)))

    def fork_offset(self, final, lineage):
        """The last offset of `lineage` that `final` inherited: inf if
        they are the same, None if final does not descend from it."""
        if final == lineage:
            return float("inf")
        seen = set()
        with self.lock:
            child = final
            while child in self.parent and child not in seen:
                seen.add(child)
                p, off = self.parent[child]
                if p == lineage:
                    return off
                child = p
        return None


class Writer(threading.Thread):
    """Writes w:<n> = n to the master the agents name (asked every 0.5 s,
    as a Sentinel client would), BATCH SETs at a time followed by INFO
    replication on the same connection, every 10 ms: an acknowledged write
    is recorded with the master's replication id and an offset at or after
    the write. A write whose reply does not come is not acknowledged."""

    BATCH = 5

    def __init__(self, cl, lineage):
        super().__init__(daemon=True)
        self.cl, self.lineage = cl, lineage
        self.acked = []  # (n, master, replid, offset, time)
        self.attempts = 0
        self.halt = threading.Event()

    def run(self):
        n, conn, addr, refresh = 0, None, None, 0.0
        rng = random.Random(1)
        while not self.halt.is_set():
            now = time.monotonic()
            if now >= refresh:
                refresh = now + 0.5
                m = self.cl.ask_master(rng)
                if m is not None and m != addr:
                    if conn:
                        conn.close()
                    conn, addr = None, m
            if addr is None:
                time.sleep(0.05)
                continue
            try:
                if conn is None:
                    conn = dial(self.cl.net.ns["c"], ip_of(addr), REDIS_PORT,
                                0.5)
                batch = list(range(n + 1, n + 1 + self.BATCH))
                n += self.BATCH
                self.attempts += self.BATCH
                for k in batch:
                    conn.send("SET", "w:%d" % k, str(k))
                conn.send("INFO", "replication")
                oks = [conn.read(raise_errors=False) for _ in batch]
                info = conn.read(raise_errors=False)
            except (OSError, ConnectionError, ValueError):
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.05)
                continue
            if isinstance(info, str):
                i = parse_info(info)
                self.lineage.learn(i)
                rid = i.get("master_replid") if i.get("role") == "master" \
                    else None
                try:
                    off = int(i.get("master_repl_offset", "-1"))
                except ValueError:
                    off = -1
                t = time.time()
                self.acked.extend((k, addr, rid, off, t)
                                  for k, ok in zip(batch, oks) if ok == "OK")
            time.sleep(0.01)
        if conn:
            conn.close()


class Poller(threading.Thread):
    """INFO replication and min-replicas-to-write of one Redis every 50 ms,
    through its own namespace: samples (time, role or None, writable). A
    master is writable unless min-replicas-to-write refuses writes: INFO
    shows min_slaves_good_slaves (the count Redis checks) below it."""

    def __init__(self, cl, r, lineage):
        super().__init__(daemon=True)
        self.cl, self.r, self.lineage = cl, r, lineage
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        conn = None
        while not self.halt.is_set():
            role, writable = None, False
            try:
                if conn is None:
                    conn = dial(self.cl.net.ns[self.r], "127.0.0.1",
                                REDIS_PORT, 0.3)
                conn.send("INFO", "replication")
                conn.send("CONFIG", "GET", "min-replicas-to-write")
                info = conn.read(raise_errors=False)
                fence = conn.read(raise_errors=False)
                if isinstance(info, RespError):
                    raise info
                info = parse_info(info)
                role = info.get("role")
                self.lineage.learn(info)
                need = int(fence[1]) if isinstance(fence, list) else 0
                good = info.get("min_slaves_good_slaves")
                writable = role == "master" and (
                    good is None or int(good) >= need)
            except (OSError, ConnectionError, RespError, ValueError):
                if conn:
                    conn.close()
                conn = None
            self.samples.append((time.time(), role, writable))
            time.sleep(0.05)
        if conn:
            conn.close()


def master_intervals(samples, stale=0.5, writable=False):
    """[start, end) intervals during which one instance answered
    role:master (and, with writable, took writes): a sample counts until
    the next one, for at most `stale` seconds."""
    out = []
    for k, (t, role, can_write) in enumerate(samples):
        if role != "master" or (writable and not can_write):
            continue
        end = samples[k + 1][0] if k + 1 < len(samples) else t + 0.05
        end = min(end, t + stale)
        if out and out[-1][1] >= t:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([t, end])
    return out


def longest_two_master_window(pollers, stale=0.5, writable=False):
    """Longest time during which two or more instances answered
    role:master (with writable: and took writes)."""
    edges = []
    for p in pollers:
        for start, end in master_intervals(p.samples, stale, writable):
            edges.append((start, 1))
            edges.append((end, -1))
    edges.sort(key=lambda e: (e[0], -e[1]))  # a start before an end
    best, count, since = 0.0, 0, None
    for t, d in edges:
        count += d
        if count >= 2 and since is None:
            since = t
        elif count < 2 and since is not None:
            best = max(best, t - since)
            since = None
    return best
