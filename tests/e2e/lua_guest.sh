#!/usr/bin/env bash
# lua_guest.sh — the installed Lua (issue 24): build/guests/lua.wasm, made
# by the target `guests` from Debian's lua5.4 source package
# (scripts/build-guests.sh), runs with no other option: `zvm run lua.wasm
# -e 'print(1+1)'` prints 2 and nothing else. Its oracle is Debian's
# native lua5.4 (the package; scripts/deps.sh installs it), else the same
# source built natively by gcc (stock lua.c, Lua's default 64-bit
# integers): every script of tests/lua/ and tests/lua/int64/ prints the
# same bytes, exit status and stderr as a session (`zvm run MANIFEST`,
# whose in-memory files io.tmpfile uses; with finalizers at
# exit: tests/lua/int64/close.lua), and so do errors and os.exit. Then
# the log filter examples/lua/filter.lua under `zvm batch --snapshot
# first-read` with the script from a read-only --dir keeps what grep
# keeps, with the same bytes as --snapshot off, and starts its records
# from the fork point. Skipped (77) when the guest was not built (no
# network at build time, or -DZVM_GUESTS=OFF).
#
# Usage: lua_guest.sh ZVM GUEST_DIR BUILD_DIR SOURCE_DIR
zvm=$(realpath "$1") build=$(realpath "$3") src=$(realpath "$4")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
lua=$build/guests/lua.wasm luasrc=$build/guests/src/lua5.4/src
if [ ! -f "$lua" ] || [ ! -d "$luasrc" ]; then
    echo "lua_guest: $lua was not built (see the guests target's message); skipped"
    exit 77
fi

out=$("$zvm" run "$lua" -e 'print(1+1)' 2> err.txt)
last=$?
[ $last = 0 ] && [ "$out" = 2 ] && [ ! -s err.txt ]
st=$?
check "zvm run lua.wasm -e 'print(1+1)' prints 2 alone: status $last, '$out', $(cat err.txt)" $st

if command -v lua5.4 > /dev/null; then
    ln -s "$(command -v lua5.4)" lua_native
    echo "lua_guest: the oracle is Debian's $(lua5.4 -v)"
else
    (cd "$luasrc" && gcc -O2 $(ls *.c | grep -v -x luac.c) -lm -o "$tmp/lua_native") 2> gcc.log
    last=$?
    check "the same source builds natively: $(grep -m1 error gcc.log)" $last
    echo "lua_guest: no lua5.4 installed: the oracle is the same source built by gcc"
fi
for script in "$src"/tests/lua/*.lua "$src"/tests/lua/int64/*.lua; do
    name=$(basename "$script" .lua)
    ./lua_native - < "$script" > "$name.want" 2> "$name.want_err"
    echo "exit $?" >> "$name.want"
    sed 's/^[^:]*lua_native:/lua:/' "$name.want_err" >> "$name.want"
    cat > "$name.manifest" <<EOF2
Version = 20130611
Program = $lua
Memory = 268435456, 0
Timeout = 60
Channel = $script, /dev/stdin, 0, 0, 1000000, 100000000, 0, 0
Channel = $tmp/$name.got, /dev/stdout, 0, 0, 0, 0, 1000000, 100000000
Channel = $tmp/$name.got_err, /dev/stderr, 0, 0, 0, 0, 1000000, 100000000
Args = lua -
EOF2
    "$zvm" run "$name.manifest" > "$name.report" 2> "$name.zvm_err" # (io.tmpfile: a session's files)
    echo "exit $(sed -n 3p "$name.report")" >> "$name.got"
    sed 's/^[^:]*lua.wasm:/lua:/' "$name.got_err" >> "$name.got"
    cmp -s "$name.got" "$name.want"
    last=$?
    check "$name.lua: lua.wasm prints what native Lua prints: $(diff "$name.got" "$name.want" | head -6)" $last
done
grep -q '^finalized at exit$' close.got
st=$?
check "finalizers run at exit: $(cat close.got)" $st

for prog in 'os.exit(3)' 'os.exit(false)' 'error("boom")' 'io.stderr:write("e\n") os.exit(true)'; do
    ./lua_native -e "$prog" > want.txt 2>&1
    echo "exit $?" >> want.txt
    "$zvm" run "$lua" -e "$prog" > got.txt 2>&1
    echo "exit $?" >> got.txt
    sed -i 's/^[^:]*lua_native:/lua:/; s/^[^:]*lua.wasm:/lua:/' want.txt got.txt
    cmp -s got.txt want.txt
    st=$?
    check "lua -e '$prog' ends as natively: $(diff got.txt want.txt | head -4)" $st
done

# the log filter of README, per record
mkdir filters && cp "$src/examples/lua/filter.lua" filters/
for mode in off first-read; do
    "$zvm" batch --module "$lua" --dir "$tmp/filters::/filters" --arg /filters/filter.lua \
        --arg ERROR --snapshot $mode --input "$src/examples/sample.log" --output "f.$mode" \
        --errors "f.$mode.err" --workers 2 --stats json 2> "f.$mode.sum"
    echo "status $?" >> "f.$mode"
done
{ grep ERROR "$src/examples/sample.log"; echo "status 0"; } | cmp -s - f.first-read
st=$?
check "filter.lua keeps the lines grep keeps: $(head -3 f.first-read) $(head -3 f.first-read.err)" $st
cmp -s f.off f.first-read && cmp -s f.off.err f.first-read.err
st=$?
check "first-read gives off's bytes: $(diff f.off f.first-read | head -4)" $st
grep -q '"start": "fork point"' f.first-read.sum
st=$?
check "its records start from the fork point: $(cat f.first-read.sum)" $st

finish lua_guest
