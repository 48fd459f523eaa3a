#!/usr/bin/env bash
# test.sh - install what is missing, build, run every test.
#
#   scripts/test.sh            # every test on a RelWithDebInfo build (build/),
#                              # then the unit and cluster tests again on an
#                              # ASan+UBSan build (build-asan/)
#   scripts/test.sh --asan     # every test on the ASan+UBSan build only
#   scripts/test.sh --no-asan  # skip the sanitizer pass
#   RSM_TEST_REGEX=unit scripts/test.sh   # only tests matching a regex
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
rsm_install_deps

# run_suite BUILD_TYPE BUILD_DIR [ctest regex]
# Test builds compile the test-only fault points (RSM_TEST_FAULTS, off by
# default: a release build has none); several integration tests use them.
run_suite() {
    local args=(--output-on-failure --no-tests=error -j2)
    cmake -S . -B "$2" -DCMAKE_BUILD_TYPE="$1" -DRSM_TEST_FAULTS=ON >/dev/null
    cmake --build "$2" -j"$(nproc)"
    [ -n "${3:-}" ] && args+=(-R "$3")
    (cd "$2" && ctest "${args[@]}")
}

case "${1:-}" in
--asan)
    run_suite Asan build-asan "${RSM_TEST_REGEX:-}"
    ;;
--no-asan)
    run_suite RelWithDebInfo build "${RSM_TEST_REGEX:-}"
    ;;
"")
    run_suite RelWithDebInfo build "${RSM_TEST_REGEX:-}"
    echo "== the unit and cluster tests again under ASan+UBSan"
    run_suite Asan build-asan '^(unit|cluster)\.'
    ;;
*)
    echo "usage: scripts/test.sh [--asan | --no-asan]" >&2
    exit 2
    ;;
esac
