#!/usr/bin/env python3
"""failover_report.py - the summary of scripts/bench/failover.sh: the
medians of each series side by side, and everything in one JSON file.

    failover_report.py OUTDIR OUT_JSON DOWN_AFTER_MS RUNS "SIGNALS" LEADER_KILL

OUTDIR holds <sentinel|agent>-<SIG>.json, the bench's output of each
series (a missing or unreadable one counts as no runs); SIGNALS is "KILL
STOP" or a part of it; LEADER_KILL is the number of sfb_shim.py flags
failover.sh passed (0: a plain failover, else --kill-leader).
"""
import json
import os
import statistics
import sys

METRICS = ("t_role_ms", "t_replicas_ms", "t_discovery_ms")
IMPLS = ("sentinel", "agent")
NAMES = {"sentinel": "redis-sentinel", "agent": "rsm-agent"}


def median(rs, key):
    v = [r[key] for r in rs if r.get(key) is not None]
    return (statistics.median(v), len(v)) if v else (None, 0)


def load_series(outdir, sig):
    series = {}
    for impl in IMPLS:
        path = os.path.join(outdir, "%s-%s.json" % (impl, sig))
        try:
            with open(path) as f:
                series[impl] = json.load(f)
        except (OSError, ValueError):
            series[impl] = {"runs": []}
    return series


def signal_rows(sig, series, result):
    """Print the medians of one signal's series; record them in result."""
    for key in METRICS:
        cells, meds = [], {}
        for impl in IMPLS:
            m, n = median(series[impl]["runs"], key)
            meds[impl] = m
            cells.append("%.1f (n=%d)" % (m, n) if m is not None
                         else "- (n=0)")
        ratio = (meds["agent"] / meds["sentinel"]
                 if meds["agent"] is not None and meds["sentinel"] else None)
        result.setdefault("medians", {}).setdefault(sig, {})[key] = {
            "sentinel": meds["sentinel"], "agent": meds["agent"],
            "ratio": ratio}
        print("%-6s %-14s %16s %16s %8s" % (
            "SIG" + sig, key[:-3], cells[0], cells[1],
            "%.2f" % ratio if ratio is not None else "-"))
    fails = {impl: sum(1 for r in series[impl]["runs"]
                       if r.get("t_all_ms") is None)
             for impl in series}
    if any(fails.values()):
        print("%-6s incomplete runs: redis-sentinel %d, rsm-agent %d"
              % ("SIG" + sig, fails["sentinel"], fails["agent"]))


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


def idle_lines(result, signals):
    """The idle footprint, measured in the first run of a series."""
    for impl in IMPLS:
        for sig in signals:
            rs = result["series"].get("%s-%s" % (impl, sig),
                                      {}).get("runs", [])
            idle = rs[0].get("idle") if rs else None
            if not idle:
                continue
            ag = [v for k, v in idle.items() if k.startswith("agent")]
            if ag:
                print("idle %-14s RSS %s kB max, CPU %.2f %% mean per "
                      "agent" % (NAMES[impl],
                                 max(v["rss_kb"] or 0 for v in ag),
                                 sum(v["cpu_percent"] for v in ag) / len(ag)))


def main(argv):
    outdir, out, down_after, runs, signals, leader_kill = argv[:6]
    leader_kill = leader_kill != "0"
    down_after, runs = int(down_after), int(runs)
    signals = signals.split()
    result = {"down_after_ms": down_after, "runs": runs, "series": {}}

    print("\nFailover, 1 master + 2 replicas, 3 agents, down-after %d ms; "
          "medians in ms from the signal\n" % down_after)
    print("%-6s %-14s %16s %16s %8s" % ("signal", "metric", "redis-sentinel",
                                        "rsm-agent", "ours/s"))
    for sig in signals:
        series = load_series(outdir, sig)
        for impl in IMPLS:
            result["series"]["%s-%s" % (impl, sig)] = series[impl]
        signal_rows(sig, series, result)
    target_line(result, down_after, leader_kill)
    idle_lines(result, signals)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print("\njson: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
