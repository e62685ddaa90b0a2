#!/usr/bin/env bash
# run.sh — fuzz with libFuzzer on one core: the validator (fuzz_validator,
# the default) or the host calls (fuzz_host: a guest that turns each input
# into WASI and zvm calls with arbitrary arguments) or the tar reader
# (fuzz_tar: each input a session's mounted image).
#
#   tests/fuzz/run.sh [SECONDS] [fuzz_validator|fuzz_host|fuzz_tar]   (default 60)
#
# The validator's seeds are the spec suite's binary modules, converted with
# wast2json into a temporary folder at run time (never committed); the
# host and tar fuzzers start from nothing. The fuzzer runs as one
# job (-jobs=1: the machine is shared), then the exec count is printed.
# Environment:
#   ZVM_FUZZ_BUILD   the ZVM_FUZZ build folder (default <repo>/build-fuzz;
#                    configured with clang if it does not exist yet)
#   ZVM_SPEC_DIR     the .wast files (default <repo>/../shared/wasm-testsuite)
#   ZVM_FUZZ_CORPUS  keep the grown corpus in this folder (default: temporary)
#   ZVM_FUZZ_ARTIFACTS  where crashes, leaks and timeouts are written
#                    (default <build>/fuzz-artifacts)
# Exit status: the fuzzer's (0: nothing found).
set -euo pipefail

secs=${1:-60}
target=${2:-fuzz_validator}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${ZVM_FUZZ_BUILD:-$repo/build-fuzz}
spec=${ZVM_SPEC_DIR:-$repo/../shared/wasm-testsuite}
artifacts=${ZVM_FUZZ_ARTIFACTS:-$build/fuzz-artifacts}

if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang cmake -S "$repo" -B "$build" -G Ninja -DZVM_FUZZ=ON -DZVM_WERROR=ON >/dev/null
fi
cmake --build "$build" --target "$target" >/dev/null
fuzzer=$build/tests/fuzz/$target

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zvm-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/wast" "$tmp/seeds" "$artifacts"
corpus=${ZVM_FUZZ_CORPUS:-$tmp/corpus}
mkdir -p "$corpus"

for wast in "$spec"/*.wast; do
    [ "$target" = fuzz_validator ] || break
    name=$(basename "$wast" .wast)
    wast2json "$wast" -o "$tmp/wast/$name.json" 2>/dev/null ||
        echo "run.sh: wast2json failed on $wast, skipped" >&2
done
find "$tmp/wast" -name '*.wasm' -exec mv -t "$tmp/seeds" {} +
echo "run.sh: $(ls "$tmp/seeds" | wc -l) seed modules from $spec; fuzzing for ${secs}s"

# libFuzzer writes new inputs to the first folder only; the seeds are read.
# With -jobs the job's output goes to fuzz-0.log in the working folder, and
# the parent repeats it at the end: keep both out of the terminal and show
# the summary, or the report when something was found.
status=0
(cd "$tmp" && "$fuzzer" -max_total_time="$secs" -jobs=1 -workers=1 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$tmp/seeds" \
    >"$tmp/parent.log" 2>&1) || status=$?
log=$tmp/fuzz-0.log
[ -f "$log" ] || log=$tmp/parent.log
if [ "$status" -ne 0 ] || grep -qE '^==[0-9]+==ERROR|^SUMMARY: ' "$log"; then
    echo "run.sh: the fuzzer found something (status $status):" >&2
    sed -n '/^INFO: seed corpus/,$p' "$log" | grep -v '^#[0-9]' | tail -n 80 >&2
    [ "$status" -ne 0 ] || status=1
else
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::' "$log" || true
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
echo "run.sh: ${runs:-?} executions in ${took:-?}s; corpus: $(ls "$corpus" | wc -l) inputs;" \
     "artifacts: $artifacts"
exit "$status"
