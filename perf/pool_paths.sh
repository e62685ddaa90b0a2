#!/usr/bin/env bash
# pool_paths.sh — the pool through its clients on the same module and
# records, interleaved in one run: `zvm batch` (file in, file out),
# `zvm-bench` (records in memory, the same pull-mode path), `zvm-bench
# --api` (the embedding API: submit + next on one thread), and optionally
# `zvm batch` of another build (to compare before and after a change).
# Prints records/s, best of N runs, and the ratios to zvm batch.
#
#   perf/pool_paths.sh [--build DIR] [--other DIR] [--records N] [--runs N] [--workers N]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build other="" n=400000 runs=5 workers=2
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --other) other=$(realpath "$2"); shift 2 ;;
    --records) n=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--other DIR] [--records N] [--runs N] [--workers N]" >&2; exit 2 ;;
    esac
done
wasm=$build/examples/logfilter.wasm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache
for i in $(seq 1 1000); do # the records of perf/peers.sh: 100 bytes, 1 in 10 an ERROR
    lvl=INFO; [ $((i % 10)) = 0 ] && lvl=ERROR
    printf '2023-11-14T22:13:%02dZ %-5s search request %06d served in %03d ms by node-7 of the cluster, all fine\n' \
        $((i % 60)) $lvl $i $((i % 1000))
done | cut -c1-99 > "$tmp/records.txt"
for _ in $(seq 1 $(( (n + 999) / 1000 ))); do cat "$tmp/records.txt"; done | head -n "$n" > "$tmp/input.txt"

batch_rate() { # ZVM -> records/s
    "$1" batch --module "$wasm" --input "$tmp/input.txt" --output "$tmp/out.txt" --workers "$workers" \
        2> "$tmp/summary.txt"
    grep -q "^zvm batch: $n records, 0 errors" "$tmp/summary.txt" || { cat "$tmp/summary.txt" >&2; exit 1; }
    awk '/instances per second/ { print $1 }' "$tmp/summary.txt"
}
bench_rate() { # [--api] -> records/s p50 p99
    "$build/perf/zvm-bench" -m "$wasm" -i "$tmp/records.txt" -n "$n" -c "$workers" --json "$@" |
        sed 's/.*"instances_per_second": \([0-9]*\).*"p50": \([0-9.]*\).*"p99": \([0-9.]*\).*/\1 \2 \3/'
}
"$build/zvm" compile "$wasm" >/dev/null
[ -z "$other" ] || "$other/zvm" compile "$wasm" >/dev/null
: > "$tmp/b" && : > "$tmp/z" && : > "$tmp/a" && : > "$tmp/o"
for _ in $(seq 1 "$runs"); do
    batch_rate "$build/zvm" >> "$tmp/b"
    bench_rate >> "$tmp/z"
    bench_rate --api >> "$tmp/a"
    [ -z "$other" ] || batch_rate "$other/zvm" >> "$tmp/o"
done
best() { sort -n | tail -1; }
b=$(best < "$tmp/b") z=$(sort -n "$tmp/z" | tail -1) a=$(sort -n "$tmp/a" | tail -1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf '%-44s %12s %8s\n' "client ($workers workers, $n records)" "records/s" "ratio"
printf '%-44s %12.0f %8s\n' "zvm batch ($build)" "$b" "1.000"
row() { # LABEL "RATE P50 P99"
    printf '%-44s %12.0f %8s   p50 %s us, p99 %s us\n' "$1" "${2%% *}" "$(ratio "${2%% *}" "$b")" \
        "$(echo "$2" | cut -d' ' -f2)" "$(echo "$2" | cut -d' ' -f3)"
}
row "zvm-bench (the same path, records in memory)" "$z"
row "zvm-bench --api: submit + next on one thread" "$a"
if [ -n "$other" ]; then
    o=$(best < "$tmp/o")
    printf '%-44s %12.0f %8s\n' "zvm batch ($other)" "$o" "$(ratio "$o" "$b")"
fi
echo "best of $runs runs each, interleaved"
