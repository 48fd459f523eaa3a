#!/usr/bin/env bash
# deps.sh - install the Debian 12 packages the build, tests and demo need.
# Sourced by scripts/test.sh and scripts/demo.sh; does nothing when all are
# present. Needs root (or sudo) only when something is missing.
set -euo pipefail

RSM_PACKAGES=(
    build-essential cmake pkg-config git
    libuv1-dev libhiredis-dev libraft-dev libprotobuf-c-dev
    protobuf-c-compiler libjansson-dev liblz4-dev libcmocka-dev libhttp-parser-dev
    nettle-dev libssl-dev openssl curl
    redis-server redis-tools redis-sentinel python3 python3-redis iproute2
    procps python3-prometheus-client
    clang libclang-rt-14-dev nftables
)
# Only scripts/bench/run.sh needs these (rsm_install_deps "${RSM_BENCH_PACKAGES[@]}").
RSM_BENCH_PACKAGES=(gnuplot-nox)

# rsm_install_deps [EXTRA_PACKAGE...]: RSM_PACKAGES and the extra ones.
rsm_install_deps() {
    local missing=() p
    for p in "${RSM_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "deps: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >&2
    # Debian starts the packaged services; the project starts its own
    # servers on private ports, so leave the system ones as they are.
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    if [ "${1:-}" = --bench ]; then
        rsm_install_deps "${RSM_BENCH_PACKAGES[@]}"
    else
        rsm_install_deps
    fi
fi
