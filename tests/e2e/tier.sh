#!/usr/bin/env bash
# tier.sh — tiering in `zvm run` (engine.h baseline_cc/tier_up): a new
# module runs at once from a tcc build, and the gcc -O2 entry is built in
# the background for the next run; ZVM_TIER=0, or no tcc on PATH, builds
# with gcc at once. In `zvm batch` the pool moves to the gcc build while it
# runs (pool.c "Tiers"), with the same answers. A gcc build that fails
# (over its limits) is recorded in the cache: it is said once and never
# started again in the background (cache.c "Failed builds").
# Skipped (77) without tcc.
#
# Usage: tier.sh ZVM GUEST_DIR EXAMPLES_DIR SOURCE_DIR
zvm=$(realpath "$1") guests=$(realpath "$2") examples=$(realpath "$3") src=$(realpath "$4")
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

# a gcc that goes over its CPU limit (a stand-in on PATH that counts its
# runs and dies of SIGXCPU): the first run starts it in the background,
# which records the failure; the next run says so once, the ones after are
# silent, and none starts gcc again; zvm compile reports the record
mkdir fakecc
printf '#!/bin/sh\necho "$*" >> %s/gcc_runs\nkill -XCPU $$\n' "$tmp" > fakecc/gcc
chmod +x fakecc/gcc
rm -rf cache
runs() { cat gcc_runs 2> /dev/null | wc -l; }
out=$(PATH=$tmp/fakecc:$PATH "$zvm" run hello.wasm 2>&1)
for _ in $(seq 600); do # the background build: at most a minute
    ls cache/*.pending > /dev/null 2>&1 || break
    sleep 0.1
done
check "a failing gcc: the first run answers from tcc and starts gcc once ($(runs) runs; $out)" \
    $([ "$out" = "hello, world" ] && [ "$(runs)" = 1 ] && ls cache/*.so.failed.new > /dev/null; echo $?)
PATH=$tmp/fakecc:$PATH "$zvm" run hello.wasm > out2.txt 2> err2.txt
last=$?
sleep 0.5 # a background build would have started by now
check "the next run says once that the build failed and starts none ($(runs) runs): $(cat err2.txt)" \
    $([ $last = 0 ] && [ "$(cat out2.txt)" = "hello, world" ] && [ "$(runs)" = 1 ] &&
      grep -q "^hello.wasm: its optimised build failed, so it runs from its baseline build (tcc): too large to compile: .*(recorded in .*\.so\.failed; " err2.txt &&
      [ "$(wc -l < err2.txt)" = 1 ]; echo $?)
out=$(PATH=$tmp/fakecc:$PATH "$zvm" run hello.wasm 2>&1)
sleep 0.5
check "the run after is silent and starts none ($(runs) runs): $out" \
    $([ "$out" = "hello, world" ] && [ "$(runs)" = 1 ] && ! ls cache/*.pending > /dev/null 2>&1; echo $?)
out=$(PATH=$tmp/fakecc:$PATH "$zvm" compile hello.wasm 2>&1)
last=$?
check "zvm compile reports the recorded failure without running gcc ($(runs) runs; status $last): $out" \
    $([ $last = 1 ] && [ "$(runs)" = 1 ] &&
      [[ "$out" == "zvm compile: hello.wasm: too large to compile: the C compiler went over its limits"*"(recorded in "*".so.failed; not tried again unless ZVM_CC_CPU_SECONDS or ZVM_CC_MEMORY_MB is larger"* ]]; echo $?)
out=$(PATH=$tmp/fakecc:$PATH ZVM_CC_CPU_SECONDS=301 "$zvm" compile hello.wasm 2>&1)
check "larger limits try again ($(runs) runs): $out" \
    $([ "$(runs)" = 2 ] && [[ "$out" == *"(301 s of CPU"* ]]; echo $?)

# a guest with a fork point: gcc at once (its paused set-up could not
# move to another build), nothing in the background
rm -rf cache
printf 'x\ny\n' > two.txt
"$zvm" batch --module "$guests/snapshot.wasm" --input two.txt --output fork_out.txt \
    2> fork_summary.txt
last=$?
ls cache/*.pending > /dev/null 2>&1
pending=$?
check "a forking guest: one gcc entry, no tiers, nothing pending (status $last)" \
    $([ $last = 0 ] && [ $pending != 0 ] && [ "$(ls cache/*.so | wc -l)" = 1 ] &&
      ! grep -q "tiers:" fork_summary.txt; echo $?)

# zvm batch: the first records run on the tcc build; the second half is
# written only once the background build is done, so the pool must have
# moved to it by then
cp "$examples/logfilter.wasm" .
for _ in $(seq 200); do cat "$src/examples/sample.log"; done > in.log
ZVM_TIER=0 ZVM_CACHE=$tmp/gcc_only "$zvm" batch --module logfilter.wasm --input in.log \
    --output want.txt 2> /dev/null
rm -rf cache
mkfifo feed
"$zvm" batch --module logfilter.wasm --input - --output got.txt < feed 2> summary.txt &
pid=$!
exec 3> feed
cat in.log >&3
for _ in $(seq 600); do # the background build: at most a minute
    ls cache/*.pending > /dev/null 2>&1 || break
    sleep 0.1
done
sleep 0.3 # the pool polls every 50 ms
cat in.log >&3
exec 3>&-
wait $pid
last=$?
cat want.txt want.txt > want2.txt
check "batch while the tiers switch: the same output as gcc alone (status $last)" \
    $([ $last = 0 ] && cmp -s got.txt want2.txt; echo $?)
tiers=$(grep "tiers:" summary.txt)
base=$(echo "$tiers" | awk '{print $2}')
check "the first records ran on tcc, then the pool moved to gcc: $tiers" \
    $([[ "$tiers" == *"then on the optimised one"* ]] && [ "$base" -gt 0 ] &&
      [ "$base" -le "$(wc -l < in.log)" ]; echo $?)
out=$("$zvm" batch --module logfilter.wasm --input in.log --output again.txt 2>&1)
check "the next batch starts on gcc: no tiers line" \
    $([[ "$out" != *"tiers:"* ]] && cmp -s again.txt want.txt; echo $?)

# Processes loading a new module at once each build its entries; a rename
# replaced an entry under another's reader, which failed with "cache entry
# ... changed while loading" (7 of 48 loads before the fix; helper-7 met it
# with two consumers). Now such a reader takes the entry in place.
fails=0
for round in 1 2 3 4; do
    for i in 1 2 3 4 5 6; do
        ZVM_CACHE=$tmp/race$round "$zvm" run "$guests/hello.wasm" > /dev/null 2>> race.err &
    done
    wait
done
check "24 first loads, six at once, all run: $(sort -u race.err | head -2)" \
    $([ ! -s race.err ]; echo $?)

finish tier
