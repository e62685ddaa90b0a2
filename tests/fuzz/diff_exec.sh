#!/usr/bin/env bash
# diff_exec.sh — a long differential-execution session (tests/fuzz/diff_exec.c)
# against wabt's interpreter, from a seed taken from the clock, at -O2.
#
#   tests/fuzz/diff_exec.sh [MINUTES] [BUILD]   (default 30, <repo>/build)
#
# Diverging modules are kept in BUILD/diff-exec-divergences/seed-N.wasm;
# `diff_exec --emit N FILE` rewrites any module from its seed. Exit status:
# diff_exec's (0: no divergence).
set -euo pipefail
minutes=${1:-30}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$repo/build}
cmake --build "$build" --target diff_exec >/dev/null
seed=$(date +%s)
echo "diff_exec.sh: $minutes minutes from seed $seed"
exec "$build/tests/diff_exec" --seed "$seed" --minutes "$minutes" -O2 \
    --save "$build/diff-exec-divergences"
