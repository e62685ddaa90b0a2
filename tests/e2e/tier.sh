#!/usr/bin/env bash
# tier.sh — tiering in `zvm run` (engine.h baseline_cc/tier_up): a new
# module runs at once from a tcc build, and the gcc -O2 entry is built in
# the background for the next run; ZVM_TIER=0, or no tcc on PATH, builds
# with gcc at once.
# Skipped (77) without tcc.
#
# Usage: tier.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
command -v tcc > /dev/null || { echo "tier: tcc not installed, skipped"; exit 77; }

cp "$guests/hello.wasm" .
out=$("$zvm" run hello.wasm 2>&1)
last=$?; check "the first run answers: $out" $([ $last = 0 ] && [ "$out" = "hello, world" ]; echo $?)
for _ in $(seq 600); do # the background build: at most a minute
    ls cache/*.pending > /dev/null 2>&1 || break
    sleep 0.1
done
ls cache/*.pending > /dev/null 2>&1
last=$?; check "the background build finished and took its file away" $([ $last != 0 ]; echo $?)
entries=$(ls cache/*.so | wc -l)
check "two entries: the fast one and the optimised one ($entries)" $([ "$entries" = 2 ]; echo $?)
compiled=$("$zvm" compile hello.wasm)
last=$?; check "the optimised entry is there: $compiled" \
    $([ $last = 0 ] && [[ "$compiled" == *": cached "* ]]; echo $?)
out=$("$zvm" run hello.wasm 2>&1)
check "the next run gives the same answer: $out" $([ "$out" = "hello, world" ]; echo $?)

rm -rf cache
out=$(ZVM_TIER=0 "$zvm" run hello.wasm 2>&1)
ls cache/*.pending > /dev/null 2>&1
last=$?
check "ZVM_TIER=0: one entry, built at once, nothing in the background ($(ls cache | tr '\n' ' '))" \
    $([ "$out" = "hello, world" ] && [ $last != 0 ] && [ "$(ls cache/*.so | wc -l)" = 1 ]; echo $?)

# without tcc on PATH: gcc at once, nothing in the background
mkdir bin
for t in gcc as ld sh; do ln -s "$(readlink -f "$(command -v $t)")" "bin/$t"; done
rm -rf cache
out=$(PATH=$tmp/bin "$zvm" run hello.wasm 2>&1)
ls cache/*.pending > /dev/null 2>&1
last=$?
check "no tcc: gcc builds the entry at once ($out; $(ls cache | tr '\n' ' '))" \
    $([ "$out" = "hello, world" ] && [ $last != 0 ] && [ "$(ls cache/*.so | wc -l)" = 1 ]; echo $?)

finish tier
