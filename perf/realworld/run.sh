#!/usr/bin/env bash
# run.sh — real programs, not kernels (issue 27): each one built from
# upstream source, natively by gcc -O2 and for wasm32-wasi by stock
# `clang --target=wasm32-wasi -O2` (as users build), with the same flags
# both ways, then timed side by side on the same input: native, `zvm run`
# (gcc -O2 tier, warm cache) and Node's WASI. Every zvm and node output
# must equal the native build's. Prints zvm / native and node / native
# per workload, the geomean, and the load average before and after.
#
#   perf/realworld/run.sh [--build DIR] [--runs N] [--quick] [--work DIR]
#                         [--compare VAR=VALUE] [--alt-zvm PATH] [--min] [--no-node]
#
# Programs (sources fetched at run time, never committed):
#   sqlite  SQLite's amalgamation from the npm package better-sqlite3 and
#           perf/sqlite/shell.c: the query mix of perf/sqlite/query.sql
#   zlib    Debian's zlib source package, test/minigzip.c: compress a log
#           and a binary file, decompress the log's output
#   pcre2   Debian's pcre2 source package (no JIT: wasm has none) and
#           grep.c: a pattern with a capture group over the log
#   lua     Debian's lua5.4 source package (LUA_USE_C89 both ways, as
#           tests/e2e/lua.sh): fib.lua, strings.lua, report.lua over the log
#   python  CPython 3.11: the build's own guest (BUILD/guests/python.wasm,
#           Debian's python3.11 source by zvm-cc -O2, its standard
#           library in the image beside it) against the same source
#           package built natively by its configure with the same CFLAGS
#           (-O2); node reads the source's Lib. fib.py, strings.py,
#           report.py over the log. Skipped, said, without the guest.
#
# Debian's packages come through scripts/apt-source.sh (a private apt
# state). --work DIR keeps the sources and builds between runs (default:
# a temporary folder, removed). --quick: smaller inputs, 3 runs. Each
# cell is the median of N runs (default 5), the runs interleaved (one
# round runs every workload natively, under zvm and under node).
# --compare VAR=VALUE adds a column: zvm again with that variable set (an
# A/B of a code generation switch, e.g. ZVM_SEG=0, in the same rounds);
# --alt-zvm PATH adds one for another zvm binary (a build of an earlier
# commit), or with --compare, that binary with the variable set. --min:
# each cell is the smallest of its runs instead (on a machine whose speed
# drifts between rounds, minima compare where medians move; perf/README.md
# "Dispatch loops; start-up's checks remembered"). --no-node: no node
# column (an A/B of two zvm builds in half the time).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build runs=5 quick=0 work= compare= alt_zvm= stat=median no_node=0
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --quick) quick=1; runs=3; shift ;;
    --work) work=$(realpath -m "$2"); shift 2 ;;
    --compare) compare=$2; shift 2 ;;
    --alt-zvm) alt_zvm=$(realpath "$2"); shift 2 ;;
    --min) stat=smallest; shift ;;
    --no-node) no_node=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--runs N] [--quick] [--work DIR] [--compare VAR=VALUE]" \
            "[--alt-zvm PATH] [--min] [--no-node]" >&2
       exit 2 ;;
    esac
done
source "$src/perf/lib.sh" # median
smallest() { sort -g | head -1; }
zvm=$build/zvm
[ -x "$zvm" ] || { echo "$0: $zvm is missing: run cmake --build $build" >&2; exit 2; }
if [ -z "$work" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
cd "$work"
here=$src/perf/realworld
export ZVM_CACHE=$work/cache ZVM_TIER=0 # the gcc -O2 tier from the first run
node=$([ $no_node = 1 ] || command -v node || true)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

# fetch PKG: Debian's source package PKG unpacked in deb/PKG (once)
fetch() {
    [ -d "deb/$1" ] && return 0
    echo "fetching $1 (apt-get source) ..."
    bash "$src/scripts/apt-source.sh" "$1" deb
}

# both NAME CFLAGS -- FILES...: NAME (native, gcc -O2) and NAME.wasm
# (clang --target=wasm32-wasi -O2, or $wasm_cc), the same flags and files,
# once
both() {
    local name=$1 flags=()
    shift
    while [ "$1" != -- ]; do flags+=("$1"); shift; done
    shift
    [ -e "$name.wasm" ] && [ -e "$name" ] && return 0
    echo "building $name ..."
    gcc -O2 -w "${flags[@]}" -o "$name" "$@" -lm
    ${wasm_cc:-clang --target=wasm32-wasi} -O2 -w "${flags[@]}" -D_WASI_EMULATED_SIGNAL \
        -D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_GETPID \
        -o "$name.wasm" "$@" -lwasi-emulated-signal -lwasi-emulated-process-clocks \
        -lwasi-emulated-mman -lwasi-emulated-getpid -Wl,-z,stack-size=1048576
}

# The inputs: a web server's log (deterministic) and a binary file
lines=$([ $quick = 1 ] && echo 40000 || echo 200000)
if [ ! -e "log.$lines" ]; then
    awk -v n="$lines" 'BEGIN {
        split("DEBUG INFO INFO INFO INFO WARN ERROR", lv, " ")
        split("/api/v1/items /api/v1/users /static/img /login /api/v2/search /health", pa, " ")
        split("200 200 200 200 301 404 500 503", st, " ")
        s = 12345
        for (i = 0; i < n; i++) {
            s = (s * 1103515245 + 12345) % 2147483648; r = s
            printf "2026-12-06T%02d:%02d:%02d.%03dZ host-%02d app[%d]: level=%s path=%s/%d status=%s ms=%d user=u%05d agent=\"Mozilla/5.0 (X11; Linux x86_64) zvm-bench/%d\"\n",
                (i / 3600000) % 24, (i / 60000) % 60, (i / 1000) % 60, i % 1000, r % 16,
                1000 + r % 9000, lv[1 + r % 7], pa[1 + int(r / 7) % 6], int(r / 42) % 10000,
                st[1 + int(r / 11) % 8], int(r / 13) % 1200, int(r / 17) % 100000, r % 9
        }
    }' > "log.$lines"
fi
log=log.$lines

# ---- builds ---------------------------------------------------------------
if [ ! -d package ]; then
    echo "fetching better-sqlite3 (npm pack) ..."
    npm pack --silent better-sqlite3 > /dev/null
    tar xzf better-sqlite3-*.tgz
fi
sq=package/deps/sqlite3
both sqlite -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL -I $sq -- \
    "$src/perf/sqlite/shell.c" $sq/sqlite3.c
cp "$src/perf/sqlite/query.sql" query.sql

fetch zlib
z=deb/zlib
both minigzip -DZ_HAVE_UNISTD_H -I $z -- $z/test/minigzip.c $z/adler32.c $z/compress.c $z/crc32.c $z/deflate.c \
    $z/gzclose.c $z/gzlib.c $z/gzread.c $z/gzwrite.c $z/infback.c $z/inffast.c $z/inflate.c \
    $z/inftrees.c $z/trees.c $z/uncompr.c $z/zutil.c

fetch pcre2
p=deb/pcre2/src
[ -e $p/config.h ] || cp $p/config.h.generic $p/config.h
[ -e $p/pcre2.h ] || cp $p/pcre2.h.generic $p/pcre2.h
[ -e $p/pcre2_chartables.c ] || cp $p/pcre2_chartables.c.dist $p/pcre2_chartables.c
pcre2_files=()
for f in auto_possess chartables compile config context convert dfa_match error extuni \
    find_bracket maketables match match_data newline ord2utf pattern_info script_run \
    serialize string_utils study substitute substring tables ucd valid_utf xclass; do
    pcre2_files+=("$p/pcre2_$f.c")
done
both grep -DHAVE_CONFIG_H -DPCRE2_CODE_UNIT_WIDTH=8 -DPCRE2_STATIC -I $p -- "$here/grep.c" \
    "${pcre2_files[@]}"

fetch lua5.4
mapfile -t lua_files < <(ls deb/lua5.4/src/*.c | grep -v -e /luac.c -e /onelua.c)
# (setjmp/longjmp: zvm-cc, which is clang with the flags and library of
# README's "setjmp and longjmp")
wasm_cc=$build/zvm-cc both lua -DLUA_USE_C89 -- "${lua_files[@]}"

# CPython: the guest is the build's; natively the same source package by
# its own configure and make, -O2 as the guest (whose configure gets
# CFLAGS=-O2 from scripts/build-python.sh)
python=0
if [ -f "$build/guests/python.wasm" ]; then
    fetch python3.11
    if [ ! -x py-native/python ]; then
        echo "building python natively (configure && make, a few minutes) ..."
        mkdir -p py-native
        (cd py-native && CFLAGS=-O2 ../deb/python3.11/configure --disable-test-modules > configure.log &&
            make -j"$(nproc)" > make.log 2>&1) || { echo "$0: CPython's native build failed (py-native/*.log)" >&2; exit 1; }
    fi
    ln -sf py-native/python python
    ln -sf "$build/guests/python.wasm" python.wasm
    mkdir -p deb/python3.11/Lib/lib-dynload # (where node's Python looks for it)
    export NODE_WASI_DIRS=/usr/local/lib/python3.11=$work/deb/python3.11/Lib PYTHONHASHSEED=0
    python=1
else
    echo "python: $build/guests/python.wasm was not built (the guests target): not in this run"
fi

# binary input for zlib: the native builds, repeated to size
bin=bin.$lines
if [ ! -e "$bin" ]; then
    size=$(stat -c %s "$log")
    while [ "$(stat -c %s "$bin" 2> /dev/null || echo 0)" -lt "$size" ]; do
        cat sqlite lua grep minigzip >> "$bin"
    done
    truncate -s "$size" "$bin"
fi
./minigzip < "$log" > "$log.gz"

# ---- workloads ------------------------------------------------------------
# A workload: NAME, STDIN, PROGRAM (the native binary; PROGRAM.wasm) and
# its ARGS, the fields joined by $'\x1f' (patterns and code hold | and ;).
# `lua -e CODE` leaves arg unset, so a script's argument is set by an -e
# before it, and code goes with a space first (lua takes an -e argument
# that starts with - for an option).
fib=$([ $quick = 1 ] && echo 27 || echo 32)
rounds=$([ $quick = 1 ] && echo 2000 || echo 10000)
wl() { local IFS=$'\x1f'; workloads+=("$*"); }
workloads=()
wl "sqlite query mix" query.sql sqlite
wl "zlib compress log" "$log" minigzip
wl "zlib compress binary" "$bin" minigzip
wl "zlib decompress log" "$log.gz" minigzip -d
wl "pcre2 grep log" "$log" grep 'level=(ERROR|WARN) path=(/api/v[12]/\w+)/\d+ status=5'
wl "lua fib($fib)" /dev/null lua -e "arg = {'$fib'}" -e " $(cat "$here/fib.lua")"
wl "lua strings" /dev/null lua -e "arg = {'$rounds'}" -e " $(cat "$here/strings.lua")"
wl "lua log report" "$log" lua -e " $(cat "$here/report.lua")"
if [ $python = 1 ]; then
    wl "python fib($((fib - 3)))" /dev/null python -c "$(cat "$here/fib.py")" $((fib - 3))
    wl "python strings+json" /dev/null python -c "$(cat "$here/strings.py")" $((rounds / 5))
    wl "python log report" "$log" python -c "$(cat "$here/report.py")"
fi

# run_one KIND WORKLOAD OUT: one run, its wall ms on stdout
run_one() {
    local kind=$1 out=$3 name input prog t0 args=()
    IFS=$'\x1f' read -r -d '' -a args < <(printf '%s' "$2") || true # (code holds newlines)
    name=${args[0]} input=${args[1]} prog=${args[2]}
    args=("${args[@]:3}")
    t0=$(date +%s%N)
    case $kind in
    native) "./$prog" "${args[@]}" < "$input" > "$out" ;;
    zvm) "$zvm" run "$prog.wasm" "${args[@]}" < "$input" > "$out" ;;
    alt) "${alt[@]}" run "$prog.wasm" "${args[@]}" < "$input" > "$out" ;;
    node) "$node" --no-warnings --experimental-wasi-unstable-preview1 "$src/perf/node_run.mjs" \
        "$prog.wasm" "${args[@]}" < "$input" > "$out" ;;
    esac
    echo $(( ($(date +%s%N) - t0) / 1000000 ))
}

kinds=(native zvm)
alt=(env ${compare:+"$compare"} "${alt_zvm:-$zvm}") # the alt column: a variable, a binary or both
label=$compare${compare:+${alt_zvm:+, }}${alt_zvm:+zvm $alt_zvm}
[ -z "$label" ] || kinds+=(alt)
[ -n "$node" ] && kinds+=(node)
echo "warming zvm's cache (translate + gcc -O2, once per module) ..."
for prog in sqlite minigzip grep lua $([ $python = 1 ] && echo python); do
    "$zvm" compile "$prog.wasm" > /dev/null
    [ -z "$label" ] || "${alt[@]}" compile "$prog.wasm" > /dev/null
done
rm -f t_*.txt
for r in $(seq "$runs"); do
    for i in "${!workloads[@]}"; do
        for k in "${kinds[@]}"; do
            run_one "$k" "${workloads[$i]}" "out_${i}_$k.txt" >> "t_${i}_$k.txt"
            if [ "$k" != native ] && ! cmp -s "out_${i}_$k.txt" "out_${i}_native.txt"; then
                echo "$0: ${workloads[$i]%%$'\x1f'*}: $k's output differs from the native build's" >&2
                exit 1
            fi
        done
    done
done

printf '\n%-24s %10s %10s %10s %10s %10s' "workload (${stat/smallest/min} of $runs)" "native ms" "zvm ms" \
    "zvm/nat" "node ms" "node/nat"
[ -z "$label" ] || printf ' %10s  (with %s)' "alt/nat" "$label"
echo
for i in "${!workloads[@]}"; do
    nat=$($stat < "t_${i}_native.txt")
    z=$($stat < "t_${i}_zvm.txt")
    nd=$([ -n "$node" ] && $stat < "t_${i}_node.txt" || echo 0)
    a=$([ -n "$label" ] && $stat < "t_${i}_alt.txt" || echo 0)
    awk -v w="${workloads[$i]%%$'\x1f'*}" -v n="$nat" -v z="$z" -v d="$nd" -v a="$a" 'BEGIN {
        printf "%-24s %10.0f %10.0f %9.2fx", w, n, z, z / n
        if (d > 0) printf " %10.0f %9.2fx", d, d / n; else printf " %10s %10s", "-", "-"
        if (a > 0) printf " %9.2fx", a / n
        printf "\n" }'
done | tee table.txt
# the geomean of each ratio column (the last one is alt/nat with --compare or --alt-zvm)
awk -v alt=$([ -n "$label" ] && echo 1 || echo 0) '{ o = NF - alt
       zl += log($(o - 2) + 0); if ($o != "-") nl += log($o + 0); if (alt) al += log($NF + 0); k++ }
    END { printf "%-24s %10s %10s %9.2fx %10s", "geomean", "", "", exp(zl / k), ""
          if (nl != "") printf " %9.2fx", exp(nl / k); else printf " %10s", "-"
          if (al) printf " %9.2fx", exp(al / k)
          printf "\n" }' table.txt
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
