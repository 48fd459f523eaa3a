#!/usr/bin/env bash
# run.sh - every comparison of rsm-agent against redis-sentinel, on this
# machine, in one run, with a report: CSV files, PNG plots (gnuplot) and a
# Markdown summary that starts with the machine and the date.
#
#   scripts/bench/run.sh                       # 10 runs, the full set
#   scripts/bench/run.sh --runs 3 --down-after 1000 --idle-seconds 10
#
#   --runs N            failover runs per series and leader-loss runs (10)
#   --down-after "MS.." failover down-after values (default "1000 30000";
#                       30000 is Sentinel's default: redis-sentinel runs
#                       there too, about 10 x 32 s)
#   --signals "S.."     KILL and/or STOP (default "KILL STOP")
#   --stop-down-after "MS.."
#                       the down-after values of --down-after at which STOP
#                       runs too (default "1000": a STOP series at 30000
#                       would take 10+ minutes and show nothing new)
#   --restart-runs N    runs of the master SIGKILLed and restarted at once
#                       with its data, both sides (scripts/bench/restart.py,
#                       down-after 1000; default 10; "" or 0 skips)
#   --leader-kill "MS.." down-after values of the failover started while
#                       the agent leader is SIGKILLed (default "1000"; ""
#                       skips)
#   --idle-seconds S    idle RSS/CPU window, 3 agents vs 3 sentinels, in
#                       the first run of every failover series (60)
#   --rounds N          redis-benchmark rounds on the client port (5)
#   -n N                requests per redis-benchmark round (200000)
#   --base-port P       the failover bench's fixed ports (see
#                       failover.sh; default 7000), series k on
#                       P + 200 (k - 1)
#   --scale "N.."       endpoints per scale point (default "10 100 300
#                       1000"; "" skips), --scale-seconds S per point (30)
#   --tls-runs N        runs of the TLS series (default: --runs; 0 skips):
#                       failover.sh --tls, down-after 1000, --signals,
#                       redis-sentinel and rsm-agent in plaintext and with
#                       Redis on its TLS port only, in one run, on ports
#                       P + 2000 (clear of the plain series), idle window
#                       --idle-seconds in the first signal's series
#
# Parts: 1c. probe load (scripts/bench/probe_load.py: commands/s and input
# bytes/s each Redis receives from 3 agents vs 3 sentinels, idle, for
# --idle-seconds); 1. failover (scripts/bench/failover.sh, one call per down-after and
# signal), and the idle footprint in the first run of each; 1b. the master
# killed and restarted at once (scripts/bench/restart.py: did the agents
# fail over, how long until the group is healthy, keys kept); 2. agent leader
# loss (scripts/bench/raft.sh) and a failover started while the agent leader
# is SIGKILLed (failover.sh --kill-leader); 1d. failover and idle CPU
# with TLS to Redis vs plaintext, both sides (failover.sh --tls); 3. client port
# (scripts/bench/discovery.sh); 4. scale (scripts/bench/scale.py: one agent
# and one redis-sentinel, N endpoints simulated by one C process,
# scripts/bench/fake_redis.c, not real redis-servers).
# Writes bench-results/<UTC time>/: raw/ (every script's own output), *.csv,
# *.png, summary.md, readme-table.md.
# Installs missing Debian packages (gnuplot-nox among them) through
# scripts/deps.sh and builds build/rsm-agent if it is missing (the agent
# parts use $RSM_AGENT_BIN instead when it is set; raft.sh, build/). Only
# 127.0.0.1. Exit 1 if a part failed (the report is written anyway).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

runs=10
down_afters="1000 30000"
stop_down_afters="1000"
signals="KILL STOP"
restart_runs=10
idle_seconds=60
rounds=5
requests=200000
base=7000
scale="10 100 300 1000"
scale_seconds=30
leader_kill="1000"
tls_runs=
usage() {
    sed -n '2,57p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=${2:?}; shift 2 ;;
    --down-after) down_afters=${2:?}; shift 2 ;;
    --signals) signals=${2:?}; shift 2 ;;
    --stop-down-after) stop_down_afters=${2?}; shift 2 ;;
    --restart-runs) restart_runs=${2?}; shift 2 ;;
    --idle-seconds) idle_seconds=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    -n) requests=${2:?}; shift 2 ;;
    --base-port) base=${2:?}; shift 2 ;;
    --scale) scale=${2?}; shift 2 ;;
    --scale-seconds) scale_seconds=${2:?}; shift 2 ;;
    --leader-kill) leader_kill=${2?}; shift 2 ;;
    --tls-runs) tls_runs=${2?}; shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "bench/run: unknown argument '$1'" >&2; usage ;;
    esac
done
tls_runs=${tls_runs:-$runs}
for v in "$tls_runs" "$runs" "$idle_seconds" "$rounds" "$requests" "$base" "$scale_seconds" $down_afters $stop_down_afters $scale $leader_kill ${restart_runs:-0}; do
    case $v in '' | *[!0-9]*) echo "bench/run: bad number '$v'" >&2; exit 2 ;; esac
done

# shellcheck source=../deps.sh
. scripts/deps.sh
rsm_install_deps "${RSM_BENCH_PACKAGES[@]}"
if [ -z "${RSM_AGENT_BIN:-}" ] && [ ! -x build/rsm-agent ]; then
    # with the test-only hooks: raft.sh's apply part needs one
    cmake -S . -B build -DRSM_TEST_FAULTS=ON >/dev/null
    cmake --build build -j2 --target rsm-agent
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench-results/$stamp
raw=$out/raw
mkdir -p "$raw"
status=0

{
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo
    echo "Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
         "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM," \
         "Linux $(uname -r), $(redis-server --version | awk '{print $3}' | sed 's/v=/redis /')," \
         "redis-sentinel of the same package"
    echo
    echo "Everything on 127.0.0.1, both sides in the same run."
} >"$raw/machine.txt"
cat "$raw/machine.txt"

# 1. failover, and the idle footprint in the first run of every series
series=0
for da in $down_afters; do
    for sig in $signals; do
        if [ "$sig" = STOP ] && ! [[ " $stop_down_afters " == *" $da "* ]]; then
            continue
        fi
        idle=$idle_seconds
        echo "== failover SIG$sig, down-after $da, $runs runs" >&2
        log=$raw/failover-$sig-$da.log
        # each series on its own ports: the last one's may be in TIME_WAIT
        scripts/bench/failover.sh --runs "$runs" --signals "$sig" \
            --down-after "$da" --base-port $((base + 200 * series)) \
            -- --idle-seconds "$idle" >"$log" 2>&1 || status=1
        series=$((series + 1))
        json=$(awk '/^json: / {print $2}' "$log")
        if [ -n "$json" ] && [ -f "$json" ]; then
            mv "$json" "$raw/failover-$sig-$da.json"
            mv "${json%.json}" "$raw/failover-$sig-$da"
        else
            echo "bench/run: failover SIG$sig $da: no result (see $log)" >&2
            status=1
        fi
        sed -n '/^Failover/,$p' "$log" >&2
    done
done

# 1b. the master killed and restarted at once, with its data (free ports)
if [ -n "$restart_runs" ] && [ "$restart_runs" -gt 0 ]; then
    echo "== master killed and restarted at once, $restart_runs runs" >&2
    python3 scripts/bench/restart.py --runs "$restart_runs" \
        --json "$raw/restart.json" >"$raw/restart.log" 2>&1 || status=1
    [ -f "$raw/restart.json" ] || {
        echo "bench/run: restart: no result (see $raw/restart.log)" >&2
        status=1
    }
    sed -n '/^impl/,$p' "$raw/restart.log" >&2
fi

# 1c. what the watchers cost Redis, idle: commands/s and input bytes/s
if [ "$idle_seconds" -gt 0 ]; then
    echo "== probe load, $idle_seconds s" >&2
    python3 scripts/bench/probe_load.py --seconds "$idle_seconds" \
        --json "$raw/probe-load.json" >"$raw/probe-load.log" 2>&1 || status=1
    tail -5 "$raw/probe-load.log" >&2
fi

# 1d. failover and idle with TLS to Redis, against plaintext in the same run
if [ "$tls_runs" -gt 0 ]; then
    echo "== failover with TLS to Redis and without, $signals," \
         "$tls_runs runs" >&2
    log=$raw/tls-failover-1000.log
    scripts/bench/failover.sh --tls --runs "$tls_runs" --signals "$signals" \
        --down-after 1000 --base-port $((base + 2000)) \
        --idle-seconds "$idle_seconds" >"$log" 2>&1 || status=1
    json=$(awk '/^json: / {print $2}' "$log")
    if [ -n "$json" ] && [ -f "$json" ]; then
        mv "$json" "$raw/tls-failover-1000.json"
        mv "${json%.json}" "$raw/tls-failover-1000"
    else
        echo "bench/run: TLS failover: no result (see $log)" >&2
        status=1
    fi
    sed -n '/^Failover/,$p' "$log" >&2
fi

# 2. agent leader loss (idle is measured above, next to redis-sentinel)
echo "== agent leader loss, $runs runs" >&2
scripts/bench/raft.sh --runs "$runs" --idle-seconds 0 \
    >"$raw/raft.log" 2>&1 || status=1
grep -E 'elected|ready|raft_apply' "$raw/raft.log" | tail -3 >&2
for da in $leader_kill; do
    echo "== failover while the agent leader dies, down-after $da," \
         "$runs runs" >&2
    log=$raw/leaderkill-KILL-$da.log
    scripts/bench/failover.sh --kill-leader --runs "$runs" --signals KILL \
        --down-after "$da" --base-port $((base + 200 * series)) \
        -- --idle-seconds 0 >"$log" 2>&1 || status=1
    series=$((series + 1))
    json=$(awk '/^json: / {print $2}' "$log")
    if [ -n "$json" ] && [ -f "$json" ]; then
        mv "$json" "$raw/leaderkill-KILL-$da.json"
        mv "${json%.json}" "$raw/leaderkill-KILL-$da"
    else
        echo "bench/run: leader kill $da: no result (see $log)" >&2
        status=1
    fi
    sed -n '/^Failover/,$p' "$log" >&2
done

# 3. client port
echo "== client port, $rounds rounds of $requests requests" >&2
scripts/bench/discovery.sh -n "$requests" --rounds "$rounds" \
    >"$raw/discovery.log" 2>&1 || status=1
tail -2 "$raw/discovery.log" >&2

# 4. scale
if [ -n "$scale" ]; then
    echo "== scale: $scale endpoints, $scale_seconds s each" >&2
    python3 scripts/bench/scale.py --points "$scale" --seconds "$scale_seconds" \
        >"$raw/scale.csv" 2>"$raw/scale.log" || status=1
    # the largest point once more with a Python endpoint server: does the
    # endpoint server limit what is measured?
    big=$(echo "$scale" | tr ' ' '\n' | sort -n | tail -1)
    python3 scripts/bench/scale.py --points "$big" --impls agent --fake python \
        --seconds "$scale_seconds" 2>>"$raw/scale.log" | tail -n +2 \
        >>"$raw/scale.csv" || status=1
    cat "$raw/scale.csv" >&2
fi

python3 scripts/bench/report.py "$out" || status=1
echo "report: $out/summary.md" >&2
exit $status
