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
source "$src/perf/lib.sh"
rate_args 200000 5 "$@"
zvm=$build/zvm
lua=$build/guests/lua.wasm
[ -f "$lua" ] || { echo "no $lua: build the target guests (cmake --build build --target guests)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache ZVM_TIER=0
filter_vs_c lua Lua "lua.wasm filter.lua, first-read" 150000 "$lua" \
    --dir "$src/examples/lua::/filters" --arg /filters/filter.lua
