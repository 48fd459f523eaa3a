"""agentset - N rsm-agent processes on loopback for the integration tests
of the HTTP port and of redis-boot: ids 1..N, kernel-assigned ports (Raft,
client API, HTTP), one data dir each under the test's workdir, one group
watched with --monitor.
"""

import json
import os

from rsmtest import HOST, Proc, binary, call, free_port


class Agents:
    """N rsm-agents with an HTTP port each, watching one group."""

    def __init__(self, tc, n, monitor, down_after=1000, extra=()):
        self.tc = tc
        self.ids = list(range(1, n + 1))
        self.raft = {i: free_port() for i in self.ids}
        self.api = {i: free_port() for i in self.ids}
        self.http = {i: free_port() for i in self.ids}
        self.procs = {}
        self.monitor = monitor
        self.down_after = down_after
        self.extra = list(extra)

    def peers(self):
        return ",".join("%d=%s:%d/%d" % (i, HOST, self.raft[i], self.api[i])
                        for i in self.ids)

    def start(self, i):
        argv = [binary("rsm-agent"), "--id", str(i), "--peers", self.peers(),
                "--data-dir", os.path.join(self.tc.workdir, "agent%d" % i),
                "--api-bind", "%s:%d" % (HOST, self.api[i]),
                "--http-bind", "%s:%d" % (HOST, self.http[i]),
                "--monitor", self.monitor,
                "--down-after-ms", str(self.down_after),
                "--min-failover-interval-ms", "0"] + self.extra
        p = Proc(argv, os.path.join(self.tc.workdir, "agent%d.log" % i))
        self.procs[i] = p
        self.tc._procs.append(p)
        return p

    def start_all(self):
        for i in self.ids:
            self.start(i)

    def status(self, i):
        return json.loads(call(self.api[i], "RSM", "STATUS"))

    def leader(self):
        for i in self.ids:
            p = self.procs.get(i)
            if p is None or not p.alive():
                continue
            try:
                if self.status(i)["role"] == "leader":
                    return i
            except (OSError, ValueError, KeyError):
                pass
        return None

    def committed(self, i, group):
        """The master agent i has committed for group (None if none)."""
        try:
            for g in self.status(i)["groups"]:
                if g["name"] == group:
                    return g["master"]
        except (OSError, ValueError):
            pass
        return None
