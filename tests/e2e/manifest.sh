#!/usr/bin/env bash
# manifest.sh — end-to-end tests of ZeroVM sessions: `zvm run MANIFEST`
# with real guests. Every manifest error with its exit code; each channel
# type; gets/getsize/puts/putsize limits through the zvm calls and WASI;
# hostile arguments to the zvm calls; jail then write; zvm_exit; timeout;
# the report in both formats; determinism over 20 runs; a stock C program.
#
# Usage: manifest.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"

# zrun MANIFEST [ARGS]: sets status, out, err.
zrun() {
    timeout 60 "$zvm" run "$@" >stdout 2>stderr </dev/null
    status=$?
    out=$(<stdout)
    err=$(<stderr)
    n_checks=$((n_checks + 1))
}
check() { [ "$2" = 0 ] || fail "$1 (exit $status, stdout [$out], stderr [$err])"; }

# manifest FILE PROGRAM [EXTRA LINES...]: a valid manifest with std channels.
manifest() {
    local f=$1 prog=$2
    shift 2
    {
        echo "Version = 20130611"
        echo "Program = $prog"
        echo "Memory = 67108864, 0"
        echo "Timeout = 10"
        echo "Channel = /dev/stdin, /dev/stdin, 0, 0, 1000, 1000000, 0, 0"
        echo "Channel = out.txt, /dev/stdout, 0, 1, 0, 0, 1000, 1000000"
        echo "Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 1000000"
        for line in "$@"; do echo "$line"; done
    } > "$f"
}

cp "$guests"/*.wasm .

# ---- manifest errors: ZeroVM's exit codes --------------------------------------------
expect_error() { # expect_error CODE WHAT MANIFEST-TEXT
    printf '%s\n' "$3" > bad.manifest
    zrun bad.manifest
    [ "$status" = "$1" ] && [[ "$err" == "zvm run: bad.manifest"* || "$1" != 14 ]]; check "manifest error: $2 -> $1" $?
}
good=$(manifest /dev/stdout hello.wasm)
base='Version = 20130611
Program = hello.wasm
Memory = 67108864, 0
Timeout = 10'
chans='Channel = /dev/stdin, /dev/stdin, 0, 0, 1, 1, 0, 0
Channel = out.txt, /dev/stdout, 0, 0, 0, 0, 1, 100
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1, 100'
expect_error 14 "missing Version" "$(echo "$good" | grep -v Version)"
expect_error 14 "wrong Version" "$(echo "$good" | sed 's/20130611/20120101/')"
expect_error 14 "duplicated Program" "$good
Program = hello.wasm"
expect_error 14 "missing Timeout" "$(echo "$good" | grep -v Timeout)"
expect_error 14 "Timeout 0" "$(echo "$good" | sed 's/Timeout = 10/Timeout = 0/')"
expect_error 14 "trailing junk in a number" "$(echo "$good" | sed 's/Timeout = 10/Timeout = 10s/')"
expect_error 14 "channel with 7 fields" "$base
$chans
Channel = a, /dev/a, 0, 0, 1, 1, 0"
expect_error 14 "duplicated alias" "$base
$chans
Channel = out2.txt, /dev/stdout, 0, 0, 0, 0, 1, 1"
expect_error 14 "type 4" "$base
$chans
Channel = x.txt, /dev/x, 4, 0, 1, 1, 0, 0"
expect_error 14 "negative limit" "$base
$chans
Channel = x.txt, /dev/x, 0, 0, -1, 1, 0, 0"
expect_error 14 "fewer than 3 channels" "$base
Channel = /dev/stdin, /dev/stdin, 0, 0, 1, 1, 0, 0"
expect_error 2 "missing program" "$(echo "$good" | sed 's/hello.wasm/nothere.wasm/')"
printf 'not wasm' > junk.wasm
expect_error 8 "program fails validation" "$(echo "$good" | sed 's/hello.wasm/junk.wasm/')"
expect_error 12 "Memory 0" "$(echo "$good" | sed 's/Memory = 67108864, 0/Memory = 0, 0/')"
expect_error 12 "Memory not whole pages" "$(echo "$good" | sed 's/Memory = 67108864, 0/Memory = 1000, 0/')"
expect_error 22 "channel with all-zero limits" "$base
$chans
Channel = x.txt, /dev/x, 0, 0, 0, 0, 0, 0"
mkdir adir
expect_error 93 "directory as a channel" "$base
$chans
Channel = adir, /dev/dir, 0, 0, 1, 1, 0, 0"
# ignored lines: no '=', two '=', unknown keys
printf '%s\n' "$good" "just words" "A = b = c" "Unknown = 5" > ok.manifest
zrun ok.manifest
[ "$status" = 0 ] && [ "$(<out.txt)" = "hello, world" ]; check "ignored lines" $?

# ---- the report ---------------------------------------------------------------------------
manifest hello.manifest hello.wasm
zrun hello.manifest
want_etag=$(printf 'hello, world\n' | sha256sum | cut -d' ' -f1)
readarray -t rep <<< "$out"
[ "$status" = 0 ] && [ "${rep[0]}" = 0 ] && [ "${rep[1]}" = 0 ] && [ "${rep[2]}" = 0 ] &&
    [ "${rep[3]}" = "/dev/stdout $want_etag" ] &&
    [[ "${rep[4]}" =~ ^[0-9]+\.[0-9]{2}\ 0\ 0\ 1\ 13$ ]] && [ "${rep[5]}" = ok ] &&
    [ "${#rep[@]}" = 6 ] && [ "$(tail -c 2 stdout | od -An -c | tr -d ' ')" = '\n\n' ]
check "text report: state, daemon, code, etag, accounting, ok, empty line" $?
zrun --report=json hello.manifest
[[ "$out" == '{"validator": 0, "daemon": 0, "user_code": 0, "etags": {"/dev/stdout": "'$want_etag'"}, "accounting": {"cpu_seconds": '*', "gets": 0, "get_bytes": 0, "puts": 1, "put_bytes": 13}, "status": "ok", "exit_code": 0}' ]]
check "json report" $?
python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out" 2>/dev/null || [ ! -x "$(command -v python3)" ]
check "json report parses" $?

# ---- channel types ----------------------------------------------------------------------------
want_0=$'read@4 4 [0123]\nwrite@2 2\nread@0 6 [456789]'
want_1=$'read@4 4 [4567]\nwrite@2 2\nread@0 6 [012345]'
want_2=$'read@4 4 [0123]\nwrite@2 2\nread@0 6 [456789]'
want_3=$'read@4 4 [4567]\nwrite@2 2\nread@0 6 [01XY45]'
file_0=0123456789XY file_1=0123456789XY file_2=01XY456789 file_3=01XY456789
for t in 0 1 2 3; do
    printf 0123456789 > data.bin
    manifest types.manifest channels.wasm "Channel = data.bin, /dev/data, $t, 0, 100, 100, 100, 100" \
        "Args = channels random"
    zrun types.manifest
    want="want_$t" wantf="file_$t"
    [ "$status" = 0 ] && [ "$(<out.txt)" = "${!want}" ] && [ "$(<data.bin)" = "${!wantf}" ]
    last=$?; check "channel type $t: [$(<out.txt)] file [$(<data.bin)]" $last
done

# ---- copy through zvm_pread/zvm_pwrite, the manifest seen by the guest ------------------------
seq 1 2000 > numbers.txt
manifest copy.manifest channels.wasm "Args = channels copy"
sed -i 's|^Channel = /dev/stdin, /dev/stdin.*|Channel = numbers.txt, /dev/stdin, 0, 0, 1000, 1000000, 0, 0|' copy.manifest
zrun copy.manifest
cmp -s out.txt numbers.txt; check "copy stdin to stdout with zvm_pread/zvm_pwrite" $?
manifest man.manifest channels.wasm "Args = channels manifest" "Channel = data.bin, /dev/data, 3, 0, 1, 2, 3, 4" \
    "Channel = numbers.txt, /dev/a, 1, 0, 5, 6, 0, 0"
zrun man.manifest
want=$'memory 67108864 timeout 10 channels 5
0 /dev/stdin type 0 limits 1000 1000000 0 0
1 /dev/stdout type 0 limits 0 0 1000 1000000
2 /dev/stderr type 0 limits 0 0 1000 1000000
3 /dev/a type 1 limits 5 6 0 0
4 /dev/data type 3 limits 1 2 3 4'
[ "$(<out.txt)" = "$want" ]; last=$?; check "MANIFEST in the guest, channels in order: [$(<out.txt)]" $last

# ---- limits: -EDQUOT through zvm calls and WASI ------------------------------------------------
printf 'abcdefghijklmnop' > in.txt
manifest lim.manifest channels.wasm "Args = channels limits" "Channel = lim.txt, /dev/limited, 0, 0, 0, 0, 3, 10"
sed -i 's|^Channel = /dev/stdin, /dev/stdin.*|Channel = in.txt, /dev/stdin, 0, 0, 2, 100, 0, 0|' lim.manifest
zrun lim.manifest
want=$'put 1 -> 6\nput 2 -> 4\nthen -19 (EDQUOT is 19)\nread 1 -> 4\nread 2 -> 4\nread 3 -> -1 EDQUOT'
[ "$status" = 0 ] && [ "$(<out.txt)" = "$want" ] && [ "$(<lim.txt)" = abcdefabcd ]
last=$?; check "limits: [$(<out.txt)] [$(<lim.txt)]" $last

# ---- hostile arguments: errno, never a host crash ---------------------------------------------
manifest hostile.manifest channels.wasm "Args = channels hostile"
zrun hostile.manifest
want=$'bad desc -28\nnegative desc -28\nnegative size -21\nbuffer past memory -28\nwrite to stdin -28\nmisaligned jail -28\njail past memory -28\nfork 0'
[ "$status" = 0 ] && [ "$(<out.txt)" = "$want" ]; last=$?; check "hostile zvm calls: [$(<out.txt)]" $last

# ---- jail, exit, timeout -------------------------------------------------------------------------
manifest jail.manifest channels.wasm "Args = channels jail"
zrun jail.manifest
[ "$status" = 4 ] && [ "$(sed -n 6p stdout)" = "write to jailed memory" ] &&
    [ "$(<out.txt)" = $'jail 0\nread after jail 1' ]; check "jail then write traps" $?
manifest exit.manifest channels.wasm "Args = channels exit"
zrun exit.manifest
[ "$status" = 0 ] && [ "$(sed -n 3p stdout)" = 7 ] && [ "$(sed -n 6p stdout)" = ok ]; check "zvm_exit(7)" $?
manifest loop.manifest hostile.wasm "Args = hostile loop"
sed -i 's/Timeout = 10/Timeout = 1/' loop.manifest
zrun loop.manifest
[ "$status" = 4 ] && [ "$(sed -n 6p stdout)" = timeout ]; check "Timeout stops a spinning guest" $?

# ---- determinism: 20 runs, same bytes and etags ---------------------------------------------------
manifest det.manifest determinism.wasm "Seed = 42" "Time = 1700000000"
: > runs.txt
for i in $(seq 1 20); do
    "$zvm" run det.manifest > report.txt 2>/dev/null </dev/null
    { sha256sum < out.txt; sed -n 4p report.txt; } >> runs.txt
done
n_checks=$((n_checks + 1))
[ "$(sort -u runs.txt | wc -l)" = 2 ] || fail "determinism: 20 runs differ"
grep -q "^clock 1700000000.0000" out.txt || fail "virtual clock starts at Time: $(tail -2 out.txt)"
manifest det2.manifest determinism.wasm "Seed = 43" "Time = 1700000000"
"$zvm" run det2.manifest > /dev/null 2>&1 </dev/null
n_checks=$((n_checks + 1))
[ "$(sha256sum < out.txt)" != "$(head -1 runs.txt)" ] || fail "another Seed gives other random numbers"

# ---- a stock C program, unchanged -----------------------------------------------------------------
printf '5\n3\n9\n1\n' > input.txt
manifest stock.manifest stock.wasm "Channel = input.txt, /dev/input, 0, 0, 100, 1000, 0, 0" \
    "Channel = sorted.txt, /dev/output, 0, 0, 0, 0, 100, 1000"
zrun stock.manifest
[ "$status" = 0 ] && [ "$(<sorted.txt)" = $'1\n3\n5\n9' ] &&
    [[ "$(<out.txt)" == "sorted 4 numbers; time 0; rand "*" pi 3.141593" ]]
last=$?; check "stock program: fopen, printf, malloc, qsort, time, rand: [$(<out.txt)]" $last

finish manifest.sh
