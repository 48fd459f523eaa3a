#!/usr/bin/env bash
# demo-promote.sh - a Redis set loses its master and `rsmctl promote` repairs it.
#
# Starts 1 master + 5 replicas on 127.0.0.1 (kernel-chosen free ports),
# writes data, makes the replicas' offsets diverge, SIGKILLs the master, runs
# `rsmctl promote` on the five replicas and shows the result. Everything it
# starts is stopped by PID on exit. Non-interactive; well under a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

. scripts/lib.sh
rsm_demo_setup

link_down() { [ "$(field "$1" master_link_status)" = down ]; }
offset() { field "$1" "${2:-slave_repl_offset}"; }
caught_up() { [ "$(offset "$1")" = "$(offset "$master" master_repl_offset)" ]; }

# write_keys PREFIX N SIZE: N keys of SIZE bytes in one server-side script.
write_keys() {
    cli "$master" eval \
        "for i = 1, tonumber(ARGV[1]) do redis.call('SET', KEYS[1] .. i, string.rep('v', tonumber(ARGV[2]))) end" \
        1 "$1" "$2" "$3" >/dev/null
}

# cut_off PORT: freeze a replica and close the master's end of its link, so
# it keeps what it has and misses every later write. (SIGSTOP alone is not
# enough on loopback: what the master already sent waits in the replica's
# socket buffer and is read after SIGCONT.)
cut_off() {
    local laddr
    laddr=$(cli "$1" client list | tr ' ' '\n' | awk -F= '
        $1 == "laddr" { l = $2 } $1 == "flags" && $2 ~ /M/ { print l; exit }')
    kill -STOP "${pid_of[$1]}"
    cli "$master" client kill addr "$laddr" >/dev/null
}

heading "start 1 master + 5 replicas on 127.0.0.1"
declare -A pid_of=()
master=$(free_port)
start_redis "$master"
pid_of[$master]=${pids[-1]}
replicas=()
for _ in 1 2 3 4 5; do
    p=$(free_port)
    start_redis "$p" "$master"
    pid_of[$p]=${pids[-1]}
    replicas+=("$p")
done
for p in "${replicas[@]}"; do wait_for 15 "replica $p linked" linked "$p"; done
echo "master 127.0.0.1:$master, replicas: ${replicas[*]/#/127.0.0.1:}"

heading "write data and make the replicas' offsets diverge"
write_keys base: 1000 100
for p in "${replicas[@]}"; do wait_for 10 "replica $p in sync" caught_up "$p"; done
echo "1000 keys written, every replica in sync"
cut_off "${replicas[0]}"
write_keys round1: 300 1000
for p in "${replicas[@]:1}"; do wait_for 10 "replica $p in sync" caught_up "$p"; done
echo "replica ${replicas[0]} frozen (SIGSTOP) and cut off, 300 more keys written"
cut_off "${replicas[1]}"
write_keys round2: 300 1000
for p in "${replicas[@]:2}"; do wait_for 10 "replica $p in sync" caught_up "$p"; done
echo "replica ${replicas[1]} frozen (SIGSTOP) and cut off, 300 more keys written"

heading "SIGKILL the master, SIGCONT the frozen replicas"
kill -KILL "${pid_of[$master]}"
kill -CONT "${pid_of[${replicas[0]}]}" "${pid_of[${replicas[1]}]}"
for p in "${replicas[@]}"; do wait_for 10 "replica $p sees the master gone" link_down "$p"; done
for p in "${replicas[@]}"; do
    printf '  127.0.0.1:%s  offset %-8s keys %s\n' "$p" "$(offset "$p")" \
        "$(cli "$p" dbsize)"
done

heading "rsmctl promote ${replicas[*]/#/127.0.0.1:}"
rc=0
build/rsmctl promote "${replicas[@]/#/127.0.0.1:}" || rc=$?
echo "(exit code $rc)"
[ "$rc" -eq 0 ] || exit "$rc"

new=""
for p in "${replicas[@]}"; do
    [ "$(field "$p" role)" = master ] && new=$p
done
others=()
for p in "${replicas[@]}"; do [ "$p" != "$new" ] && others+=("$p"); done
for p in "${others[@]}"; do wait_for 20 "replica $p linked" linked "$p"; done

heading "redis-cli -p $new info replication   (the new master)"
cli "$new" info replication | tr -d '\r' | grep -v '^#' | grep -v '^$'

heading "redis-cli -p ${others[0]} info replication   (one of the replicas)"
cli "${others[0]}" info replication | tr -d '\r' | grep -v '^#' | grep -v '^$'

heading "every instance has the new master's $(cli "$new" dbsize) keys"
for p in "${replicas[@]}"; do
    wait_for 10 "replica $p has every key" \
        equals "$(cli "$new" dbsize)" cli "$p" dbsize
    printf '  127.0.0.1:%s  %-7s keys %s\n' "$p" "$(field "$p" role)" \
        "$(cli "$p" dbsize)"
done

heading "run it again: nothing left to do"
build/rsmctl promote "${replicas[@]/#/127.0.0.1:}" | grep '^decision'

heading "done; stopping everything this demo started"
