#!/usr/bin/env bash
# tiers.sh — `zvm batch` on a module it has not seen (a fresh cache each
# run): tiered (tcc at once, the pool moves to gcc -O2 when the background
# build lands) against ZVM_TIER=0 (gcc -O2 first), side by side in one
# run, for several input sizes: total wall time (for one record: the time
# to its answer), records per second overall, and the records that ran on
# the tcc build. The log filter on copies of the bundled sample log; the outputs
# must be identical. Medians of RUNS; the load average is printed.
#
#   perf/tiers.sh [--build DIR] [--runs N]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build runs=5
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--runs N]" >&2; exit 2 ;;
    esac
done
source "$src/perf/lib.sh" # median
command -v tcc > /dev/null || { echo "tiers.sh: needs tcc" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cp "$build/examples/logfilter.wasm" .
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

# one MODE RECORDS: a batch from a fresh cache; appends "total_ms
# tcc_records" to MODE_RECORDS.txt
one() {
    local mode=$1 n=$2 t0 total base tier=1
    [ "$mode" = gcc ] && tier=0
    rm -rf cache
    t0=$(date +%s%N)
    ZVM_TIER=$tier "$build/zvm" batch --module logfilter.wasm --input in_$n.log \
        --output /dev/null 2> summary.txt
    total=$(( ($(date +%s%N) - t0) / 1000000 ))
    base=$(grep -o 'tiers: [0-9]*' summary.txt | awk '{print $2}' || true)
    echo "$total ${base:-0}" >> "${mode}_$n.txt"
    # wait for a background build before the next fresh cache
    while ls cache/*.pending > /dev/null 2>&1; do sleep 0.05; done
}

sizes=(1 100000 1000000 4000000)
lines=$(wc -l < "$src/examples/sample.log")
for n in "${sizes[@]}"; do
    for _ in $(seq $(( (n + lines - 1) / lines ))); do cat "$src/examples/sample.log"; done |
        head -n "$n" > in_$n.log
    ZVM_TIER=0 ZVM_CACHE=$tmp/ref "$build/zvm" batch --module logfilter.wasm --input in_$n.log \
        --output want_$n.txt 2> /dev/null
    ZVM_CACHE=$tmp/cache "$build/zvm" batch --module logfilter.wasm --input in_$n.log \
        --output got_$n.txt 2> /dev/null
    while ls cache/*.pending > /dev/null 2>&1; do sleep 0.05; done
    cmp -s want_$n.txt got_$n.txt || { echo "tiers.sh: the tiered run differs" >&2; exit 1; }
done
export ZVM_CACHE=$tmp/cache
for r in $(seq "$runs"); do
    for n in "${sizes[@]}"; do
        one tiered "$n"
        one gcc "$n"
    done
done

printf '\n%-10s %-22s %10s %12s %12s\n' records mode "total ms" "records/s" "on tcc"
for n in "${sizes[@]}"; do
    for mode in tiered gcc; do
        f=${mode}_$n.txt
        total=$(cut -d' ' -f1 "$f" | median) base=$(cut -d' ' -f2 "$f" | median)
        name=$([ $mode = tiered ] && echo "tiered (tcc, then gcc)" || echo "gcc -O2 first")
        awk -v n="$n" -v m="$name" -v t="$total" -v b="$base" \
            'BEGIN { printf "%-10d %-22s %10.0f %12.0f %12.0f\n", n, m, t, n / t * 1000, b }'
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
