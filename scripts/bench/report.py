#!/usr/bin/env python3
"""report.py - turn the raw output of scripts/bench/run.sh into CSV files,
gnuplot PNG plots and summary.md.

    report.py OUTDIR

Reads OUTDIR/raw/ (failover-<SIG>-<DOWN_AFTER>.json from bench-failover.sh,
raft.log from bench-raft.sh, discovery.log from bench-discovery.sh,
machine.txt) and writes OUTDIR/*.csv, OUTDIR/*.png, OUTDIR/summary.md and
OUTDIR/readme-table.md (the table run.sh can paste into README.md). Every
number is a median over runs; ratios are ours / redis-sentinel.
"""
import csv
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

IMPLS = (("sentinel", "redis-sentinel"), ("agent", "rsm-agent"))


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits=0):
    return "-" if x is None else "%.*f" % (digits, x)


def ratio(ours, theirs):
    return ours / theirs if ours is not None and theirs else None


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def gnuplot(outdir, name, script):
    path = os.path.join(outdir, name + ".gp")
    with open(path, "w") as f:
        f.write(script)
    if not shutil.which("gnuplot"):
        print("report: gnuplot missing, %s.png not drawn" % name, file=sys.stderr)
        return False
    r = subprocess.run(["gnuplot", name + ".gp"], cwd=outdir, capture_output=True,
                       text=True)
    if r.returncode != 0:
        print("report: gnuplot %s: %s" % (name, r.stderr), file=sys.stderr)
        return False
    return True


def load_failover(raw):
    """[(signal, down_after, impl, runs)] from the bench-failover JSONs."""
    out = []
    for path in sorted(glob.glob(os.path.join(raw, "failover-*-*.json"))):
        m = re.match(r"failover-([A-Z]+)-(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        with open(path) as f:
            data = json.load(f)
        sig, da = m.group(1), int(m.group(2))
        for impl, _ in IMPLS:
            runs = data.get("series", {}).get("%s-%s" % (impl, sig), {}).get(
                "runs", [])
            out.append((sig, da, impl, runs))
    return out


def phases(run):
    """detect (+odown), decide (+selected-slave), promote, replicas, discovery
    in ms from the signal; None where not seen."""
    ev = run.get("events") or {}
    return (ev.get("+odown"), ev.get("+selected-slave"), run.get("t_role_ms"),
            run.get("t_replicas_ms"), run.get("t_discovery_ms"))


def failover(outdir, series, md):
    rows, mrows = [], []
    for sig, da, impl, runs in series:
        for r in runs:
            rows.append([sig, da, impl, r.get("run")] + list(phases(r)))
    write_csv(os.path.join(outdir, "failover_runs.csv"),
              ["signal", "down_after_ms", "impl", "run", "odown_ms",
               "selected_ms", "t_role_ms", "t_replicas_ms", "t_discovery_ms"],
              rows)
    keys = sorted({(sig, da) for sig, da, _, _ in series},
                  key=lambda k: (k[1], k[0]))
    by = {(sig, da, impl): runs for sig, da, impl, runs in series}
    md.append("## 1. Failover: master killed (SIGKILL) or frozen (SIGSTOP)\n")
    md.append("1 master + 2 replicas, 3 agents / 3 sentinels, quorum 2; ms "
              "from the signal, medians over n runs (n = complete runs). "
              "detect = first +odown, decide = first +selected-slave, "
              "promote = a replica reports role:master, linked = every other "
              "replica linked to it, discovery = every agent answers it.\n")
    md.append("| signal | down-after | metric | redis-sentinel | rsm-agent | "
              "ours/sentinel |")
    md.append("|---|---|---|---|---|---|")
    table = {}
    names = ("detect", "decide", "promote", "linked", "discovery")
    for sig, da in keys:
        meds = {}
        for impl, _ in IMPLS:
            runs = by.get((sig, da, impl), [])
            ph = [phases(r) for r in runs]
            meds[impl] = [med([p[i] for p in ph]) for i in range(5)]
            meds[impl + "_n"] = sum(1 for r in runs
                                    if r.get("t_all_ms") is not None)
            meds[impl + "_runs"] = len(runs)
            meds[impl + "_repl"] = [r.get("t_replicas_ms") for r in runs]
        table[(sig, da)] = meds
        for i, name in enumerate(names):
            s, a = meds["sentinel"][i], meds["agent"][i]
            md.append("| SIG%s | %d | %s | %s | %s | %s |" % (
                sig, da, name, fmt(s), fmt(a), fmt(ratio(a, s), 2)))
            mrows.append([sig, da, name, s, a, ratio(a, s)])
        md.append("| SIG%s | %d | complete runs | %d/%d | %d/%d | |" % (
            sig, da, meds["sentinel_n"], meds["sentinel_runs"],
            meds["agent_n"], meds["agent_runs"]))
    md.append("")
    write_csv(os.path.join(outdir, "failover_medians.csv"),
              ["signal", "down_after_ms", "phase", "sentinel_ms", "agent_ms",
               "ratio"], mrows)

    # distribution of t_replicas: one column per series, jittered points,
    # the median as a bar
    dist = os.path.join(outdir, "failover_dist.dat")
    labels, medians = [], []
    with open(dist, "w") as f:
        x = 0
        for sig, da in keys:
            for impl, name in IMPLS:
                x += 1
                labels.append('"%s\\nSIG%s %d" %d' % (name, sig, da, x))
                vals = [v for v in table[(sig, da)][impl + "_repl"]
                        if v is not None]
                color = 0x3060c0 if impl == "sentinel" else 0xd04020
                for j, v in enumerate(vals):
                    f.write("%.3f %.1f %d\n" % (x + (j % 7 - 3) * 0.05, v,
                                                color))
                if vals:
                    medians.append("%d %.1f" % (x, statistics.median(vals)))
        f.write("\n\n" + "\n".join(medians) + "\n")
    n = len(labels)
    gnuplot(outdir, "failover_dist", """
set terminal pngcairo size %d,560 font ",10"
set output "failover_dist.png"
set title "Failover: signal -> every replica linked to the new master, one point per run, bar = median" noenhanced
set ylabel "ms"
set bmargin 5
set xrange [0.4:%f]
set yrange [0:*]
set xtics (%s)
set grid ytics
unset key
plot "failover_dist.dat" index 0 using 1:2:3 with points pt 7 ps 1 lc rgb variable, \\
     "" index 1 using 1:2:(0.3) with xerrorbars pt 0 lw 2 lc rgb "black"
""" % (max(640, 150 * n), n + 0.6, ", ".join(labels)))

    # timeline of the median phases
    tl = os.path.join(outdir, "failover_timeline.dat")
    colors = ("0x999999", "0xe0a020", "0xd04020", "0x3060c0")
    ytics, y = [], 0
    blocks = [[] for _ in range(4)]
    disc = []
    for sig, da in keys:
        for impl, name in IMPLS:
            y += 1
            ytics.append('"%s SIG%s %d" %d' % (name, sig, da, y))
            p = table[(sig, da)][impl]
            bounds = [0.0] + [p[0], p[1], p[2], p[3]]
            last = 0.0
            for i in range(4):
                hi = bounds[i + 1]
                if hi is None:
                    continue
                lo = max(last, 0.0)
                hi = max(hi, lo)
                blocks[i].append("%f %d %f %f %f %f" % (
                    (lo + hi) / 2, y, lo, hi, y - 0.35, y + 0.35))
                last = hi
            if p[4] is not None:
                disc.append("%f %d" % (p[4], y))
    with open(tl, "w") as f:
        for b in blocks:
            f.write("\n".join(b) + "\n\n\n")
        f.write("\n".join(disc) + "\n")
    names4 = ("detect (+odown)", "decide (+selected-slave)",
              "promote (role:master)", "replicas linked")
    plots = ['"failover_timeline.dat" index %d using 1:2:3:4:5:6 with '
             'boxxyerror fs solid 0.8 lc rgb "#%s" title "%s"' % (
                 i, colors[i][2:], names4[i]) for i in range(4)]
    plots.append('"failover_timeline.dat" index 4 using 1:2 with points '
                 'pt 9 ps 2 lc rgb "black" title "discovery (all agents)"')
    gnuplot(outdir, "failover_timeline", """
set terminal pngcairo size 1000,%d font ",10"
set output "failover_timeline.png"
set title "Median failover timeline, ms from the signal"
set xlabel "ms"
set yrange [0.4:%f]
set ytics (%s)
set xrange [0:*]
set grid xtics
set key outside below horizontal
plot %s
""" % (160 + 60 * y, y + 0.6, ", ".join(ytics), ", \\\n     ".join(plots)))
    md.append("![failover timeline](failover_timeline.png)\n")
    md.append("![failover distribution](failover_dist.png)\n")
    return table


def idle_footprint(outdir, series, md):
    rows, summ = [], {}
    for sig, da, impl, runs in series:
        idle = runs[0].get("idle") if runs else None
        if not idle or impl in summ:
            continue
        ag = [v for k, v in idle.items() if k.startswith("agent")]
        summ[impl] = (med([v["rss_kb"] for v in ag]),
                      med([v["cpu_percent"] for v in ag]))
        for k, v in sorted(idle.items()):
            if k.startswith("agent"):
                rows.append([impl, k, v["rss_kb"], v["cpu_percent"]])
    write_csv(os.path.join(outdir, "footprint.csv"),
              ["impl", "process", "rss_kb", "cpu_percent"], rows)
    return summ


def leader_loss(outdir, raw, md):
    path = os.path.join(raw, "raft.log")
    el, rd, apply_line = [], [], None
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                m = re.search(r"elected (\d+) ms, ready (\d+) ms", line)
                if m:
                    el.append(int(m.group(1)))
                    rd.append(int(m.group(2)))
                if line.startswith("raft_apply"):
                    apply_line = line.strip()
    write_csv(os.path.join(outdir, "leader_loss.csv"),
              ["run", "elected_ms", "ready_ms"],
              [[i + 1, e, r] for i, (e, r) in enumerate(zip(el, rd))])
    return med(el), med(rd), len(el), apply_line


def discovery(outdir, raw):
    path = os.path.join(raw, "discovery.log")
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                m = re.match(r"round\s+(\d+): redis-sentinel\s+([\d.]+) req/s\s+"
                             r"([\d.]+) us cpu\s+rsm-agent\s+([\d.]+) req/s\s+"
                             r"([\d.]+) us cpu", line)
                if m:
                    rows.append([int(m.group(1))] +
                                [float(m.group(i)) for i in range(2, 6)])
    write_csv(os.path.join(outdir, "discovery.csv"),
              ["round", "sentinel_rps", "sentinel_us_cpu_per_req",
               "agent_rps", "agent_us_cpu_per_req"], rows)
    if not rows:
        return None
    return ([med([r[i] for r in rows]) for i in range(1, 5)], len(rows))


def scale(outdir, raw, md):
    path = os.path.join(raw, "scale.csv")
    if not os.path.exists(path):
        md.append("not run\n")
        return
    with open(path) as f:
        rows = list(csv.DictReader(f))
    md.append("One rsm-agent (a group of one: the leader) probing N endpoints "
              "every 100 ms (10 Hz), groups of 3. The endpoints are one "
              "asyncio process answering PING/INFO on N ports, not real "
              "redis-servers. CPU = median of 5 s samples; probe period = "
              "time between two probes of one endpoint as the server sees "
              "it (100 ms when the agent keeps up; the agent does not "
              "expose its own probe latency). redis-sentinel not run.\n")
    md.append("| N | groups | agent CPU % | agent RSS kB | probe period p50 ms "
              "| p99 ms | note |")
    md.append("|---|---|---|---|---|---|---|")
    good = []
    for r in rows:
        md.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["n"], r["groups"], r["agent_cpu_percent"] or "-",
            r["agent_rss_kb"] or "-", r["probe_period_p50_ms"] or "-",
            r["probe_period_p99_ms"] or "-", r["note"] or ""))
        if r["agent_cpu_percent"]:
            good.append(r)
    md.append("")
    shutil.copy(path, os.path.join(outdir, "scale.csv"))
    if len(good) < 1:
        return
    with open(os.path.join(outdir, "scale.dat"), "w") as f:
        for r in good:
            f.write("%s %s %s %s\n" % (r["n"], r["agent_cpu_percent"],
                                        r["probe_period_p50_ms"],
                                        r["probe_period_p99_ms"]))
    if gnuplot(outdir, "scale", """
set terminal pngcairo size 800,480 font ",10"
set output "scale.png"
set title "One agent probing N endpoints at 10 Hz (fake RESP endpoints)"
set xlabel "endpoints N"
set ylabel "agent CPU, % of a core"
set y2label "probe period, ms"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid
set key top left
plot "scale.dat" using 1:2 with linespoints pt 7 lw 2 title "agent CPU %", \\
     "" using 1:3 axes x1y2 with linespoints pt 5 title "probe period p50", \\
     "" using 1:4 axes x1y2 with linespoints pt 9 title "probe period p99"
"""):
        md.append("![scale](scale.png)\n")


def main():
    outdir = sys.argv[1]
    raw = os.path.join(outdir, "raw")
    machine = open(os.path.join(raw, "machine.txt")).read().strip()
    md = ["# rsm-agent vs redis-sentinel benchmarks\n", machine, ""]
    series = load_failover(raw)
    table = failover(outdir, series, md) if series else {}
    fp = idle_footprint(outdir, series, md)
    el, rd, nle, apply_line = leader_loss(outdir, raw, md)
    disc = discovery(outdir, raw)

    md.append("## 2. Agent leader loss and idle footprint\n")
    if nle:
        md.append("Leader agent SIGKILLed (3 agents, election 700 ms, "
                  "heartbeat 100 ms), median of %d: new leader elected %s ms, "
                  "ready (barrier committed) %s ms.\n" % (nle, fmt(el), fmt(rd)))
    if apply_line:
        md.append(apply_line + "\n")
    if fp:
        md.append("Idle (first run of the first failover series, every "
                  "process of the 3, median):\n")
        md.append("| | redis-sentinel | rsm-agent | ours/sentinel |")
        md.append("|---|---|---|---|")
        s, a = fp.get("sentinel", (None, None)), fp.get("agent", (None, None))
        md.append("| RSS kB | %s | %s | %s |" % (fmt(s[0]), fmt(a[0]),
                                                fmt(ratio(a[0], s[0]), 2)))
        md.append("| CPU %% of a core | %s | %s | %s |\n" % (
            fmt(s[1], 2), fmt(a[1], 2), fmt(ratio(a[1], s[1]), 2)))
    md.append("## 3. Client port: SENTINEL get-master-addr-by-name\n")
    if disc:
        (srps, scpu, arps, acpu), n = disc
        md.append("redis-benchmark, medians of %d rounds (cpu = the server's "
                  "CPU time per request):\n" % n)
        md.append("| | redis-sentinel | rsm-agent | ours/sentinel |")
        md.append("|---|---|---|---|")
        md.append("| requests/s | %s | %s | %s |" % (fmt(srps), fmt(arps),
                                                    fmt(ratio(arps, srps), 2)))
        md.append("| us CPU per request | %s | %s | %s |\n" % (
            fmt(scpu, 1), fmt(acpu, 1), fmt(ratio(acpu, scpu), 2)))
    else:
        md.append("not run\n")
    md.append("## 4. Scale: one agent watching N endpoints\n")
    scale(outdir, raw, md)
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")

    # the short table for README.md
    t = ["| measure | redis-sentinel | rsm-agent | ours/sentinel |",
         "|---|---|---|---|"]
    for (sig, da), m in sorted(table.items(), key=lambda k: (k[0][1], k[0][0])):
        s, a = m["sentinel"][3], m["agent"][3]
        t.append("| SIG%s master, down-after %d: replicas linked, ms "
                 "(n=%d/%d) | %s | %s | %s |" % (
                     sig, da, m["sentinel_n"], m["agent_n"], fmt(s), fmt(a),
                     fmt(ratio(a, s), 2)))
    if nle:
        t.append("| agent leader SIGKILLed: new leader ready, ms (n=%d) | - "
                 "| %s | - |" % (nle, fmt(rd)))
    if fp:
        s, a = fp.get("sentinel", (None, None)), fp.get("agent", (None, None))
        t.append("| idle RSS, kB | %s | %s | %s |" % (
            fmt(s[0]), fmt(a[0]), fmt(ratio(a[0], s[0]), 2)))
        t.append("| idle CPU, %% of a core | %s | %s | %s |" % (
            fmt(s[1], 2), fmt(a[1], 2), fmt(ratio(a[1], s[1]), 2)))
    if disc:
        (srps, scpu, arps, acpu), n = disc
        t.append("| get-master-addr-by-name, requests/s | %s | %s | %s |" % (
            fmt(srps), fmt(arps), fmt(ratio(arps, srps), 2)))
    with open(os.path.join(outdir, "readme-table.md"), "w") as f:
        f.write("\n".join(t) + "\n")
    print(open(os.path.join(outdir, "summary.md")).read())


if __name__ == "__main__":
    main()
