#!/usr/bin/env bash
# memory_windows.sh — a guest that grows its memory in every record moves
# from window to window of its memory slot (engine/memory.c "Windows",
# issue 24 item 6). grow_every.wasm, 300 records on 1 and 2 workers under
# --snapshot off (fresh instances) and first-read (restores of the
# snapshot at its first read), so that every worker's 16 windows come
# round many times: every record finds the table it set up before the
# fork point intact and its grown pages zeroed; the records that load
# past their grown memory trap (stderr names the trap and each record);
# first-read gives off's bytes; zvm-bench runs it alike.
#
# Usage: memory_windows.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
bench=$(dirname "$zvm")/perf/zvm-bench
source "$(dirname "$0")/lib.sh"
# check MESSAGE STATUS (STATUS taken before MESSAGE's command substitutions,
# which set $? themselves)
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
export ZVM_TIER=0
g=$guests/grow_every.wasm
good=': table 0 bad, grown 0 nonzero$'

awk 'BEGIN { for (i = 0; i < 300; i++) {
        if (i % 61 == 7) print "OOB " i; else print "record " i " of " substr("xxx", 1, i % 3); } }' \
    > in.txt
n_oob=$(grep -c '^OOB' in.txt)
for w in 1 2; do
    for mode in off first-read; do
        "$zvm" batch --module "$g" --input in.txt --output "$w.$mode.out" --errors "$w.$mode.err" \
            --workers $w --snapshot "$mode" --stats json 2> "$w.$mode.sum"
        echo "status $?" >> "$w.$mode.out"
        [ "$(grep -c "$good" "$w.$mode.out")" = $((300 - n_oob)) ]
        ok=$?
        check "$w workers, $mode: every record finds its table and zeroed grown pages: $(grep -v "$good" "$w.$mode.out" | sort | uniq -c | head -5)" $ok
        [ "$(grep -c 'out of bounds memory access' "$w.$mode.err")" = "$n_oob" ]
        ok=$?
        check "$w workers, $mode: the $n_oob loads past the memory trap: $(head -c 400 "$w.$mode.err")" $ok
    done
    cmp -s "$w.off.out" "$w.first-read.out" && cmp -s "$w.off.err" "$w.first-read.err"
    ok=$?
    check "$w workers: first-read gives off's bytes: $(diff "$w.off.out" "$w.first-read.out" | head -4)" $ok
done
grep -q '"start": "fork point"' 2.first-read.sum
ok=$?
check "first-read restores a snapshot: $(head -c 300 2.first-read.sum)" $ok

head -n 5 in.txt | tail -n 1 > one.txt
for mode in off first-read; do
    "$bench" --module "$g" --input one.txt --count 5000 --workers 2 --snapshot "$mode" > "bench.$mode" 2>&1
    grep -q '5000 instances in .*, 0 traps' "bench.$mode"
    ok=$?
    check "zvm-bench --snapshot $mode: 5000 records, no trap: $(head -c 300 "bench.$mode")" $ok
done
finish memory_windows
