#!/usr/bin/env bash
# artifact.sh — compiled code that ships (issue 26, part 4): `zvm compile
# -o FILE.zvmc` on a build host, then run, batch, a manifest's Program and
# consume (against a real redis-server when there is one) from the
# artifact with no compiler reachable: PATH holding only zvm's folder,
# ZVM_CC=/nonexistent/cc and a code cache that must stay untouched. A
# .wasm there fails with the "no C compiler" line; a tampered, truncated,
# wrong-version, wrong-ISA or untrusted artifact is refused with a message
# that says which. Signatures: zvm keygen, zvm sign, and --trust-key, which
# requires a good signature by that key instead of ownership.
#
# Usage: artifact.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
source "$here/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
pids=()
trap 'kill -9 ${pids[@]:-} 2>/dev/null; rm -rf "$tmp"' EXIT

# the deployed host: no compiler, no cache, nothing on PATH but zvm's folder
# (and ZVM_SEG, when the caller sets it)
nocc() { env -i PATH="$(dirname "$zvm")" HOME="$tmp/home" ZVM_CACHE="$tmp/nocache" \
             ZVM_CC=/nonexistent/cc ${ZVM_SEG:+ZVM_SEG=$ZVM_SEG} "$@"; }
mkdir -p home

# ---- the build host ------------------------------------------------------------------------
"$zvm" compile -o hello.zvmc "$guests/hello.wasm" > compile.out
last=$?
check "compile -o writes the artifact: $(cat compile.out)" \
    $([ $last = 0 ] && grep -q "hello.wasm: .*, artifact hello.zvmc" compile.out && [ -s hello.zvmc ]; echo $?)
check "it is mode 0644 less the umask, owned by this user: $(stat -c '%a %u' hello.zvmc)" \
    $([ "$(stat -c %u hello.zvmc)" = "$(id -u)" ] && [ "$(stat -c %a hello.zvmc)" = "$(printf '%o' $((0644 & ~$(umask))))" ]; echo $?)
"$zvm" compile -o records.zvmc "$guests/records.wasm" > /dev/null
"$zvm" compile -o two.zvmc "$guests/hello.wasm" "$guests/records.wasm" 2> two.err
last=$?
check "-o takes one module: $(cat two.err)" $([ $last = 2 ] && [ ! -e two.zvmc ]; echo $?)
"$zvm" run "$guests/hello.wasm" > hello.want

# ---- the deployed host -------------------------------------------------------------------
nocc "$zvm" run hello.zvmc > hello.got 2> hello.err
last=$?
check "zvm run from the artifact with no compiler: $(cat hello.err)" \
    $([ $last = 0 ] && cmp -s hello.got hello.want; echo $?)
check "and it prints nothing of its own on stderr" $([ ! -s hello.err ]; echo $?)
printf 'line one\nTRAP x\nline three\n' > in.txt
"$zvm" batch --module "$guests/records.wasm" --input in.txt --output want.txt --errors want.tsv 2> /dev/null
nocc "$zvm" batch --module records.zvmc --input in.txt --output got.txt --errors got.tsv 2> batch.err
last=$?
check "zvm batch from the artifact: $(head -c 300 batch.err)" \
    $([ $last = 0 ] && cmp -s got.txt want.txt && cmp -s got.tsv want.tsv && [ -s got.txt ]; echo $?)
cp "$guests/hello.wasm" .
cat > hello.manifest <<MANIFEST
Version = 20130611
Program = hello.zvmc
Memory = 67108864, 0
Timeout = 5
Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = /dev/stdout, /dev/stdout, 0, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
MANIFEST
nocc "$zvm" run hello.manifest > manifest.out 2> manifest.err
last=$?
check "a manifest's Program may be an artifact: $(cat manifest.err)" \
    $([ $last = 0 ] && grep -q "hello, world" manifest.out; echo $?)
if command -v redis-server > /dev/null && command -v redis-cli > /dev/null; then
    source "$here/redis_lib.sh"
    on_free_port start_scratch_redis
    pids+=($redis_pid)
    rcli() { redis-cli -p "$port" "$@"; }
    push s 200
    nocc "$zvm" consume --redis "127.0.0.1:$port" --stream s --group g --consumer c1 \
        --module records.zvmc --output-stream s.out --drain > consume.out 2> consume.err
    last=$?
    check "zvm consume from the artifact: $(head -c 300 consume.err)" \
        $([ $last = 0 ] && [ "$(rcli XLEN s.out)" = 200 ] && [ "$(pending s g)" = 0 ]; echo $?)
else
    echo "artifact.sh: redis-server missing: the consume check is skipped"
fi
check "nothing on the deployed host touched a code cache" $([ ! -e nocache ]; echo $?)
nocc "$zvm" run hello.wasm > /dev/null 2> nocc.err
last=$?
check "a .wasm with no compiler says what to do: $(cat nocc.err)" \
    $([ $last != 0 ] && grep -qx "zvm run: hello.wasm: no C compiler ('/nonexistent/cc' not found): build an artifact with zvm compile -o on a build host" nocc.err; echo $?)
env -i PATH="$(dirname "$zvm")" HOME="$tmp/home" ZVM_CACHE="$tmp/nocache" "$zvm" run hello.wasm \
    > /dev/null 2> nocc2.err
check "and so without ZVM_CC, gcc and tcc: $(cat nocc2.err)" \
    $(grep -q "no C compiler ('gcc' not found): build an artifact with zvm compile -o" nocc2.err; echo $?)


# ---- refused, each saying why --------------------------------------------------------------
python3 - <<'EOF'
import hashlib, struct
b = open("hello.zvmc", "rb").read()
def resealed(x):  # the digest made again, as someone who edits the header would
    x = bytearray(x)
    x[-32:] = hashlib.sha256(bytes(x[:-40])).digest()
    return bytes(x)
t = bytearray(b); t[len(b) // 2] ^= 1
open("tampered.zvmc", "wb").write(t)
open("truncated.zvmc", "wb").write(b[: len(b) - 100])
open("longer.zvmc", "wb").write(b + b"\0")
v = bytearray(b); v[16:20] = struct.pack("<I", struct.unpack("<I", b[16:20])[0] - 1)
open("version.zvmc", "wb").write(resealed(v))
i = bytearray(b); i[40:56] = b"x86-64-v9".ljust(16, b"\0")
open("isa.zvmc", "wb").write(resealed(i))
m = bytearray(b); m[24:40] = b"riscv64".ljust(16, b"\0")
open("machine.zvmc", "wb").write(resealed(m))
EOF
refused() { # FILE PATTERN WHAT
    nocc "$zvm" run "$1" > /dev/null 2> refused.err
    last=$?
    check "$3: $(cat refused.err)" $([ $last != 0 ] && grep -q "^zvm run: $1: $2" refused.err; echo $?)
}
refused tampered.zvmc "tampered artifact: its SHA-256 does not match" "a flipped bit is tampering"
refused truncated.zvmc "truncated artifact: " "a cut file is truncated"
refused longer.zvmc "tampered artifact: .* 1 more than its header says" "an added byte is tampering"
refused version.zvmc "wrong version: made by a zvm with code ABI [0-9]* and translator" \
    "another translator version is the wrong version"
refused isa.zvmc "wrong ISA: built for x86_64 x86-64-v9, this host is" "a higher ISA level"
refused machine.zvmc "wrong ISA: built for riscv64" "another machine"
# code that addresses memory through GS (the header's flag bit 1, where the
# host allows it) is refused where it may not; code made without runs anywhere
if [ $(( $(od -An -tu4 -j20 -N4 hello.zvmc) & 2 )) = 2 ]; then
    ZVM_SEG=0 refused hello.zvmc "wrong ISA: built to address memory through GS, which this host \
does not" "GS code where the GS base may not be written"
    ZVM_SEG=0 "$zvm" compile -o noseg.zvmc "$guests/hello.wasm" > /dev/null
    nocc "$zvm" run noseg.zvmc > noseg.out 2>&1
    st=$?
    check "an artifact made with ZVM_SEG=0 runs on a host that allows GS: $(cat noseg.out)" \
        $([ $st = 0 ] && grep -q . noseg.out; echo $?)
else
    echo "artifact.sh: this host cannot write the GS base: the GS flag checks are skipped"
fi
cp hello.zvmc gw.zvmc
chmod g+w gw.zvmc
refused gw.zvmc "untrusted artifact: writable by other users (mode 664)" "a group-writable artifact"
mkdir open
chmod 777 open
cp hello.zvmc open/
refused open/hello.zvmc "artifact folder .*/open: .*/open is writable by other users" \
    "an artifact in a folder anyone can write"
ln -s open/hello.zvmc link.zvmc
refused link.zvmc "artifact folder .*/open: .*/open is writable by other users" \
    "a link to it, from a folder that passes, is judged where the file is"
if [ "$(id -u)" = 0 ]; then
    cp hello.zvmc theirs.zvmc
    chown nobody theirs.zvmc
    refused theirs.zvmc "untrusted artifact: owned by uid [0-9]*, not by this user" \
        "an artifact of another user"
else
    echo "artifact.sh: not root: the other user's artifact check is skipped"
fi
nocc "$zvm" batch --module truncated.zvmc --input in.txt --output o.txt 2> bt.err
last=$?
check "batch refuses the same way: $(cat bt.err)" \
    $([ $last != 0 ] && grep -q "truncated.zvmc: truncated artifact" bt.err && [ ! -e o.txt ]; echo $?)

# ---- signatures: zvm keygen, zvm sign, --trust-key ---------------------------------------------
"$zvm" keygen -o k > keygen.out
last=$?
check "keygen writes a private key only its owner may read, and KEY.pub: $(cat keygen.out)" \
    $([ $last = 0 ] && [ "$(stat -c %a k)" = 600 ] && grep -q "^zvm-ed25519-public [0-9a-f]\{64\}$" k.pub; echo $?)
"$zvm" keygen -o k 2> again.err
last=$?
check "keygen never overwrites a key: $(cat again.err)" $([ $last = 1 ] && grep -q "k: cannot create: File exists" again.err; echo $?)
"$zvm" keygen -o other > /dev/null
cp hello.zvmc signed.zvmc
cp records.zvmc rsigned.zvmc
"$zvm" sign --key k signed.zvmc rsigned.zvmc > sign.out
last=$?
check "sign signs in place: $(cat sign.out)" \
    $([ $last = 0 ] && [ "$(stat -c %s signed.zvmc)" = $(($(stat -c %s hello.zvmc) + 104)) ]; echo $?)
nocc "$zvm" run --trust-key k.pub signed.zvmc > s.out 2> s.err
last=$?
check "with --trust-key a signed artifact runs: $(cat s.err)" $([ $last = 0 ] && cmp -s s.out hello.want; echo $?)
nocc "$zvm" run signed.zvmc > s2.out 2>&1
last=$?
check "and without a key too (ownership)" $([ $last = 0 ] && cmp -s s2.out hello.want; echo $?)
nocc "$zvm" batch --module rsigned.zvmc --trust-key k.pub --input in.txt --output sb.txt --errors sb.tsv 2> sb.err
last=$?
check "batch --trust-key: $(head -c 300 sb.err)" $([ $last = 0 ] && cmp -s sb.txt want.txt; echo $?)
refused_key() { # FILE PATTERN WHAT [KEY]
    nocc "$zvm" run --trust-key "${4:-k.pub}" "$1" > /dev/null 2> refused.err
    last=$?
    check "$3: $(cat refused.err)" $([ $last != 0 ] && grep -q "^zvm run: $1: $2" refused.err; echo $?)
}
refused_key hello.zvmc "unsigned artifact: a trust key is set" "with a key, an unsigned artifact is refused"
refused_key signed.zvmc "artifact signed by another key" "one signed by another key is refused" other.pub
cp signed.zvmc badsig.zvmc
python3 -c 'import sys
b = bytearray(open("badsig.zvmc", "rb").read()); b[-1] ^= 1; open("badsig.zvmc", "wb").write(b)'
refused_key badsig.zvmc "bad signature: the artifact is not what the trusted key signed" \
    "a signature that does not verify is refused"
cp signed.zvmc open/signed.zvmc
nocc "$zvm" run --trust-key k.pub open/signed.zvmc > so.out 2> so.err
last=$?
check "a trust key replaces the ownership rule (a folder anyone can write): $(cat so.err)" \
    $([ $last = 0 ] && cmp -s so.out hello.want; echo $?)
"$zvm" run --trust-key k hello.zvmc 2> pk.err
last=$?
check "a private key is not a trust key: $(cat pk.err)" \
    $([ $last = 2 ] && grep -q "not a key file" pk.err; echo $?)

finish artifact.sh
