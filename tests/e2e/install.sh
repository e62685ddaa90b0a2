#!/usr/bin/env bash
# install.sh — the installed tree, as a packager or an embedder gets it:
# `cmake --install` into a scratch prefix, then examples/embed_filter.c
# built against it through pkg-config (shared, then static) and run as the
# log filter behind a queue; zvm-cc from the prefix builds a guest that
# uses zvm/guest.h; the shared library exports only the zvm_* API.
#
# Usage: install.sh BUILD_DIR SOURCE_DIR GUEST_DIR
build=$(realpath "$1") src=$(realpath "$2") guests=$(realpath "$3")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >install.log 2>&1
last=$?; check "cmake --install: $(tail -3 install.log)" $last
for f in bin/zvm bin/zvm-cc bin/zvm-bench include/zvm/zvm.h include/zvm/guest.h; do
    [ -e "$prefix/$f" ]; check "installed $f" $?
done
pc=$(dirname "$(find "$prefix" -name zvm.pc | head -1)")
libdir=$(dirname "$(find "$prefix" -name 'libzvm.so' | head -1)")
export PKG_CONFIG_PATH=$pc
pkg-config --exists zvm; check "pkg-config finds zvm ($pc)" $?
[ -e "$libdir/libzvm.a" ]; check "static library installed" $?

# The exported symbols of the shared library: the API and nothing else.
others=$(nm -D --defined-only "$libdir/libzvm.so" | awk '$2 ~ /[TDBR]/ && $3 !~ /^zvm_/ { print $3 }')
[ -z "$others" ]; check "libzvm.so exports only zvm_*: [$others]" $?

# embed_filter, shared: the kept lines in order.
cc -O2 -o embed_filter "$src/examples/embed_filter.c" $(pkg-config --cflags --libs zvm) -lpthread \
    2>cc.log
last=$?; check "embed_filter builds from the installed tree: $(head -3 cc.log)" $last
LD_LIBRARY_PATH=$libdir ./embed_filter "$build/examples/logfilter.wasm" \
    < "$src/examples/sample.log" > kept.log 2>err.log
last=$?; check "embed_filter exits 0: $(head -3 err.log)" $last
grep ERROR "$src/examples/sample.log" | cmp -s - kept.log
check "embed_filter prints the ERROR lines, in order" $?

# A guest that traps on some lines: reported on stderr by line number.
printf 'one\nTRAP two\nthree\n' > mixed.txt
LD_LIBRARY_PATH=$libdir ./embed_filter "$guests/records.wasm" < mixed.txt > mixed.out 2>mixed.err
[ "$(cat mixed.out)" = $'ONE\nTHREE' ] && grep -q "line 2: unreachable" mixed.err
last=$?; check "trapped records reported on stderr: [$(cat mixed.out)] [$(cat mixed.err)]" $last

# embed_filter with the static libzvm (its dependencies stay shared: Debian
# ships no static libudev for hwloc's).
cc -O2 -o embed_static "$src/examples/embed_filter.c" $(pkg-config --cflags zvm) \
    "$(pkg-config --variable=libdir zvm)/libzvm.a" \
    $(pkg-config --libs liburing hwloc jemalloc) -lpthread -ldl -lm 2>cc2.log
last=$?; check "embed_filter links statically: $(head -3 cc2.log)" $last
./embed_static "$build/examples/logfilter.wasm" < "$src/examples/sample.log" > kept2.log 2>/dev/null
cmp -s kept.log kept2.log; check "static embed_filter gives the same lines" $?

# zvm-cc from the prefix: guest.h is found there.
cat > guest.c <<'G'
#include <zvm/guest.h>
#include <stdio.h>
int main(void) { printf("%d channels\n", MANIFEST ? MANIFEST->channels_count : -1); return 0; }
G
"$prefix/bin/zvm-cc" -O2 -o guest.wasm guest.c 2>cc3.log
last=$?; check "installed zvm-cc builds a guest with zvm/guest.h: $(head -3 cc3.log)" $last
[ "$("$prefix/bin/zvm" run guest.wasm)" = "3 channels" ]; check "that guest runs" $?

# The pool commands run in zvm-pool (jemalloc, an arena per worker), which
# zvm execs from its own folder; zvm itself has no jemalloc (CMakeLists.txt).
if [ -e "$build/zvm-pool" ]; then
    [ -x "$prefix/bin/zvm-pool" ]; check "installed bin/zvm-pool" $?
    nm "$prefix/bin/zvm" > zvm.nm; nm "$prefix/bin/zvm-pool" > pool.nm
    ! grep -q mallctl zvm.nm && grep -q mallctl pool.nm
    check "jemalloc is in zvm-pool only" $?
    ln -s "$prefix/bin/zvm" zvm_link # through a link, as from a PATH folder
    ./zvm_link batch --module "$build/examples/logfilter.wasm" --input "$src/examples/sample.log" \
        --output batch.out 2>batch.err
    last=$?
    grep ERROR "$src/examples/sample.log" | cmp -s - batch.out
    check "installed zvm batch runs in zvm-pool: status $last, $(head -2 batch.err)" $?
    mkdir alone && cp "$prefix/bin/zvm" alone/
    alone/zvm batch --module "$build/examples/logfilter.wasm" --input "$src/examples/sample.log" \
        --output alone.out 2>alone.err
    last=$?
    grep -q "cannot start $tmp/alone/zvm-pool, which runs the pool commands" alone.err
    check "zvm without zvm-pool: exit 2 and why ($last: $(cat alone.err))" $([ $? = 0 ] && [ $last = 2 ]; echo $?)
fi

finish install.sh
