#!/usr/bin/env bash
# All tests: install what is missing, build, run every CTest test (unit,
# end-to-end, spec conformance). With ZVM_SANITIZE=1 the build uses
# AddressSanitizer and UBSan in build-asan/; with ZVM_WERROR=1 warnings are
# errors (CI). Tests that need what is missing here (the spec suite beside
# the clone, redis-server...) are skipped and say why at the end; with
# ZVM_REQUIRE_SPEC=1 (CI) the spec tests fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
dir=build; opts=()
# The sanitized build leaves the ready guests out: they are the same wasm
# whatever the host's sanitizer, and Python's build costs about 4 minutes
# (its tests then skip).
if [ "${ZVM_SANITIZE:-0}" = 1 ]; then dir=build-asan; opts=(-DZVM_SANITIZE=ON -DZVM_GUESTS=OFF); fi
opts+=(-DZVM_WERROR="$([ "${ZVM_WERROR:-0}" = 1 ] && echo ON || echo OFF)")
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${opts[@]}" >/dev/null
cmake --build "$dir"
status=0
ctest --test-dir "$dir" --output-on-failure -j2 "$@" || status=$?
# CTest shows nothing of a skipped test's output: print why each was
# skipped (e.g. where to put the spec suite), each reason once.
grep -hE '[:;,] skipped$' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null | sort -u || true
exit $status
