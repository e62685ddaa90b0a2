#!/usr/bin/env bash
# build-python.sh OUT_DIR ZVM_CC SOURCE_DIR — CPython 3.11 for zvm, by hand
# (not yet part of the target `guests`: issue 24 has what remains):
# Debian's python3.11 source package through scripts/apt-source.sh,
# upstream's tree unpatched, cross-built with zvm-cc by its own configure
# (--host=wasm32-unknown-wasi, upstream's Tools/wasm/config.site-wasm32-wasi;
# the modules that would link host libraries turned off) into
# OUT_DIR/python.wasm, and its standard library copied to
# OUT_DIR/python3.11 (with an empty lib-dynload). Run it as
#   zvm run --dir OUT_DIR/python3.11::/usr/local/lib/python3.11:ro \
#       OUT_DIR/python.wasm -c 'print(1+1)'
# Needs a python3.11 on PATH (the build Python). About 3.5 minutes on 2
# cores, and gcc takes about 4 more over the 20 MB module at its first run.
set -uo pipefail
[ $# = 3 ] || { echo "usage: build-python.sh OUT_DIR ZVM_CC SOURCE_DIR" >&2; exit 2; }
out=$(realpath -m "$1") cc=$(realpath "$2") src=$(realpath "$3")
pysrc=$out/src/python3.11 build=$out/python-build
mkdir -p "$out" || exit 1
if [ ! -f "$pysrc/configure" ] &&
   ! bash "$src/scripts/apt-source.sh" python3.11 "$out/src" 2> "$out/python-fetch.log"; then
    echo "python: Debian's python3.11 source could not be fetched: $(head -1 "$out/python-fetch.log")" >&2
    exit 1
fi
py=$(command -v python3.11 || command -v python3)
mkdir -p "$build" && cd "$build" || exit 1
touch "$pysrc/Modules/Setup.local" # (upstream's wasm_build.py does the same)
no=""
for m in zlib _lzma _uuid _crypt _bz2 _sqlite3 _ssl _hashlib _ctypes _dbm _gdbm _tkinter \
         readline _curses _curses_panel; do
    no="$no py_cv_module_$m=n/a"
done
# shellcheck disable=SC2086
CONFIG_SITE=$pysrc/Tools/wasm/config.site-wasm32-wasi "$pysrc/configure" -C \
    --host=wasm32-unknown-wasi --build="$("$pysrc/config.guess")" --with-build-python="$py" \
    --disable-test-modules PKG_CONFIG=false $no CC="$cc" AR=llvm-ar-14 RANLIB=llvm-ranlib-14 \
    CFLAGS="-O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_GETPID" \
    LDFLAGS="-lwasi-emulated-signal -lwasi-emulated-process-clocks -lwasi-emulated-getpid" \
    > "$out/python-configure.log" 2>&1 ||
    { echo "python: configure failed (see $out/python-configure.log)" >&2; exit 1; }
make -j2 > "$out/python-make.log" 2>&1 ||
    { echo "python: make failed: $(grep -m1 'error:' "$out/python-make.log")" >&2; exit 1; }
cp python.wasm "$out/python.wasm" || exit 1
rm -rf "$out/python3.11" && cp -r "$pysrc/Lib" "$out/python3.11" && mkdir -p "$out/python3.11/lib-dynload"
echo "python: built $out/python.wasm; its standard library is $out/python3.11"
