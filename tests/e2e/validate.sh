#!/usr/bin/env bash
# validate.sh — end-to-end tests of `zvm validate`, driving the real binary:
# exit codes (0 valid, 1 malformed/invalid/policy, 2 unreadable; the worst
# file wins), the exact `FILE: offset 0xNNNN: malformed|invalid: reason`
# lines, --hash against sha256sum, --no-policy, and that no input (every
# truncation and many mutations of a real module, 100000 nested blocks)
# ends the process by a signal or a timeout.
#
# The inputs are built at test time in a scratch folder: realistic modules
# with wat2wasm (wabt), hostile ones byte by byte with printf, so that the
# offsets in the expected messages are known. No binaries are committed.
#
# Usage: validate.sh PATH/TO/zvm    (exit 77 = skipped: no wat2wasm)
set -uo pipefail

zvm=$(realpath "${1:?usage: validate.sh PATH/TO/zvm}")
if ! command -v wat2wasm >/dev/null; then
    echo "validate.sh: wat2wasm (package wabt) not found: skipped"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

n_failed=0 n_checks=0
fail() {
    echo "FAIL: $*" >&2
    n_failed=$((n_failed + 1))
}

# run ARGS...: `zvm validate ARGS` with a time bound; sets status, out, err.
run() {
    timeout 30 "$zvm" validate "$@" >stdout 2>stderr
    status=$?
    out=$(<stdout)
    err=$(<stderr)
}

# expect STATUS STDOUT STDERR ARGS...: exact exit status and outputs.
expect() {
    local want_status=$1 want_out=$2 want_err=$3
    shift 3
    [ -z "$want_err" ] || want_err=$(sed 's/^/zvm validate: /' <<< "$want_err") # one format
    run "$@"
    n_checks=$((n_checks + 1))
    [ "$status" = "$want_status" ] || fail "zvm validate $*: exit $status, want $want_status ($err)"
    [ "$out" = "$want_out" ] || fail "zvm validate $*: stdout [$out], want [$want_out]"
    [ "$err" = "$want_err" ] || fail "zvm validate $*: stderr [$err], want [$want_err]"
}

# Unsigned LEB128 of $1 as printf escapes.
leb() {
    local n=$1 b s=""
    while :; do
        b=$((n & 0x7f))
        n=$((n >> 7))
        if ((n)); then
            s+=$(printf '\\x%02x' $((b | 0x80)))
        else
            s+=$(printf '\\x%02x' $b)
            break
        fi
    done
    printf '%s' "$s"
}

hdr='\x00\x61\x73\x6d\x01\x00\x00\x00'

# ---- inputs ----

cat >ok.wat <<'EOF'
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "zvm" "channel_count" (func $count (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello, world\n")
  (global $n (mut i32) (i32.const 0))
  (table 2 funcref)
  (elem (i32.const 0) $sum $_start)
  (func $sum (param $k i32) (result i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $acc (i32.add (local.get $acc) (local.get $k)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func $_start (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 13))
    (global.set $n (call_indirect (param i32) (result i32) (call $count) (i32.const 0)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (memory.fill (i32.const 100) (i32.const 0) (i32.const 10))
    (drop (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4)))))
EOF
cat >ok2.wat <<'EOF'
(module
  (func (export "f") (param i64) (result i64 i64)
    (local.get 0) (i64.const -1)))
EOF
cat >env.wat <<'EOF'
(module (import "env" "f" (func)))
EOF
# i64.const where the result must be i32; wat2wasm would refuse to write it
cat >type.wat <<'EOF'
(module (func (result i32) i64.const 0))
EOF
wat2wasm ok.wat -o ok.wasm && wat2wasm ok2.wat -o ok2.wasm && wat2wasm env.wat -o env.wasm &&
    wat2wasm --no-check type.wat -o type.wasm || { echo "wat2wasm failed" >&2; exit 1; }

printf 'hello, world\n' >garbage.wasm
: >empty.wasm
printf "${hdr:0:24}" >short-header.wasm                        # version cut short
printf "${hdr}"'\x01\x05\x01\x60' >truncated.wasm              # section longer than the file
printf "${hdr}"'\x01\x05\xff\xff\xff\xff\x0f' >huge-count.wasm # 2^32-1 types in 5 bytes
printf "${hdr}"'\x01\x07\x80\x80\x80\x80\x80\x00\x00' >overlong.wasm
printf "${hdr}"'\x05\x04\x01\x03\x01\x01' >shared.wasm           # threads: shared memory
printf "${hdr}"'\x0e\x00' >section-id.wasm
mkdir dir

# 100000 nested blocks (wat2wasm itself overflows its stack on this one):
# type [] -> [], one function, its body: no locals, 100000 x `block`,
# 100001 x `end`.
n=100000
body=$((1 + 2 * n + n + 1))
body_leb=$(leb $body)
{
    printf "${hdr}"'\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a'
    printf "$(leb $((1 + ${#body_leb} / 4 + body)))"
    printf '\x01'
    printf "$body_leb"
    printf '\x00'
    printf '\x02\x40%.0s' $(seq $n)
    printf '\x0b%.0s' $(seq $((n + 1)))
} >deep.wasm

# ---- valid modules, --hash ----

expect 0 "" "" ok.wasm
expect 0 "" "" ok.wasm ok2.wasm
expect 0 "$(sha256sum ok.wasm ok2.wasm)" "" --hash ok.wasm ok2.wasm
expect 0 "$(sha256sum ok.wasm)" "" ok.wasm --hash
expect 0 "" "" deep.wasm
expect 0 "$(sha256sum deep.wasm)" "" --hash deep.wasm

# ---- malformed: exact lines ----

expect 1 "" "garbage.wasm: offset 0x0000: malformed: magic header not detected" garbage.wasm
expect 1 "" "empty.wasm: offset 0x0000: malformed: magic header not detected" empty.wasm
expect 1 "" "short-header.wasm: offset 0x0004: malformed: unknown binary version" \
    short-header.wasm
expect 1 "" "truncated.wasm: offset 0x000a: malformed: section size mismatch: length out of bounds" \
    truncated.wasm
expect 1 "" "huge-count.wasm: offset 0x000a: malformed: count 4294967295 exceeds the remaining 0 bytes" \
    huge-count.wasm
expect 1 "" "overlong.wasm: offset 0x000e: malformed: integer representation too long" \
    overlong.wasm
expect 1 "" "shared.wasm: offset 0x000b: malformed: shared memory: the threads proposal is not supported" \
    shared.wasm
expect 1 "" "section-id.wasm: offset 0x0008: malformed: malformed section id 14" section-id.wasm
# --hash prints nothing for a rejected module
expect 1 "" "garbage.wasm: offset 0x0000: malformed: magic header not detected" --hash garbage.wasm

# ---- invalid, and the policy ----

expect 1 "" "type.wasm: offset 0x001a: invalid: type mismatch: expected i32, got i64" type.wasm
expect 1 "" "type.wasm: offset 0x001a: invalid: type mismatch: expected i32, got i64" \
    --no-policy type.wasm
expect 1 "" 'env.wasm: offset 0x0012: invalid: policy: import "env"."f" is not allowed' env.wasm
expect 0 "" "" --no-policy env.wasm
expect 0 "$(sha256sum env.wasm)" "" --no-policy --hash env.wasm

# ---- unreadable ----

expect 2 "" "missing.wasm: cannot read: No such file or directory" missing.wasm
expect 2 "" "dir: cannot read: not a regular file" dir
expect 2 "" "/dev/null: cannot read: not a regular file" /dev/null

# ---- several files: each is reported, the worst status wins ----

expect 1 "" 'env.wasm: offset 0x0012: invalid: policy: import "env"."f" is not allowed' \
    ok.wasm env.wasm
expect 1 "$(sha256sum ok.wasm ok2.wasm)" \
    "garbage.wasm: offset 0x0000: malformed: magic header not detected" \
    --hash ok.wasm garbage.wasm ok2.wasm
expect 2 "" "garbage.wasm: offset 0x0000: malformed: magic header not detected
missing.wasm: cannot read: No such file or directory" garbage.wasm missing.wasm ok.wasm
expect 2 "" "missing.wasm: cannot read: No such file or directory
type.wasm: offset 0x001a: invalid: type mismatch: expected i32, got i64" missing.wasm type.wasm

# ---- usage errors ----

run --bogus ok.wasm
[ "$status" = 2 ] && [ "$err" = "zvm validate: unknown option '--bogus' (see zvm validate --help)" ] ||
    fail "unknown option: one line, exit 2: $status $err"
run
[ "$status" = 2 ] && [ "$err" = "zvm validate: no FILE to check (see zvm validate --help)" ] ||
    fail "no files: one line, exit 2: $status $err"
timeout 30 "$zvm" >/dev/null 2>&1
[ $? = 2 ] || fail "zvm without a command must exit 2"

# ---- no input ends by a signal: every truncation, many mutations ----

# check_batch NAME FILES...: one run over many files. Each file must give
# exactly one line: its hash on stdout or a well-formed error on stderr.
# A status >= 124 is a timeout (124) or a signal (128 + n): then each file
# is run alone to name the culprit.
line_re='^zvm validate: [^:]+: offset 0x[0-9a-f]{4,}: (malformed|invalid): .+$'
check_batch() {
    local name=$1 n_lines line f
    shift
    run --no-policy --hash "$@"
    n_checks=$((n_checks + 1))
    if [ "$status" -ge 124 ]; then
        fail "$name: exit status $status (signal or timeout)"
        for f in "$@"; do
            run --no-policy "$f"
            [ "$status" -lt 124 ] || fail "$f: exit status $status"
        done
        return
    fi
    [ "$status" = 0 ] || [ "$status" = 1 ] || fail "$name: exit status $status"
    n_lines=$(( $(wc -l <stdout) + $(wc -l <stderr) ))
    [ "$n_lines" = $# ] || fail "$name: $n_lines lines of output for $# files"
    while IFS= read -r line; do
        [[ "$line" =~ $line_re ]] || fail "$name: badly formed message [$line]"
    done <stderr
}

# The module's bytes as printf escapes, so that variants cost no process.
mapfile -t hex < <(od -An -v -tx1 ok.wasm | tr -s ' ' '\n' | grep .)
esc=("${hex[@]/#/\\x}")
size=${#esc[@]}
mkdir cut mut
for ((k = 0; k < size; k++)); do
    printf '%b' "${esc[@]:0:k}" >"cut/$k.wasm"
done
# every byte after the header set to 0x00, 0x7f, 0x80 and 0xff
for ((k = 8; k < size; k++)); do
    for v in 00 7f 80 ff; do
        printf '%b' "${esc[@]:0:k}" "\\x$v" "${esc[@]:k+1}" >"mut/$k-$v.wasm"
    done
done
cmp -s <(printf '%b' "${esc[@]}") ok.wasm || fail "the byte escapes do not rebuild ok.wasm"
check_batch "every truncation of ok.wasm" cut/*.wasm
check_batch "single-byte mutations of ok.wasm" mut/*.wasm
check_batch "all the inputs above" ./*.wasm

if [ "$n_failed" -gt 0 ]; then
    echo "validate.sh: $n_failed of $n_checks checks failed" >&2
    exit 1
fi
echo "validate.sh: all $n_checks checks passed"
