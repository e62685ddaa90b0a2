#!/usr/bin/env bash
# stream.sh — `zvm batch` on a stream (issue 23): a record on a pipe or
# FIFO runs as soon as it is complete and its output comes out before the
# next input, in order and --unordered, for lines and len32 records; a
# record split over several writes waits for its end; a file input still
# gives the same bytes.
#
# Usage: stream.sh ZVM GUEST_DIR EXAMPLES_DIR
zvm=$(realpath "$1") examples=$(realpath "$3")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
batch_pid=
trap '[ -n "$batch_pid" ] && kill -9 $batch_pid 2>/dev/null; rm -rf "$tmp"' EXIT

# wait_lines FILE N: until FILE has N lines (up to 3 s); 0 if it did
wait_lines() {
    for _ in $(seq 300); do
        [ "$(wc -l < "$1")" -ge "$2" ] && return 0
        sleep 0.01
    done
    return 1
}

# slow_producer OPTIONS...: 20 lines into a FIFO, one every 100 ms, each
# sent only once the output of the one before is out
slow_producer() {
    rm -f in.fifo out.txt
    mkfifo in.fifo
    : > out.txt
    "$zvm" batch --module "$examples/logfilter.wasm" --input in.fifo --output out.txt "$@" \
        2> err.txt &
    batch_pid=$!
    exec 3<> in.fifo # (read-write: never blocks, even if zvm is gone)
    late=0
    for i in $(seq 20); do
        echo "line $i ERROR" >&3
        wait_lines out.txt "$i" || late=$((late + 1))
        sleep 0.1
    done
    exec 3>&-
    wait $batch_pid
    status=$?
    batch_pid=
}

for mode in ordered --unordered; do
    slow_producer --workers 2 $([ $mode = --unordered ] && echo --unordered)
    check "$mode: each output is out before the next input ($late of 20 late)" $([ $late = 0 ]; echo $?)
    check "$mode: exits 0 at the end of the stream: $(cat err.txt)" $status
    check "$mode: every line, in order" \
        $([ "$(cat out.txt)" = "$(for i in $(seq 20); do echo "line $i ERROR"; done)" ]; echo $?)
done
slow_producer --workers 1
check "one worker: each output is out before the next input ($late of 20 late)" $([ $late = 0 ]; echo $?)

# a record written in pieces runs once it is whole
rm -f in.fifo; mkfifo in.fifo; : > out.txt
"$zvm" batch --module "$examples/logfilter.wasm" --input in.fifo --output out.txt 2> err.txt &
batch_pid=$!
exec 3<> in.fifo # (read-write: never blocks, even if zvm is gone)
printf 'first ERR' >&3
sleep 0.3
check "half a line is not a record yet" $([ ! -s out.txt ]; echo $?)
printf 'OR half\n' >&3
wait_lines out.txt 1
check "the line runs once its newline comes: $(cat out.txt)" $([ "$(cat out.txt)" = "first ERROR half" ]; echo $?)
exec 3>&-
wait $batch_pid
batch_pid=

# len32 records on a pipe, sent one at a time
rec() { printf "\\x$(printf %02x ${#1})\\x00\\x00\\x00%s" "$1"; }
rm -f in.fifo; mkfifo in.fifo; : > out.bin
"$zvm" batch --module "$examples/logfilter.wasm" --records len32 --input in.fifo --output out.bin \
    2> err.txt &
batch_pid=$!
exec 3<> in.fifo # (read-write: never blocks, even if zvm is gone)
rec "an ERROR" >&3
for _ in $(seq 300); do [ "$(stat -c %s out.bin)" -ge 12 ] && break; sleep 0.01; done
check "a len32 record on a pipe comes out before the stream ends ($(stat -c %s out.bin) bytes)" \
    $([ "$(stat -c %s out.bin)" = 12 ]; echo $?)
exec 3>&-
wait $batch_pid
batch_pid=

# the same records from a file and from a pipe: the same bytes
seq 1 50000 | sed 's/$/ ERROR/' > many.txt
"$zvm" batch --module "$examples/logfilter.wasm" --input many.txt --output f.out 2>/dev/null
cat many.txt | "$zvm" batch --module "$examples/logfilter.wasm" --input - --output p.out 2>/dev/null
cmp -s f.out p.out && cmp -s f.out many.txt
check "50,000 lines through a pipe give what the file gives" $?

finish stream
