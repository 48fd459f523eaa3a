#!/usr/bin/env bash
# switchover.sh - write unavailability of a planned master move:
# rsm-agent's `rsmctl switchover` by each method (--switchover-method
# failover: the master's FAILOVER TO; pause: CLIENT PAUSE WRITE, catch-up,
# demote, promote, CLIENT UNPAUSE) against redis-sentinel's
# `SENTINEL FAILOVER`, same topology, in one run.
#
#   scripts/bench/switchover.sh             # 20 moves back and forth each
#   scripts/bench/switchover.sh --runs 5
#
# Topology, all on 127.0.0.1 with kernel-chosen ports (tests/integration/
# rsmtest.py): 1 redis-server master + 2 replicas, watched by 3 rsm-agent
# (down-after 1000 ms; one series per switchover method) or by 3
# redis-sentinel (quorum 2, down-after 1000 ms, failover-timeout
# 10000 ms), in turn, each on fresh instances. A writer thread SETs unique
# keys to whichever instance answers role:master (the same discovery for
# all); a RoleWatcher samples every role every 20 ms.
#
# For each move: the longest time without an acknowledged write from the
# request until the move is over (new master serving, the old one its
# replica); the time two instances answered role:master at once; and in
# the end, acknowledged writes missing from the final master (lost). Prints
# median and max of each, for each series. Needs build/rsm-agent, build/rsmctl,
# redis-server, redis-sentinel. Exit 1 if something failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
runs=20
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-switchover: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case $runs in '' | *[!0-9]* | 0) echo "bench-switchover: --runs: '$runs'" >&2; exit 2 ;; esac
command -v redis-sentinel >/dev/null || { echo "bench-switchover: redis-sentinel not installed" >&2; exit 2; }
[ -x build/rsm-agent ] && [ -x build/rsmctl ] || { echo "bench-switchover: build first (cmake --build build)" >&2; exit 2; }

export RSM_BUILD_DIR=$repo/build
exec python3 scripts/bench/switchover.py "$runs" "$repo/tests/integration"
