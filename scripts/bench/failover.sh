#!/usr/bin/env bash
# failover.sh - failover time of rsm-agent against redis-sentinel, same
# topology, in one run, with the shared bench sentinel_failover_bench.py.
#
#   scripts/bench/failover.sh                  # 10 runs x {KILL, STOP} x both
#   scripts/bench/failover.sh --runs 3 --signals KILL
#   scripts/bench/failover.sh --bench PATH     # or RSM_FAILOVER_BENCH=PATH
#   scripts/bench/failover.sh -- --poll-ms 5   # after --: passed to the bench
#   scripts/bench/failover.sh --kill-leader    # rsm-agent only: the agent
#                                              # leader is SIGKILLed with the
#                                              # master (see sfb_shim.py)
#
# Topology (the bench's): 1 master + 2 replicas, 3 agents, quorum 2,
# down-after 1000 ms (--down-after), parallel-syncs 1, 1000 keys. For each
# signal, the bench runs redis-sentinel, then rsm-agent through
# scripts/bench/agent.sh (id = index + 1, Raft port = API port + 1000).
# The bench uses fixed ports: redis-sentinel runs on 7000+ (Redis) and
# 27000+ (sentinels), rsm-agent on 7100+ / 27100+ (Raft 28100+); change
# them with --base-port P (Redis P and P+100, agents P+20000 and P+20100).
#
# Prints the medians of t_role (a replica is master), t_replicas (every
# surviving replica linked to it) and t_discovery (every agent names it), in
# ms from the kill, for both and the ratio ours/sentinel; writes everything
# to bench-results/failover-<UTC time>.json (raw bench output of each
# series in bench-results/failover-<UTC time>/). Exit 1 if a run failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

runs=10
signals="KILL STOP"
down_after=1000
base=7000
bench=${RSM_FAILOVER_BENCH:-}
impls="sentinel agent"
shim_flags=()
extra=()
usage() {
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --signals) signals=${2:?--signals needs a value}; shift 2 ;;
    --down-after) down_after=${2:?--down-after needs a value}; shift 2 ;;
    --base-port) base=${2:?--base-port needs a value}; shift 2 ;;
    --bench) bench=${2:?--bench needs a value}; shift 2 ;;
    --kill-leader) impls=agent; shim_flags=(--kill-leader); shift ;;
    -h | --help) usage 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "bench-failover: unknown argument '$1'" >&2; usage ;;
    esac
done
case $runs in '' | *[!0-9]* | 0) echo "bench-failover: --runs: '$runs'" >&2; exit 2 ;; esac
for s in $signals; do
    case $s in KILL | STOP) ;; *) echo "bench-failover: signal '$s' (KILL or STOP)" >&2; exit 2 ;; esac
done

# The bench lives next to the repository: ../shared/bench. In a git
# worktree, next to the main checkout instead.
if [ -z "$bench" ]; then
    bench=$repo/../shared/bench/sentinel_failover_bench.py
    if [ ! -f "$bench" ] && common=$(git rev-parse --path-format=absolute \
        --git-common-dir 2>/dev/null); then
        alt=$(dirname "$common")/../shared/bench/sentinel_failover_bench.py
        [ -f "$alt" ] && bench=$alt
    fi
fi
[ -f "$bench" ] || { echo "bench-failover: no bench at $bench (use --bench PATH)" >&2; exit 2; }
bench=$(cd "$(dirname "$bench")" && pwd)/$(basename "$bench")
export RSM_AGENT_BIN=${RSM_AGENT_BIN:-$repo/build/rsm-agent}
[ -x "$RSM_AGENT_BIN" ] || { echo "bench-failover: $RSM_AGENT_BIN not built (cmake --build build)" >&2; exit 2; }
command -v redis-sentinel >/dev/null || { echo "bench-failover: redis-sentinel not installed" >&2; exit 2; }
export RSM_BENCH_REPLICAS=2 RSM_BENCH_RAFT_OFFSET=1000

stamp=$(date -u +%Y%m%dT%H%M%SZ)
outdir=bench-results/failover-$stamp
mkdir -p "$outdir"
work=$(mktemp -d /tmp/rsm-fobench.XXXXXX)
trap '[ -n "${RSM_KEEP_TMP:-}" ] || rm -rf "$work"' EXIT

# The bench's ports are fixed: refuse to start on ports someone holds.
ports_free() {
    python3 - "$@" <<'EOF'
import socket, sys
busy = []
for p in map(int, sys.argv[1:]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        busy.append(p)
    finally:
        s.close()
if busy:
    sys.exit("bench-failover: ports in use: %s (try --base-port)" % busy)
EOF
}

agent_cmd="'$repo/scripts/bench/agent.sh' {index} {port} {peer_ports} {dir}"
agent_cmd+=" {name} {master_host} {master_port} {quorum} {down_after}"
agent_cmd+=" {failover_timeout} {parallel_syncs}"

status=0
first=1
for sig in $signals; do
    for impl in $impls; do
        if [ $impl = sentinel ]; then
            rp=$base sp=$((base + 20000)) args=()
        else
            rp=$((base + 100)) sp=$((base + 20100))
            args=(--agent-cmd "$agent_cmd")
        fi
        ports_free $rp $((rp + 1)) $((rp + 2)) $sp $((sp + 1)) $((sp + 2)) \
            $((sp + 1000)) $((sp + 1001)) $((sp + 1002))
        idle=0
        [ $first = 1 ] && idle=5
        echo "== $impl, SIG$sig, $runs runs" >&2
        # sfb_shim.py: the bench as it is, or with --kill-leader.
        if ! python3 scripts/bench/sfb_shim.py "$bench" --runs "$runs" --signal "$sig" \
            --down-after "$down_after" --base-port "$rp" \
            --sentinel-base-port "$sp" --linger 3 --idle-seconds "$idle" \
            --workdir "$work/$impl-$sig" --json "$outdir/$impl-$sig.json" \
            "${args[@]}" "${shim_flags[@]}" "${extra[@]}" \
            >"$outdir/$impl-$sig.log" 2>&1; then
            echo "bench-failover: $impl SIG$sig: some runs failed" \
                 "(see $outdir/$impl-$sig.log)" >&2
            status=1
        fi
        grep -E '^(run |leader-kill)' "$outdir/$impl-$sig.log" >&2 || true
    done
    first=0
done

python3 - "$outdir" "$outdir.json" "$down_after" "$runs" "$signals" \
    "${#shim_flags[@]}" <<'EOF'
import json, os, statistics, sys

outdir, out, down_after, runs, signals, leader_kill = sys.argv[1:7]
leader_kill = leader_kill != "0"
down_after, runs = int(down_after), int(runs)
metrics = ("t_role_ms", "t_replicas_ms", "t_discovery_ms")
names = {"sentinel": "redis-sentinel", "agent": "rsm-agent"}
result = {"down_after_ms": down_after, "runs": runs, "series": {}}


def median(rs, key):
    v = [r[key] for r in rs if r.get(key) is not None]
    return (statistics.median(v), len(v)) if v else (None, 0)


print("\nFailover, 1 master + 2 replicas, 3 agents, down-after %d ms; "
      "medians in ms from the signal\n" % down_after)
print("%-6s %-14s %16s %16s %8s" % ("signal", "metric", "redis-sentinel",
                                    "rsm-agent", "ours/s"))
for sig in signals.split():
    series = {}
    for impl in ("sentinel", "agent"):
        path = os.path.join(outdir, "%s-%s.json" % (impl, sig))
        try:
            with open(path) as f:
                series[impl] = json.load(f)
        except (OSError, ValueError):
            series[impl] = {"runs": []}
        result["series"]["%s-%s" % (impl, sig)] = series[impl]
    for key in metrics:
        cells, meds = [], {}
        for impl in ("sentinel", "agent"):
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

kill = result.get("medians", {}).get("KILL", {}).get("t_replicas_ms")
if leader_kill:
    result["leader_kill"] = True
    print("\n(the agent leader was SIGKILLed with the master: compare with "
          "a plain failover plus a new leader's election)")
elif kill and kill["agent"] is not None:
    target = down_after + 100
    print("\ntarget (SIGKILL, every replica linked): <= %d ms and <= half "
          "of redis-sentinel: %.1f ms, ratio %s -> %s" % (
              target, kill["agent"],
              "%.2f" % kill["ratio"] if kill["ratio"] else "-",
              "met" if kill["agent"] <= target and kill["ratio"]
              and kill["ratio"] <= 0.5 else "NOT met"))

for impl in ("sentinel", "agent"):
    for sig in signals.split():
        rs = result["series"].get("%s-%s" % (impl, sig), {}).get("runs", [])
        idle = rs[0].get("idle") if rs else None
        if not idle:
            continue
        ag = [v for k, v in idle.items() if k.startswith("agent")]
        if ag:
            print("idle %-14s RSS %s kB max, CPU %.2f %% mean per agent" % (
                names[impl], max(v["rss_kb"] or 0 for v in ag),
                sum(v["cpu_percent"] for v in ag) / len(ag)))
with open(out, "w") as f:
    json.dump(result, f, indent=2)
print("\njson: %s" % out)
EOF
exit $status
