#!/usr/bin/env bash
# startup.sh — a whole `zvm run` process on a cached module against its
# peers, side by side in one run: hello world (tests/guests/hello.c) as
#   zvm run hello.wasm      (warm cache: validate, cache lookup, dlopen, run)
#   native hello            (the same C, gcc -O2, dynamically linked)
#   node WASI               (node --experimental-wasi-unstable-preview1, when node is installed)
# and a new module's first run, tiered and not; and, to see where zvm's time goes, `zvm` printing its usage (the process
# floor: exec, libc) and `zvm validate hello.wasm`. Each round
# runs every command BATCH times in turn; the figure is the median over
# ROUNDS rounds of the time per process. Prints the load average.
#
#   perf/startup.sh [--build DIR] [--rounds N] [--batch N]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build rounds=11 batch=50
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--rounds N] [--batch N]" >&2; exit 2 ;;
    esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache
cd "$tmp"
cp "$build/tests/guests/hello.wasm" .
gcc -O2 -o hello_native -x c - <<'EOF'
#include <stdio.h>
int main(void) { printf("hello, world\n"); return 0; }
EOF
"$build/zvm" compile hello.wasm > /dev/null
[ "$("$build/zvm" run hello.wasm)" = "hello, world" ] || { echo "startup.sh: zvm run hello.wasm fails" >&2; exit 1; }

names=("zvm run hello.wasm (warm cache)" "native hello (gcc -O2)" "zvm (usage: the process floor)"
       "zvm validate hello.wasm")
cmds=("$build/zvm run hello.wasm" "./hello_native" "$build/zvm" "$build/zvm validate hello.wasm")
if command -v node > /dev/null; then
    names+=("node WASI hello")
    cmds+=("node --no-warnings --experimental-wasi-unstable-preview1 $src/perf/node_run.mjs hello.wasm")
    batch_node=$(( (batch + 9) / 10 ))
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for r in $(seq "$rounds"); do
    for i in "${!cmds[@]}"; do
        n=$batch
        [[ ${cmds[$i]} == node* ]] && n=$batch_node
        t0=$(date +%s%N)
        for _ in $(seq "$n"); do ${cmds[$i]} > /dev/null 2>&1 || true; done
        echo $(( ($(date +%s%N) - t0) / n )) >> "t$i.txt"
    done
done
source "$src/perf/lib.sh" # median
native=$(median < t1.txt)
printf '\n%-38s %12s %12s\n' "process (median of $rounds rounds)" "ms each" "/ native"
for i in "${!cmds[@]}"; do
    m=$(median < "t$i.txt")
    awk -v n="${names[$i]}" -v m="$m" -v b="$native" 'BEGIN { printf "%-38s %12.3f %11.2fx\n", n, m / 1e6, m / b }'
done

# A new module's first run (a fresh cache each time): tiered (tcc now,
# gcc -O2 in the background; the next round waits for it to finish) against
# ZVM_TIER=0 (gcc -O2 first). The log filter on the bundled sample log.
if command -v tcc > /dev/null; then
    cp "$build/examples/logfilter.wasm" "$src/examples/sample.log" .
    for r in $(seq 5); do
        rm -rf cold && t0=$(date +%s%N)
        ZVM_CACHE=$tmp/cold "$build/zvm" run logfilter.wasm < sample.log > cold_tier.txt
        echo $(( $(date +%s%N) - t0 )) >> cold_tier_t.txt
        while ls cold/*.pending > /dev/null 2>&1; do sleep 0.05; done
        rm -rf cold && t0=$(date +%s%N)
        ZVM_TIER=0 ZVM_CACHE=$tmp/cold "$build/zvm" run logfilter.wasm < sample.log > cold_gcc.txt
        echo $(( $(date +%s%N) - t0 )) >> cold_gcc_t.txt
    done
    cmp -s cold_tier.txt cold_gcc.txt || { echo "startup.sh: the tiers disagree" >&2; exit 1; }
    a=$(median < cold_tier_t.txt) b=$(median < cold_gcc_t.txt)
    printf '\n%-38s %12s\n' "new module, first run (median of 5)" "ms"
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%-38s %12.1f\n%-38s %12.1f\nratio: %.3f of gcc -O2'"'"'s first run\n",
        "zvm run, tiered (tcc first)", a / 1e6, "zvm run, ZVM_TIER=0 (gcc -O2 first)", b / 1e6, a / b }'
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
