#!/usr/bin/env bash
# daemon.sh — daemon mode against a fresh process, in one run: the rule
# filter of tests/guests/snapshot_rules.c served by `zvm run` of a manifest
# with Job = PATH (jobs from the fork point), N job round trips one after
# another (connect, send the job manifest, report back), against `zvm run`
# of the same manifest without Job as a fresh process per job. Also the
# daemon's resident memory: idle after start, right after the burst, and
# idle again.
#
#   perf/daemon.sh [--build DIR] [--jobs N] [--fresh N] [--workers N]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build jobs=10000 fresh=300 workers=2
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --fresh) fresh=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--jobs N] [--fresh N] [--workers N]" >&2; exit 2 ;;
    esac
done
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache
cd "$tmp"
cp "$build/tests/guests/snapshot_rules.wasm" .
printf 'error\nwarn\n' > rules.txt
echo "an error in the log line" > in.txt
channels='Channel = in.txt, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = out.txt, /dev/stdout, 0, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
Channel = rules.txt, /dev/rules, 0, 0, 10, 65536, 0, 0'
head='Version = 20130611
Program = snapshot_rules.wasm
Memory = 67108864, 0
Timeout = 5'
printf '%s\nJob = d.sock\n%s\n' "$head" "$channels" > daemon.manifest
printf '%s\n%s\n' "$head" "$channels" > session.manifest
printf 'Timeout = 5\n%s\n' "$channels" > job.manifest
"$build/zvm" compile snapshot_rules.wasm >/dev/null

rss() { awk '/VmRSS/ { print $2 / 1024 " MiB" }' "/proc/$pid/status"; }
"$build/zvm" run --workers "$workers" daemon.manifest > daemon.report 2> daemon.err &
pid=$!
for _ in $(seq 100); do grep -q serving daemon.err 2>/dev/null && break; sleep 0.1; done
sleep 1
echo "daemon: $(cat daemon.err)"
echo "resident memory, idle after start: $(rss)"
"$build/perf/zvm-daemon-client" bench d.sock job.manifest "$jobs" | tee bench.txt
echo "resident memory right after the burst: $(rss)"
sleep 1
echo "resident memory idle again: $(rss)"
"$build/perf/zvm-daemon-client" exec "$fresh" "$build/zvm" run session.manifest | tee fresh.txt
kill -TERM $pid
wait $pid
pid=
awk 'FNR == 1 { p50[FILENAME] = $7; p99[FILENAME] = $10 }
     END { printf "daemon vs fresh zvm run: p50 %.0fx faster, p99 %.0fx faster\n",
           p50["fresh.txt"] / p50["bench.txt"], p99["fresh.txt"] / p99["bench.txt"] }' bench.txt fresh.txt
