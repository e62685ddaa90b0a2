#!/usr/bin/env bash
# build-python.sh OUT_DIR ZVM_CC SOURCE_DIR — the ready CPython 3.11 that
# `cmake --install` puts in share/zvm/guests (the target `guests` runs it
# through build-guests.sh; it also works by hand):
#   OUT_DIR/python.wasm      the interpreter, with a custom section
#                            `zvm.mount` saying "python3.11.tar
#                            /usr/local/lib/python3.11": zvm mounts that
#                            image, found beside the module, read-only
#                            there, so Python finds its standard library
#                            with no option (its compiled-in prefix is
#                            configure's default, /usr/local);
#   OUT_DIR/python3.11.tar   the standard library as a ustar image, its
#                            .pyc files precompiled by the build Python
#                            (the same magic number, checked) as
#                            unchecked-hash pycs: the image's times are the
#                            virtual clock's, so no source time is checked.
# Debian's python3.11 source package is fetched with scripts/apt-source.sh
# into OUT_DIR/src, and upstream's tree is cross-built unpatched by its own
# configure (--host=wasm32-unknown-wasi, upstream's
# Tools/wasm/config.site-wasm32-wasi; the modules that would link host
# libraries turned off), without debug info, with pymalloc as a native
# build has it (upstream turns it off for WASI; with it the suite's string
# and JSON work runs 10% faster, perf/README.md "CPython with pymalloc").
# Py_FinalizeEx is wrapped (-Wl,--wrap, guests/python/fast_exit.c): atexit
# handlers and the flush of sys.stdout/sys.stderr run, the teardown does not.
# A fetch that fails skips Python with a message and exits 0; no
# python3.11 to build with skips it too. Outputs newer than this script
# and fast_exit.c are kept (delete python.wasm to rebuild); configure runs
# again only when its command line changed.
# Cost: a 26 MB download, about 4 minutes of 2 cores, ~250 MB in OUT_DIR.
set -uo pipefail
[ $# = 3 ] || { echo "usage: build-python.sh OUT_DIR ZVM_CC SOURCE_DIR" >&2; exit 2; }
out=$(realpath -m "$1") cc=$(realpath "$2") src=$(realpath "$3")
pysrc=$out/src/python3.11 build=$out/python-build stage=$out/python3.11
guestdir=/usr/local/lib/python3.11
skip() { echo "zvm guests: python.wasm skipped: $*; the rest of zvm is built" >&2; exit 0; }
mkdir -p "$out" || exit 1
if [ -f "$out/python.wasm" ] && [ -f "$out/python3.11.tar" ] &&
   [ "$out/python.wasm" -nt "$src/scripts/build-python.sh" ] &&
   [ "$out/python.wasm" -nt "$src/guests/python/fast_exit.c" ]; then
    exit 0
fi
if [ ! -f "$pysrc/configure" ] &&
   ! bash "$src/scripts/apt-source.sh" python3.11 "$out/src" 2> "$out/python-fetch.log"; then
    skip "Debian's python3.11 source package could not be fetched ($(head -1 "$out/python-fetch.log"))"
fi
# The build Python: configure's --with-build-python, and the compiler of the
# image's .pyc files, which must carry the source's magic number.
magic=$(sed -n 's/^MAGIC_NUMBER = (\([0-9]*\)).*/\1/p' "$pysrc/Lib/importlib/_bootstrap_external.py")
py=""
for p in /usr/bin/python3.11 python3.11 python3; do
    p=$(command -v "$p") || continue
    [ "$("$p" -c 'import importlib.util as u; print(int.from_bytes(u.MAGIC_NUMBER[:2], "little"))' \
          2>/dev/null)" = "$magic" ] && { py=$p; break; }
done
[ -n "$py" ] || skip "no python3.11 with the source's bytecode (magic $magic) to build with"
objcopy=$(command -v llvm-objcopy-14 || command -v llvm-objcopy) || skip "no llvm-objcopy"

mkdir -p "$build" && cd "$build" || exit 1
touch "$pysrc/Modules/Setup.local" # (upstream's wasm_build.py does the same)
args=(-C --host=wasm32-unknown-wasi --build="$("$pysrc/config.guess")" --with-build-python="$py"
      --with-pymalloc --disable-test-modules PKG_CONFIG=false CC="$cc" AR=llvm-ar-14 RANLIB=llvm-ranlib-14
      OPT="-DNDEBUG -fwrapv -O2 -Wall"
      CFLAGS="-D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_GETPID"
      LDFLAGS="-lwasi-emulated-signal -lwasi-emulated-process-clocks -lwasi-emulated-getpid")
for m in zlib _lzma _uuid _crypt _bz2 _sqlite3 _ssl _hashlib _ctypes _dbm _gdbm _tkinter \
         readline _curses _curses_panel; do
    args+=("py_cv_module_$m=n/a")
done
if [ ! -f Makefile ] || [ "$(cat configure.args 2>/dev/null)" != "${args[*]}" ]; then
    rm -f config.cache
    CONFIG_SITE=$pysrc/Tools/wasm/config.site-wasm32-wasi "$pysrc/configure" "${args[@]}" \
        > "$out/python-configure.log" 2>&1 ||
        { echo "python: configure failed (see $out/python-configure.log)" >&2; exit 1; }
    make clean > /dev/null 2>&1 # (objects made with other flags would stay)
    echo "${args[*]}" > configure.args
fi
"$cc" -O2 -Wall -Wextra -Werror -I"$pysrc/Include" -I. -c "$src/guests/python/fast_exit.c" \
    -o fast_exit.o > "$out/python-make.log" 2>&1 &&
rm -f python.wasm &&
make -j2 LDFLAGS_NODIST="-Wl,--wrap=Py_FinalizeEx -Wl,--strip-debug $build/fast_exit.o" \
    >> "$out/python-make.log" 2>&1 ||
    { echo "python: make failed: $(grep -m1 'error' "$out/python-make.log")" >&2; exit 1; }

# The standard library image: Lib without its tests and what cannot work
# under WASI (no _ctypes, _sqlite3, _curses, _tkinter, processes, pip),
# plus the build's _sysconfigdata and a sitecustomize that stops caching
# bytecode (the image is read-only, and a record's writes are discarded).
rm -rf "$stage" && mkdir -p "$stage/lib-dynload" || exit 1
tar -C "$pysrc/Lib" -cf - --exclude=__pycache__ --exclude=./test --exclude=./idlelib \
    --exclude=./tkinter --exclude=./turtledemo --exclude=./ensurepip --exclude=./turtle.py \
    --exclude=./ctypes --exclude=./sqlite3 --exclude=./curses --exclude=./multiprocessing \
    --exclude=./venv --exclude=./msilib --exclude=./lib2to3/tests --exclude=./distutils/tests \
    --exclude=./unittest/test . | tar -C "$stage" -xf - &&
cp build/lib.wasi-wasm32-3.11/_sysconfigdata_*.py "$stage/" &&
cat > "$stage/sitecustomize.py" <<'EOF' &&
# zvm: this standard library is a read-only image with its .pyc files
# precompiled; a guest's own modules are not cached either (a sandbox's
# writes are discarded). Set sys.dont_write_bytecode = False to cache in a
# writable folder.
import sys
sys.dont_write_bytecode = True
EOF
"$py" -m compileall -q -j2 --invalidation-mode unchecked-hash -d "$guestdir" "$stage" \
    > "$out/python-compileall.log" 2>&1 ||
    { echo "python: compileall failed: $(head -3 "$out/python-compileall.log")" >&2; exit 1; }
tar -C "$stage" --format=ustar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -cf "$out/python3.11.tar.tmp" . ||
    { echo "python: the image could not be written" >&2; exit 1; }
printf 'python3.11.tar %s\n' "$guestdir" > mount.txt
"$objcopy" --add-section zvm.mount=mount.txt python.wasm "$out/python.wasm.tmp" ||
    { echo "python: $objcopy could not add the zvm.mount section" >&2; exit 1; }
mv "$out/python3.11.tar.tmp" "$out/python3.11.tar" && mv "$out/python.wasm.tmp" "$out/python.wasm"
echo "zvm guests: built $out/python.wasm ($(($(stat -c %s "$out/python.wasm") / 1024)) KiB) and" \
     "python3.11.tar ($(($(stat -c %s "$out/python3.11.tar") / 1024)) KiB) from" \
     "$(ls "$out"/src/python3.11_*.dsc | sed 's|.*/||')"
