#!/usr/bin/env bash
# lua.sh — stock Lua 5.4 under zvm (issue 28's goal): Debian's lua5.4
# source package, fetched at test time (scripts/apt-source.sh: a private
# apt state, the system's mirrors; nothing third-party is committed) and
# built in its src/ folder with the zvm-cc line of README.md, no patch
# (upstream's tree: Debian's patches make luaconf.h include a header its
# own build generates). tests/lua/*.lua (errors, pcall and xpcall,
# coroutines, stack overflows, tmpfile) must print what the same source
# built natively by gcc prints, run as sessions (zvm run MANIFEST, whose
# in-memory file system io.tmpfile uses) with gcc and tcc as zvm's C
# compiler. Both builds use LUA_USE_C89, so the native one has 64-bit
# integers where wasm32's long has 32: the scripts print nothing that
# depends on it. Without the source package (no network, no deb lines)
# the test is skipped (exit 77). About 25 s on one core.
#
# Usage: lua.sh ZVM GUEST_DIR BUILD_DIR SOURCE_DIR
zvm=$(realpath "$1") build=$(realpath "$3") src=$(realpath "$4")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

if ! bash "$src/scripts/apt-source.sh" lua5.4 "$tmp/deb" 2> fetch.log; then
    echo "lua: Debian's lua5.4 source package could not be fetched ($(head -1 fetch.log)); skipped"
    exit 77
fi
cd "$tmp/deb/lua5.4/src" || exit 1
export PATH="$build:$PATH" # zvm-cc as a user has it
zvm-cc -O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -DLUA_USE_C89 \
  $(ls *.c | grep -v luac.c) -lwasi-emulated-signal -lwasi-emulated-process-clocks \
  -Wl,-z,stack-size=1048576 -o "$tmp/lua.wasm" 2> "$tmp/cc.log"
last=$? # (a check's message runs commands: its status goes first)
check "stock Lua builds with README's zvm-cc line: $(grep -m2 -E 'error|warning' "$tmp/cc.log")" $last
gcc -O2 -DLUA_USE_C89 $(ls *.c | grep -v luac.c) -lm -o "$tmp/lua_native" 2> "$tmp/gcc.log"
last=$?
check "the same source builds natively: $(grep -m1 error "$tmp/gcc.log")" $last
cd "$tmp" || exit 1

for script in "$src"/tests/lua/*.lua; do
    name=$(basename "$script" .lua)
    ./lua_native - < "$script" > "$name.want" 2> "$name.want_err"
    echo "exit $?" >> "$name.want"
    cat "$name.want_err" >> "$name.want"
    for cc in gcc tcc; do
        cat > "$name.$cc.manifest" <<EOF
Version = 20130611
Program = $tmp/lua.wasm
Memory = 268435456, 0
Timeout = 60
Channel = $script, /dev/stdin, 0, 0, 1000000, 100000000, 0, 0
Channel = $tmp/$name.$cc.out, /dev/stdout, 0, 0, 0, 0, 1000000, 100000000
Channel = $tmp/$name.$cc.stderr, /dev/stderr, 0, 0, 0, 0, 1000000, 100000000
Args = lua -
EOF
        ZVM_TIER=0 ZVM_CC=$cc "$zvm" run "$name.$cc.manifest" > "$name.$cc.report" 2> "$name.$cc.err"
        echo "exit $(sed -n 3p "$name.$cc.report")" >> "$name.$cc.out"
        cat "$name.$cc.stderr" >> "$name.$cc.out"
        cmp -s "$name.$cc.out" "$name.want"
        last=$?
        check "$name.lua under zvm ($cc) prints what native Lua prints: $(head -2 "$name.$cc.err") $(diff "$name.$cc.out" "$name.want" | head -6)" $last
    done
done

finish lua
