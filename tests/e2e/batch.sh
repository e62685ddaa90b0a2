#!/usr/bin/env bash
# batch.sh — end-to-end tests of `zvm batch` with real guests: exact record
# accounting over a large input with hostile records mixed in (traps,
# timeouts, out-of-bounds, output over the limit, memory growth), fresh
# state per instance, input order, --unordered, len32 records, a directory
# source, stdin/stdout, and bad invocations.
#
# Usage: batch.sh ZVM GUEST_DIR EXAMPLES_DIR SOURCE_DIR
zvm=$(realpath "$1") guests=$(realpath "$2") examples=$(realpath "$3") src=$(realpath "$4")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

# A per-instance manifest: 4 KiB of output per record, 1 s timeout.
cat > template.manifest <<'EOF'
Version = 20130611
Memory = 67108864, 0
Timeout = 1
Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = /dev/null, /dev/stdout, 0, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
EOF

# ---- 30000 records, hostile ones at known places ------------------------------------
n=30000
awk -v n=$n 'BEGIN {
    for (i = 0; i < n; i++) {
        if (i % 997 == 13) print "TRAP " i;
        else if (i % 4999 == 7) print "LOOP " i;
        else if (i % 1013 == 5) print "OOB " i;
        else if (i % 1201 == 9) print "BIG " i;
        else if (i % 503 == 1) print "GROW " i;
        else if (i % 211 == 2) print "STATE " i;
        else print "record " i " of the stream";
    } }' > in.txt
awk '{ i = NR - 1;
       if ($1 == "TRAP") print i "\ttrap\tunreachable\t";
       else if ($1 == "LOOP") print i "\ttimeout\ttimeout\t";
       else if ($1 == "OOB") print i "\ttrap\tout of bounds memory access\t";
       else if ($1 == "BIG") print i "\tlimit\ta channel call was refused or cut short by its limit\t" }' in.txt > want_err.txt
awk '$1 == "GROW" { print "GROWN 100"; next }
     $1 == "STATE" { print "STATE 1"; next }
     $1 == "TRAP" || $1 == "LOOP" || $1 == "OOB" || $1 == "BIG" { next }
     { print toupper($0) }' in.txt > want_out.txt

timeout 300 "$zvm" batch --module "$guests/records.wasm" --manifest template.manifest --timeout 0.2 \
    --input in.txt --output out.txt --errors err.txt --workers 2 2> summary.txt
status=$?
check "batch exits 0 ($(cat summary.txt))" $([ $status = 0 ]; echo $?)
cmp -s out.txt want_out.txt; check "outputs in input order, hostile records left out" $?
sort -n err.txt | cmp -s - want_err.txt; last=$?; check "every hostile record in --errors with its cause: $(diff <(sort -n err.txt) want_err.txt | head -5)" $last
total=$(( $(wc -l < out.txt) + $(wc -l < err.txt) ))
check "no record lost or duplicated: $total of $n" $([ $total = $n ]; echo $?)
grep -q "^zvm batch: $n records, $(wc -l < want_err.txt) errors" summary.txt
last=$?; check "summary counts records and errors: $(head -1 summary.txt)" $last
grep -q "instances per second" summary.txt && grep -q "p999" summary.txt
check "summary has the rate and latency percentiles" $?

# ---- the same records through a module reset with madvise (2 MiB memory) ---------------------
head -n 3000 in.txt > in3k.txt
awk '{ i = NR - 1 } $1 == "GROW" { print "GROWN 100"; next } $1 == "STATE" { print "STATE 1"; next }
     $1 == "TRAP" || $1 == "LOOP" || $1 == "OOB" || $1 == "BIG" { next } { print toupper($0) }' \
    in3k.txt > want3k.txt
timeout 300 "$zvm" batch --module "$guests/records_bigmem.wasm" --manifest template.manifest \
    --timeout 0.2 --input in3k.txt --output out3k.txt --errors err3k.txt 2>/dev/null
cmp -s out3k.txt want3k.txt; check "madvise reset: same outputs, fresh state" $?
timeout 300 "$zvm" batch --module "$guests/records.wasm" --manifest template.manifest --reset madvise \
    --timeout 0.2 --input in3k.txt --output out3k2.txt --errors err3k2.txt 2>/dev/null
cmp -s out3k2.txt want3k.txt; check "--reset madvise on a small memory: same outputs" $?

# ---- one worker: the calling thread feeds the pool (a core to spare) -----------------
timeout 300 "$zvm" batch --module "$guests/records.wasm" --manifest template.manifest --timeout 0.2 \
    --input in3k.txt --output out1w.txt --errors err1w.txt --workers 1 2>/dev/null
cmp -s out1w.txt want3k.txt; check "one worker fed by the calling thread: same outputs" $?

# ---- --unordered: the same lines, any order -----------------------------------------------
timeout 300 "$zvm" batch --module "$guests/records.wasm" --manifest template.manifest --timeout 0.2 \
    --input in.txt --output out2.txt --errors err2.txt --unordered 2>/dev/null
sort out2.txt | cmp -s - <(sort want_out.txt); check "--unordered keeps every output" $?
sort -n err2.txt | cmp -s - want_err.txt; check "--unordered keeps every error" $?

# ---- len32 records, a directory, stdin and stdout ---------------------------------------------
printf 'abc\0def' > r1 && printf 'x\ny' > r2
{ printf '\x07\x00\x00\x00'; cat r1; printf '\x03\x00\x00\x00'; cat r2; } > in.len32
"$zvm" batch --module "$guests/records.wasm" --input in.len32 --output out.len32 --records len32 2>/dev/null
{ printf '\x07\x00\x00\x00'; printf 'ABC\0DEF'; printf '\x03\x00\x00\x00'; printf 'X\nY'; } > want.len32
cmp -s out.len32 want.len32; check "len32 records in and out (NUL and newline inside)" $?
printf 'truncated' > bad.len32
"$zvm" batch --module "$guests/records.wasm" --input bad.len32 --output /dev/null --records len32 2>err.txt
check "a truncated len32 input fails with a message" $([ $? = 1 ] && grep -q len32 err.txt; echo $?)
mkdir recs && printf 'one' > recs/a && printf 'two' > recs/b && printf 'TRAP' > recs/c
"$zvm" batch --module "$guests/records.wasm" --input recs --output dir.out --errors dir.err 2>/dev/null
check "a directory: one record per file, in name order" \
    $([ "$(cat dir.out)" = "ONETWO" ] && [ "$(cat dir.err)" = $'2\ttrap\tunreachable\t' ]; echo $?)
out=$(printf 'a\nb\n' | "$zvm" batch --module "$guests/records.wasm" --input - --output - 2>/dev/null)
check "stdin to stdout" $([ "$out" = $'A\nB' ]; echo $?)

# ---- the bundled log filter (the README's main job) ---------------------------------------------
"$zvm" batch --module "$examples/logfilter.wasm" --input "$src/examples/sample.log" --output log.out \
    2>/dev/null
grep ERROR "$src/examples/sample.log" | cmp -s - log.out; check "log filter keeps the ERROR lines" $?

# ---- an address-space limit: a clear error, not a crash ------------------------------------
(ulimit -v 6000000; "$zvm" batch --module "$guests/records.wasm" --input in3k.txt --output x 2>ulimit.err)
rc=$?
check "ulimit -v below the slots: exit 1 with a message ($(cat ulimit.err))" \
    $([ $rc = 1 ] && grep -q "ulimit -v" ulimit.err; echo $?)

# ---- bad invocations ------------------------------------------------------------------------------
"$zvm" batch --module "$guests/records.wasm" --input nothere --output x 2>/dev/null
check "missing input: exit 2" $([ $? = 2 ]; echo $?)
printf 'junk' > junk.wasm
"$zvm" batch --module junk.wasm --input in.txt --output x 2>/dev/null
check "invalid module: exit 1" $([ $? = 1 ]; echo $?)
"$zvm" batch --module "$guests/records.wasm" --input in.txt 2>/dev/null
check "missing --output: usage, exit 2" $([ $? = 2 ]; echo $?)

finish batch.sh
