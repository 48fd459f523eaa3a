#!/usr/bin/env bash
# failover.sh - failover time of rsm-agent against redis-sentinel, same
# topology, in one run, with the shared bench sentinel_failover_bench.py.
#
#   scripts/bench/failover.sh                  # 10 runs x {KILL, STOP} x both
#   scripts/bench/failover.sh --runs 3 --signals KILL
#   scripts/bench/failover.sh --bench PATH     # or RSM_FAILOVER_BENCH=PATH
#   scripts/bench/failover.sh -- --poll-ms 5   # after --: passed to the bench
#   scripts/bench/failover.sh --idle-seconds 30 # idle window of the first
#                                              # signal's series (default 5)
#   scripts/bench/failover.sh --kill-leader    # rsm-agent only: the agent
#                                              # leader is SIGKILLed with the
#                                              # master (see sfb_shim.py)
#   scripts/bench/failover.sh --tls            # plaintext and TLS to Redis,
#                                              # both sides, in one run
#
# Topology (the bench's): 1 master + 2 replicas, 3 agents, quorum 2,
# down-after 1000 ms (--down-after), parallel-syncs 1, 1000 keys. For each
# signal, the bench runs redis-sentinel, then rsm-agent through
# scripts/bench/agent.sh (id = index + 1, Raft port = API port + 1000).
# The bench uses fixed ports: redis-sentinel runs on 7000+ (Redis) and
# 27000+ (sentinels), rsm-agent on 7100+ / 27100+ (Raft 28100+); change
# them with --base-port P (Redis P and P+100, agents P+20000 and P+20100).
#
# --tls: four series per signal, redis-sentinel and rsm-agent in plaintext
# as above, then both with Redis on its TLS port only (port 0, tls-port,
# tls-replication yes, client certificates), the sentinels with the same
# tls-* options (TLS to Redis and between sentinels), the agents with
# --tls-redis and --tls-raft (sfb_shim.py --tls, agent.sh; certificates
# made for the run by
# tests/integration/certs.py in the temp dir). TLS series on P+50 (Redis)
# and P+20050 (sentinels, their tls-ports P+20550) for redis-sentinel,
# P+150 and P+20150 (Raft P+21150) for rsm-agent. The agents' client
# ports and the sentinels' ports the bench asks stay plaintext.
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
idle_first=5
tls=0
extra=()
usage() {
    sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --signals) signals=${2:?--signals needs a value}; shift 2 ;;
    --down-after) down_after=${2:?--down-after needs a value}; shift 2 ;;
    --base-port) base=${2:?--base-port needs a value}; shift 2 ;;
    --bench) bench=${2:?--bench needs a value}; shift 2 ;;
    --idle-seconds) idle_first=${2:?--idle-seconds needs a value}; shift 2 ;;
    --kill-leader) impls=agent; shim_flags=(--kill-leader); shift ;;
    --tls) impls="sentinel agent sentinel-tls agent-tls"; tls=1; shift ;;
    -h | --help) usage 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "bench-failover: unknown argument '$1'" >&2; usage ;;
    esac
done
case $runs in '' | *[!0-9]* | 0) echo "bench-failover: --runs: '$runs'" >&2; exit 2 ;; esac
case $idle_first in '' | *[!0-9]*) echo "bench-failover: --idle-seconds: '$idle_first'" >&2; exit 2 ;; esac
if [ $tls = 1 ] && [ ${#shim_flags[@]} -gt 0 ]; then
    echo "bench-failover: --tls and --kill-leader: one at a time" >&2
    exit 2
fi
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
    local busy
    busy=$(python3 scripts/bench/ports.py busy "$@")
    if [ "$busy" != "[]" ]; then
        echo "bench-failover: ports in use: $busy (try --base-port)" >&2
        exit 1
    fi
}

agent_cmd="'$repo/scripts/bench/agent.sh' {index} {port} {peer_ports} {dir}"
agent_cmd+=" {name} {master_host} {master_port} {quorum} {down_after}"
agent_cmd+=" {failover_timeout} {parallel_syncs}"

status=0
first=1
for sig in $signals; do
    for impl in $impls; do
        case $impl in
        sentinel) rp=$base args=() ;;
        agent) rp=$((base + 100)) args=(--agent-cmd "$agent_cmd") ;;
        sentinel-tls) rp=$((base + 50)) args=(--tls) ;;
        agent-tls) rp=$((base + 150)) args=(--tls --agent-cmd "$agent_cmd") ;;
        esac
        sp=$((rp + 20000))
        # Redis, sentinels or agents, the agents' Raft, the sentinels' tls-port
        ports_free $rp $((rp + 1)) $((rp + 2)) $sp $((sp + 1)) $((sp + 2)) \
            $((sp + 1000)) $((sp + 1001)) $((sp + 1002)) \
            $((sp + 500)) $((sp + 501)) $((sp + 502))
        idle=0
        [ $first = 1 ] && idle=$idle_first
        echo "== $impl, SIG$sig, $runs runs" >&2
        # sfb_shim.py: the bench as it is, or with --kill-leader or --tls.
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

# the table of medians, and $outdir.json
python3 scripts/bench/failover_report.py "$outdir" "$outdir.json" \
    "$down_after" "$runs" "$signals" "${#shim_flags[@]}" "$impls"
exit $status
