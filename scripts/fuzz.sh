#!/usr/bin/env bash
# fuzz.sh - build one libFuzzer target with clang and run it for a while.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#   scripts/fuzz.sh flags 600
#   scripts/fuzz.sh entry 60 -jobs=2
#
# TARGET is the name in tests/fuzz/fuzz_TARGET.c (info, entry, flags, ...).
# The build is build-fuzz/ (clang, -DRSM_FUZZ=ON: every library
# instrumented, ASan + UBSan), or $RSM_FUZZ_BUILD_DIR. The fuzzer starts
# from the checked-in seeds (tests/fuzz/corpus/TARGET; for info also the
# INFO fixtures and their dictionary) and keeps what it finds in
# BUILD/corpus/TARGET, so the checked-in seeds are never written to. A
# crash is saved in BUILD/artifacts/TARGET/ and makes this script exit
# non-zero; turn it into a regression test and a seed.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]" >&2
    echo "targets: $(cd tests/fuzz && ls fuzz_*.c | sed 's/fuzz_//; s/\.c$//' | tr '\n' ' ')" >&2
    exit 2
}
[ $# -ge 2 ] || usage
target=$1
secs=$2
shift 2
[ -f "tests/fuzz/fuzz_$target.c" ] || usage
case $secs in '' | *[!0-9]*) usage ;; esac
if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang not found (scripts/deps.sh installs clang and libclang-rt-14-dev)" >&2
    exit 2
fi

build=${RSM_FUZZ_BUILD_DIR:-build-fuzz}
CC=clang cmake -S . -B "$build" -DRSM_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target "fuzz_$target" >/dev/null

work=$build/corpus/$target
artifacts=$build/artifacts/$target/
mkdir -p "$work" "$artifacts"
seeds=()
[ -d "tests/fuzz/corpus/$target" ] && seeds+=("tests/fuzz/corpus/$target")
dict=()
if [ "$target" = info ]; then
    seeds+=(tests/unit/fixtures/info)
    dict=(-dict=tests/unit/fixtures/info/fuzz_info.dict)
fi
[ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")

log=$build/fuzz_$target.log
echo "fuzz.sh: fuzz_$target for $secs s, corpus $work ${seeds[*]}, log $log"
status=0
"$build/fuzz_$target" "${dict[@]}" -max_total_time="$secs" \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$@" \
    "$work" "${seeds[@]}" >"$log" 2>&1 || status=$?
grep -E '^(==[0-9]+==|SUMMARY|artifact_prefix|Test unit written|fuzz_)' "$log" || true
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
echo "fuzz.sh: fuzz_$target: ${execs:-?} executions in $secs s, corpus $(ls "$work" | wc -l) units, exit $status"
exit $status
