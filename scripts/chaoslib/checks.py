"""The invariants checked after a run; each check appends what it found
wrong to the run's list of violations."""

import json
import os

from .cluster import Cluster
from .common import AGENTS, EARLY_SLACK, REDIS_PORT, ip_of, parse_logfmt
from .netns import dial


def agent_log_events(cl):
    """{agent: [(file, [events])]} from every process of every agent."""
    out = {}
    for i in AGENTS:
        files = []
        for path in cl.agent_logs[i]:
            try:
                with open(path, errors="replace") as f:
                    evs = [e for e in map(parse_logfmt, f) if e]
            except OSError:
                evs = []
            files.append((path, evs))
        out[i] = files
    return out


def check_decisions(cl, logs, final_sts, violations):
    """At most one decision per epoch in every agent's log, logs and
    histories agree, REPLICAOF NO ONE only to a committed new master."""
    hists = {}
    for i, st in final_sts.items():
        g = Cluster.group(st) or {}
        hists[i] = [(h.get("epoch"), h.get("old_master"), h.get("new_master"),
                     h.get("kind"), h.get("result"))
                    for h in g.get("history", [])]
    if len({json.dumps(h) for h in hists.values()}) != 1:
        violations.append("histories differ: %s" % hists)
    history = next(iter(hists.values()))
    by_epoch = {h[0]: h for h in history}
    decided = {}
    for i, files in logs.items():
        for path, evs in files:
            seen = {}
            for e in evs:
                if e["event"] == "entry-applied" and \
                        e.get("kind") == "decide-failover":
                    ep = int(e["epoch"])
                    if ep in seen:
                        violations.append(
                            "%s applied two decisions for epoch %d: %s and %s"
                            % (os.path.basename(path), ep, seen[ep],
                               (e.get("old"), e.get("new"))))
                    seen[ep] = (e.get("old"), e.get("new"))
                    prev = decided.setdefault(ep, seen[ep])
                    if prev != seen[ep]:
                        violations.append(
                            "agents applied different decisions for epoch "
                            "%d: %s vs %s (%s)" % (ep, prev, seen[ep],
                                                   os.path.basename(path)))
                    h = by_epoch.get(ep)
                    if h is not None and (h[1], h[2]) != seen[ep]:
                        violations.append(
                            "%s: epoch %d applied as %s, history says %s"
                            % (os.path.basename(path), ep, seen[ep],
                               (h[1], h[2])))
    promoted = {}
    for ep, (old, new) in decided.items():
        promoted.setdefault(new, []).append(ep)
    for h in history:
        promoted.setdefault(h[2], []).append(h[0])
    for i, files in logs.items():
        for path, evs in files:
            for e in evs:
                if e["event"] == "redis-command" and \
                        e.get("command") == "REPLICAOF NO ONE" and \
                        e.get("addr") not in promoted:
                    violations.append(
                        "%s: REPLICAOF NO ONE to %s without a committed "
                        "decision (%s)" % (os.path.basename(path),
                                           e.get("addr"), e.get("ts")))
    return history


def check_processes_alive(cl, violations):
    """No agent or Redis died without being killed."""
    procs = [("agent %d" % i, p) for i, p in cl.agents.items()] + \
        [("redis %s" % r, p) for r, p in cl.redis.items()]
    for what, p in procs:
        if not p.alive() and not p.expected_exit:
            violations.append("%s exited by itself (status %s)" %
                              (what, p.p.returncode))
    for p in cl.old_procs:
        if not p.expected_exit:
            violations.append("a process exited by itself: %s" % p.log_path)


def classify_writes(cl, writer, lineage, master, t_fault, violations):
    """(acked, lost_async, lost_other) after reading every acknowledged
    write back from the final master."""
    acked = writer.acked
    info = cl.redis_info(master) or {}
    lineage.learn(info)
    final = info.get("master_replid")
    values = {}
    keys = ["w:%d" % a[0] for a in acked]
    with dial(cl.net.ns["c"], ip_of(master), REDIS_PORT, 5.0) as c:
        for k in range(0, len(keys), 500):
            chunk = keys[k:k + 500]
            for key, v in zip(chunk, c.call("MGET", *chunk)):
                values[key] = v
    lost_async = lost_other = 0
    bad = []
    for n, addr, rid, off, t in acked:
        v = values.get("w:%d" % n)
        if v == str(n):
            continue
        if v is not None:
            bad.append("w:%d holds %r" % (n, v))
            continue
        fork = lineage.fork_offset(final, rid) if rid else None
        if fork is None:
            lost_other += 1
            if t < t_fault:
                bad.append("w:%d (acked by %s before the fault, history %s "
                           "abandoned)" % (n, addr, (rid or "?")[:8]))
        elif off <= fork:
            bad.append("w:%d (acked by %s at offset %d, final master holds "
                       "history %s up to %s)" % (n, addr, off, rid[:8],
                                                  fork))
        else:
            lost_async += 1
    if bad:
        violations.append("%d acknowledged writes lost that the final "
                          "master should hold, e.g. %s" %
                          (len(bad), "; ".join(bad[:3])))
    return len(acked), lost_async, lost_other


# Faults that end the master's process: its host refuses connects at
# once, so the crash path (a "crashed: ..." reason) may decide before
# down-after. In every other fault the master is silent or alive, and a
# crash-path decision is a violation.
MASTER_PROCESS_KILLS = ("kill-master", "restart-master-empty")


def check_failovers(p, history, epoch0, t_fault, t_unfault, down_after_s,
                    violations):
    """Number of new decisions, number of wrong ones."""
    new = [h for h in history if (h.get("epoch") or 0) > epoch0]
    wrong = 0
    for h in new:
        at = h.get("decided_at_ms", 0) / 1000.0
        why = None
        crashed = (h.get("reason") or "").startswith("crashed:")
        if p["expect"] == "none":
            why = "the master stayed reachable from a quorum and replicas"
        elif crashed and p["fault"] not in MASTER_PROCESS_KILLS:
            why = "the crash path was taken on %s (silence, not a dead " \
                  "process)" % p["fault"]
        elif at < t_fault + down_after_s - EARLY_SLACK and \
                p["fault"] != "restart-master-empty" and not crashed:
            why = "decided %.0f ms after the fault, before down-after" % (
                (at - t_fault) * 1000)
        elif p["fault"] in ("stop-master", "isolate-master",
                            "partition-master") and \
                at > t_unfault + 1.0:
            why = "decided %.0f ms after the master was back" % (
                (at - t_unfault) * 1000)
        if why:
            wrong += 1
            violations.append("wrong failover epoch %s %s -> %s: %s" % (
                h.get("epoch"), h.get("old_master"), h.get("new_master"), why))
    if p["expect"] == "failover" and not new:
        violations.append("missed failover: no decision after %s" %
                          p["fault"])
    return len(new), wrong
