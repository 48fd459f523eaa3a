"""The group under test: 3 rsm-agents and 3 Redis servers, each in its own
namespace (Cluster), and what a run asks of it."""

import json
import os
import random
import shutil
import signal

from resp import RespError

from .common import (AGENTS, API_PORT, GROUP, RAFT_PORT, REDIS, REDIS_PORT,
                     ip_of, parse_info, wait_for)
from .netns import Net, dial
from .procs import Proc


class Cluster:
    """The group: 3 agents, 3 Redis servers, each in its own namespace."""

    def __init__(self, tag, workdir, opts):
        self.net = Net(tag)
        self.workdir = workdir
        self.opts = opts
        self.redis = {}
        self.agents = {}
        self.old_procs = []
        self.agent_logs = {i: [] for i in AGENTS}
        self.name_of = {"%s:%d" % (ip_of(r), REDIS_PORT): r for r in REDIS}

    @staticmethod
    def addr(r):
        return "%s:%d" % (ip_of(r), REDIS_PORT)

    # ---- Redis ----
    def start_redis(self, r, master=None):
        d = os.path.join(self.workdir, r)
        shutil.rmtree(d, ignore_errors=True)  # every start is an empty one
        os.makedirs(d)
        conf = ["port %d" % REDIS_PORT, "bind 0.0.0.0", "dir %s" % d,
                'save ""', "appendonly no", "daemonize no",
                "repl-ping-replica-period 1", "repl-timeout 5",
                "repl-diskless-sync-delay 0", "protected-mode no",
                'logfile ""']
        if master is not None:
            conf.append("replicaof %s %d" % (ip_of(master), REDIS_PORT))
        with open(os.path.join(d, "redis.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        old = self.redis.get(r)
        if old is not None:
            self.old_procs.append(old)
        self.redis[r] = Proc(self.net.ns[r],
                             ["redis-server", os.path.join(d, "redis.conf")],
                             os.path.join(self.workdir, r + ".log"))
        wait_for(lambda: self.redis_call(r, "PING") == "PONG", 10,
                 "redis %s up" % r)

    def redis_call(self, r, *args, timeout=0.5):
        with dial(self.net.ns[r], "127.0.0.1", REDIS_PORT, timeout) as c:
            return c.call(*args)

    def redis_info(self, r, timeout=0.5):
        try:
            return parse_info(self.redis_call(r, "INFO", "replication",
                                              timeout=timeout))
        except (OSError, ConnectionError, RespError, ValueError):
            return None

    # ---- agents ----
    def start_agent(self, i):
        d = os.path.join(self.workdir, "a%d" % i)
        os.makedirs(d, exist_ok=True)
        peers = ",".join("%d=%s:%d/%d" % (j, ip_of("a%d" % j), RAFT_PORT,
                                          API_PORT) for j in AGENTS)
        argv = [os.path.join(self.opts.build, "rsm-agent"), "--id", str(i),
                "--peers", peers,
                "--raft-bind", "%s:%d" % (ip_of("a%d" % i), RAFT_PORT),
                "--api-bind", "0.0.0.0:%d" % API_PORT,
                "--data-dir", os.path.join(d, "data"),
                "--monitor", "%s=%s" % (GROUP, ",".join(
                    self.addr(r) for r in REDIS)),
                "--down-after-ms", str(self.opts.down_after_ms),
                "--log-level", "debug"]
        if self.opts.fence is not None:
            argv += ["--fence", self.opts.fence]
        log = os.path.join(self.workdir, "a%d.%d.log" % (
            i, len(self.agent_logs[i]) + 1))
        self.agent_logs[i].append(log)
        old = self.agents.get(i)
        if old is not None:
            self.old_procs.append(old)
        self.agents[i] = Proc(self.net.ns["a%d" % i], argv, log)

    def status(self, i, timeout=0.5):
        try:
            with dial(self.net.ns["a%d" % i], "127.0.0.1", API_PORT,
                      timeout) as c:
                return json.loads(c.call("RSM", "STATUS"))
        except (OSError, ConnectionError, RespError, ValueError):
            return None

    @staticmethod
    def group(st):
        for g in (st or {}).get("groups", []):
            if g.get("name") == GROUP:
                return g
        return None

    def statuses(self):
        return {i: self.status(i) for i in AGENTS}

    def leader(self):
        """The agent every answering agent names as leader, if it says so
        itself."""
        sts = self.statuses()
        ids = {(st.get("leader") or {}).get("id") for st in sts.values()
               if st is not None}
        if len(ids) != 1:
            return None
        lid = ids.pop()
        st = sts.get(lid)
        return lid if st is not None and st.get("role") == "leader" else None

    def committed_master(self):
        """The master every answering agent names (its Redis name)."""
        ms = {(self.group(st) or {}).get("master")
              for st in self.statuses().values() if st is not None}
        if len(ms) != 1:
            return None
        return self.name_of.get(ms.pop())

    def ask_master(self, rng=None):
        """What a pod asks before it starts: the master as the agents name
        it, over the network from the client namespace (None if nobody
        answers)."""
        order = list(AGENTS)
        (rng or random).shuffle(order)
        for i in order:
            try:
                with dial(self.net.ns["c"], ip_of("a%d" % i), API_PORT,
                          0.5) as c:
                    r = c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", GROUP)
                if r:
                    return self.name_of.get("%s:%s" % (r[0], r[1]))
            except (OSError, ConnectionError, RespError, ValueError):
                continue
        return None

    def restart_redis_like_a_pod(self, r):
        """Start r again empty, as a replica of the master the agents name
        (as master if they name r itself, or nobody answers)."""
        m = self.ask_master()
        self.start_redis(r, master=None if m in (None, r) else m)

    def healthy(self):
        """(True, master) when every agent answers and names the same
        leader and master, nothing is in flight, the master says
        role:master and both others are its replicas with the link up;
        else (False, why)."""
        sts = self.statuses()
        for i, st in sts.items():
            if st is None:
                return False, "agent %d does not answer" % i
        leaders = {(st.get("leader") or {}).get("id") for st in sts.values()}
        if len(leaders) != 1 or None in leaders:
            return False, "leaders %s" % sorted(map(str, leaders))
        gs = [self.group(st) for st in sts.values()]
        if any(g is None for g in gs):
            return False, "group unknown to an agent"
        if len({(g["master"], g["epoch"]) for g in gs}) != 1:
            return False, "agents disagree: %s" % [
                (g["master"], g["epoch"]) for g in gs]
        if any(g.get("in_flight") for g in gs):
            return False, "failover in flight"
        m = self.name_of.get(gs[0]["master"])
        if m is None:
            return False, "no committed master"
        info = self.redis_info(m)
        if info is None or info.get("role") != "master":
            return False, "%s is not master" % m
        for r in REDIS:
            if r == m:
                continue
            i = self.redis_info(r)
            if i is None or i.get("role") != "slave" or \
                    i.get("master_host") != ip_of(m) or \
                    i.get("master_link_status") != "up":
                return False, "%s not linked to %s" % (r, m)
        return True, m

    def stop_all(self):
        for p in list(self.agents.values()) + list(self.redis.values()):
            p.stop(signal.SIGKILL)
        for p in self.old_procs:
            if p.alive():
                p.stop(signal.SIGKILL)


def healed(cl):
    ok, m = cl.healthy()
    return m if ok else None
