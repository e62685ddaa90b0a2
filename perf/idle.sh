#!/usr/bin/env bash
# idle.sh — what an idle zvm costs: the CPU time (user + system, from
# /proc/PID/stat) of `zvm batch` reading a quiet pipe, `zvm consume` on an
# empty stream (a private redis-server on a free port) and a daemon with no
# jobs, each over SECONDS (default 10) after a record has gone through.
# The goal (issue 23): under 1% of a core.
#
#   perf/idle.sh [--build DIR] [--seconds S]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build secs=10
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--seconds S]" >&2; exit 2 ;;
    esac
done
zvm=$build/zvm wasm=$build/examples/logfilter.wasm
tmp=$(mktemp -d)
pids=()
trap 'kill ${pids[@]:-} 2>/dev/null; rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache
"$zvm" compile "$wasm" > /dev/null
hz=$(getconf CLK_TCK)

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system, in clock ticks
# idle NAME PID: the share of one core PID used over $secs seconds
idle() {
    local t0 t1
    t0=$(ticks "$2")
    sleep "$secs"
    t1=$(ticks "$2")
    awk -v n="$1" -v d=$((t1 - t0)) -v hz="$hz" -v s="$secs" \
        'BEGIN { printf "%-36s %8.3f s CPU in %d s: %6.2f%% of a core\n", n, d / hz, s, 100 * d / hz / s }'
}
pool_pid() { # the zvm-pool that zvm execs (pid $1 becomes it)
    for _ in $(seq 50); do
        [ "$(cat "/proc/$1/comm" 2>/dev/null)" = zvm-pool ] && return 0
        sleep 0.1
    done
}

# batch on a pipe that stays quiet after one line
mkfifo "$tmp/in"
"$zvm" batch --module "$wasm" --input "$tmp/in" --output /dev/null 2> /dev/null &
pids+=($!)
exec 3<> "$tmp/in"
echo "an ERROR line" >&3
pool_pid "${pids[-1]}"
sleep 1
idle "zvm batch on a quiet pipe" "${pids[-1]}"
exec 3>&-

# a daemon with no jobs
cp "$wasm" "$tmp/f.wasm"
cat > "$tmp/d.manifest" <<EOF
Version = 20130611
Program = f.wasm
Memory = 67108864, 0
Timeout = 5
Job = d.sock
Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = /dev/null, /dev/stdout, 0, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
EOF
"$zvm" run "$tmp/d.manifest" > /dev/null 2> "$tmp/d.err" &
pids+=($!)
for _ in $(seq 100); do grep -q "serving jobs" "$tmp/d.err" 2>/dev/null && break; sleep 0.1; done
sleep 1
idle "daemon mode with no jobs" "${pids[-1]}"

# consume on an empty stream
if command -v redis-server > /dev/null; then
    source "$src/scripts/redis-wait.sh"
    for _ in $(seq 20); do
        port=$((20000 + RANDOM % 40000))
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
            --daemonize no > /dev/null 2>&1 &
        rpid=$!
        wait_up $rpid redis-cli -p "$port" && break
    done
    pids+=($rpid)
    redis-cli -p "$port" XADD in '*' data "one ERROR" > /dev/null
    "$zvm" consume --redis "127.0.0.1:$port" --stream in --group g --module "$wasm" \
        --output-stream out 2> /dev/null &
    pids+=($!)
    pool_pid "${pids[-1]}"
    sleep 1
    idle "zvm consume on an empty stream" "${pids[-1]}"
else
    echo "zvm consume: redis-server is not installed: not measured"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
