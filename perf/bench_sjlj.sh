#!/usr/bin/env bash
# bench_sjlj.sh — setjmp/longjmp under zvm against native (issue 28's goal:
# a loop of setjmp+longjmp pairs within 3x the native time). perf/sjlj_loop.c
# in both shapes (flat: the pairs of one call; call: a protected call per
# pair, as Lua's pcall), built natively by gcc -O2 and by the build's
# zvm-cc -O2, run by `zvm run` from a warm cache (gcc -O2); with --lua,
# also Lua 5.4's pcall(error) in a loop, Debian's source package built both
# ways (scripts/apt-source.sh, as tests/e2e/lua.sh).
#
#   perf/bench_sjlj.sh [--build DIR] [--runs N] [--pairs N] [--lua]
#
# A pair's time is (T(N pairs) - T(0)) / N, the start-up taken out; each
# T is the fastest of --runs runs (default 5), interleaved, on one core
# (taskset -c 1 when there is one). Prints ns per pair and the ratio.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build" runs=5 pairs=10000000 lua=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --pairs) pairs="$2"; shift 2 ;;
    --lua) lua=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--runs N] [--pairs N] [--lua]" >&2; exit 2 ;;
  esac
done
build="$(cd "$build" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export ZVM_CACHE="$work/cache" ZVM_TIER=0
pin=(); [ "$(nproc)" -gt 1 ] && pin=(taskset -c 1)

gcc -O2 -o "$work/native" "$root/perf/sjlj_loop.c"
"$build/zvm-cc" -O2 -o "$work/loop.wasm" "$root/perf/sjlj_loop.c"
"$build/zvm" compile "$work/loop.wasm" > /dev/null

# best CMD...: the fastest wall time of $runs runs, in nanoseconds
best() {
  local b="" s e t
  for _ in $(seq "$runs"); do
    s=$(date +%s%N); "${pin[@]}" "$@" > /dev/null; e=$(date +%s%N)
    t=$(( e - s ))
    if [ -z "$b" ] || [ $t -lt $b ]; then b=$t; fi
  done
  echo "$b"
}
# row NAME N NATIVE_CMD... -- ZVM_CMD...: ns per pair, each side, and the ratio
row() {
  local name=$1 n=$2; shift 2
  local native=() zvm=() side=native
  for a in "$@"; do
    if [ "$a" = -- ]; then side=zvm; continue; fi
    if [ $side = native ]; then native+=("$a"); else zvm+=("$a"); fi
  done
  local n0 nn z0 zn
  n0=$(best "${native[@]/@N@/0}"); nn=$(best "${native[@]/@N@/$n}")
  z0=$(best "${zvm[@]/@N@/0}"); zn=$(best "${zvm[@]/@N@/$n}")
  awk -v name="$name" -v n="$n" -v n0="$n0" -v nn="$nn" -v z0="$z0" -v zn="$zn" 'BEGIN {
    a = (nn - n0) / n; b = (zn - z0) / n
    printf "%-28s native %6.1f ns  zvm %6.1f ns  ratio %.2fx\n", name, a, b, b / a }'
}

echo "setjmp+longjmp pairs, $pairs per run, best of $runs (start-up taken out):"
row "flat (one call's loop)" "$pairs" "$work/native" flat @N@ -- "$build/zvm" run "$work/loop.wasm" flat @N@
row "call (a call per pair)" "$pairs" "$work/native" call @N@ -- "$build/zvm" run "$work/loop.wasm" call @N@

if [ $lua = 1 ]; then
  bash "$root/scripts/apt-source.sh" lua5.4 "$work/deb" > /dev/null
  srcs=()
  for f in "$work"/deb/lua5.4/src/*.c; do [ "${f##*/}" = luac.c ] || srcs+=("$f"); done
  # gcc's link warns that tmpnam is dangerous: Lua's own choice, not ours
  gcc -O2 -DLUA_USE_C89 "${srcs[@]}" -lm -o "$work/lua_native" 2> /dev/null
  "$build/zvm-cc" -O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -DLUA_USE_C89 \
    "${srcs[@]}" -lwasi-emulated-signal -lwasi-emulated-process-clocks \
    -Wl,-z,stack-size=1048576 -o "$work/lua.wasm"
  "$build/zvm" compile "$work/lua.wasm" > /dev/null
  n=$((pairs / 10))
  row "Lua pcall(error, x)" "$n" "$work/lua_native" -e "local e = 0 for i = 1, @N@ do if not pcall(error, i) then e = e + 1 end end" \
    -- "$build/zvm" run "$work/lua.wasm" -e "local e = 0 for i = 1, @N@ do if not pcall(error, i) then e = e + 1 end end"
fi
