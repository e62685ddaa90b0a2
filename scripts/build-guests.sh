#!/usr/bin/env bash
# build-guests.sh OUT_DIR ZVM_CC SOURCE_DIR — the ready interpreters that
# `cmake --install` puts in share/zvm/guests (the CMake target `guests`):
# Debian's lua5.4 source package, fetched with scripts/apt-source.sh into
# OUT_DIR/src (a private apt state, the system's mirrors; nothing
# third-party is committed), unpacked as upstream's tree (no patch) and
# built by zvm-cc as a user would into OUT_DIR/lua.wasm: the standalone
# interpreter (lua.c, so `-e`, `-` and script files work), with Lua's
# default 64-bit integers and floats, as the native lua5.4. No source is
# patched; lua.c is compiled with -Dlua_close=zvm_lua_close
# (guests/lua/lua_close.c: the state is closed with every finalizer, but
# its memory is not freed object by object, which was most of a record's
# time).
# A fetch that fails (no network, no deb lines) skips the guest with a
# message and exits 0: the rest of the build goes on. An existing
# lua.wasm newer than this script and lua_close.c is kept (delete it to
# rebuild).
# Cost: apt-get update and the download, then about 25 s of one core.
set -uo pipefail
[ $# = 3 ] || { echo "usage: build-guests.sh OUT_DIR ZVM_CC SOURCE_DIR" >&2; exit 2; }
out=$(realpath -m "$1") cc=$(realpath "$2") src=$(realpath "$3")
mkdir -p "$out" || exit 1
if [ -f "$out/lua.wasm" ] && [ "$out/lua.wasm" -nt "$src/scripts/build-guests.sh" ] &&
   [ "$out/lua.wasm" -nt "$src/guests/lua/lua_close.c" ]; then
    exit 0
fi
if [ ! -f "$out/src/lua5.4/src/lua.c" ] &&
   ! bash "$src/scripts/apt-source.sh" lua5.4 "$out/src" 2> "$out/fetch.log"; then
    echo "zvm guests: lua.wasm skipped: Debian's lua5.4 source package could not be fetched" \
         "($(head -1 "$out/fetch.log")); the rest of zvm is built" >&2
    exit 0
fi
cd "$out/src/lua5.4/src" || exit 1
# signal() and clock() are wasi-libc's emulations; a 1 MiB stack for
# Lua's C recursion (LUAI_MAXCCALLS 200 levels of the parser and calls)
"$cc" -O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -Dlua_close=zvm_lua_close \
    -c lua.c -o "$out/lua.o" 2> "$out/cc.log" &&
"$cc" -O2 -I. -c "$src/guests/lua/lua_close.c" -o "$out/lua_close.o" 2>> "$out/cc.log" &&
"$cc" -O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS \
    $(ls *.c | grep -v -x -e luac.c -e lua.c) "$out/lua.o" "$out/lua_close.o" \
    -lwasi-emulated-signal -lwasi-emulated-process-clocks \
    -Wl,-z,stack-size=1048576 -o "$out/lua.wasm.tmp" 2>> "$out/cc.log" ||
    { echo "zvm guests: lua.wasm failed to build: $(grep -m1 error "$out/cc.log")" >&2; exit 1; }
mv "$out/lua.wasm.tmp" "$out/lua.wasm"
echo "zvm guests: built $out/lua.wasm from $(ls "$out"/src/lua5.4_*.dsc | sed 's|.*/||')"
