#!/usr/bin/env bash
# The main job on the bundled example: install what is missing, build, then
# validate the bundled log-filter guest with zvm and print its content hash.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
./build/zvm validate --hash build/examples/logfilter.wasm
