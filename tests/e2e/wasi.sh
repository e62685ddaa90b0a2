#!/usr/bin/env bash
# wasi.sh — end-to-end tests of WASI preview1 on a preopened host
# directory (`zvm run --dir HOST::/ --env ...`): tests/guests/wasi_files.c
# runs a stock C program on files and each class of corner case the public
# wasi-testsuite exercises (escapes, hostile names, trailing slashes,
# listings, rights, renumber, poll_oneoff, sockets); the host outside the
# directory stays untouched; bad --dir and --env uses are refused.
#
# Usage: wasi.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

mkdir root
echo "the host's own" > outside.txt
cp outside.txt outside.before
"$zvm" run --dir "$tmp/root::/" --env "GREETING=hello world" "$guests/wasi_files.wasm" > out.txt 2> err.txt
status=$?
check "wasi_files exits 0: $(cat err.txt)" $([ $status = 0 ]; echo $?)
check "all 7 groups of checks passed: $(grep -c '^ok ' out.txt)" $([ "$(grep -c '^ok ' out.txt)" = 7 ]; echo $?)
cmp -s outside.txt outside.before && [ ! -e up ] && [ ! -e abs ]
check "nothing outside the directory changed" $?
check "the guest cleaned up after itself: $(ls -A root | tr '\n' ' ')" $([ -z "$(ls -A root)" ]; echo $?)

# --env NAME passes the host's value; --dir GUEST names what the guest sees
GREETING="hello world" "$zvm" run --dir "$tmp/root::/" --env GREETING "$guests/wasi_files.wasm" > out2.txt 2>&1
check "--env NAME takes the host's value" $?
"$zvm" run --dir "$tmp/missing::/" "$guests/wasi_files.wasm" > out3.txt 2>&1
status=$?
check "a --dir that does not exist is refused, named: $(head -1 out3.txt)" \
    $([ $status != 0 ] && grep -q "missing" out3.txt; echo $?)
printf 'Version = 20130611\nProgram = x.wasm\nMemory = 65536, 0\nTimeout = 1\n' > m.manifest
"$zvm" run --dir "$tmp/root" m.manifest > out4.txt 2>&1
check "--dir with a manifest is refused: $(head -1 out4.txt)" $(grep -q "a manifest takes no --dir" out4.txt; echo $?)

finish wasi
