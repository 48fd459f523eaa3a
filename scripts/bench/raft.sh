#!/usr/bin/env bash
# raft.sh - measure the agent's Raft spine on loopback, 3 real agents.
#
#   scripts/bench/raft.sh [--runs 10] [--idle-seconds 60] [--applies 2000]
#                         [--election-ms 700] [--heartbeat-ms 100]
#
# 1. failover: SIGKILL the leader, time until another agent is elected
#    (became-leader) and ready (its barrier committed: leader-ready), read
#    from the agents' logs; the killed agent restarts from its data dir and
#    rejoins before the next run. Median/min/max over --runs.
# 2. idle: RSS and CPU of each agent over --idle-seconds (from /proc).
# 3. apply: commit latency of raft_apply on the leader, entries proposed one
#    after another (test-only RSM_BENCH_APPLIES hook of rsm-agent).
# Needs a build (RSM_BUILD_DIR, default build/); the apply part needs a test
# build, configured with -DRSM_TEST_FAULTS=ON as scripts/test.sh configures
# build/ (a release build has no such hook). Ports are kernel-assigned,
# data dirs live in a temp dir that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
export RSM_BUILD_DIR="${RSM_BUILD_DIR:-$PWD/build}"
[ -x "$RSM_BUILD_DIR/rsm-agent" ] || {
    echo "bench-raft: build first (no $RSM_BUILD_DIR/rsm-agent)" >&2
    exit 1
}
exec python3 scripts/bench/raft.py "$@"
