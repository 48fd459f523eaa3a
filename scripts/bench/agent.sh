#!/usr/bin/env bash
# agent.sh - start one rsm-agent for sentinel_failover_bench.py.
#
# The bench starts "agents" from a --agent-cmd template with Sentinel-like
# placeholders; scripts/bench/failover.sh passes them to this wrapper in
# this order:
#
#   agent.sh {index} {port} {peer_ports} {dir} {name} {master_host}
#            {master_port} {quorum} {down_after} {failover_timeout}
#            {parallel_syncs}
#
# and it execs build/rsm-agent with our flags. The mapping:
#   - agent id        = index + 1 (the bench counts from 0, Raft ids from 1);
#   - API (RESP) port = the bench's {port} (it asks SENTINEL commands there);
#   - Raft port       = API port + 1000 (RSM_BENCH_RAFT_OFFSET), for every
#                       agent of {peer_ports}: peers "id=127.0.0.1:raft/api";
#   - monitored group {name} = the master and its replicas. The bench only
#     names the master; it starts the replicas on the next ports
#     (master_port+1 .. master_port+R, R = RSM_BENCH_REPLICAS, default 2),
#     and rsm-agent watches the instances it is given, so they are listed.
#
# Environment: RSM_AGENT_BIN (default: build/rsm-agent of this checkout),
# RSM_BENCH_REPLICAS, RSM_BENCH_RAFT_OFFSET, RSM_BENCH_AGENT_ARGS (extra
# flags, word-split), RSM_BENCH_PROBE_MS (default 100), RSM_BENCH_TLS_DIR
# (set by sfb_shim.py --tls: TLS to Redis (--tls-redis) and between the
# agents (--tls-raft), with server.crt/.key and ca.crt of that directory;
# the client port the bench asks stays plaintext).
set -euo pipefail

if [ $# -ne 11 ]; then
    echo "usage: agent.sh INDEX PORT PEER_PORTS DIR NAME MASTER_HOST" \
         "MASTER_PORT QUORUM DOWN_AFTER FAILOVER_TIMEOUT PARALLEL_SYNCS" >&2
    exit 2
fi
index=$1 port=$2 peer_ports=$3 dir=$4 name=$5 master_host=$6
master_port=$7 quorum=$8 down_after=$9 failover_timeout=${10}
parallel_syncs=${11}

here=$(cd "$(dirname "$0")" && pwd)
agent=${RSM_AGENT_BIN:-$here/../../build/rsm-agent}
replicas=${RSM_BENCH_REPLICAS:-2}
offset=${RSM_BENCH_RAFT_OFFSET:-1000}
host=127.0.0.1

peers="" i=0 IFS=,
for p in $peer_ports; do
    peers+="${peers:+,}$((i + 1))=$host:$((p + offset))/$p"
    i=$((i + 1))
done
unset IFS

instances="$master_host:$master_port"
for ((r = 1; r <= replicas; r++)); do
    instances+=",$master_host:$((master_port + r))"
done

tls=()
if [ -n "${RSM_BENCH_TLS_DIR:-}" ]; then
    # server.crt names 127.0.0.1, every agent's address here: it serves
    # as the client certificate to Redis and for Raft over mutual TLS
    tls=(--tls-redis on --tls-raft on
        --tls-cert-file "$RSM_BENCH_TLS_DIR/server.crt"
        --tls-key-file "$RSM_BENCH_TLS_DIR/server.key"
        --tls-ca-cert-file "$RSM_BENCH_TLS_DIR/ca.crt")
fi

# shellcheck disable=SC2086 # RSM_BENCH_AGENT_ARGS is a list of flags
exec "$agent" --id $((index + 1)) --peers "$peers" \
    --raft-bind "$host:$((port + offset))" --api-bind "$host:$port" \
    --data-dir "$dir/raft" \
    --monitor "$name=$instances" --quorum "$quorum" \
    --down-after-ms "$down_after" --failover-timeout-ms "$failover_timeout" \
    --parallel-syncs "$parallel_syncs" \
    --probe-interval-ms "${RSM_BENCH_PROBE_MS:-100}" \
    ${tls[@]+"${tls[@]}"} ${RSM_BENCH_AGENT_ARGS:-}
