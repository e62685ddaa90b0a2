#!/usr/bin/env bash
# libc_bind.sh — wasi-libc's memcpy, memmove, memset, memcmp, strlen and
# memchr
# bound to native code (engine/libc_bind.h, issue 27), with the same
# routines run as wasm by Node's V8 as the oracle:
# - the translation binds all six routines of libc_calls.wasm (its kept C
#   calls each native form);
# - libc_calls.c's sizes, alignments and overlaps print the same checksums
#   under zvm (gcc and tcc) as under node;
# - its hostile cases (a copy, fill, compare or strlen that leaves the
#   memory; a compare whose first difference comes first) trap, or not,
#   with the same output as under node;
# - on sealed pages (libc_jail.c, zvm_jail): a copy or fill into them
#   traps, a copy out of them works.
#
# Usage: libc_bind.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
# (a check's message may run commands: the status is saved first, in last)
node=$(command -v node) || { echo "FAIL: node is missing (scripts/deps.sh installs nodejs)" >&2; exit 1; }
runner=$(dirname "$(realpath "$0")")/../../perf/node_run.mjs
export ZVM_TIER=0 # the gcc -O2 tier from the first run
lc=$guests/libc_calls.wasm

ZVM_KEEP_C=1 "$zvm" compile "$lc" > /dev/null 2> err.txt
last=$?
check "libc_calls.wasm compiles: $(head -2 err.txt)" $last
for r in memcpy memmove memset memcmp strlen memchr; do
    grep -q "zv_lib_$r(ctx" "$ZVM_CACHE"/*.c
    check "the translation binds wasi-libc's $r to native code" $?
done

# node_out CASE...: node's stdout, then 'trap' if it trapped or 'exit N'
node_out() {
    "$node" --no-warnings --experimental-wasi-unstable-preview1 "$runner" "$lc" "$@" 2> node.err
    local rc=$?
    if grep -q RuntimeError node.err; then echo trap; else echo "exit $rc"; fi
}
# zvm_out [ENV...] -- CASE...: the same for zvm run (a trap is exit 128+)
zvm_out() {
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" "$zvm" run "$lc" "$@" 2> zvm.err
    local rc=$?
    if grep -q ': trap: ' zvm.err; then echo trap; else echo "exit $rc"; fi
}

node_out > want.txt
grep -q '^30000 ' want.txt
st=$?
check "node runs libc_calls.wasm: $(head -3 node.err)" $st
for cc in gcc tcc; do
    zvm_out ZVM_CC=$cc -- > got_$cc.txt
    cmp -s got_$cc.txt want.txt
    last=$?
    check "sizes, alignments and overlaps: zvm ($cc) prints what node prints: $(head -2 zvm.err) $(diff got_$cc.txt want.txt | head -4)" $last
done
for c in memcpy-oob memset-oob memcmp-early memcmp-oob strlen-end memchr-early memchr-oob; do
    node_out "$c" > want_$c.txt
    zvm_out -- "$c" > got_$c.txt
    cmp -s got_$c.txt want_$c.txt
    last=$?
    check "$c: zvm's outcome is node's: $(tr '\n' ' ' < got_$c.txt) against $(tr '\n' ' ' < want_$c.txt)" $last
done
grep -q '^memcmp-early: -1$' want_memcmp-early.txt && grep -qx trap want_memcpy-oob.txt &&
    grep -q '^memchr-early: 10$' want_memchr-early.txt && grep -qx trap want_memchr-oob.txt
check "the hostile cases mean what they say (node: memcmp-early returns -1, memchr-early finds its byte, memcpy-oob and memchr-oob trap)" $?

for c in memcpy memset; do
    "$zvm" run "$guests/libc_jail.wasm" $c > jail_$c.txt 2> jail_$c.err
    rc=$?
    [ $rc -gt 128 ] && grep -q 'trap: write to jailed memory' jail_$c.err &&
        grep -qx 'copied 256: ok' jail_$c.txt
    last=$?
    check "a $c into sealed pages traps after a copy out of them (exit $rc): $(cat jail_$c.txt jail_$c.err)" $last
done
"$zvm" run "$guests/libc_jail.wasm" read > jail_read.txt 2>&1
last=$?
check "a copy out of sealed pages works: $(cat jail_read.txt)" $last

finish libc_bind
