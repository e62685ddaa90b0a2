#!/usr/bin/env bash
# memo.sh — the start-up's remembered checks (engine/cache_memo.c): a
# module file's SHA-256 and a cache entry's mark come from a memo only
# while the file is unchanged. A memo is used (not rewritten) while it
# holds; a change to the file, in place with its mtime put back, or a
# memo edited to the file's new stamp without the key, makes the check
# run in full, and a planted entry is never loaded.
#
# Usage: memo.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
export ZVM_TIER=0 # gcc's entry from the first run: a rebuild happens in the run, not behind it

cp "$guests/hello.wasm" hello.wasm
"$zvm" compile hello.wasm > c.txt
entry=$(awk '{ print $3 }' c.txt)
ok=${entry%.so}.ok
srcs() { ls "$ZVM_CACHE" | grep -c '\.src$'; }
inode() { stat -c %i "$1"; }
touch hello.wasm "$entry" # (a ctime of now: the compile may have taken seconds)
"$zvm" run hello.wasm > out.txt
check "a file changed in the last 2 s gets no memo: [$(ls "$ZVM_CACHE" | tr '\n' ' ')]" \
    $([ "$(cat out.txt)" = "hello, world" ] && [ ! -e "$ok" ] && [ "$(srcs)" = 0 ]; echo $?)

sleep 3 # (memos are written for files whose ctime is 2 s old or more)
"$zvm" run hello.wasm > out.txt
check "an old enough file gets its memos: [$(ls "$ZVM_CACHE" | tr '\n' ' ')]" \
    $([ "$(cat out.txt)" = "hello, world" ] && [ -s "$ok" ] && [ "$(srcs)" = 1 ]; echo $?)
src=$(ls "$ZVM_CACHE"/*.src)
ok_ino=$(inode "$ok") src_ino=$(inode "$src")
"$zvm" run hello.wasm > out.txt
check "memos that hold are used, not written again" \
    $([ "$(cat out.txt)" = "hello, world" ] && [ "$(inode "$ok")" = "$ok_ino" ] &&
      [ "$(inode "$src")" = "$src_ino" ]; echo $?)

# a memo with one bit of its MAC flipped is not used: the full check
# runs and writes the same record again
cp "$ok" ok.saved
printf '\x01' | dd of="$ok" bs=1 seek=127 conv=notrunc status=none
"$zvm" run hello.wasm > out.txt
check "a memo that fails its MAC is replaced by the full check's" \
    $([ "$(cat out.txt)" = "hello, world" ] && cmp -s "$ok" ok.saved &&
      [ "$(inode "$ok")" != "$ok_ino" ]; echo $?)

# restamp FILE MEMO: MEMO's stamp set to FILE's stat now (what someone
# who may write the folder but has no key can do)
restamp() {
    local m c
    m=$(stat -c %.9Y "$1") c=$(stat -c %.9Z "$1")
    perl -e 'open(my $f, "+<", $ARGV[0]) or die; binmode $f; seek($f, 8, 0);
             print $f pack("Q<7", @ARGV[1..7]); close $f' "$2" \
        "$(stat -c %d "$1")" "$(stat -c %i "$1")" "$(stat -c %s "$1")" \
        "${m%.*}" "$((10#${m#*.}))" "${c%.*}" "$((10#${c#*.}))"
}

# the entry overwritten in place (same inode) by a planted object with a
# copied trailer, its mtime put back, the memo restamped to match
cat > evil.c <<'C'
#include <fcntl.h>
__attribute__((constructor)) static void planted(void) { creat(PWNED, 0644); }
C
cc -shared -fPIC -DPWNED="\"$tmp/pwned\"" -o evil.so evil.c
entry_ino=$(inode "$entry")
touch -r "$entry" entry.time
{ cat evil.so; tail -c 40 "$entry"; } > planted
cat planted > "$entry"
touch -r entry.time "$entry"
restamp "$entry" "$ok"
[ "$entry_ino" = "$(inode "$entry")" ] || fail "the planted entry is not the same file"
"$zvm" run hello.wasm > out.txt 2>&1
check "a planted entry (same inode, mtime back, memo restamped) is rebuilt, never loaded: $(cat out.txt)" \
    $([ ! -e "$tmp/pwned" ] && [ "$(cat out.txt)" = "hello, world" ] &&
      [ "$entry_ino" != "$(inode "$entry")" ]; echo $?)

# the module changed in place to print something else, same size and
# mtime: its new bytes are hashed, so the old entry does not run
sleep 3
"$zvm" run hello.wasm > /dev/null # (the memos again, for files 3 s old)
touch -r hello.wasm module.time
perl -pe 's/hello, world/HELLO, WORLD/' hello.wasm > changed.wasm
cat changed.wasm > hello.wasm
touch -r module.time hello.wasm
"$zvm" run hello.wasm > out.txt 2>&1
check "a module changed in place (same size and mtime) runs as changed: $(cat out.txt)" \
    $([ "$(cat out.txt)" = "HELLO, WORLD" ]; echo $?)
# and with its memo restamped to the changed file (the old hash kept)
sleep 3
"$zvm" run hello.wasm > /dev/null # (a memo of the changed bytes)
cp "$guests/hello.wasm" orig.wasm
touch -r hello.wasm module.time
cat orig.wasm > hello.wasm
touch -r module.time hello.wasm
restamp hello.wasm "$src"
"$zvm" run hello.wasm > out.txt 2>&1
check "a module memo restamped without the key is not used: $(cat out.txt)" \
    $([ "$(cat out.txt)" = "hello, world" ]; echo $?)

finish memo.sh
