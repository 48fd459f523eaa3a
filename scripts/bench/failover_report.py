#!/usr/bin/env python3
"""failover_report.py - the summary of scripts/bench/failover.sh: the
medians of each series side by side, and everything in one JSON file.

    failover_report.py OUTDIR OUT_JSON DOWN_AFTER_MS RUNS "SIGNALS" LEADER_KILL
                       ["IMPLS"]

OUTDIR holds <impl>-<SIG>.json, the bench's output of each series (a
missing or unreadable one counts as no runs); SIGNALS is "KILL STOP" or a
part of it; LEADER_KILL is the number of sfb_shim.py flags failover.sh
passed (0: a plain failover, else --kill-leader); IMPLS is "sentinel
agent" (the default) or, with failover.sh --tls, "sentinel agent
sentinel-tls agent-tls": then the ratios are ours/sentinel in plaintext,
ours/sentinel over TLS, and TLS/plaintext of each side, all from the
same run.
"""
import json
import os
import statistics
import sys

METRICS = ("t_role_ms", "t_replicas_ms", "t_discovery_ms")
IMPLS = ("sentinel", "agent")
TLS_IMPLS = IMPLS + ("sentinel-tls", "agent-tls")
NAMES = {"sentinel": "redis-sentinel", "agent": "rsm-agent",
         "sentinel-tls": "sentinel TLS", "agent-tls": "agent TLS"}
# (name, numerator, denominator) of the ratio columns
RATIOS = (("ours/s", "agent", "sentinel"),)
TLS_RATIOS = RATIOS + (("ours/s TLS", "agent-tls", "sentinel-tls"),
                       ("s TLS/pl", "sentinel-tls", "sentinel"),
                       ("ours TLS/pl", "agent-tls", "agent"))


def median(rs, key):
    v = [r[key] for r in rs if r.get(key) is not None]
    return (statistics.median(v), len(v)) if v else (None, 0)


def load_series(outdir, sig, impls):
    series = {}
    for impl in impls:
        path = os.path.join(outdir, "%s-%s.json" % (impl, sig))
        try:
            with open(path) as f:
                series[impl] = json.load(f)
        except (OSError, ValueError):
            series[impl] = {"runs": []}
    return series


def div(a, b):
    return a / b if a is not None and b else None


def header(impls, ratios):
    print("%-6s %-14s" % ("signal", "metric") +
          "".join(" %16s" % NAMES[i] for i in impls) +
          "".join(" %11s" % r[0] for r in ratios))


def signal_rows(sig, series, result, impls, ratios):
    """Print the medians of one signal's series; record them in result:
    medians[sig][metric] = {impl: median, "ratio": agent/sentinel, and with
    TLS "ratio_tls": agent-tls/sentinel-tls, "tls_over_plain": {side:
    tls/plaintext}}."""
    for key in METRICS:
        cells, meds = [], {}
        for impl in impls:
            m, n = median(series[impl]["runs"], key)
            meds[impl] = m
            cells.append("%.1f (n=%d)" % (m, n) if m is not None
                         else "- (n=0)")
        rs = [div(meds[a], meds[b]) for _, a, b in ratios]
        rec = dict(meds, ratio=rs[0])
        if len(rs) > 1:
            rec.update(ratio_tls=rs[1], tls_over_plain={
                "sentinel": rs[2], "agent": rs[3]})
        result.setdefault("medians", {}).setdefault(sig, {})[key] = rec
        print("%-6s %-14s" % ("SIG" + sig, key[:-3]) +
              "".join(" %16s" % c for c in cells) +
              "".join(" %11s" % ("%.2f" % r if r is not None else "-")
                      for r in rs))
    fails = {impl: sum(1 for r in series[impl]["runs"]
                       if r.get("t_all_ms") is None)
             for impl in impls}
    if any(fails.values()):
        print("%-6s incomplete runs: %s" % ("SIG" + sig, ", ".join(
            "%s %d" % (NAMES[i], fails[i]) for i in impls)))


def target_line(result, down_after, leader_kill):
    kill = result.get("medians", {}).get("KILL", {}).get("t_replicas_ms")
    if leader_kill:
        result["leader_kill"] = True
        print("\n(the agent leader was SIGKILLed with the master: compare "
              "with a plain failover plus a new leader's election)")
    elif kill and kill["agent"] is not None:
        target = down_after + 100
        print("\ntarget (SIGKILL, every replica linked): <= %d ms and <= "
              "half of redis-sentinel: %.1f ms, ratio %s -> %s" % (
                  target, kill["agent"],
                  "%.2f" % kill["ratio"] if kill["ratio"] else "-",
                  "met" if kill["agent"] <= target and kill["ratio"]
                  and kill["ratio"] <= 0.5 else "NOT met"))
    if kill and kill.get("agent-tls") is not None:
        # issue 16: over TLS, within down-after + 100 ms like plaintext
        target = down_after + 100
        print("target (SIGKILL over TLS, every replica linked): <= %d ms: "
              "%.1f ms (plaintext %s) -> %s" % (
                  target, kill["agent-tls"],
                  "%.1f" % kill["agent"] if kill["agent"] is not None
                  else "-", "met" if kill["agent-tls"] <= target
                  else "NOT met"))


def idle_of(result, impl, signals):
    """{agent_rss_kb_max, agent_cpu_mean, agent_cpu_max, redis_cpu_mean}
    of the idle window of impl's first series that has one, or None."""
    for sig in signals:
        rs = result["series"].get("%s-%s" % (impl, sig), {}).get("runs", [])
        idle = rs[0].get("idle") if rs else None
        if not idle:
            continue
        ag = [v for k, v in idle.items() if k.startswith("agent")]
        rd = [v for k, v in idle.items() if k.startswith("redis")]
        if not ag:
            continue
        return {"signal": sig,
                "agent_rss_kb_max": max(v["rss_kb"] or 0 for v in ag),
                "agent_cpu_mean": sum(v["cpu_percent"] for v in ag) / len(ag),
                "agent_cpu_max": max(v["cpu_percent"] for v in ag),
                "redis_cpu_mean": sum(v["cpu_percent"] for v in rd) / len(rd)
                if rd else None}
    return None


def idle_lines(result, signals, impls):
    """The idle footprint, measured in the first run of a series."""
    for impl in impls:
        i = idle_of(result, impl, signals)
        if not i:
            continue
        result.setdefault("idle", {})[impl] = i
        print("idle %-14s RSS %s kB max, CPU %.2f %% mean per agent "
              "(%.2f %% max); redis-server CPU %s %% mean" % (
                  NAMES[impl], i["agent_rss_kb_max"], i["agent_cpu_mean"],
                  i["agent_cpu_max"], "%.2f" % i["redis_cpu_mean"]
                  if i["redis_cpu_mean"] is not None else "-"))


def main(argv):
    outdir, out, down_after, runs, signals, leader_kill = argv[:6]
    leader_kill = leader_kill != "0"
    down_after, runs = int(down_after), int(runs)
    signals = signals.split()
    tls = len(argv) > 6 and "agent-tls" in argv[6].split()
    impls, ratios = (TLS_IMPLS, TLS_RATIOS) if tls else (IMPLS, RATIOS)
    result = {"down_after_ms": down_after, "runs": runs, "tls": tls,
              "series": {}}

    print("\nFailover, 1 master + 2 replicas, 3 agents, down-after %d ms; "
          "medians in ms from the signal%s\n" % (
              down_after, "; TLS = Redis on its TLS port only, TLS "
              "replication, sentinels/agents over TLS to it" if tls else ""))
    header(impls, ratios)
    for sig in signals:
        series = load_series(outdir, sig, impls)
        for impl in impls:
            result["series"]["%s-%s" % (impl, sig)] = series[impl]
        signal_rows(sig, series, result, impls, ratios)
    target_line(result, down_after, leader_kill)
    idle_lines(result, signals, impls)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print("\njson: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
