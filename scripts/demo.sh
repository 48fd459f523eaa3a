#!/usr/bin/env bash
# demo.sh - three rsm-agents watch a Redis set and fail it over in front of
# you.
#
# Starts 1 master + 2 replicas and 3 rsm-agents (a Raft group) on 127.0.0.1
# (kernel-chosen free ports), shows what the agents know, writes data,
# SIGKILLs the master and shows the failover the agent leader decided,
# committed and carried out; then brings the old master back empty and shows
# the leader turning it into a replica of the new master instead of letting
# it wipe anything. Everything it starts is stopped by PID on exit.
# Non-interactive; about half a minute once built.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
. scripts/lib.sh
rsm_demo_setup

group=mymaster
down_after=1000
now_ms() { date +%s%3N; }
agent_cli() { cli "${api[$1]}" "${@:2}"; }
master_of() { agent_cli "$1" sentinel get-master-addr-by-name "$group" | paste -sd: -; }

heading "start 1 master + 2 replicas on 127.0.0.1"
declare -A pid_of=()
master=$(free_port)
start_redis "$master"
pid_of[$master]=${pids[-1]}
replicas=()
for _ in 1 2; do
    p=$(free_port)
    start_redis "$p" "$master"
    pid_of[$p]=${pids[-1]}
    replicas+=("$p")
done
for p in "${replicas[@]}"; do wait_for 15 "replica $p linked" linked "$p"; done
echo "master 127.0.0.1:$master, replicas 127.0.0.1:${replicas[0]} 127.0.0.1:${replicas[1]}"

heading "start 3 rsm-agents (one Raft group), down-after $down_after ms"
declare -A api=() raft=()
peers=""
for i in 1 2 3; do
    raft[$i]=$(free_port)
    api[$i]=$(free_port)
    peers+="${peers:+,}$i=127.0.0.1:${raft[$i]}/${api[$i]}"
done
members="127.0.0.1:$master,127.0.0.1:${replicas[0]},127.0.0.1:${replicas[1]}"
for i in 1 2 3; do
    build/rsm-agent --id "$i" --peers "$peers" --api-bind "127.0.0.1:${api[$i]}" \
        --data-dir "$work/agent$i" --monitor "$group=$members" \
        --down-after-ms "$down_after" 2>"$work/agent$i.log" &
    pids+=($!)
done
for i in 1 2 3; do
    wait_for 20 "agent $i to know the master" \
        equals "127.0.0.1:$master" master_of "$i"
done
echo "rsm-agent --id N --peers $peers \\"
echo "          --monitor $group=$members --down-after-ms $down_after"

heading "rsmctl status"
build/rsmctl status --agent "127.0.0.1:${api[1]}"

heading "write 1000 keys to the master"
cli "$master" eval "for i = 1, 1000 do redis.call('SET', 'key:' .. i, i) end" 0 >/dev/null
for p in "${replicas[@]}"; do
    wait_for 10 "replica $p has every key" equals 1000 cli "$p" dbsize
done
echo "every replica has 1000 keys"

heading "SIGKILL the master (127.0.0.1:$master)"
t0=$(now_ms)
kill -KILL "${pid_of[$master]}"
wait "${pid_of[$master]}" 2>/dev/null || true
new=""
for _ in $(seq 1 400); do
    for p in "${replicas[@]}"; do
        [ "$(field "$p" role 2>/dev/null)" = master ] && new=$p
    done
    [ -n "$new" ] && break
    sleep 0.01
done
[ -n "$new" ] || { echo "demo: no replica was promoted" >&2; exit 1; }
t_promoted=$(($(now_ms) - t0))
other=${replicas[0]}
[ "$other" = "$new" ] && other=${replicas[1]}
link_of() { echo "$(field "$1" master_port):$(field "$1" master_link_status)"; }
wait_for 10 "replica $other linked to the new master" equals "$new:up" link_of "$other"
t_linked=$(($(now_ms) - t0))
for i in 1 2 3; do
    wait_for 10 "agent $i to answer the new master" \
        equals "127.0.0.1:$new" master_of "$i"
done
t_agents=$(($(now_ms) - t0))
echo "127.0.0.1:$new promoted after ${t_promoted} ms; the other replica linked to it"
echo "after ${t_linked} ms; every agent answers the new address after ${t_agents} ms"

heading "what the agent leader did (its log, one event per line)"
leader_log=$(grep -l "event=propose group=$group entry=decide-failover" "$work"/agent*.log | head -1)
grep -E 'event=(propose|\+|redis-command)' "$leader_log" |
    grep -vE 'entry=observe-master' | sed -E 's/^ts=[^ ]*T//; s/ level=info//' | cut -c1-150

heading "rsmctl status"
build/rsmctl status --agent "127.0.0.1:${api[2]}"

heading "the old master comes back empty (no persistence) on port $master"
start_redis "$master"
pid_of[$master]=${pids[-1]}
wait_for 20 "the old master to be made a replica" linked "$master"
wait_for 20 "the old master to get the data back" equals 1000 cli "$master" dbsize
echo "127.0.0.1:$master is now role:$(field "$master" role) of" \
    "$(field "$master" master_host):$(field "$master" master_port)" \
    "with $(cli "$master" dbsize) keys: nothing was wiped"

heading "done; stopping everything this demo started"
