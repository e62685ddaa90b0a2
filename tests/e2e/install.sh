#!/usr/bin/env bash
# install.sh — the installed tree, as a packager or an embedder gets it:
# `cmake --install` into a scratch prefix, then README's "Installing and
# linking" commands, each checked to be in README.md word for word and run
# as written there: the examples copied out of share/zvm/examples, a guest
# built with the installed zvm-cc and run by the installed zvm (batch and
# job), setjmp/longjmp and C++ guests built by the installed zvm-cc and
# zvm-c++, the embedding example linked through pkg-config shared (run with
# LD_LIBRARY_PATH, then with an rpath) and fully static, and run. Also:
# one version in zvm_version(), zvm.pc and the soname; zvm.pc's Cflags
# name zvm's headers only; the shared library exports only the zvm_* API;
# zvm execs the zvm-pool beside it.
#
# Usage: install.sh BUILD_DIR SOURCE_DIR GUEST_DIR
build=$(realpath "$1") src=$(realpath "$2") guests=$(realpath "$3")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
# A check's message may run commands, so its status is saved first (ok).
# readme CMD [ARGS...]: CMD appears in README.md word for word; run it
# (with ARGS) as a shell would. Sets last to its status. Its failure goes
# to the test's stderr (3), whatever the caller redirects.
exec 3>&2
readme() {
    grep -qF -- "$1" "$src/README.md"
    check "README.md shows the command line: $1" $? 2>&3
    local cmd=$1
    shift
    [ $# = 0 ] || cmd+=$(printf ' %q' "$@")
    eval "$cmd"
    last=$?
}

P=$tmp/prefix
cmake --install "$build" --prefix "$P" >install.log 2>&1
last=$?; check "cmake --install: $(tail -3 install.log)" $last
for f in bin/zvm bin/zvm-cc bin/zvm-c++ bin/zvm-bench include/zvm/zvm.h include/zvm/guest.h \
         include/zvm/wasm32-wasi/setjmp.h include/zvm/wasm32-wasi/stdio.h \
         lib/wasm32-wasi/libzvm-guest.a share/man/man1/zvm.1 share/man/man1/zvm-batch.1 \
         share/man/man1/zvm-bench.1; do
    [ -e "$P/$f" ]; check "installed $f" $?
done
readme 'export PATH="$P/bin:$PATH" PKG_CONFIG_PATH="$P/lib/pkgconfig"'
pkg-config --exists zvm; check "pkg-config finds zvm ($PKG_CONFIG_PATH)" $?
libdir=$(pkg-config --variable=libdir zvm)
[ -e "$libdir/libzvm.a" ] && [ -e "$libdir/libzvm.so" ]
check "shared and static libraries in pkg-config's libdir ($libdir)" $?

# zvm.pc: Cflags name zvm's headers and nothing else (zvm.h includes only
# the C library's); a static link gets every library it needs, -lm after
# jemalloc, which needs it.
cflags=$(pkg-config --cflags zvm)
read -ra words <<< "$cflags"
[ ${#words[@]} = 1 ] && [ "$(realpath "${words[0]#-I}")" = "$(realpath "$P/include")" ]
check "pkg-config --cflags zvm is -I PREFIX/include only: [$cflags]" $?
libs=$(pkg-config --static --libs zvm)
[[ " $libs " == *" -ljemalloc "*" -lm "* ]] && [[ " $libs " == *" -luring "* ]] &&
    [[ " $libs " == *" -lhiredis "* ]]
check "pkg-config --static --libs zvm: uring, hiredis, jemalloc, then -lm: [$libs]" $?

# The examples, from the installed tree alone.
ex=$P/share/zvm/examples
for f in logfilter.c logfilter.wasm embed_filter.c sample.log queue_filter/run.sh \
         wordcount/wordcount.json wordcount/wordcount.h wordcount/map.c wordcount/reduce.c \
         wordcount/merge.c wordcount/text/1-arrival.txt grep-pipeline/grep.json \
         grep-pipeline/peers.h grep-pipeline/split.c grep-pipeline/filter.c grep-pipeline/count.c \
         grep-pipeline/sample.log; do
    [ -e "$ex/$f" ]; check "installed share/zvm/examples/$f" $?
done
readme 'cp -r "$P/share/zvm/examples" zvm-examples && cd zvm-examples'
rm -f logfilter.wasm # built again below, by the installed zvm-cc
readme 'zvm-cc -O2 -o logfilter.wasm logfilter.c' 2>cc.log
check "the installed zvm-cc builds logfilter.c: $(head -3 cc.log)" $last
readme 'zvm batch --module logfilter.wasm --input sample.log --output errors-only.log' 2>batch.err
grep ERROR sample.log | cmp -s - errors-only.log
ok=$?; check "the installed zvm batch keeps the ERROR lines: status $last, $(head -2 batch.err)" $ok
readme 'for s in map reduce merge; do zvm-cc -O2 -o wordcount/$s.wasm wordcount/$s.c; done'
check "the word count's stages build with zvm-cc" $last
readme 'zvm job wordcount/wordcount.json' >job.out 2>job.err
(cd wordcount && cat text/*.txt | tr -s ' ' '\n' | grep -v '^$' | LC_ALL=C sort | uniq -c) > wc_ref.txt
cmp -s wc_ref.txt wordcount/out/counts.txt
ok=$?; check "the installed word count job: status $last, $(tail -1 job.err)" $ok
for s in split filter count; do
    zvm-cc -O2 -o grep-pipeline/$s.wasm grep-pipeline/$s.c || fail "zvm-cc grep-pipeline/$s.c"
done
zvm job grep-pipeline/grep.json >/dev/null 2>job.err
[ "$(tail -1 grep-pipeline/out/counts.txt)" = "total $(grep -c ERROR sample.log)" ]
ok=$?; check "the installed grep pipeline job: $(tail -1 grep-pipeline/out/counts.txt 2>&1) $(tail -1 job.err)" $ok
if command -v redis-server >/dev/null; then
    bash "$ex/queue_filter/run.sh" >queue.out 2>&1
    grep -q "== 34 lines kept in {logs}:out, 0 errors" queue.out
    ok=$?; check "the installed queue_filter/run.sh: $(tail -3 queue.out)" $ok
fi

# The embedding example through pkg-config: shared, run with
# LD_LIBRARY_PATH, then with the library's folder as the program's rpath;
# then fully static. Each keeps the ERROR lines, in order.
readme 'cp embed_filter.c app.c'
grep ERROR sample.log > kept.ref
readme 'cc app.c $(pkg-config --cflags --libs zvm)' 2>cc.log
check "embed_filter links with the shared libzvm: $(head -3 cc.log)" $last
./a.out logfilter.wasm < sample.log >/dev/null 2>&1
[ $? != 0 ]; check "without LD_LIBRARY_PATH or an rpath, libzvm.so is not found" $?
readme 'LD_LIBRARY_PATH=$(pkg-config --variable=libdir zvm) ./a.out' logfilter.wasm \
    < sample.log > kept.log 2>err.log
cmp -s kept.ref kept.log
ok=$?; check "shared embed_filter with LD_LIBRARY_PATH: status $last, $(head -3 err.log)" $ok
# A guest that traps on some lines: reported on stderr by line number.
printf 'one\nTRAP two\nthree\n' > mixed.txt
LD_LIBRARY_PATH=$libdir ./a.out "$guests/records.wasm" < mixed.txt > mixed.out 2>mixed.err
[ "$(cat mixed.out)" = $'ONE\nTHREE' ] && grep -q "line 2: unreachable" mixed.err
ok=$?; check "trapped records reported on stderr: [$(cat mixed.out)] [$(cat mixed.err)]" $ok
readme 'cc app.c $(pkg-config --cflags --libs zvm) -Wl,-rpath,$(pkg-config --variable=libdir zvm)' \
    2>cc.log
check "embed_filter links with an rpath: $(head -3 cc.log)" $last
readme './a.out' logfilter.wasm < sample.log > kept.log 2>err.log
cmp -s kept.ref kept.log
ok=$?; check "shared embed_filter with an rpath, no LD_LIBRARY_PATH: status $last, $(head -3 err.log)" $ok
readme 'cc -static app.c $(pkg-config --cflags zvm) $(pkg-config --static --libs zvm)' 2>cc.log
check "embed_filter links statically: $(grep -v "warning: Using 'dlopen'" cc.log | head -3)" $last
! readelf -d a.out | grep -q NEEDED
ok=$?; check "the static embed_filter needs no shared library: $(readelf -d a.out | grep NEEDED)" $ok
./a.out logfilter.wasm < sample.log > kept.log 2>err.log
last=$?; cmp -s kept.ref kept.log
ok=$?; check "static embed_filter: status $last, $(head -3 err.log)" $ok
./a.out "$guests/records.wasm" < mixed.txt > mixed.out 2>mixed.err
[ "$(cat mixed.out)" = $'ONE\nTHREE' ] && grep -q "line 2: unreachable" mixed.err
ok=$?; check "static embed_filter: trapped records reported: [$(cat mixed.out)] [$(cat mixed.err)]" $ok

# One version: zvm_version() (shared and static), zvm.pc's, the library's
# file name and its soname (libzvm.so.MAJOR, libzvm.so.0.MINOR before 1.0).
version=$(pkg-config --modversion zvm)
cat > version.c <<'C'
#include <zvm/zvm.h>
#include <stdio.h>
int main(void) { puts(zvm_version()); return 0; }
C
cc -o version version.c $(pkg-config --cflags --libs zvm) -Wl,-rpath,"$libdir" &&
    [ "$(./version)" = "$version" ]
ok=$?; check "zvm_version() of libzvm.so is zvm.pc's $version: $(./version 2>&1)" $ok
cc -static -o version_static version.c $(pkg-config --cflags zvm) \
    $(pkg-config --static --libs zvm) 2>/dev/null && [ "$(./version_static)" = "$version" ]
ok=$?; check "zvm_version() of libzvm.a is zvm.pc's $version: $(./version_static 2>&1)" $ok
major=${version%%.*} rest=${version#*.}
want=libzvm.so.$major
[ "$major" != 0 ] || want=libzvm.so.0.${rest%%.*}
soname=$(readelf -d "$libdir/libzvm.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "$want" ] && [ -e "$libdir/$soname" ] && [ -e "$libdir/libzvm.so.$version" ]
check "soname $soname for version $version (want $want, and libzvm.so.$version)" $?
zvm --version > version.out 2>&1 && {
    [[ "$(head -1 version.out)" == "zvm $version"* ]]
    ok=$?; check "zvm --version says $version: $(head -1 version.out)" $ok
}

# The exported symbols of the shared library: the API and nothing else.
others=$(nm -D --defined-only "$libdir/libzvm.so" | awk '$2 ~ /[TDBR]/ && $3 !~ /^zvm_/ { print $3 }')
[ -z "$others" ]; check "libzvm.so exports only zvm_*: [$others]" $?
nm -D --defined-only "$libdir/libzvm.so" | grep -q ' T zvm_version$'
check "libzvm.so exports zvm_version" $?

# zvm-cc from the prefix: guest.h is found there.
cat > guest.c <<'G'
#include <zvm/guest.h>
#include <stdio.h>
int main(void) { printf("%d channels\n", MANIFEST ? MANIFEST->channels_count : -1); return 0; }
G
zvm-cc -O2 -o guest.wasm guest.c 2>cc3.log
ok=$?; check "installed zvm-cc builds a guest with zvm/guest.h: $(head -3 cc3.log)" $ok
[ "$(zvm run guest.wasm)" = "3 channels" ]; check "that guest runs" $?
# setjmp/longjmp and C++ from the prefix alone (the headers and the support
# library beside the installed zvm-cc, issue 28)
zvm-cc -O2 -o sjlj.wasm "$src/tests/guests/sjlj.c" -Wl,-z,stack-size=8388608 2>cc4.log
ok=$?; check "installed zvm-cc builds setjmp/longjmp: $(head -3 cc4.log)" $ok
zvm run sjlj.wasm | tail -1 | grep -qx done; check "that guest runs" $?
zvm-c++ -O2 -o stl.wasm "$src/tests/guests/stl.cpp" 2>cc5.log
ok=$?; check "installed zvm-c++ builds C++17: $(head -3 cc5.log)" $ok
zvm run stl.wasm | tail -1 | grep -q "longjmp through C++ frames: 17"; check "that guest runs" $?

# The pool commands run in zvm-pool (jemalloc, an arena per worker), which
# zvm execs from its own folder; zvm itself has no jemalloc (CMakeLists.txt).
if [ -e "$build/zvm-pool" ]; then
    [ -x "$P/bin/zvm-pool" ]; check "installed bin/zvm-pool" $?
    nm "$P/bin/zvm" > zvm.nm; nm "$P/bin/zvm-pool" > pool.nm
    ! grep -q mallctl zvm.nm && grep -q mallctl pool.nm
    check "jemalloc is in zvm-pool only" $?
    ln -s "$P/bin/zvm" zvm_link # through a link, as from a PATH folder
    ./zvm_link batch --module logfilter.wasm --input sample.log --output batch.out 2>batch.err
    last=$?
    cmp -s kept.ref batch.out
    ok=$?; check "installed zvm batch runs in zvm-pool: status $last, $(head -2 batch.err)" $ok
    mkdir alone && cp "$P/bin/zvm" alone/
    alone/zvm batch --module logfilter.wasm --input sample.log --output alone.out 2>alone.err
    last=$?
    grep -q "cannot start $PWD/alone/zvm-pool, which runs the pool commands" alone.err
    check "zvm without zvm-pool: exit 2 and why ($last: $(cat alone.err))" $([ $? = 0 ] && [ $last = 2 ]; echo $?)
fi

# the ready Lua (target guests), when the build could fetch its source
if [ -f "$build/guests/lua.wasm" ]; then
    out=$("$P/bin/zvm" run "$P/share/zvm/guests/lua.wasm" -e 'print(1+1)' 2>&1)
    last=$?
    check "zvm run PREFIX/share/zvm/guests/lua.wasm -e 'print(1+1)' prints 2: $last, $out" \
        $([ $last = 0 ] && [ "$out" = 2 ]; echo $?)
    ex=$P/share/zvm/examples
    "$P/bin/zvm" batch --module "$P/share/zvm/guests/lua.wasm" --dir "$ex/lua::/filters" \
        --arg /filters/filter.lua --arg ERROR --snapshot first-read --input "$ex/sample.log" \
        --output lua_errors.log 2> lua_batch.err
    last=$?
    grep ERROR "$ex/sample.log" | cmp -s - lua_errors.log
    st=$?
    check "the installed Lua filter (PREFIX/share/zvm/examples/lua) keeps grep's lines: $last $(head -3 lua_batch.err)" $st
fi
# the ready CPython: the module and, beside it, the image its zvm.mount
# section names (tests/e2e/python_guest.sh runs them)
if [ -f "$build/guests/python.wasm" ]; then
    cmp -s "$P/share/zvm/guests/python.wasm" "$build/guests/python.wasm" &&
        cmp -s "$P/share/zvm/guests/python3.11.tar" "$build/guests/python3.11.tar"
    check "python.wasm and python3.11.tar installed side by side in PREFIX/share/zvm/guests" $?
    cmp -s "$P/share/zvm/examples/python/filter.py" "$src/examples/python/filter.py"
    check "and README's Python filter in PREFIX/share/zvm/examples/python" $?
fi

finish install.sh
