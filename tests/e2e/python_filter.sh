#!/usr/bin/env bash
# python_filter.sh — README's Python log filter (examples/python/filter.py)
# on the installed CPython (build/guests/python.wasm), one fresh instance
# per line: under `zvm batch --snapshot first-read` it keeps the lines grep
# keeps, with --snapshot off's bytes, its records starting from the fork
# point; under `zvm consume --snapshot first-read` against a real
# redis-server (started here on a free port, stopped at the end) every
# entry of the stream gets exactly one result and the outputs are the lines
# grep keeps. The consume part is skipped, and says so, without
# redis-server; the whole test (77) without the guest.
#
# Usage: python_filter.sh ZVM GUEST_DIR BUILD_DIR SOURCE_DIR
zvm=$(realpath "$1") build=$(realpath "$3") src=$(realpath "$4")
here=$(dirname "$(realpath "$0")")
source "$here/lib.sh"
source "$here/python_lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
grep ERROR "$src/examples/sample.log" > want.txt
[ -s want.txt ] || { echo "no ERROR line in the sample"; exit 1; }

for mode in off first-read; do
    "$zvm" batch --module "$py" --dir "$src/examples/python::/filters" \
        --arg /filters/filter.py --arg ERROR --snapshot $mode --input "$src/examples/sample.log" \
        --output "f.$mode" --errors "f.$mode.err" --workers 2 --stats json 2> "f.$mode.sum"
    echo "status $?" >> "f.$mode"
done
{ cat want.txt; echo "status 0"; } | cmp -s - f.first-read && [ ! -s f.first-read.err ]
ok=$?
check "batch: filter.py keeps the lines grep keeps: $(diff f.first-read want.txt | head -4) $(head -3 f.first-read.err)" $ok
cmp -s f.off f.first-read && cmp -s f.off.err f.first-read.err
ok=$?
check "batch: first-read gives off's bytes: $(diff f.off f.first-read | head -4)" $ok
grep -q '"start": "fork point"' f.first-read.sum && grep -q '"records": 400' f.first-read.sum
ok=$?
check "batch: 400 records, started from the fork point: $(cat f.first-read.sum)" $ok

if ! command -v redis-server > /dev/null || ! command -v redis-cli > /dev/null; then
    echo "python_filter: redis-server or redis-cli missing: the consume part skipped"
    finish python_filter
    exit
fi
source "$here/redis_lib.sh"
redis_pid=
trap 'kill -9 $redis_pid 2>/dev/null; rm -rf "$tmp"' EXIT
rcli() { redis-cli -p "$port" "$@"; }
on_free_port start_scratch_redis || redis_pid=
check "redis-server starts on a free port ($port)" $([ -n "$redis_pid" ]; echo $?)
while IFS= read -r line; do rcli XADD logs '*' data "$line" > /dev/null; done < "$src/examples/sample.log"
"$zvm" consume --redis "127.0.0.1:$port" --stream logs --group filters --consumer c1 \
    --module "$py" --dir "$src/examples/python::/filters" \
    --arg /filters/filter.py --arg ERROR --snapshot first-read --workers 2 \
    --output-stream logs.out --errors-stream logs.errors --skip-empty --drain 2> consume.log
last=$?
check "consume --drain exits 0: $(tail -2 consume.log)" $last
[ "$(rcli XLEN logs)" = 400 ] && [ "$(rcli XLEN logs.errors)" = 0 ] && [ "$(pending logs filters)" = 0 ]
ok=$?
check "consume: 400 entries in, no error, nothing pending: errors $(rcli XLEN logs.errors), pending $(pending logs filters)" $ok
rcli XRANGE logs.out - + | awk 'prev == "data" { print } { prev = $0 }' | sort > got.txt
sort want.txt | cmp -s - got.txt
ok=$?
check "consume: the outputs are the lines grep keeps: $(sort want.txt | diff - got.txt | head -4)" $ok

finish python_filter
