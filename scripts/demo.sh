#!/usr/bin/env bash
# The main job on the bundled example: install what is missing, build, then
# run the bundled log filter (examples/logfilter.c, built for wasm32-wasi)
# as a ZeroVM session over the bundled sample log, keeping the ERROR lines.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
echo "== zvm run build/examples/logfilter.manifest (report follows)"
./build/zvm run build/examples/logfilter.manifest
echo "== $(wc -l < build/examples/logfilter.out) of $(wc -l < examples/sample.log) lines kept" \
     "in build/examples/logfilter.out; the first three:"
head -3 build/examples/logfilter.out
