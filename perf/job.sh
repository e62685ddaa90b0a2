#!/usr/bin/env bash
# job.sh — multi-stage jobs (`zvm job`), each figure side by side with its
# peer in one run, median of N runs:
#   1. the word count example (examples/wordcount: mappers, 3 reducers, a
#      merge) on SIZE MB of text in 8 files, against
#      `cat | tr -s ' ' '\n' | LC_ALL=C sort | uniq -c`: wall and CPU
#      seconds, and the outputs compared;
#   2. pipe throughput between two instances (jobnode pump -> drain, MIB
#      MiB through /dev/out -> /dev/in), against `head -c | cat` natively;
#   3. the cost of a node: a job of NODES instances of a guest that prints
#      a line, against NODES `zvm run` processes of the same guest (run
#      two at a time, as the job's 2 workers).
#
#   perf/job.sh [--build DIR] [--size MB] [--mib MIB] [--nodes N] [--runs N]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build size=100 mib=2048 nodes=1000 runs=3
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --size) size=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    --nodes) nodes=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--size MB] [--mib MIB] [--nodes N] [--runs N]" >&2; exit 2 ;;
    esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZVM_CACHE=$tmp/cache
cd "$tmp"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

# measure OUT CMD...: wall and CPU (user+sys of children) seconds -> "wall cpu"
measure() {
    local out=$1
    shift
    /usr/bin/time -f '%e %U %S' -o "$tmp/time.txt" "$@" > "$out" 2> "$tmp/stderr.txt" ||
        { cat "$tmp/stderr.txt" >&2; exit 1; }
    awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$tmp/time.txt"
}
source "$src/perf/lib.sh" # median

# ---- 1. word count ----
mkdir -p wc/text
cp "$build"/examples/wordcount/*.wasm "$build"/examples/wordcount/wordcount.json wc/
# SIZE MB of text over a vocabulary of 50,000 words with a Zipf-like skew
# (awk's rand with a fixed seed: the same text on every run)
awk -v mb="$size" 'BEGIN {
    srand(42); n = 50000
    for (i = 1; i <= n; i++) { w = ""; l = 3 + int(rand() * 8)
        for (k = 0; k < l; k++) w = w sprintf("%c", 97 + int(rand() * 26)); v[i] = w }
    for (f = 1; f <= 8; f++) { file = sprintf("wc/text/part%02d.txt", f); bytes = 0
        while (bytes < mb * 1048576 / 8) { line = ""
            for (k = 0; k < 12; k++) line = line (k ? " " : "") v[int(n * rand() ^ 3) + 1]
            print line > file; bytes += length(line) + 1 }
        close(file) } }'
"$build/zvm" compile wc/*.wasm > /dev/null
for _ in $(seq "$runs"); do
    measure job.out "$build/zvm" job --workers "$(nproc)" wc/wordcount.json >> wc_zvm.txt
    measure sort.out sh -c 'cat wc/text/*.txt | tr -s " " "\n" | grep -v "^$" | LC_ALL=C sort | uniq -c' >> wc_sort.txt
done
cmp -s wc/out/counts.txt sort.out && same="identical" || same="DIFFERENT"
zw=$(cut -d' ' -f1 wc_zvm.txt | median) zc=$(cut -d' ' -f2 wc_zvm.txt | median)
sw=$(cut -d' ' -f1 wc_sort.txt | median) sc=$(cut -d' ' -f2 wc_sort.txt | median)
printf '\nword count, %s MB in 8 files (outputs %s)\n' "$size" "$same"
printf '  %-44s wall %7.2f s   cpu %7.2f s\n' "zvm job wordcount.json" "$zw" "$zc" \
    "cat | tr | sort | uniq -c (LC_ALL=C)" "$sw" "$sc"
awk -v a="$zw" -v b="$sw" -v c="$zc" -v d="$sc" 'BEGIN { printf "  ratio zvm/sort: wall %.2fx, cpu %.2fx\n", a / b, c / d }'

# ---- 2. pipe throughput ----
cp "$build/tests/guests/jobnode.wasm" .
cat > pipe.json <<EOF
[{"name": "src", "exec": {"path": "jobnode.wasm", "args": "pump $mib"}, "connect": ["dst"]},
 {"name": "dst", "exec": {"path": "jobnode.wasm", "args": "drain"},
  "devices": [{"name": "stdout", "path": "drain.txt"}]}]
EOF
"$build/zvm" compile jobnode.wasm > /dev/null
for _ in $(seq "$runs"); do
    measure /dev/null "$build/zvm" job --workers 2 pipe.json | cut -d' ' -f1 >> pipe_zvm.txt
    measure /dev/null sh -c "head -c $((mib * 1048576)) /dev/zero | cat > /dev/null" | cut -d' ' -f1 >> pipe_sh.txt
done
grep -q "^dst: $((mib * 1048576)) bytes from 1 inputs$" drain.txt || { echo "pipe: wrong count: $(cat drain.txt)" >&2; exit 1; }
pz=$(median < pipe_zvm.txt) ps=$(median < pipe_sh.txt)
printf '\npipe between two instances, %s MiB\n' "$mib"
awk -v m="$mib" -v a="$pz" -v b="$ps" 'BEGIN {
    printf "  %-44s %6.2f GB/s (%.2f s)\n", "zvm job: pump -> /dev/out -> /dev/in -> drain", m * 1048576 / a / 1e9, a
    printf "  %-44s %6.2f GB/s (%.2f s)\n", "head -c | cat (native pipe)", m * 1048576 / b / 1e9, b
    printf "  ratio zvm/native: %.2fx the time\n", a / b }'

# ---- 3. the cost of a node ----
printf '[{"name": "n", "exec": {"path": "jobnode.wasm", "args": "id"}, "count": %d}]\n' "$nodes" > nodes.json
printf 'Version = 20130611\nProgram = jobnode.wasm\nMemory = 67108864, 0\nTimeout = 10\nArgs = n id\n' > one.manifest
printf 'Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1000, 0, 0\nChannel = /dev/null, /dev/stdout, 0, 0, 0, 0, 1000, 100000\nChannel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 100000\n' >> one.manifest
for _ in $(seq "$runs"); do
    measure /dev/null "$build/zvm" job --workers 2 nodes.json | cut -d' ' -f1 >> nodes_zvm.txt
    measure /dev/null sh -c "seq $nodes | xargs -P 2 -I{} '$build/zvm' run one.manifest > /dev/null" | cut -d' ' -f1 >> nodes_run.txt
done
nz=$(median < nodes_zvm.txt) nr=$(median < nodes_run.txt)
printf '\ncost of a node, %s instances, 2 at a time\n' "$nodes"
awk -v n="$nodes" -v a="$nz" -v b="$nr" 'BEGIN {
    printf "  %-44s %8.0f us per node (%.2f s)\n", "zvm job, count N", a / n * 1e6, a
    printf "  %-44s %8.0f us per node (%.2f s)\n", "N zvm run processes (xargs -P 2)", b / n * 1e6, b
    printf "  ratio: a node costs %.1fx less than a process\n", b / a }'
