#!/usr/bin/env bash
# lib.sh - shell helpers shared by the demos: headings, free loopback ports,
# redis-cli shortcuts, polling, and redis-server processes that are stopped by
# PID when the script exits. Source it after `set -euo pipefail`; it creates
# $work (a temp dir) and the array pids, and installs the EXIT trap.

heading() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# setup: install what is missing and build (quietly).
rsm_demo_setup() {
    heading "dependencies"
    rsm_install_deps
    echo "all Debian packages present"
    heading "build"
    cmake -S . -B build >/dev/null
    cmake --build build -j2 >/dev/null
    echo "built build/rsmctl and build/rsm-agent"
}

work=$(mktemp -d /tmp/rsm-demo.XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [ -n "${RSM_KEEP_DEMO:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

declare -A used_ports=()
free_port() {
    local p
    while :; do
        p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        [ -z "${used_ports[$p]:-}" ] && break
    done
    used_ports[$p]=1
    echo "$p"
}

cli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@"; }
field() { cli "$1" info replication | tr -d '\r' | sed -n "s/^$2://p"; }
linked() { [ "$(field "$1" master_link_status)" = up ]; }

# equals EXPECTED COMMAND...: COMMAND prints EXPECTED (for wait_for: the
# command runs again at every poll, unlike a "$(...)" in the arguments).
equals() { [ "$("${@:2}" 2>/dev/null)" = "$1" ]; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 20; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "demo: timed out waiting for $what" >&2
    exit 1
}

# start_redis PORT [replicaof-port]: one redis-server in the background.
start_redis() {
    local port=$1 dir="$work/$1"
    mkdir -p "$dir"
    {
        echo "port $port"
        echo "bind 127.0.0.1"
        echo "dir $dir"
        echo 'save ""'
        echo "appendonly no"
        echo "repl-diskless-sync-delay 0"
        echo "logfile $dir/redis.log"
        echo "repl-ping-replica-period 1"
        [ $# -gt 1 ] && echo "replicaof 127.0.0.1 $2"
    } >"$dir/redis.conf"
    redis-server "$dir/redis.conf" &
    pids+=($!)
    wait_for 10 "redis on port $port" cli "$port" ping
}

