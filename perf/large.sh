#!/usr/bin/env bash
# large.sh — large modules at each tier: SQLite's amalgamation (from the npm
# package better-sqlite3, fetched with `npm pack` into a scratch folder,
# never kept) with a small shell (perf/sqlite/shell.c) built for
# wasm32-wasi, and with --gen also the 9 MB module of perf/gen_module.
# For each module and tier, from a fresh cache, `zvm compile --stats`
# gives the units, the C's size, translate and compile time and the
# largest compiler process; the tiers are
#   tcc              the baseline tier (modules without SIMD)
#   gcc -O2          the optimised tier, C split into units (the default)
#   gcc -O2, 1 unit  the same C as one file (ZVM_CC_UNIT_BYTES=1G): before
# next to gcc -O2 building SQLite natively in the same run. A query runs
# on each build (and natively, and under node): its output must match the
# native shell's, and its time is reported. Medians of RUNS; the load
# average is printed.
#
#   perf/large.sh [--build DIR] [--runs N] [--gen]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build runs=3 gen=0
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --gen) gen=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--runs N] [--gen]" >&2; exit 2 ;;
    esac
done
source "$src/perf/lib.sh" # median
zvm=$build/zvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

echo "fetching better-sqlite3 with npm pack ..."
npm pack --silent better-sqlite3 > /dev/null
tar xzf better-sqlite3-*.tgz
sq=package/deps/sqlite3
defs="-DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL"
echo "building sqlite.wasm (clang --target=wasm32-wasi -O2) ..."
clang --target=wasm32-wasi -O2 $defs -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_GETPID -I $sq \
    -o sqlite.wasm "$src/perf/sqlite/shell.c" $sq/sqlite3.c -lwasi-emulated-mman \
    -lwasi-emulated-getpid -Wl,-z,stack-size=1048576
cp "$src/perf/sqlite/query.sql" query.sql

# time_ms CMD...: wall milliseconds of CMD (its output to out.txt)
time_ms() {
    local t0
    t0=$(date +%s%N)
    "$@" < query.sql > out.txt
    echo $(( ($(date +%s%N) - t0) / 1000000 ))
}

# tier NAME MODULE ENV...: compile from a fresh cache with --stats, RUNS
# times; the line of figures (medians) goes to stats_NAME.txt
tier() {
    local name=$1 mod=$2
    shift 2
    for r in $(seq "$runs"); do
        rm -rf cache
        env "$@" ZVM_CACHE=$tmp/cache "$zvm" compile --stats "$mod" | tail -1 >> "raw_$name.txt"
    done
}

for r in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o native_build.txt -a \
        gcc -O2 $defs -I $sq -o sqlite_native "$src/perf/sqlite/shell.c" $sq/sqlite3.c -lm
done
tiers=("tcc" "gcc -O2" "gcc -O2, 1 unit")
envs=("ZVM_CC=tcc" "ZVM_CC=gcc" "ZVM_CC_UNIT_BYTES=1073741824")
for i in "${!tiers[@]}"; do
    echo "sqlite.wasm: ${tiers[$i]} ..."
    tier "sqlite$i" sqlite.wasm ${envs[$i]}
done

printf '\n%-28s %6s %8s %12s %12s %14s\n' "SQLite ($(stat -c %s sqlite.wasm) bytes of wasm)" \
    units "MB of C" "translate s" "compile s" "largest MB"
for i in "${!tiers[@]}"; do
    f=raw_sqlite$i.txt
    units=$(sed 's/.*: \([0-9]*\) unit.*/\1/' "$f" | head -1)
    cmb=$(sed 's/.* \([0-9.]*\) MB of C.*/\1/' "$f" | head -1)
    tr_s=$(sed 's/.*translated in \([0-9.]*\) s.*/\1/' "$f" | median)
    cc_s=$(sed 's/.*compiled in \([0-9.]*\) s.*/\1/' "$f" | median)
    mem=$(sed 's/.*process \([0-9]*\) MB.*/\1/' "$f" | median)
    printf '%-28s %6s %8s %12.2f %12.2f %14.0f\n' "zvm, ${tiers[$i]}" "$units" "$cmb" "$tr_s" \
        "$cc_s" "$mem"
done
printf '%-28s %6s %8s %12s %12.2f %14.0f\n' "native gcc -O2 (sqlite3.c)" - 9.1 - \
    "$(cut -d' ' -f1 native_build.txt | median)" "$(cut -d' ' -f2 native_build.txt | median | awk '{print $1 / 1024}')"

# the query on every build
./sqlite_native < query.sql > expected.txt
for r in $(seq "$runs"); do
    time_ms ./sqlite_native >> q_native.txt
    time_ms env ZVM_CC=tcc ZVM_TIER=0 ZVM_CACHE=$tmp/cache_tcc "$zvm" run sqlite.wasm >> q_tcc.txt
    cmp -s out.txt expected.txt || { echo "large.sh: tcc build answers differently" >&2; exit 1; }
    time_ms env ZVM_TIER=0 ZVM_CACHE=$tmp/cache_gcc "$zvm" run sqlite.wasm >> q_gcc.txt
    cmp -s out.txt expected.txt || { echo "large.sh: gcc build answers differently" >&2; exit 1; }
    if command -v node > /dev/null; then
        time_ms node --no-warnings --experimental-wasi-unstable-preview1 "$src/perf/node_run.mjs" sqlite.wasm >> q_node.txt
        cmp -s out.txt expected.txt || { echo "large.sh: node answers differently" >&2; exit 1; }
    fi
done
nat=$(median < q_native.txt)
printf '\n%-28s %10s %10s\n' "query (200,000 rows), median" ms "/ native"
for k in native gcc tcc node; do
    [ -f q_$k.txt ] || continue
    m=$(median < q_$k.txt)
    awk -v k="$k" -v m="$m" -v n="$nat" 'BEGIN { printf "%-28s %10.0f %9.2fx\n", k, m, m / n }'
done

if [ "$gen" = 1 ]; then
    "$build/perf/gen_module" gen.wasm > /dev/null
    for i in 1 2; do
        echo "gen.wasm: ${tiers[$i]} ..."
        rm -rf cache
        # one unit may go over the compiler's limits: that is the result
        env ${envs[$i]} ZVM_CACHE=$tmp/cache "$zvm" compile --stats gen.wasm > "gen$i.txt" 2>&1 ||
            true
    done
    printf '\n%s (one run each)\n' "perf/gen_module ($(stat -c %s gen.wasm) bytes)"
    for i in 1 2; do echo "  ${tiers[$i]}: $(tail -1 "gen$i.txt" | sed 's/^gen.wasm: //')"; done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
