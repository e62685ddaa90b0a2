#!/usr/bin/env bash
# first_read.sh — --snapshot first-read (issue 24): the guest's first read
# of stdin is its fork point. For every guest of the pool tests, batch
# with --snapshot first-read gives the same bytes (outputs and errors) as
# --snapshot off, on 2 workers (and 1 for those with a set-up), with records that trap, time out,
# exit non-zero, grow memory and write past their limits; an unmodified
# filter with a 50 ms set-up (first_read.c: no zvm_fork) starts its
# records from the point (the summary's "start") and what its set-up
# wrote to stderr stays the start of every record's; zvm-bench and the
# embedding API take the mode too (the API's pool builds the module for
# it); a bad value is refused.
#
# Usage: first_read.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
bench=$(dirname "$zvm")/perf/zvm-bench
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
# gcc code from the start in both modes (first-read pools never run the
# tcc tier; with it, --snapshot off's slow set-ups would meet the timeout)
export ZVM_TIER=0

# one record that loops (its timeout is generous: this machine may be
# loaded, and a slow set-up under --snapshot off must not meet it)
awk 'BEGIN { for (i = 0; i < 150; i++) {
        if (i % 97 == 13) print "TRAP " i;
        else if (i == 7) print "LOOP " i;
        else if (i % 89 == 5) print "OOB " i;
        else if (i % 83 == 9) print "BIG " i;
        else if (i % 37 == 1) print "GROW " i;
        else if (i % 41 == 2) print "EXIT 3";
        else if (i % 31 == 3) print "STATE " i;
        else print "record " i " of the stream"; } }' > in.txt
cat > template.manifest <<EOF2
Version = 20130611
Memory = 67108864, 0
Timeout = 1
Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = /dev/null, /dev/stdout, 0, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
EOF2

for g in records records_bigmem reuse determinism hello stock zrt snapshot snapshot_nosetup \
         sjlj sjlj_fork stl wasi_files channels floats first_read; do
    [ -f "$guests/$g.wasm" ] || { fail "$g.wasm is not built"; continue; }
    workers=2
    case $g in records|snapshot|sjlj_fork|first_read) workers="1 2" ;; esac
    for w in $workers; do
        for mode in off first-read; do
            timeout 300 "$zvm" batch --module "$guests/$g.wasm" --manifest template.manifest \
                --timeout 2 --input in.txt --output "$g.$w.$mode.out" --errors "$g.$w.$mode.err" \
                --workers $w --snapshot "$mode" --allow-exit-codes 1-255 --stats json \
                2> "$g.$w.$mode.sum"
            echo "status $?" >> "$g.$w.$mode.out"
        done
        cmp -s "$g.$w.off.out" "$g.$w.first-read.out" && cmp -s "$g.$w.off.err" "$g.$w.first-read.err"
        last=$?
        check "$g on $w workers: first-read gives off's bytes: $(diff "$g.$w.off.out" "$g.$w.first-read.out" | head -4) $(diff "$g.$w.off.err" "$g.$w.first-read.err" | head -4) $(head -c 300 "$g.$w.first-read.sum")" $last
    done
done
grep -q '"start": "fork point"' first_read.2.first-read.sum
st=$?
check "first_read.wasm's records start from its first read: $(cat first_read.2.first-read.sum)" $st
grep -q '"start": "_start"' first_read.2.off.sum
check "and from _start with --snapshot off" $?
grep -q 'set-up done, stdin is a tty: 0' first_read.2.first-read.err
check "what the set-up wrote before the point is kept in each record's stderr (a record's stdin is no terminal)" $?
[ "$(grep -c '^lines=1 ' first_read.2.first-read.out)" -gt 120 ]
check "every record's copy counts its own lines (lines=1)" $?

# zvm-bench: the pool directly and through the embedding API
for api in "" --api; do
    "$bench" --module "$guests/first_read.wasm" --count 2000 --workers 1 --snapshot first-read \
        $api > bench$api.txt 2>&1
    st=$?
    check "zvm-bench $api --snapshot first-read runs 2000 instances: $(tail -3 bench$api.txt)" $st
done
"$zvm" batch --module "$guests/records.wasm" --input in.txt --output /dev/null --snapshot later \
    2> bad.txt
[ $? = 2 ] && grep -q 'one of on, off, first-read' bad.txt
st=$?
check "a bad --snapshot is refused: $(cat bad.txt)" $st

finish first_read
