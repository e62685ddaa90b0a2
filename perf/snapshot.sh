#!/usr/bin/env bash
# snapshot.sh — what snapshots (zvm_fork) buy, in one run: the guest of
# tests/guests/snapshot.c builds a 16 MiB table (about 50 ms) before its
# fork point and then does little per record. Per-record time (the pool's
# mean latency of one instance: restore or reset, then the run) with
# snapshots, with --snapshot off (every record re-runs the set-up), and for
# the same guest with its set-up removed; then per-record time against the
# bytes a record dirties, for each way memory comes back: auto (the pages
# the write barrier marked), memset (a copy of the whole snapshot) and
# madvise (MADV_DONTNEED over a private mapping of a memfd image).
#
#   perf/snapshot.sh [--build DIR] [--records N]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build n=20000
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --records) n=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--records N]" >&2; exit 2 ;;
    esac
done
guests=$build/tests/guests
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache
echo "a short record of the stream" > "$tmp/rec.txt"

mean_us() { # MODULE RECORDS COUNT [OPTIONS...] -> the mean per-record time in us
    local m=$1 r=$2 c=$3
    shift 3
    "$build/perf/zvm-bench" -m "$m" -i "$r" -n "$c" -c 1 --json "$@" |
        sed 's/.*"traps": \([0-9]*\).*"mean": \([0-9.]*\).*/\1 \2/' |
        awk '$1 != 0 { print "traps!" > "/dev/stderr"; exit 1 } { print $2 }'
}
"$build/zvm" compile "$guests/snapshot.wasm" "$guests/snapshot_nosetup.wasm" >/dev/null

on=$(mean_us "$guests/snapshot.wasm" "$tmp/rec.txt" "$n")
off=$(mean_us "$guests/snapshot.wasm" "$tmp/rec.txt" 20 --snapshot off)
bare=$(mean_us "$guests/snapshot_nosetup.wasm" "$tmp/rec.txt" "$n")
echo "per-record time (mean, 1 worker):"
printf '  %-34s %12.2f us\n' "snapshot (auto)" "$on" "--snapshot off (set-up per record)" "$off" \
    "no set-up at all (snapshot_nosetup)" "$bare"
awk -v on="$on" -v off="$off" -v bare="$bare" 'BEGIN {
    printf "  snapshot vs --snapshot off: %.0fx faster; vs no set-up: %.2fx\n", off / on, on / bare }'

echo "per-record time against the bytes a record writes (us, mean):"
printf '  %-10s %10s %10s %10s\n' dirty auto memset madvise
for d in 4096 65536 1048576 8388608; do
    echo "D$d" > "$tmp/dirty.txt"
    row=""
    for how in auto memset madvise; do
        row="$row $(mean_us "$guests/snapshot.wasm" "$tmp/dirty.txt" $((n / 10)) --reset $how)"
    done
    printf '  %-10s %10.2f %10.2f %10.2f\n' "$d" $row
done
