#!/usr/bin/env bash
# split.sh — large modules are translated into several C units, compiled
# side by side and linked (engine/cache.c build_entry). ZVM_CC_UNIT_BYTES=2000
# splits even small guests into several units; their answers
# must not change, with gcc and with tcc. A unit that fails to compile
# fails the build with the unit named, stops the others, and leaves
# nothing behind in the cache. The host's ISA level is in the cache key.
#
# Usage: split.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
export ZVM_TIER=0

cp "$guests/floats.wasm" "$guests/determinism.wasm" .
compilers=(gcc)
command -v tcc > /dev/null && compilers+=(tcc)
for cc in "${compilers[@]}"; do
    for g in floats determinism; do
        whole=$(ZVM_CC=$cc ZVM_CACHE=$tmp/one "$zvm" run $g.wasm 2>&1)
        last=$?
        parts=$(ZVM_CC=$cc ZVM_CACHE=$tmp/split ZVM_CC_UNIT_BYTES=2000 ZVM_KEEP_C=1 "$zvm" run $g.wasm 2>&1)
        units=$(ls split/*.c | wc -l)
        check "$cc $g: split into $units units, the same answer (status $last)" \
            $([ "$units" -gt 2 ] && [ "$parts" = "$whole" ] && [ $last = 0 ]; echo $?)
        rm -rf one split
    done
done

# a compiler that fails on the second unit only
mkdir bin
cat > bin/cc <<'SH'
#!/bin/sh
case "$*" in *.1.c*) echo "unit 1: error: refused" >&2; exit 1 ;; esac
exec gcc "$@"
SH
chmod +x bin/cc
out=$(ZVM_CC=$tmp/bin/cc ZVM_CC_UNIT_BYTES=2000 "$zvm" run floats.wasm 2>&1)
last=$?
check "a failing unit fails the build, named: $out" \
    $([ $last != 0 ] && [[ "$out" == *".1.c: unit 1: error: refused"* ]]; echo $?)
left=$(ls cache | grep -v '^key$')
check "nothing left in the cache after the failed build: $left" $([ -z "$left" ]; echo $?)

# the ISA level is part of the cache key: the baseline level is another
# entry with the same answer (on a host above it)
base=$(ZVM_CC_ISA=x86-64 ZVM_CACHE=$tmp/isa "$zvm" run floats.wasm 2>&1)
host=$(ZVM_CACHE=$tmp/isa "$zvm" run floats.wasm 2>&1)
entries=$(ls isa/*.so | wc -l)
want=2
grep -qw avx2 /proc/cpuinfo || grep -qw sse4_2 /proc/cpuinfo || want=1
check "ZVM_CC_ISA=x86-64: $entries entries (want $want), the same answer" \
    $([ "$entries" = "$want" ] && [ "$base" = "$host" ] && [ -n "$base" ]; echo $?)

finish split
