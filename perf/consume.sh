#!/usr/bin/env bash
# consume.sh — `zvm consume` through a real redis-server on this machine
# (sharing its cores), in one run with Redis's own pipelined XADD rate
# (redis-benchmark) and `zvm batch` on the same records from a file: the
# log filter over N 100-byte records (1 in 10 kept; every record still
# gets an OUT entry, --skip-empty aside). Then 1 and 2 consumer processes,
# and --count from 16 to 1024 with the cost of the ack step per record.
# --auth: the server wants a password (requirepass; the consumers take it
# from ZVM_REDIS_PASSWORD); --tls: the server speaks TLS only (rediss://,
# through zvm's relay); --quick: only the 1-consumer rate, for interleaved
# A/B runs, with the CPU time per record of zvm consume and of redis-server
# (on a shared machine the rate follows the neighbours' load; CPU time
# per record much less).
#
#   perf/consume.sh [--build DIR] [--records N] [--auth] [--tls] [--quick]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build n=200000 auth=0 tls=0 quick=0
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --records) n=$2; shift 2 ;;
    --auth) auth=1; shift ;;
    --tls) tls=1; shift ;;
    --quick) quick=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--records N] [--auth] [--tls] [--quick]" >&2; exit 2 ;;
    esac
done
zvm=$build/zvm wasm=$build/examples/logfilter.wasm
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache
port=$((20000 + RANDOM % 40000))
server=(--port "$port") cli=(-p "$port") bench=(-p "$port") url=127.0.0.1:$port redis_opts=()
if [ $auth = 1 ]; then
    export ZVM_REDIS_PASSWORD=zvm-perf-password
    server+=(--requirepass "$ZVM_REDIS_PASSWORD") bench+=(-a "$ZVM_REDIS_PASSWORD")
    cli+=(-a "$ZVM_REDIS_PASSWORD" --no-auth-warning)
fi
if [ $tls = 1 ]; then # a CA and a server certificate for localhost; no client certificate
    ( cd "$tmp"
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=ca &&
      openssl req -newkey rsa:2048 -nodes -keyout s.key -out s.csr -subj /CN=localhost &&
      printf 'subjectAltName=DNS:localhost\n' > san.ext &&
      openssl x509 -req -in s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out s.pem -days 1 \
          -extfile san.ext ) > "$tmp/certs.log" 2>&1
    server=(--port 0 --tls-port "$port" --tls-cert-file "$tmp/s.pem" --tls-key-file "$tmp/s.key"
            --tls-auth-clients no "${server[@]:2}")
    cli+=(--tls --cacert "$tmp/ca.pem") bench+=(--tls --cacert "$tmp/ca.pem") url=rediss://localhost:$port
    redis_opts=(--redis-cacert "$tmp/ca.pem")
fi
redis-server "${server[@]}" --bind 127.0.0.1 --dir "$tmp" --save "" --appendonly no \
    --logfile "$tmp/redis.log" &
pid=$!
rcli() { redis-cli "${cli[@]}" "$@"; }
source "$src/scripts/redis-wait.sh"
wait_up $pid rcli ||
    { echo "redis-server did not start on port $port: $(tail -1 "$tmp/redis.log")" >&2; exit 1; }

source "$src/perf/lib.sh" # log_records
log_records "$tmp" "$n"
push() { # STREAM: the input records as entries, one pipe
    awk -v s="$1" '{ printf "*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$4\r\ndata\r\n$%d\r\n%s\n\r\n",
                     length(s), s, length($0) + 1, $0 }' "$tmp/input.txt" | rcli --pipe > /dev/null
}
"$zvm" compile "$wasm" > /dev/null

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system, in clock ticks
consume_rate() { # STREAM CONSUMERS [OPTIONS...] -> records/s over all consumers
    local s=$1 k=$2 t0 t1
    shift 2
    push "$s"
    redis0=$(cpu_ticks $pid)
    t0=$(date +%s.%N)
    for c in $(seq "$k"); do
        /usr/bin/time -f '%U %S' -o "$tmp/$s.$c.cpu" \
            "$zvm" consume --redis "$url" "${redis_opts[@]}" --stream "$s" --group g --consumer "c$c" \
            --module "$wasm" --output-stream "$s.out" --drain "$@" 2> "$tmp/$s.$c.log" &
    done
    wait
    t1=$(date +%s.%N)
    redis1=$(cpu_ticks $pid)
    [ "$(rcli XLEN "$s.out")" = "$n" ] || { echo "consume: $(rcli XLEN "$s.out") of $n" >&2; exit 1; }
    awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
    rcli DEL "$s" "$s.out" > /dev/null
}
if [ $quick = 1 ]; then # records/s, then CPU us per record: zvm consume, redis-server
    rate=$(consume_rate s1 1; echo " $redis0 $redis1") # (a subshell: `wait` must not wait for redis-server)
    echo "$rate" | awk -v n="$n" -v hz="$(getconf CLK_TCK)" -v cpu="$(cat "$tmp/s1.1.cpu")" '{
        split(cpu, c, " ")
        printf "%s %.2f %.2f\n", $1, (c[1] + c[2]) * 1e6 / n, ($3 - $2) / hz * 1e6 / n }'
    exit 0
fi

xadd=$(redis-benchmark "${bench[@]}" -q -n "$n" -P 64 XADD bench '*' data \
    "$(head -c 99 "$tmp/records.txt")" | awk '{ for (i = 1; i <= NF; i++) if ($i == "requests") print $(i - 1) }')
"$zvm" batch --module "$wasm" --input "$tmp/input.txt" --output "$tmp/out.txt" 2> "$tmp/b.txt"
batch=$(awk '/instances per second/ { print $1 }' "$tmp/b.txt")

one=$(consume_rate s1 1)
ack1=$(awk '/ack step/ { print $5 }' "$tmp/s1.1.log")
two=$(consume_rate s2 2 --workers 1)
echo "records/s, $n records of 100 bytes, 2 cores shared with redis-server:"
printf '  %-46s %10s\n' "redis-benchmark XADD, pipelined (-P 64)" "$xadd" \
    "zvm batch, the same records from a file" "$batch" \
    "zvm consume, 1 consumer (1 worker, the default)" "$one" \
    "zvm consume, 2 consumers (1 worker each)" "$two"
awk -v x="$xadd" -v o="$one" -v t="$two" 'BEGIN {
    printf "  consume / XADD rate: %.0f%% (1 consumer), %.0f%% (2 consumers)\n", 100 * o / x, 100 * t / x }'
echo "  ack step with --count 256: $ack1 us per record"
echo "--count (1 consumer): records/s, ack step us per record, reads us per record"
for count in 16 64 256 1024; do
    r=$(consume_rate "c$count" 1 --count "$count")
    printf '  %-6s %10s %8s %8s\n' "$count" "$r" "$(awk '/ack step/ { print $5 }' "$tmp/c$count.1.log")" \
        "$(awk '/ack step/ { print $11 }' "$tmp/c$count.1.log")"
done
echo "--pipeline (1 consumer, --count 256): records/s"
for p in 1 2 4 16; do
    printf '  %-6s %10s\n' "$p" "$(consume_rate "p$p" 1 --pipeline "$p")"
done
