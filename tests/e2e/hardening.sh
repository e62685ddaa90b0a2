#!/usr/bin/env bash
# hardening.sh — regression tests for the adversarial review's findings
# (issue 15), one block per finding, each with a hostile guest written in
# the text format: what an attacker did, and what must happen instead.
#
# Usage: hardening.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
command -v wat2wasm >/dev/null || { echo "hardening.sh: wat2wasm missing: skipped"; exit 77; }
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
wat() { wat2wasm "$1.wat" -o "$1.wasm" || fail "wat2wasm $1"; } # wat NAME

manifest() { # manifest FILE PROGRAM MEMORY TIMEOUT STDOUT_TYPE [EXTRA CHANNEL LINE]
    cat > "$1" <<EOF
Version = 20130611
Program = $2
Memory = $3, 0
Timeout = $4
Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = out.txt, /dev/stdout, $5, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
EOF
    [ -z "${6:-}" ] || echo "$6" >> "$1"
}
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- 1: a planted cache entry ran as native code -----------------------------------
export ZVM_CACHE=$tmp/cache1
"$zvm" compile "$guests/hello.wasm" > c.txt
entry=$(awk '{ print $3 }' c.txt)
cat > evil.c <<'C'
#include <fcntl.h>
__attribute__((constructor)) static void planted(void) { creat(PWNED, 0644); }
C
cc -shared -fPIC -DPWNED="\"$tmp/pwned\"" -o evil.so evil.c
# the old trailer: "ZVMCACHE" and the plain SHA-256 of the object
{ cat evil.so; printf 'ZVMCACHE'; printf "$(sha256sum evil.so | cut -c1-64 | sed 's/../\\x&/g')"; } > "$entry"
"$zvm" run "$guests/hello.wasm" > out.txt 2>&1
check "1: a planted entry with a plain checksum is rebuilt, never loaded" \
    $([ ! -e "$tmp/pwned" ] && [ "$(cat out.txt)" = "hello, world" ]; echo $?)
chmod 0777 "$ZVM_CACHE"
"$zvm" run "$guests/hello.wasm" > out.txt 2>&1
rc=$?
check "1: a cache folder that others may write is refused ($rc: $(head -c 200 out.txt))" \
    $([ $rc != 0 ] && grep -q "writable by other users" out.txt; echo $?)
chmod 0700 "$ZVM_CACHE"
if [ "$(id -u)" = 0 ]; then
    chown nobody "$ZVM_CACHE"
    "$zvm" run "$guests/hello.wasm" > out.txt 2>&1
    check "1: a cache folder of another user is refused: $(head -c 200 out.txt)" \
        $(grep -q "owned by another user" out.txt; echo $?)
    chown root "$ZVM_CACHE"
fi
chmod 0644 "$ZVM_CACHE/key"
"$zvm" run "$guests/hello.wasm" > out.txt 2>&1
check "1: a key others can read is refused: $(head -c 200 out.txt)" \
    $(grep -q "only this user can read" out.txt; echo $?)
export ZVM_CACHE=$tmp/cache

# ---- 9: compiling was unbounded, and a killed zvm left cc1 and temporary files -----------
gen=$(dirname "$zvm")/perf/gen_module
if [ -x "$gen" ]; then
    "$gen" --code-bytes 2m big.wasm >/dev/null
    export ZVM_CACHE=$tmp/cache9
    t0=$(date +%s.%N)
    ZVM_CC_CPU_SECONDS=1 "$zvm" compile big.wasm > c.txt 2>&1
    rc=$? t=$(elapsed "$t0")
    check "9: a compile over its CPU limit is 'too large to compile' ($rc, $t s: $(head -c 150 c.txt))" \
        $([ $rc = 1 ] && grep -q "too large to compile" c.txt && [ "${t%.*}" -lt 10 ]; echo $?)
    export ZVM_CACHE=$tmp/cache9b # empty: this compile really runs
    "$zvm" compile big.wasm >/dev/null 2>&1 & pid=$!
    sleep 1.5
    kill -9 $pid; wait $pid 2>/dev/null
    sleep 1
    check "9: no compiler outlives a killed zvm: [$(pgrep -af "$ZVM_CACHE" | head -2)]" \
        $([ -z "$(pgrep -f "$ZVM_CACHE")" ]; echo $?)
    "$zvm" compile "$guests/hello.wasm" >/dev/null
    check "9: its temporary files are swept by the next compile: [$(ls "$ZVM_CACHE" | grep '\.so\.' | head -3)]" \
        $([ -z "$(ls "$ZVM_CACHE" | grep '\.so\.')" ]; echo $?)
    export ZVM_CACHE=$tmp/cache
fi

# ---- 2: a _start with results crashed zvm batch ---------------------------------------
cat > start_result.wat <<'W'
(module (func (export "_start") (result i32) (i32.const 42)))
W
wat start_result
printf 'a\n' > one.txt
"$zvm" batch --module start_result.wasm --input one.txt --output o.txt 2> err.txt
rc=$?
check "2: _start with a result: exit 1 and a message, not a crash ($rc, $(cat err.txt))" \
    $([ $rc = 1 ] && grep -q "_start must have type" err.txt; echo $?)

# ---- 3: a stack overflow inside a host call deadlocked the process ----------------------
cat > deep.wat <<'W'
(module
  (import "zvm" "pread" (func $pread (param i32 i32 i32 i64) (result i32)))
  (import "zvm" "pwrite" (func $pwrite (param i32 i32 i32 i64) (result i32)))
  (table $t 1 funcref)
  (memory 1)
  (data (i32.const 100) "ok")
  ;; every level grows the table (a realloc in the host), so some grow runs
  ;; right above the stack's guard, whatever the frame size
  (func $deep
    (drop (table.grow $t (ref.null func) (i32.const 1)))
    (call $deep))
  (func (export "_start")
    (drop (call $pread (i32.const 0) (i32.const 0) (i32.const 10) (i64.const 0)))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 68)) (then (call $deep)))
    (drop (call $pwrite (i32.const 1) (i32.const 100) (i32.const 2) (i64.const 0)))))
W
wat deep
printf 'D\nx\nD\nx\n' > deep.txt
timeout 60 "$zvm" batch --module deep.wasm --input deep.txt --output deep.out --errors deep.err \
    --workers 1 2>/dev/null
rc=$?
check "3: deep recursion into host calls is exhaustion, and the worker goes on ($rc: $(cat deep.out) / $(cut -f3 deep.err | sort -u))" \
    $([ $rc = 0 ] && [ "$(cat deep.out)" = okok ] && [ "$(cut -f3 deep.err | sort -u)" = "call stack exhausted" ]; echo $?)

# ---- 4: a start function's infinite loop ignored Timeout -------------------------------
cat > start_loop.wat <<'W'
(module (func $spin (loop (br 0))) (start $spin) (func (export "_start")))
W
wat start_loop
manifest loop.manifest start_loop.wasm 65536 1 0
t0=$(date +%s.%N)
timeout 20 "$zvm" run loop.manifest > rep.txt 2>/dev/null
rc=$? t=$(elapsed "$t0")
check "4: a start function that spins meets Timeout in zvm run ($rc, $t s)" \
    $([ $rc = 4 ] && [ "$(sed -n 6p rep.txt)" = timeout ] && [ "${t%.*}" -lt 5 ]; echo $?)
t0=$(date +%s.%N)
timeout 20 "$zvm" batch --module start_loop.wasm --input one.txt --output o.txt --timeout 0.5 \
    2> err.txt
rc=$? t=$(elapsed "$t0")
check "4: and in zvm batch, whose workers build it ($rc, $t s, $(head -1 err.txt))" \
    $([ $rc = 1 ] && grep -q timeout err.txt && [ "${t%.*}" -lt 5 ]; echo $?)

# ---- 5: a record read the previous record's output through a gap -----------------------
cat > gap.wat <<'W'
(module
  (import "zvm" "pread" (func $pread (param i32 i32 i32 i64) (result i32)))
  (import "zvm" "pwrite" (func $pwrite (param i32 i32 i32 i64) (result i32)))
  (memory 1)
  (data (i32.const 1000) "SECRET-SECRET-SECRET-SECRET-SECRET-SECRET-SECRET!")
  (data (i32.const 2000) "x")
  (func (export "_start")
    (drop (call $pread (i32.const 0) (i32.const 0) (i32.const 100) (i64.const 0)))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 83))
      (then (drop (call $pwrite (i32.const 1) (i32.const 1000) (i32.const 48) (i64.const 0))))
      (else (drop (call $pwrite (i32.const 1) (i32.const 2000) (i32.const 1) (i64.const 40)))))))
W
wat gap
manifest gap.manifest gap.wasm 65536 1 2
printf 'S\ny\n' > two.txt
"$zvm" batch --module gap.wasm --manifest gap.manifest --input two.txt --output gap.out --workers 1 \
    2>/dev/null
tail -c 41 gap.out | cmp -s - <(head -c 40 /dev/zero; printf x)
check "5: a gap in a random-write stdout is zeros, not the previous record's bytes" $?

# ---- 6: tables were not counted against Memory ------------------------------------------
cat > tables.wat <<'W'
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (table $a 0 funcref) (table $b 0 funcref) (table $c 0 funcref) (table $d 0 funcref)
  (func (export "_start") (local $ok i32)
    (local.set $ok (i32.add (i32.add
      (i32.ne (table.grow $a (ref.null func) (i32.const 1000000)) (i32.const -1))
      (i32.ne (table.grow $b (ref.null func) (i32.const 1000000)) (i32.const -1)))
      (i32.add
      (i32.ne (table.grow $c (ref.null func) (i32.const 1000000)) (i32.const -1))
      (i32.ne (table.grow $d (ref.null func) (i32.const 1000000)) (i32.const -1)))))
    (call $exit (local.get $ok))))
W
wat tables
manifest tables.manifest tables.wasm 1048576 5 0
"$zvm" run tables.manifest > rep.txt 2>/dev/null
check "6: 4 tables of 1M slots (32 MB) do not fit Memory = 1 MiB: $(sed -n 3p rep.txt) grew" \
    $([ "$(sed -n 3p rep.txt)" = 0 ]; echo $?)
manifest tables2.manifest tables.wasm 67108864 5 0
"$zvm" run tables2.manifest > rep.txt 2>/dev/null
check "6: under Memory = 64 MiB they do ($(sed -n 3p rep.txt) grew)" \
    $([ "$(sed -n 3p rep.txt)" = 4 ]; echo $?)

# ---- 7: template channels kept their state across records -------------------------------
cat > extra.wat <<'W'
(module
  (import "zvm" "pread" (func $pread (param i32 i32 i32 i64) (result i32)))
  (import "zvm" "pwrite" (func $pwrite (param i32 i32 i32 i64) (result i32)))
  (memory 1)
  (func (export "_start") (local $n i32)
    (local.set $n (call $pread (i32.const 3) (i32.const 0) (i32.const 3) (i64.const 0)))
    (if (i32.le_s (local.get $n) (i32.const 0))
      (then (i32.store8 (i32.const 0) (i32.const 69)) (local.set $n (i32.const 1))))
    (drop (call $pwrite (i32.const 1) (i32.const 0) (local.get $n) (i64.const 0)))))
W
wat extra
printf 'abcdef' > data.txt
manifest extra.manifest extra.wasm 65536 1 0 "Channel = data.txt, /dev/data, 0, 0, 2, 6, 0, 0"
printf '1\n2\n3\n4\n' > four.txt
"$zvm" batch --module extra.wasm --manifest extra.manifest --input four.txt --output extra.out \
    --workers 1 2>/dev/null
check "7: every record reads the template's channel from the start: [$(cat extra.out)]" \
    $([ "$(cat extra.out)" = abcabcabcabc ]; echo $?)

# ---- 8: the start function saw /dev/null for the first record only ---------------------
cat > startin.wat <<'W'
(module
  (import "zvm" "pread" (func $pread (param i32 i32 i32 i64) (result i32)))
  (import "zvm" "pwrite" (func $pwrite (param i32 i32 i32 i64) (result i32)))
  (memory 1)
  (global $n (mut i32) (i32.const 0))
  (func $init (global.set $n (call $pread (i32.const 0) (i32.const 100) (i32.const 10) (i64.const 0))))
  (start $init)
  (func (export "_start")
    (i32.store8 (i32.const 0) (i32.add (i32.const 48) (global.get $n)))
    (drop (call $pwrite (i32.const 1) (i32.const 0) (i32.const 1) (i64.const 0)))))
W
wat startin
printf 'aaaa\nbbbb\ncccc\n' > three.txt
"$zvm" batch --module startin.wasm --input three.txt --output startin.out --workers 1 2>/dev/null
check "8: every instantiation is alike (the start function reads nothing each time): [$(cat startin.out)]" \
    $([ "$(cat startin.out)" = 000 ]; echo $?)

# ---- 10: blocking channel I/O ignored Timeout ------------------------------------------
cat > reader.wat <<'W'
(module
  (import "zvm" "pread" (func $pread (param i32 i32 i32 i64) (result i32)))
  (memory 1)
  (func (export "_start") (drop (call $pread (i32.const 0) (i32.const 0) (i32.const 10) (i64.const 0)))))
W
wat reader
sed 's|^Channel = /dev/null, /dev/stdin|Channel = /dev/stdin, /dev/stdin|' \
    <(manifest /dev/stdout reader.wasm 65536 1 0) > blocked.manifest
t0=$(date +%s.%N)
# the pipeline lasts as long as `sleep`: zvm notes when it ended itself
(sleep 6) | { "$zvm" run blocked.manifest > rep.txt 2>/dev/null; elapsed "$t0" > t.txt; }
check "10: a read from an idle pipe stops at Timeout ($(cat t.txt) s: $(sed -n 6p rep.txt))" \
    $([ "$(sed -n 6p rep.txt)" = timeout ] && [ "$(cut -d. -f1 t.txt)" -lt 4 ]; echo $?)
mkfifo nowriter.fifo
sed 's|^Channel = /dev/null, /dev/stdin|Channel = nowriter.fifo, /dev/stdin|' \
    <(manifest /dev/stdout reader.wasm 65536 1 0) > fifo.manifest
t0=$(date +%s.%N)
timeout 20 "$zvm" run fifo.manifest > rep.txt 2>/dev/null
t=$(elapsed "$t0")
check "10: a FIFO with no writer neither blocks open() nor outlives Timeout ($t s)" \
    $([ "$(sed -n 6p rep.txt)" = timeout ] && [ "${t%.*}" -lt 5 ]; echo $?)
mkdir fifodir && printf 'one' > fifodir/a && mkfifo fifodir/b
timeout 20 "$zvm" batch --module "$guests/records.wasm" --input fifodir --output o.txt 2> err.txt
rc=$?
check "10: a FIFO in a batch input folder: an error naming it, no hang ($rc, $(tail -1 err.txt))" \
    $([ $rc = 1 ] && grep -q "fifodir/b: input stopped: not a regular file" err.txt; echo $?)

# ---- 11: silent truncation -------------------------------------------------------------
mkdir bigdir && printf 'small' > bigdir/a && truncate -s 4294967299 bigdir/b
"$zvm" batch --module "$guests/records.wasm" --input bigdir --output big.out --errors big.err \
    2>/dev/null
check "11: a 4 GiB + 3 byte file is a record over the limit, not a 3-byte record: [$(cat big.err)]" \
    $([ "$(cat big.out)" = SMALL ] && [ "$(cat big.err)" = "$(printf '1\tlimit\tthe record is larger than the input limit\t')" ]; echo $?)
head -c 17000000 /dev/zero | tr '\0' 'a' > long.txt
printf '\nshort\n' >> long.txt
"$zvm" batch --module "$guests/records.wasm" --input long.txt --output long.out --errors long.err \
    2>/dev/null
check "11: a 17 MB line is over the limit and the next line still runs: [$(cat long.out)]" \
    $([ "$(cat long.out)" = SHORT ] && grep -q "^0	limit" long.err; echo $?)

# ---- 12: smaller ones ---------------------------------------------------------------
"$zvm" batch --module "$guests/records.wasm" --input one.txt --output o.txt --memory 1000 2>/dev/null
check "12: --memory 1000 (below a page) is bad usage, not unlimited" $([ $? = 2 ]; echo $?)
cat > jail.wat <<'W'
(module
  (import "zvm" "jail" (func $jail (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory 700)
  (func (export "_start") (local $i i32) (local $ok i32)
    (loop $l
      (if (i32.eqz (call $jail (i32.mul (local.get $i) (i32.const 131072)) (i32.const 65536)))
        (then (local.set $ok (i32.add (local.get $ok) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 300))))
    (call $exit (local.get $ok))))
W
wat jail
manifest jail.manifest jail.wasm 67108864 5 0
"$zvm" run jail.manifest > rep.txt 2>/dev/null
check "12: zvm.jail is capped per instance ($(sed -n 3p rep.txt) of 300 calls)" \
    $([ "$(sed -n 3p rep.txt)" = 256 ]; echo $?)
manifest proc.manifest "$guests/hello.wasm" 67108864 1 0 "Channel = /proc/self/mem, /dev/mem, 3, 0, 10, 1000, 0, 0"
"$zvm" run proc.manifest > rep.txt 2>/dev/null
check "12: /proc/self/mem is refused as a source (exit 93)" $([ $? = 93 ]; echo $?)

printf 'first\n' > keep.txt
"$zvm" batch --module "$guests/records.wasm" --input keep.txt --output shared.out 2>/dev/null
printf 'LOOP\n' > slow.txt
"$zvm" batch --module "$guests/records.wasm" --input slow.txt --output shared.out --timeout 5 \
    2>/dev/null & slow=$!
sleep 1
"$zvm" batch --module "$guests/records.wasm" --input keep.txt --output shared.out 2>err.txt
rc=$?
check "12: a second batch on the same output is refused ($rc, $(cat err.txt))" \
    $([ $rc = 2 ] && grep -q "being written by another zvm batch" err.txt; echo $?)
kill -9 $slow; wait $slow 2>/dev/null
check "12: a killed batch leaves the earlier output whole: [$(cat shared.out)]" \
    $([ "$(cat shared.out)" = FIRST ]; echo $?)
{ cat manifest_head 2>/dev/null; manifest /dev/stdout "$guests/hello.wasm" 67108864 5 0; } > etags.manifest
sed -i 's/^Memory = 67108864, 0/Memory = 67108864, 1/; s/^Channel = out.txt, \/dev\/stdout, 0, 0/Channel = out.txt, \/dev\/stdout, 0, 1/' etags.manifest
for i in $(seq 1 70); do
    printf 'x' > "c$i.txt"
    echo "Channel = c$i.txt, /dev/c$i, 0, 1, 1, 1, 0, 0" >> etags.manifest
done
"$zvm" run etags.manifest > rep.txt 2>/dev/null
check "12: every etag is reported, not the first 64 ($(sed -n 4p rep.txt | wc -w) words)" \
    $([ "$(sed -n 4p rep.txt | wc -w)" = $(( 2 * 72 )) ]; echo $?)

finish hardening.sh
