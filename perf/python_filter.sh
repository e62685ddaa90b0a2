#!/usr/bin/env bash
# python_filter.sh — issue 24's goal for Python filters:
# examples/python/filter.py (keep the lines matching a regex, ERROR) on
# the installed-to-be python.wasm (build/guests, the target `guests`, its
# standard library from python3.11.tar) under `zvm batch --snapshot
# first-read`, one fresh instance per line, on 1 and 2 workers; beside it
# in the same rounds the bundled C filter (examples/logfilter.c, the same
# job) as the peer. Rounds interleave the four runs; medians of the
# records/s the summary reports (--stats json), the 2-vs-1 worker ratios,
# CPU per record and the load average before and after. Goal: Python on 2
# workers >= 10k records/s. The code cache is the build's
# (build/guests/cache, as the tests': gcc's build of python.wasm takes
# minutes and is made once).
#
#   perf/python_filter.sh [--build DIR] [--records N] [--rounds R]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build n=50000 rounds=3
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --records) n=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--records N] [--rounds R]" >&2; exit 2 ;;
    esac
done
source "$src/perf/lib.sh"
zvm=$build/zvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
set +e
source "$src/tests/e2e/python_lib.sh" # py, batch_opts, ZVM_CACHE; exits 77 without the guest
set -e
yes "$(cat "$src/examples/sample.log")" 2>/dev/null | head -n "$n" > "$tmp/in.log" || true
"$zvm" compile "$py" "$build/examples/logfilter.wasm" > /dev/null

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
    for w in 1 2; do
        batch_rate python "$w" "$py" "${batch_opts[@]}" --dir "$src/examples/python::/filters" \
            --arg /filters/filter.py --arg ERROR --snapshot first-read
        batch_rate c "$w" "$build/examples/logfilter.wasm" --arg ERROR
    done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
cmp -s "$tmp/python.out" "$tmp/c.out" || { echo "Python and C kept different lines" >&2; exit 1; }
echo "$n records ($(wc -l < "$tmp/python.out") kept), $rounds rounds, medians:"
batch_rate_table "python.wasm filter.py, first-read" python "logfilter.wasm (C, peer)" c
awk -v p="$(cut -d' ' -f1 "$tmp/python.2" | median)" -v c="$(cut -d' ' -f1 "$tmp/c.2" | median)" \
    'BEGIN { printf "  Python on 2 workers: %.2fx the goal (10k/s), %.2fx the C peer\n", p / 10000, p / c }'
