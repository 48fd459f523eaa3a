#!/usr/bin/env bash
# promote.sh - how long `rsmctl promote` takes on six instances with a
# dead master, end to end (process start to exit), median of N runs.
#
#   scripts/bench/promote.sh            # 10 runs, needs build/rsmctl
#   RUNS=20 scripts/bench/promote.sh
#
# Each run: 1 master + 5 replicas on 127.0.0.1 (free ports), all linked;
# SIGKILL the master, wait until every replica sees its link down, then time
# `build/rsmctl promote` on all six addresses (the dead one included). The
# killed instance is restarted as a replica of the new master for the next
# run. Everything it starts is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=${RUNS:-10}
rsmctl=${RSMCTL:-build/rsmctl}
[ -x "$rsmctl" ] || { echo "bench: $rsmctl not built (cmake --build build)" >&2; exit 2; }

. scripts/lib.sh
declare -A pid_of=()

# start_redis PORT [replicaof-port], remembering its PID by port
start_redis_pid() {
    start_redis "$@"
    pid_of[$1]=${pids[-1]}
}

link_down() { [ "$(field "$1" master_link_status)" = down ]; }

ports=()
master=$(free_port)
start_redis_pid "$master"
ports+=("$master")
for _ in 1 2 3 4 5; do
    p=$(free_port)
    start_redis_pid "$p" "$master"
    ports+=("$p")
done
cli "$master" eval "for i = 1, 10000 do redis.call('SET', 'k' .. i, i) end" 0 >/dev/null

times=()
for ((run = 1; run <= runs; run++)); do
    for p in "${ports[@]}"; do
        [ "$p" = "$master" ] || wait_for 20 "replica $p linked" linked "$p"
    done
    kill -KILL "${pid_of[$master]}"
    wait "${pid_of[$master]}" 2>/dev/null || true
    for p in "${ports[@]}"; do
        [ "$p" = "$master" ] || wait_for 10 "replica $p link down" link_down "$p"
    done

    t0=${EPOCHREALTIME/[.,]/}
    "$rsmctl" promote "${ports[@]/#/127.0.0.1:}" >"$work/out.$run" 2>&1 || {
        echo "bench: rsmctl failed in run $run:" >&2
        cat "$work/out.$run" >&2
        exit 1
    }
    t1=${EPOCHREALTIME/[.,]/}
    ms=$(((10#$t1 - 10#$t0) / 1000))
    times+=("$ms")
    new=$(sed -n 's/^done: 127\.0\.0\.1:\([0-9]*\) is master.*/\1/p' "$work/out.$run")
    printf 'run %2d: %4d ms  (promoted 127.0.0.1:%s)\n' "$run" "$ms" "$new"

    # the dead master comes back as a replica of the new one
    start_redis_pid "$master" "$new"
    master=$new
done

# For scale: starting a process that does nothing, timed the same way.
t0=${EPOCHREALTIME/[.,]/}
/bin/true
t1=${EPOCHREALTIME/[.,]/}

sorted=($(printf '%s\n' "${times[@]}" | sort -n))
n=${#sorted[@]}
if ((n % 2)); then
    median=${sorted[$((n / 2))]}
else
    median=$(((sorted[n / 2 - 1] + sorted[n / 2]) / 2))
fi
echo "rsmctl promote, 6 instances, dead master, $n runs:" \
    "min ${sorted[0]} ms, median $median ms, max ${sorted[$((n - 1))]} ms"
echo "(for scale: /bin/true takes $(((10#$t1 - 10#$t0) / 1000)) ms to start and exit here, timed the same way)"
