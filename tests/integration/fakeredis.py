"""fakeredis - many SIMULATED Redis endpoints in one Python process, for
tests and benchmarks that need more endpoints than real redis-servers a
machine can hold (a test of 100 groups, the scale benchmark's --fake python).

Not a Redis: it answers what a failover agent asks of an idle, healthy
replication group. Ports are kernel-assigned on 127.0.0.1 and taken in
groups of 3 (the last one smaller): the first is a master, the others its
replicas, online and linked. Every port answers PING, INFO (server,
persistence, replication; all three with no section), SUBSCRIBE/PUBLISH
(per port) and +OK to anything else. It records, per port, the time
between two INFO replication (or plain INFO) and between two PING.

    farm = Farm(n).start()      # in a thread of this process
    farm.ports, farm.groups
    farm.stop()

    python3 fakeredis.py N      # a process: prints "ports P1 P2 ...", then
                                # answers "reset" / "stats" lines on stdin
                                # like scripts/bench/fake_redis.c
"""
import asyncio
import socket
import sys
import threading
import time

from resp import Status, encode_reply

_PONG = encode_reply(Status("PONG"))
_OK = encode_reply(Status("OK"))
_EMPTY = encode_reply("")


class Farm:
    def __init__(self, n):
        self.socks = []
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(128)
            s.setblocking(False)
            self.socks.append(s)
        self.ports = [s.getsockname()[1] for s in self.socks]
        self.groups = [self.ports[i:i + 3] for i in range(0, n, 3)]
        self.master = {p: g[0] for g in self.groups for p in g}
        self.lock = threading.Lock()
        self.commands = 0
        self._last = {"info": {}, "ping": {}}
        self.periods = {"info": [], "ping": []}  # ms
        self._subs = {p: [] for p in self.ports}
        self._info = {p: self._sections(p) for p in self.ports}
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sections(self, port):
        m = self.master[port]
        server = ("# Server\r\nredis_version:7.0.15\r\nrun_id:%040x\r\n"
                  "tcp_port:%d\r\nprocess_id:1\r\n" % (port * 7919, port))
        pers = "# Persistence\r\nloading:0\r\n"
        if port == m:
            reps = [p for p in self.ports if self.master[p] == m and p != m]
            lines = ["# Replication", "role:master",
                     "connected_slaves:%d" % len(reps)]
            lines += ["slave%d:ip=127.0.0.1,port=%d,state=online,offset=1000,"
                      "lag=0" % (i, p) for i, p in enumerate(reps)]
        else:
            lines = ["# Replication", "role:slave", "master_host:127.0.0.1",
                     "master_port:%d" % m, "master_link_status:up",
                     "master_last_io_seconds_ago:0",
                     "master_sync_in_progress:0", "slave_repl_offset:1000",
                     "slave_priority:100", "slave_read_only:1",
                     "connected_slaves:0"]
        lines += ["master_replid:%040x" % (m * 104729),
                  "master_repl_offset:1000"]
        repl = "\r\n".join(lines) + "\r\n"
        out = {"server": server, "persistence": pers, "replication": repl,
               "": server + "\r\n" + pers + "\r\n" + repl}
        return {k: encode_reply(v) for k, v in out.items()}

    def _mark(self, kind, port):
        t = time.monotonic()
        with self.lock:
            prev = self._last[kind].get(port)
            self._last[kind][port] = t
            if prev is not None:
                self.periods[kind].append((t - prev) * 1000)

    def reset(self):
        with self.lock:
            self.periods = {"info": [], "ping": []}
            self.commands = 0

    async def _serve(self, port, reader, writer):
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
                    args.append((await reader.readexactly(
                        int(ln[1:]) + 2))[:-2])
                self._command(port, writer, args)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._subs[port] = [(c, w) for c, w in self._subs[port]
                                if w is not writer]
            writer.close()

    def _command(self, port, writer, args):
        self.commands += 1
        cmd = args[0].upper() if args else b""
        if cmd == b"PING":
            self._mark("ping", port)
            writer.write(_PONG)
        elif cmd == b"INFO":
            sec = args[1].decode().lower() if len(args) > 1 else ""
            if sec in ("all", "default", "everything"):
                sec = ""
            if sec in ("", "replication"):
                self._mark("info", port)
            writer.write(self._info[port].get(sec, _EMPTY))
        elif cmd == b"SUBSCRIBE":
            for i, ch in enumerate(args[1:]):
                self._subs[port].append((ch, writer))
                writer.write(encode_reply([b"subscribe", ch, i + 1]))
        elif cmd == b"PUBLISH" and len(args) == 3:
            n = 0
            for ch, w in self._subs[port]:
                if ch == args[1] and not w.is_closing():
                    w.write(encode_reply([b"message", ch, args[2]]))
                    n += 1
            writer.write(encode_reply(n))
        else:
            writer.write(_OK)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        for s, p in zip(self.socks, self.ports):
            self.loop.run_until_complete(asyncio.start_server(
                lambda r, w, p=p: self._serve(p, r, w), sock=s))
        self.loop.run_forever()

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def _q(xs, f):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(f * len(xs)))] if xs else 0.0


def main():
    farm = Farm(int(sys.argv[1])).start()
    print("ports " + " ".join(map(str, farm.ports)), flush=True)
    for line in sys.stdin:
        if line.strip() == "reset":
            farm.reset()
            print("ok", flush=True)
        elif line.strip() == "stats":
            with farm.lock:
                i, p = farm.periods["info"], farm.periods["ping"]
                print("info %d %.1f %.1f %.1f ping %d %.1f %.1f %.1f "
                      "commands %d" % (
                          len(i), _q(i, .5), _q(i, .99), max(i or [0]),
                          len(p), _q(p, .5), _q(p, .99), max(p or [0]),
                          farm.commands), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
