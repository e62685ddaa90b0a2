#!/usr/bin/env bash
# grow_scaling.sh — issue 24, item 6: 2 workers against 1 for a guest that
# grows its memory in every record (perf/grow_record.c: 1 MiB past its
# heap, 64 KiB written), under `zvm batch`, one fresh instance per line.
# Beside it in the same rounds the bundled C filter (examples/logfilter.c),
# which grows nothing, as the control. Rounds interleave the four runs;
# medians of the records/s the summary reports, the 2-vs-1 ratios, CPU per
# record, the load average, and the TLB shootdowns per record on 2 workers
# (/proc/interrupts, all cores): what a reset costs the other worker's
# core (engine/memory.c, "Windows"). Goal: 2 workers >= 1.8x one.
#
#   perf/grow_scaling.sh [--build DIR] [--records N] [--rounds R]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
source "$src/perf/lib.sh"
rate_args 100000 3 "$@"
zvm=$build/zvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache ZVM_TIER=0
shootdowns() { awk '/TLB/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) t += $i } END { print t + 0 }' /proc/interrupts; }

"$build/zvm-cc" -O2 "$src/perf/grow_record.c" -o "$tmp/grow.wasm"
c=$build/examples/logfilter.wasm
yes "$(cat "$src/examples/sample.log")" 2>/dev/null | head -n "$n" > "$tmp/in.log" || true
"$zvm" compile "$tmp/grow.wasm" "$c" > /dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
    for w in 1 2; do
        before=$(shootdowns)
        batch_rate grow "$w" "$tmp/grow.wasm"
        echo "$(( $(shootdowns) - before ))" >> "$tmp/tlb.$w"
        batch_rate c "$w" "$c" --arg ERROR
    done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$(wc -l < "$tmp/grow.out")" = "$n" ] || { echo "grow_record answered $(wc -l < "$tmp/grow.out") of $n records" >&2; exit 1; }
echo "$n records, $rounds rounds, medians:"
batch_rate_table "grow_record.wasm (1 MiB a record)" grow "logfilter.wasm (C, grows nothing)" c
for w in 1 2; do
    awk -v w="$w" -v n="$n" -v t="$(median < "$tmp/tlb.$w")" \
        'BEGIN { printf "  TLB shootdowns per record, grow_record on %d worker%s: %.3f\n", w, (w > 1 ? "s" : ""), t / n }'
done
