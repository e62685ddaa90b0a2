#!/usr/bin/env bash
# All tests: install what is missing, build, run every CTest test (unit,
# end-to-end, spec conformance). With ZVM_SANITIZE=1 the build uses
# AddressSanitizer and UBSan in build-asan/; with ZVM_WERROR=1 warnings are
# errors (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
dir=build; opts=()
if [ "${ZVM_SANITIZE:-0}" = 1 ]; then dir=build-asan; opts=(-DZVM_SANITIZE=ON); fi
opts+=(-DZVM_WERROR="$([ "${ZVM_WERROR:-0}" = 1 ] && echo ON || echo OFF)")
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${opts[@]}" >/dev/null
cmake --build "$dir"
ctest --test-dir "$dir" --output-on-failure -j2 "$@"
