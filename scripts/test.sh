#!/usr/bin/env bash
# test.sh - install what is missing, build, run every test.
#
#   scripts/test.sh            # RelWithDebInfo build in build/
#   scripts/test.sh --asan     # ASan+UBSan build in build-asan/
#   RSM_TEST_REGEX=unit scripts/test.sh   # only tests matching a regex
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
rsm_install_deps

build_type=RelWithDebInfo
build_dir=build
if [ "${1:-}" = "--asan" ]; then
    build_type=Asan
    build_dir=build-asan
fi

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
cd "$build_dir"
args=(--output-on-failure --no-tests=error -j2)
[ -n "${RSM_TEST_REGEX:-}" ] && args+=(-R "$RSM_TEST_REGEX")
ctest "${args[@]}"
