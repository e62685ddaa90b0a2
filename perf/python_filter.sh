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
source "$src/perf/lib.sh"
rate_args 50000 3 "$@"
zvm=$build/zvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
set +e
source "$src/tests/e2e/python_lib.sh" # py, ZVM_CACHE; exits 77 without the guest
set -e
filter_vs_c python Python "python.wasm filter.py, first-read" 10000 "$py" \
    --dir "$src/examples/python::/filters" --arg /filters/filter.py
