#!/usr/bin/env bash
# discovery.sh - discovery throughput of rsm-agent against
# redis-sentinel, in one run: redis-benchmark sending
# `SENTINEL get-master-addr-by-name <name>` to each.
#
#   scripts/bench/discovery.sh                 # -n 200000, 3 rounds each
#   scripts/bench/discovery.sh -n 500000 --rounds 5 --clients 50
#   scripts/bench/discovery.sh --agents 3      # a 3-agent group (bench the
#                                              # first agent, a follower or
#                                              # the leader)
#   scripts/bench/discovery.sh --failover      # also: SIGKILL the master
#                                              # while the load runs
#
# Setup, all on 127.0.0.1 with kernel-chosen ports: one redis-server
# master with 2 replicas, --agents rsm-agent processes (default 1) and one
# redis-sentinel, both watching it as "mymaster" with down-after 1000 ms.
# The two are benchmarked in turns (sentinel, agent, sentinel, ...), each
# round `redis-benchmark -n N -c C -q`; prints every round and the median
# requests per second of each, and the ratio agent/sentinel.
#
# --failover: afterwards, with 3 agents, the master is SIGKILLed 1 s into a
# benchmark against the first agent; prints the time from the kill until
# every agent answers the new master, and the benchmark's throughput.
#
# Needs build/rsm-agent (cmake --build build), redis-server,
# redis-sentinel, redis-benchmark. Exit 1 if something failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

n=200000
rounds=3
clients=50
agents=1
failover=0
usage() {
    sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}
while [ $# -gt 0 ]; do
    case $1 in
    -n) n=${2:?-n needs a value}; shift 2 ;;
    --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
    --clients) clients=${2:?--clients needs a value}; shift 2 ;;
    --agents) agents=${2:?--agents needs a value}; shift 2 ;;
    --failover) failover=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "bench-discovery: unknown argument '$1'" >&2; usage ;;
    esac
done
for v in "$n" "$rounds" "$clients" "$agents"; do
    case $v in '' | *[!0-9]* | 0) echo "bench-discovery: bad number '$v'" >&2; exit 2 ;; esac
done
agent_bin=${RSM_AGENT_BIN:-$repo/build/rsm-agent}
[ -x "$agent_bin" ] || { echo "bench-discovery: $agent_bin not built" >&2; exit 2; }
for c in redis-server redis-sentinel redis-benchmark redis-cli; do
    command -v $c >/dev/null || { echo "bench-discovery: $c not installed" >&2; exit 2; }
done

work=$(mktemp -d /tmp/rsm-discobench.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    sleep 0.3
    [ -n "${RSM_KEEP_TMP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# N free loopback ports (kernel-chosen, all held at once so they differ).
free_ports() {
    python3 scripts/bench/ports.py free "$1"
}

wait_for() { # port command... : until redis-cli -p port command works
    local port=$1; shift
    for _ in $(seq 200); do
        if redis-cli -p "$port" "$@" 2>/dev/null | grep -q .; then return 0; fi
        sleep 0.05
    done
    echo "bench-discovery: nothing answers '$*' on port $port" >&2
    return 1
}

start_redis() { # port [master-port]
    local dir=$work/redis-$1
    mkdir -p "$dir"
    {
        echo "port $1"; echo "bind 127.0.0.1"; echo "dir $dir"
        echo 'save ""'; echo "appendonly no"; echo "protected-mode no"
        echo "repl-diskless-sync-delay 0"
        [ -n "${2:-}" ] && echo "replicaof 127.0.0.1 $2"
    } >"$dir/redis.conf"
    redis-server "$dir/redis.conf" >"$dir/log" 2>&1 &
    pids+=($!)
    disown $!
    wait_for "$1" PING
}

start_group() { # n-agents: sets agent_ports
    local k=$1 i ports peers=""
    read -r -a ports <<<"$(free_ports $((2 * k)))"
    agent_ports=()
    for i in $(seq "$k"); do
        agent_ports+=("${ports[$((2 * i - 2))]}")
        peers+="${peers:+,}$i=127.0.0.1:${ports[$((2 * i - 1))]}/${ports[$((2 * i - 2))]}"
    done
    group_pids=()
    for i in $(seq "$k"); do
        "$agent_bin" --id "$i" --peers "$peers" \
            --api-bind "127.0.0.1:${agent_ports[$((i - 1))]}" \
            --data-dir "$work/agent-$k-$i" --election-timeout-ms 300 \
            --heartbeat-timeout-ms 30 --down-after-ms 1000 \
            --probe-interval-ms 100 --log-level warn \
            --monitor "mymaster=127.0.0.1:$master,127.0.0.1:$rep1,127.0.0.1:$rep2" \
            >"$work/agent-$k-$i.log" 2>&1 &
        pids+=($!)
        group_pids+=($!)
        disown $!
    done
    for i in $(seq "$k"); do
        wait_for "${agent_ports[$((i - 1))]}" SENTINEL get-master-addr-by-name mymaster
    done
}

read -r master rep1 rep2 sport <<<"$(free_ports 4)"
start_redis "$master"
start_redis "$rep1" "$master"
start_redis "$rep2" "$master"
cat >"$work/sentinel.conf" <<EOF
port $sport
bind 127.0.0.1
dir $work
sentinel monitor mymaster 127.0.0.1 $master 1
sentinel down-after-milliseconds mymaster 1000
EOF
redis-sentinel "$work/sentinel.conf" >"$work/sentinel.log" 2>&1 &
sentinel_pid=$!
pids+=($sentinel_pid)
disown $!
wait_for "$sport" SENTINEL get-master-addr-by-name mymaster
start_group "$agents"
aport=${agent_ports[0]}

# CPU time (user + system, in clock ticks) a process has used so far
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# "requests-per-second server-cpu-us-per-request" of one redis-benchmark
# run against port, served by pid
bench() { # port pid
    local c0 c1 rps
    c0=$(cpu_ticks "$2")
    rps=$(redis-benchmark -h 127.0.0.1 -p "$1" -n "$n" -c "$clients" -q \
        SENTINEL get-master-addr-by-name mymaster 2>/dev/null |
        tr '\r' '\n' | awk '/requests per second/ {
            for (i = 1; i <= NF; i++) if ($(i+1) == "requests") print $i }' |
        tail -1)
    c1=$(cpu_ticks "$2")
    [ -n "$rps" ] || return 0
    echo "$rps $(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$n" \
        'BEGIN {printf "%.1f", d * 1e6 / hz / n}')"
}
median() { sort -n | awk '{a[NR] = $1} END {
    if (NR == 0) exit 1; print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "redis-benchmark -n $n -c $clients SENTINEL get-master-addr-by-name mymaster"
echo "(redis-sentinel $(redis-sentinel --version | awk '{print $3}'), rsm-agent: $agents agent(s), $(nproc) CPUs;"
echo " cpu = the server's own CPU time per request, less sensitive to a busy machine)"
apid=${group_pids[0]}
s_rps=() a_rps=() s_cpu=() a_cpu=()
for r in $(seq "$rounds"); do
    read -r s sc <<<"$(bench "$sport" "$sentinel_pid")"
    read -r a ac <<<"$(bench "$aport" "$apid")"
    [ -n "${s:-}" ] && [ -n "${a:-}" ] || { echo "bench-discovery: a benchmark failed" >&2; exit 1; }
    printf 'round %d: redis-sentinel %7.0f req/s %5s us cpu   rsm-agent %7.0f req/s %5s us cpu\n' \
        "$r" "$s" "$sc" "$a" "$ac"
    s_rps+=("$s"); a_rps+=("$a"); s_cpu+=("$sc"); a_cpu+=("$ac")
done
sm=$(printf '%s\n' "${s_rps[@]}" | median)
am=$(printf '%s\n' "${a_rps[@]}" | median)
scm=$(printf '%s\n' "${s_cpu[@]}" | median)
acm=$(printf '%s\n' "${a_cpu[@]}" | median)
printf 'median:  redis-sentinel %7.0f req/s %5s us cpu   rsm-agent %7.0f req/s %5s us cpu\n' \
    "$sm" "$scm" "$am" "$acm"
printf 'ratio rsm-agent / redis-sentinel: throughput %.2f, cpu per request %.2f\n' \
    "$(awk -v a="$am" -v s="$sm" 'BEGIN {print a / s}')" \
    "$(awk -v a="$acm" -v s="$scm" 'BEGIN {print (s > 0) ? a / s : 0}')"

[ "$failover" = 1 ] || exit 0

# --- a SIGKILL failover under load -----------------------------------------
# only the agents may act on Redis now
kill "$sentinel_pid"
if [ "$agents" -lt 3 ]; then
    kill "${group_pids[@]}"
    start_group 3
fi
ports_csv=$(IFS=,; echo "${agent_ports[*]}")
redis-benchmark -h 127.0.0.1 -p "${agent_ports[0]}" -n $((n * 10)) -c "$clients" -q \
    SENTINEL get-master-addr-by-name mymaster >"$work/load.out" 2>&1 &
load=$!
pids+=($load)
sleep 1
mpid=$(redis-cli -p "$master" INFO server | tr -d '\r' | awk -F: '/^process_id:/ {print $2}')
python3 scripts/bench/discovery_failover.py "$mpid" "$master" "$ports_csv"
wait "$load" || true
tr '\r' '\n' <"$work/load.out" | grep "requests per second" | tail -1 |
    sed 's/^/load during the failover: /'
