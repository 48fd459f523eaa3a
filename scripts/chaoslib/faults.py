"""The fault catalogue (common.FAULTS). Each fault draws its parameters
from the run's rng first (so the schedule repeats with the seed), then
acts. "expect" says what the agents should do: "failover", "none", or
"either" (a stop near down-after)."""

import signal
import time

from .common import AGENTS, REDIS, wait_for


def draw(fault, rng, down_after_s):
    p = {"fault": fault, "warmup": round(rng.uniform(1.0, 2.0), 2),
         "pick": round(rng.random(), 3)}
    if fault in ("kill-master",):
        p["restart_after"] = round(rng.uniform(0.0, 1.0), 2)
        p["expect"] = "failover"
    elif fault == "stop-master":
        p["hold"] = round(rng.uniform(0.3, 4.0), 2)
        p["expect"] = ("none" if p["hold"] <= down_after_s - 0.3 else
                       "failover" if p["hold"] >= down_after_s + 2.0 else
                       "either")
    elif fault in ("isolate-master", "partition-master"):
        p["hold"] = round(rng.uniform(2.5, 6.0), 2)
        p["expect"] = "failover"
    elif fault == "restart-master-empty":
        p["expect"] = "failover"
    elif fault in ("isolate-leader", "leader-cut-master",
                   "minority-partition"):
        p["hold"] = round(rng.uniform(2.5, 6.0), 2)
        p["expect"] = "none"
    elif fault == "slow-links":
        p["hold"] = round(rng.uniform(3.0, 8.0), 2)
        p["delay_ms"] = rng.choice((20, 50, 100, 200))
        p["rate_kbit"] = rng.choice((256, 512, 1024))
        p["expect"] = "none"
    elif fault == "restart-agent":
        p["expect"] = "none"
    else:  # kill/stop of a replica, the leader, a follower
        p["hold"] = round(rng.uniform(0.5, 4.0), 2)
        p["expect"] = "none"
    return p


def pick(seq, p):
    seq = sorted(seq)
    return seq[min(int(p["pick"] * len(seq)), len(seq) - 1)]


def apply_fault(cl, p, master, leader, netem, log):
    """Inject the fault, hold it, remove it. Returns (t_fault, t_unfault,
    target)."""
    f = p["fault"]
    net = cl.net
    followers = [i for i in AGENTS if i != leader]
    replicas = [r for r in REDIS if r != master]
    t0 = time.time()
    if f == "kill-master":
        cl.redis[master].stop(signal.SIGKILL)
        t0 = time.time()
        try:
            wait_for(lambda: cl.committed_master() not in (None, master),
                     15, "a new master")
        except TimeoutError:
            log("no new master 15 s after the kill")
        time.sleep(p["restart_after"])
        cl.restart_redis_like_a_pod(master)
        return t0, time.time(), master
    if f == "restart-master-empty":
        cl.redis[master].stop(signal.SIGKILL)
        t0 = time.time()
        cl.start_redis(master)
        return t0, time.time(), master
    if f in ("stop-master", "stop-replica"):
        r = master if f == "stop-master" else pick(replicas, p)
        cl.redis[r].send(signal.SIGSTOP)
        t0 = time.time()
        time.sleep(p["hold"])
        cl.redis[r].send(signal.SIGCONT)
        return t0, time.time(), r
    if f == "kill-replica":
        r = pick(replicas, p)
        cl.redis[r].stop(signal.SIGKILL)
        t0 = time.time()
        time.sleep(p["hold"])
        cl.restart_redis_like_a_pod(r)
        return t0, time.time(), r
    if f in ("kill-leader", "stop-leader", "kill-follower", "stop-follower"):
        a = leader if "leader" in f else pick(followers, p)
        if f.startswith("kill"):
            cl.agents[a].stop(signal.SIGKILL)
            t0 = time.time()
            time.sleep(p["hold"])
            cl.start_agent(a)
        else:
            cl.agents[a].send(signal.SIGSTOP)
            t0 = time.time()
            time.sleep(p["hold"])
            cl.agents[a].send(signal.SIGCONT)
        return t0, time.time(), "a%d" % a
    if f == "restart-agent":
        a = pick(AGENTS, p)
        cl.agents[a].stop(signal.SIGTERM)
        t0 = time.time()
        cl.start_agent(a)
        return t0, time.time(), "a%d" % a
    if f == "isolate-leader":
        node = "a%d" % leader
        others = ["a%d" % i for i in followers]
        net.cut(node, others)
        t0 = time.time()
        time.sleep(p["hold"])
        net.heal(node, "cut")
        return t0, time.time(), node
    if f == "leader-cut-master":
        node = "a%d" % leader
        net.cut(node, [master])
        t0 = time.time()
        time.sleep(p["hold"])
        net.heal(node, "cut")
        return t0, time.time(), node
    if f == "minority-partition":
        node = "a%d" % pick(AGENTS, p)
        net.isolate(node)
        t0 = time.time()
        time.sleep(p["hold"])
        net.heal(node, "iso")
        return t0, time.time(), node
    if f == "isolate-master":
        net.isolate(master)
        t0 = time.time()
        time.sleep(p["hold"])
        net.heal(master, "iso")
        return t0, time.time(), master
    if f == "partition-master":
        net.cut(master, ["a%d" % i for i in AGENTS] + replicas)
        t0 = time.time()
        time.sleep(p["hold"])
        net.heal(master, "cut")
        return t0, time.time(), master
    if f == "slow-links":
        if netem:
            spec = ["netem", "delay", "%dms" % p["delay_ms"],
                    "%dms" % (p["delay_ms"] // 4)]
        else:
            spec = ["tbf", "rate", "%dkbit" % p["rate_kbit"], "burst",
                    "4kb", "latency", "%dms" % (2 * p["delay_ms"])]
        for node in ["a%d" % i for i in AGENTS] + list(REDIS):
            net.slow(node, spec)
        t0 = time.time()
        time.sleep(p["hold"])
        net.unslow()
        return t0, time.time(), " ".join(spec)
    raise ValueError("unknown fault " + f)
