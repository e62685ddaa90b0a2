#!/usr/bin/env bash
# The log filter behind Redis: start a private redis-server, push
# examples/sample.log into the stream {logs}:in (one entry per line, field
# `data`), run `zvm consume` with the bundled log filter until the stream is
# drained, and print the kept lines from {logs}:out. The keys share the hash
# tag {logs}, so the same commands work on Redis Cluster.
#
#   bash examples/queue_filter/run.sh [BUILD_DIR]     (after the build; needs redis-server)
#   bash PREFIX/share/zvm/examples/queue_filter/run.sh   (installed: PREFIX/bin/zvm)
set -euo pipefail
examples=$(cd "$(dirname "$0")/.." && pwd)
if [ $# = 0 ] && [ "${examples%/share/zvm/examples}" != "$examples" ]; then # installed
    zvm=${examples%/share/zvm/examples}/bin/zvm module=$examples/logfilter.wasm
else
    build=$(realpath "${1:-$examples/../build}")
    zvm=$build/zvm module=$build/examples/logfilter.wasm
fi
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
# A server on a random port; another once it exits (its port was taken), and
# each waited for, as long as it runs, until it answers PONG and its own pid
# (not another server's, that holds the port).
start_redis() {
    redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --save "" --appendonly yes \
        --logfile "$tmp/redis.log" &
    pid=$!
    for _ in $(seq 600); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG &&
            redis-cli -p "$port" info server | tr -d '\r' | grep -qx "process_id:$pid" && return 0
        kill -0 $pid 2>/dev/null || break
        sleep 0.05
    done
    kill $pid 2>/dev/null; wait $pid 2>/dev/null; pid=
    return 1
}
for _ in $(seq 20); do
    port=$((20000 + RANDOM % 40000))
    start_redis && break
done
[ -n "$pid" ] || { echo "run.sh: redis-server did not start; its log:" >&2
                   cat "$tmp/redis.log" >&2; exit 1; }
rcli() { redis-cli -p $port "$@"; }

echo "== pushing $(wc -l < "$examples/sample.log") lines of examples/sample.log into {logs}:in"
awk -v k='{logs}:in' '{ printf "*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$4\r\ndata\r\n$%d\r\n%s\n\r\n",
                        length(k), k, length($0) + 1, $0 }' "$examples/sample.log" | rcli --pipe > /dev/null

echo "== zvm consume --stream {logs}:in --group filters --arg ERROR --output-stream {logs}:out --skip-empty --drain"
"$zvm" consume --redis redis://127.0.0.1:$port --stream '{logs}:in' --group filters \
    --consumer example-1 --module "$module" --arg ERROR \
    --output-stream '{logs}:out' --errors-stream '{logs}:errors' --skip-empty --drain

echo "== $(rcli XLEN '{logs}:out') lines kept in {logs}:out, $(rcli XLEN '{logs}:errors') errors;" \
     "the first three:"
rcli XRANGE '{logs}:out' - + COUNT 3 | awk 'prev == "data" { print } { prev = $0 }'
