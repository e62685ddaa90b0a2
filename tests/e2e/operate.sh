#!/usr/bin/env bash
# operate.sh — zvm as an operator meets it (issue 23): a failed record says
# why (exit code, stderr, the errors file's fourth column, --only to rerun
# it), parameters without a manifest (--arg, --env, a template without
# Program), and the command line's conventions on every command (--help on
# stdout, --opt=value, one-line mistakes with exit 2, options ending at the
# program, a suggestion for a typo, --version, one exit code per cause,
# checked environment variables, --stats json).
#
# Usage: operate.sh ZVM GUEST_DIR BENCH
zvm=$(realpath "$1") guests=$(realpath "$2") bench=$(realpath "$3")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
cp "$guests/reuse.wasm" .
batch() { "$zvm" batch --module reuse.wasm "$@"; }

# ---- a record that fails says why -----------------------------------------------------
printf '0 fine\n9 bad\\tthing\\nline two\ntrap\n3 allowed\n0 ok again\n' > in.txt
batch --arg lines --input in.txt --output out.txt --errors err.txt 2> log.txt
last=$?; check "a batch with failed records exits 0: $(cat log.txt)" $last
printf '1\texit\texit 9\tbad\\tthing\\nline two\n2\ttrap\tunreachable\t\n3\texit\texit 3\tallowed\n' > want_err.txt
cmp -s err.txt want_err.txt
last=$?; check "exit 9 and a trap are errors, with the stderr C-escaped: $(diff err.txt want_err.txt)" $last
check "their outputs go nowhere: $(cat out.txt)" \
    $([ "$(cat out.txt)" = "$(printf 'out 0\nout 0')" ]; echo $?)
batch --arg lines --input in.txt --output out2.txt --errors err2.txt 2>/dev/null
check "two runs give the same errors file, byte for byte" $(cmp -s err.txt err2.txt; echo $?)
batch --arg lines --input in.txt --output out3.txt --errors err3.txt --allow-exit-codes 3,5-9 2>/dev/null
check "--allow-exit-codes 3,5-9 allows them: $(cat err3.txt)" \
    $([ "$(cut -f1,2 err3.txt)" = "$(printf '2\ttrap')" ] && [ "$(wc -l < out3.txt)" = 4 ]; echo $?)
printf '1 %s\n' "$(head -c 9000 /dev/zero | tr '\0' e)" > long.txt
batch --arg lines --input long.txt --output /dev/null --errors errl.txt 2>/dev/null
check "stderr is kept to 4096 bytes and says how much more there was" \
    $(cut -f4 errl.txt | grep -qx "$(head -c 4096 /dev/zero | tr '\0' e)\[zvm: 4904 more bytes\]"; echo $?)
batch --arg lines --input long.txt --output /dev/null --errors errl0.txt --stderr-limit 0 2>/dev/null
check "--stderr-limit 0 discards it: $(cat errl0.txt)" \
    $([ "$(cat errl0.txt)" = "$(printf '0\texit\texit 1\t')" ]; echo $?)
batch --arg lines --input in.txt --only 1 > only.out 2> only.err
last=$?
check "--only 1 reruns record 1 alone: its stdout, stderr and report, exit 1 ($last)" \
    $([ $last = 1 ] && [ "$(cat only.out)" = "out 9" ] &&
      [ "$(head -2 only.err)" = "$(printf 'bad\tthing\nline two')" ] &&
      grep -q "^record 1: exit: exit 9, exit code 9, " only.err; echo $?)
batch --arg lines --input in.txt --only 0 > only0.out 2>/dev/null
last=$?
check "--only 0: a record that succeeds exits 0" $([ $last = 0 ] && [ "$(cat only0.out)" = "out 0" ]; echo $?)
batch --arg lines --input in.txt --only 99 2> only99.err
last=$?; check "--only past the end: exit 2 and says so ($(cat only99.err))" \
    $([ $last = 2 ] && grep -q "holds 5 records: there is no record 99" only99.err; echo $?)
batch --arg lines --input in.txt --output /dev/null --errors /dev/null --stats json 2> stats.txt
check "--stats json: one JSON object whose counts are the run's: $(cat stats.txt)" \
    $(python3 -c 'import json,sys; d=json.load(open("stats.txt")); assert d["records"] == 5 and d["errors"] == 3 and d["by_cause"]["exit"] == 2 and d["by_cause"]["trap"] == 1 and d["by_cause"]["ok"] == 2 and "p99" in d["latency_us"]' 2>&1; echo $?)

# ---- parameters without a manifest ---------------------------------------------------
echo x > one.txt
batch --arg args --arg "two words" --arg=--three --env A=1 --env=B=two --input one.txt --output args.out 2>/dev/null
printf 'argc 4\nargv[0] reuse.wasm\nargv[1] args\nargv[2] two words\nargv[3] --three\nenv A=1\nenv B=two\n' > want_args.txt
cmp -s args.out want_args.txt
last=$?; check "--arg and --env reach every record's argv and environment: $(diff args.out want_args.txt)" $last
HOSTVAR=here batch --arg args --env HOSTVAR --input one.txt --output args2.out 2>/dev/null
check "--env NAME passes this process's value" $(grep -qx "env HOSTVAR=here" args2.out; echo $?)
printf 'Version = 20130611\nMemory = 67108864, 0\nTimeout = 5\nArgs = first args more\n' > noprog.manifest
printf 'Channel = /dev/null, /dev/stdin, 0, 0, 10, 65536, 0, 0\nChannel = /dev/null, /dev/stdout, 0, 0, 0, 0, 10, 65536\nChannel = /dev/null, /dev/stderr, 0, 0, 0, 0, 10, 65536\n' >> noprog.manifest
batch --manifest noprog.manifest --input one.txt --output args3.out 2> log3.txt
last=$?
check "a template may leave Program out; its Args follow argv[0] ($(cat args3.out))" \
    $([ $last = 0 ] && [ "$(head -3 args3.out)" = "$(printf 'argc 3\nargv[0] reuse.wasm\nargv[1] args')" ]; echo $?)
{ echo "Program = other.wasm"; cat noprog.manifest; } > other.manifest
batch --manifest other.manifest --input one.txt --output /dev/null 2> other.err
last=$?
check "a template whose Program is another module is refused, naming both (exit $last): $(cat other.err)" \
    $([ $last = 2 ] && grep -q "Program = other.wasm, but the module is reuse.wasm" other.err; echo $?)

# ---- the command line ----------------------------------------------------------------
for c in run batch consume job compile validate; do
    "$zvm" $c --help > help.txt 2> help.err
    last=$?
    check "zvm $c --help: usage, options and exit codes on stdout, exit 0" \
        $([ $last = 0 ] && [ ! -s help.err ] && grep -q "^usage: zvm $c " help.txt &&
          grep -q "^Exit status:" help.txt && grep -q -- "-h, --help" help.txt; echo $?)
    "$zvm" help $c > help2.txt
    check "zvm help $c is zvm $c --help" $(cmp -s help.txt help2.txt; echo $?)
    "$zvm" $c --bogus > bogus.out 2> bogus.err
    last=$?
    check "zvm $c --bogus: one line, exit 2 ($last): $(cat bogus.err)" \
        $([ $last = 2 ] && [ "$(cat bogus.err)" = "zvm $c: unknown option '--bogus' (see zvm $c --help)" ] &&
          [ ! -s bogus.out ]; echo $?)
done
"$bench" --help > bh.txt
last=$?
check "zvm-bench --help" $([ $last = 0 ] && grep -q "^usage: zvm-bench " bh.txt; echo $?)
"$bench" --workers 0 -m x 2> bw.err
last=$?
check "zvm-bench: a bad value is one line, exit 2: $(cat bw.err)" \
    $([ $last = 2 ] && [ "$(cat bw.err)" = "zvm-bench: --workers 0: out of range (1 to 64)" ]; echo $?)
"$zvm" compile --help > /dev/null 2>&1
check "zvm compile --help reads no file named --help" $?
batch --memory 1000 --input in.txt --output x 2> mem.err
last=$?
check "a bad value names the option and why: $(cat mem.err)" \
    $([ $last = 2 ] && [ "$(cat mem.err)" = "zvm batch: --memory 1000: not a multiple of 65536" ]; echo $?)
"$zvm" batch --module=reuse.wasm --arg=lines --input=in.txt --output=eq.out --errors=/dev/null 2>/dev/null
check "--opt=value works like --opt value" $(cmp -s eq.out out.txt; echo $?)
"$zvm" bacth 2> typo.err
last=$?
check "a typo'd command suggests the nearest: $(cat typo.err)" \
    $([ $last = 2 ] && grep -q "did you mean 'batch'?" typo.err; echo $?)
"$zvm" --version > v.txt
check "zvm --version: $(cat v.txt)" $(grep -qE '^zvm [0-9]+\.[0-9]+\.[0-9]+ \(translator ABI [0-9]+\)$' v.txt; echo $?)
"$zvm" run reuse.wasm --help --memory 5 > guest.out 2>&1
check "options end at the program: the rest is its argv: $(cat guest.out)" \
    $([ "$(head -1 guest.out)" = "unknown mode '--help'" ]; echo $?)
"$zvm" run -- reuse.wasm args > dd.out
check "-- ends zvm's options" $(grep -qx "argv\[1\] args" dd.out; echo $?)
echo "just some notes" > notes.wasm
"$zvm" run notes.wasm 2> notes.err
last=$?
check "neither a module nor a manifest: exit 1 and says so ($last): $(cat notes.err)" \
    $([ $last = 1 ] && [ "$(cat notes.err)" = 'zvm run: notes.wasm: not a WebAssembly module (no \0asm header), not an artifact and not a manifest' ]; echo $?)
printf '\0asm\1\0\0\0\1' > trunc.wasm
"$zvm" run trunc.wasm 2> trunc.err
check "a bad module is named once: $(cat trunc.err)" \
    $([ "$(grep -o 'trunc.wasm' trunc.err | wc -l)" = 1 ] && grep -q '^zvm run: trunc.wasm: ' trunc.err; echo $?)
for c in "run missing.wasm" "batch --module missing.wasm --input in.txt --output x" "compile missing.wasm" \
         "validate missing.wasm" \
         "consume --module missing.wasm --redis 127.0.0.1:1 --stream s --group g --output-stream o"; do
    "$zvm" $c > /dev/null 2> miss.err
    last=$?
    check "a missing module is exit 2 on zvm $c ($last): $(cat miss.err)" \
        $([ $last = 2 ] && grep -q "missing.wasm" miss.err; echo $?)
done
"$bench" -m missing.wasm -n 1 > /dev/null 2>&1
check "a missing module is exit 2 on zvm-bench too" $([ $? = 2 ]; echo $?)
ZVM_TIER=bogus "$zvm" run reuse.wasm args > /dev/null 2> tier.err
last=$?
check "a bad variable is an error: $(cat tier.err)" \
    $([ $last = 2 ] && grep -q "ZVM_TIER=bogus: must be 0 or 1" tier.err; echo $?)
ZVM_CC_CPU_SECONDS=lots "$zvm" run reuse.wasm args > /dev/null 2>&1
check "a compiler variable is not read when nothing is compiled (the module is cached)" $?
"$zvm" help environment > env.txt
for v in ZVM_CACHE ZVM_TIER ZVM_CC ZVM_CC_ISA ZVM_CC_CPU_SECONDS ZVM_CC_MEMORY_MB ZVM_CC_UNIT_BYTES ZVM_KEEP_C ZVM_SECCOMP ZVM_SEG; do
    grep -q "^  $v " env.txt || fail "zvm help environment lacks $v"
done
n_checks=$((n_checks + 1))

finish operate
