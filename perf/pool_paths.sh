#!/usr/bin/env bash
# pool_paths.sh — the pool through its clients on the same module and
# records, interleaved in one run: `zvm batch` (file in, file out),
# `zvm-bench` (records in memory, the same pull-mode path), `zvm-bench
# --api` (the embedding API: submit + next on one thread), and optionally
# `zvm batch` of another build (to compare before and after a change),
# and optionally `zvm batch --metrics` with curl scraping it every S
# seconds (--scrape S). Prints records/s, best of N runs, and the ratios
# to zvm batch; for the batch rows also the median CPU time per record
# (the measure to trust when other work shares the cores).
#
#   perf/pool_paths.sh [--build DIR] [--other DIR] [--records N] [--runs N] [--workers N] [--scrape S]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build other="" n=400000 runs=5 workers=2 scrape=""
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --other) other=$(realpath "$2"); shift 2 ;;
    --records) n=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --scrape) scrape=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--other DIR] [--records N] [--runs N] [--workers N] [--scrape S]" >&2
       exit 2 ;;
    esac
done
wasm=$build/examples/logfilter.wasm
tmp=$(mktemp -d)
scraper=""
trap '[ -z "$scraper" ] || kill "$scraper" 2>/dev/null; rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache
source "$src/perf/lib.sh" # log_records, median
log_records "$tmp" "$n"

batch_rate() { # ZVM [OPTION...] -> records/s, CPU us per record
    local zvm=$1
    shift
    "$zvm" batch --module "$wasm" --input "$tmp/input.txt" --output "$tmp/out.txt" --workers "$workers" \
        "$@" 2> "$tmp/summary.txt"
    grep -q "^zvm batch: $n records, 0 errors" "$tmp/summary.txt" || { cat "$tmp/summary.txt" >&2; exit 1; }
    awk '/instances per second/ { print $1, $5 }' "$tmp/summary.txt"
}
scraped_rate() { # -> records/s, CPU us per record of a run with --metrics, scraped every $scrape s
    local url="" pid
    batch_rate "$build/zvm" --metrics 0 > "$tmp/rate.txt" &
    pid=$!
    for _ in $(seq 200); do
        url=$(grep -o 'http://[^ ]*/metrics' "$tmp/summary.txt" 2> /dev/null || true)
        [ -n "$url" ] && break
        sleep 0.01
    done
    (while kill -0 $pid 2> /dev/null; do
         curl -sf "$url" 2> /dev/null | grep -q '^zvm_records_total' && echo >> "$tmp/scrapes"
         sleep "$scrape"
     done) &
    scraper=$!
    wait $pid
    wait $scraper || true
    scraper=""
    cat "$tmp/rate.txt"
}
bench_rate() { # [--api] -> records/s p50 p99
    "$build/perf/zvm-bench" -m "$wasm" -i "$tmp/records.txt" -n "$n" -c "$workers" --json "$@" |
        sed 's/.*"instances_per_second": \([0-9]*\).*"p50": \([0-9.]*\).*"p99": \([0-9.]*\).*/\1 \2 \3/'
}
"$build/zvm" compile "$wasm" >/dev/null
[ -z "$other" ] || "$other/zvm" compile "$wasm" >/dev/null
: > "$tmp/b" && : > "$tmp/z" && : > "$tmp/a" && : > "$tmp/o" && : > "$tmp/m" && : > "$tmp/scrapes"
for _ in $(seq 1 "$runs"); do
    batch_rate "$build/zvm" >> "$tmp/b"
    bench_rate >> "$tmp/z"
    bench_rate --api >> "$tmp/a"
    [ -z "$other" ] || batch_rate "$other/zvm" >> "$tmp/o"
    [ -z "$scrape" ] || scraped_rate >> "$tmp/m"
done
best() { sort -n | tail -1; }
col() { awk -v k="$1" '{ print $k }' "$2"; }
b=$(col 1 "$tmp/b" | best) z=$(sort -n "$tmp/z" | tail -1) a=$(sort -n "$tmp/a" | tail -1)
cpu=$(col 2 "$tmp/b" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf '%-44s %12s %8s\n' "client ($workers workers, $n records)" "records/s" "ratio"
batch_row() { # LABEL FILE
    local r c
    r=$(col 1 "$2" | best) c=$(col 2 "$2" | median)
    printf '%-44s %12.0f %8s   CPU %.3f us per record (median), %s\n' "$1" "$r" "$(ratio "$r" "$b")" \
        "$c" "$(ratio "$c" "$cpu")"
}
batch_row "zvm batch ($build)" "$tmp/b"
row() { # LABEL "RATE P50 P99"
    printf '%-44s %12.0f %8s   p50 %s us, p99 %s us\n' "$1" "${2%% *}" "$(ratio "${2%% *}" "$b")" \
        "$(echo "$2" | cut -d' ' -f2)" "$(echo "$2" | cut -d' ' -f3)"
}
row "zvm-bench (the same path, records in memory)" "$z"
row "zvm-bench --api: submit + next on one thread" "$a"
[ -z "$other" ] || batch_row "zvm batch ($other)" "$tmp/o"
if [ -n "$scrape" ]; then
    [ -s "$tmp/scrapes" ] || { echo "pool_paths.sh: no scrape answered" >&2; exit 1; }
    batch_row "zvm batch --metrics, scraped every $scrape s" "$tmp/m"
    echo "$(wc -l < "$tmp/scrapes") scrapes answered in all"
fi
echo "best of $runs runs each (CPU: median), interleaved; load average $(cut -d' ' -f1-3 /proc/loadavg)"
