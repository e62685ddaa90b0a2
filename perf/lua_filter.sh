#!/usr/bin/env bash
# lua_filter.sh — issue 24's goal for script filters: examples/lua/filter.lua
# (keep the lines with ERROR) on the installed-to-be lua.wasm
# (build/guests, the target `guests`) under `zvm batch --snapshot
# first-read`, one fresh instance per line, on 1 and 2 workers; beside it
# in the same rounds the bundled C filter (examples/logfilter.c, the same
# job) as the peer. Rounds interleave the four runs; medians of the
# records/s the summary reports (--stats json), the 2-vs-1 worker ratios,
# CPU per record and the load average before and after. Goal: Lua on 2
# workers >= 150k records/s, and 2 workers >= 1.8x one.
#
#   perf/lua_filter.sh [--build DIR] [--records N] [--rounds R]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build n=200000 rounds=5
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --records) n=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--records N] [--rounds R]" >&2; exit 2 ;;
    esac
done
source "$src/perf/lib.sh"
zvm=$build/zvm
lua=$build/guests/lua.wasm
[ -f "$lua" ] || { echo "no $lua: build the target guests (cmake --build build --target guests)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache ZVM_TIER=0
yes "$(cat "$src/examples/sample.log")" 2>/dev/null | head -n "$n" > "$tmp/in.log" || true
"$zvm" compile "$lua" "$build/examples/logfilter.wasm" > /dev/null

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
    for w in 1 2; do
        batch_rate lua "$w" "$lua" --dir "$src/examples/lua::/filters" --arg /filters/filter.lua \
            --arg ERROR --snapshot first-read
        batch_rate c "$w" "$build/examples/logfilter.wasm" --arg ERROR
    done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
cmp -s "$tmp/lua.out" "$tmp/c.out" || { echo "Lua and C kept different lines" >&2; exit 1; }
echo "$n records ($(wc -l < "$tmp/lua.out") kept), $rounds rounds, medians:"
batch_rate_table "lua.wasm filter.lua, first-read" lua "logfilter.wasm (C, peer)" c
awk -v l="$(cut -d' ' -f1 "$tmp/lua.2" | median)" -v c="$(cut -d' ' -f1 "$tmp/c.2" | median)" \
    'BEGIN { printf "  Lua on 2 workers: %.2fx the goal (150k/s), %.2fx the C peer\n", l / 150000, l / c }'
