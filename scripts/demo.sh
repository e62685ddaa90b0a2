#!/usr/bin/env bash
# The main job on the bundled example: install what is missing, build, then
# run the batch appliance: the bundled log filter (examples/logfilter.c, a
# wasm32-wasi guest that keeps the lines with ERROR) as one fresh instance
# per line of the bundled sample log, on every core.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
echo "== zvm batch --module build/examples/logfilter.wasm --input examples/sample.log ..."
./build/zvm batch --module build/examples/logfilter.wasm --input examples/sample.log \
    --output build/examples/errors-only.log --errors build/examples/failed-records.txt
echo "== $(wc -l < build/examples/errors-only.log) of $(wc -l < examples/sample.log) records kept" \
     "in build/examples/errors-only.log; the first three:"
head -3 build/examples/errors-only.log
