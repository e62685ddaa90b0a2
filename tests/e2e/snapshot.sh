#!/usr/bin/env bash
# snapshot.sh — end-to-end tests of the fork point (zvm_fork) with real
# guests: a rule filter whose set-up reads the template's rules channel,
# isolation between records (static counter, memory.grow, a record that
# traps after scribbling), the same bytes with --snapshot off and on any
# number of workers, the clock and random stream restarting at the fork,
# a plain `zvm run` that is not forked, and a set-up that traps.
#
# Usage: snapshot.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

printf 'error\nwarn\n' > rules.txt
cp "$guests/snapshot_rules.wasm" . # the templates' Program: the module batch runs
template() { # template RULES_FILE
    cat <<TEMPLATE
Version = 20130611
Program = snapshot_rules.wasm
Memory = 67108864, 0
Timeout = 1
Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = /dev/null, /dev/stdout, 0, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
Channel = $1, /dev/rules, 0, 0, 10, 65536, 0, 0
TEMPLATE
}
template rules.txt > rules.manifest
awk 'BEGIN { for (i = 0; i < 5000; i++) {
        if (i % 101 == 7) print "TRAP error " i;
        else if (i % 37 == 1) print "GROW " i;
        else if (i % 3 == 0) print "an error at " i;
        else if (i % 5 == 0) print "warn " i;
        else print "fine " i; } }' > in.txt
awk '$1 == "TRAP" { next }
     $1 == "GROW" || /error|warn/ { print "forked=1 calls=1 pages=" ($1 == "GROW" ? 18 : 2) " " $0 }' in.txt > want.txt
awk '$1 == "TRAP" { print NR - 1 "\ttrap\tunreachable\t" }' in.txt > want_err.txt

batch() { # batch OUT ERR ARGS...: the rule filter over in.txt
    local out=$1 err=$2
    shift 2
    timeout 300 "$zvm" batch --module snapshot_rules.wasm --manifest rules.manifest \
        --input in.txt --output "$out" --errors "$err" "$@" 2> summary.txt
}
batch out1.txt err1.txt --workers 1
last=$?; check "batch with a fork point exits 0: $(head -1 summary.txt)" $last
cmp -s out1.txt want.txt
last=$?; check "every record starts from the fork point (rules read in set-up, calls=1, memory back to 2 pages, set-up's output discarded): $(diff out1.txt want.txt | head -4)" $last
cmp -s err1.txt want_err.txt
check "a record that traps after scribbling over the rules is reported and leaves nothing behind" $?
batch out2.txt err2.txt --workers 2
cmp -s out2.txt want.txt && cmp -s err2.txt want_err.txt
check "the same bytes on 2 workers" $?
batch out3.txt err3.txt --workers 2 --snapshot off
cmp -s out3.txt want.txt && cmp -s err3.txt want_err.txt
check "the same bytes with --snapshot off" $?

# The expensive set-up: the clock and the random stream restart at the
# fork, so every record sees the same values; --snapshot off agrees.
seq 1 400 | sed 's/^/line /' > in2.txt
"$zvm" batch --module "$guests/snapshot.wasm" --input in2.txt --output s1.txt --workers 2 2>/dev/null
check "batch of the 16 MiB set-up guest exits 0" $?
check "400 answers, all from a fresh copy: $(grep -vc '^forked=1 calls=1 ' s1.txt) not" \
    $([ "$(grep -c '^forked=1 calls=1 ' s1.txt)" = 400 ]; echo $?)
check "clock and random stream restart at the fork: $(awk '{ print $4, $5 }' s1.txt | sort -u | wc -l) values" \
    $([ "$(awk '{ print $4, $5 }' s1.txt | sort -u | wc -l)" = 1 ]; echo $?)
head -n 20 in2.txt > in20.txt
"$zvm" batch --module "$guests/snapshot.wasm" --input in20.txt --output s2.txt --snapshot off 2>/dev/null
head -n 20 s1.txt | cmp -s - s2.txt
check "--snapshot off gives the same 20 answers" $?

# A plain session is not forked: zvm_fork() returns 0 and the run goes on.
template rules.txt | sed 's|/dev/null, /dev/stdin|in.txt, /dev/stdin|; s|/dev/null, /dev/stdout|run.out, /dev/stdout|' > run.manifest
"$zvm" run run.manifest > report.txt
check "zvm run of a guest with a fork point exits 0" $?
printf 'set-up: 2 rules\nforked=0 calls=1 pages=2 an error at 0\n' | cmp -s - run.out
last=$?; check "zvm run: the set-up's output is kept and zvm_fork() returns 0: $(head -3 run.out)" $last

# A set-up that traps: the batch stops with the cause, naming the set-up.
printf 'TRAP\n' > bad_rules.txt
template bad_rules.txt > bad.manifest
"$zvm" batch --module snapshot_rules.wasm --manifest bad.manifest --input in.txt \
    --output bad.txt 2> bad_err.txt
status=$?
check "a trap in the set-up fails the batch" $([ $status != 0 ]; echo $?)
grep -q "set-up (before zvm_fork) ended with: unreachable" bad_err.txt
last=$?; check "and says so: $(cat bad_err.txt)" $last
check "no output file from a batch that never started" $([ ! -e bad.txt ]; echo $?)

finish snapshot
