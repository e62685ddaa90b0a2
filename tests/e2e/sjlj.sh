#!/usr/bin/env bash
# sjlj.sh — setjmp/longjmp and C++ guests (issue 28), native as the oracle:
# - sjlj.c (built by zvm-cc) prints what the same file built by gcc
#   prints, with gcc -O2, tcc and clang as zvm's C compiler;
# - a longjmp-heavy loop stops at its timeout, a longjmp to a buffer no
#   setjmp filled is a trap (uncaught exception);
# - longjmp across a zvm_fork() point: every batch record lands in the
#   set-up's try, with --snapshot on and off;
# - stl.cpp (built by zvm-c++) prints what it prints built natively
#   with libc++;
# - zvm-cc compiles, links separately and preprocesses without warnings.
#
# Usage: sjlj.sh ZVM GUEST_DIR SOURCE_DIR BUILD_DIR
zvm=$(realpath "$1") guests=$(realpath "$2") src=$(realpath "$3") build=$(realpath "$4")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
# (a check's message may run commands: the status is saved first, in last)

# ---- setjmp/longjmp cases against gcc's build --------------------------------
gcc -O2 -o sjlj_native "$src/tests/guests/sjlj.c" && ./sjlj_native > want.txt
check "the native build of sjlj.c runs" $?
for cc in gcc tcc clang; do
    command -v $cc > /dev/null || continue
    ZVM_TIER=0 ZVM_CC=$cc "$zvm" run "$guests/sjlj.wasm" > got.txt 2> err.txt
    last=$?
    check "sjlj.wasm exits 0 with ZVM_CC=$cc: $(head -2 err.txt)" $last
    cmp -s got.txt want.txt
    last=$?
    check "sjlj.wasm prints what gcc's build prints, ZVM_CC=$cc: $(diff got.txt want.txt | head -4)" $last
done

# ---- traps, timeouts ---------------------------------------------------------------
start=$(date +%s%N)
timeout 20 "$zvm" run --timeout 1 "$guests/sjlj.wasm" spin > /dev/null 2> err.txt
rc=$? ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 139 ] && grep -q "trap: timeout" err.txt
last=$?
check "a setjmp/longjmp loop stops at its 1 s timeout (exit $rc after $ms ms): $(head -1 err.txt)" $last
[ $ms -lt 5000 ]
check "... within 5 s ($ms ms)" $?
"$zvm" run "$guests/sjlj.wasm" stray > /dev/null 2> err.txt
rc=$?
[ $rc = 143 ] && grep -q "trap: uncaught exception" err.txt
last=$?
check "a longjmp to a jmp_buf no setjmp filled is a trap (exit $rc): $(head -1 err.txt)" $last

# ---- longjmp across the fork point ---------------------------------------------------
printf 'plain\njump 1\njump 3\ntrap\nplain again\njump 2\n' > in.txt
cat > want_fork.txt <<'EOF'
record plain: 0 jumps, 0 landings
landed 1 (forked=1)
record jump 1: 1 jumps, 1 landings
landed 1 (forked=1)
landed 2 (forked=1)
landed 3 (forked=1)
record jump 3: 3 jumps, 3 landings
record plain again: 0 jumps, 0 landings
landed 1 (forked=1)
landed 2 (forked=1)
record jump 2: 2 jumps, 2 landings
EOF
printf '3\ttrap\tunreachable\t\n' > want_fork_err.txt
for snap in on off; do
    timeout 120 "$zvm" batch --module "$guests/sjlj_fork.wasm" --input in.txt --output out_$snap.txt \
        --errors err_$snap.txt --snapshot $snap --workers 1 2> summary.txt
    last=$?
    check "batch of sjlj_fork.wasm, --snapshot $snap, exits 0: $(head -1 summary.txt)" $last
    cmp -s out_$snap.txt want_fork.txt
    last=$?
    check "every record lands in the set-up's try, --snapshot $snap: $(diff out_$snap.txt want_fork.txt | head -4)" $last
    cmp -s err_$snap.txt want_fork_err.txt
    last=$?
    check "a record that traps inside the try is reported, --snapshot $snap: $(cat err_$snap.txt)" $last
done

# ---- C++ against its native libc++ build -----------------------------------------------
if clang++ -stdlib=libc++ -std=c++17 -O2 -fno-exceptions -o stl_native "$src/tests/guests/stl.cpp" \
    2> cxx.log; then
    ./stl_native > want_stl.txt
    "$zvm" run "$guests/stl.wasm" > got_stl.txt 2> err.txt
    last=$?
    check "stl.wasm exits 0: $(head -2 err.txt)" $last
    cmp -s got_stl.txt want_stl.txt
    last=$?
    check "stl.wasm prints what its native libc++ build prints: $(diff got_stl.txt want_stl.txt | head -4)" $last
else
    echo "sjlj: no native libc++ (libc++-14-dev): the C++ comparison is skipped: $(head -1 cxx.log)"
fi

# ---- zvm-cc: separate compilation and preprocessing ------------------------------------
cp "$src/tests/guests/sjlj.c" .
"$build/zvm-cc" -O2 -c sjlj.c -o sjlj.o 2> cc.log && [ ! -s cc.log ]
last=$?
check "zvm-cc -c compiles with no warning: $(head -2 cc.log)" $last
"$build/zvm-cc" -E sjlj.c > /dev/null 2> cc.log && [ ! -s cc.log ]
last=$?
check "zvm-cc -E preprocesses with no warning: $(head -2 cc.log)" $last
"$build/zvm-cc" -O2 sjlj.o -o linked.wasm -Wl,-z,stack-size=8388608 2> cc.log
last=$?
check "zvm-cc links an object it compiled: $(head -2 cc.log)" $last
"$zvm" run linked.wasm | cmp -s - want.txt
check "... and it runs as the one-step build" $?
# tmpnam, tmpfile and system from the support library, in a session: its
# in-memory file system holds the temporary files (zvm run PROG.wasm has
# no file system without --dir, and tmpfile fails there)
cat > tmp.c <<'C'
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char name[L_tmpnam], line[32] = "";
    FILE *f = tmpfile(), *g;
    if (!f || !tmpnam(name) || !(g = fopen(name, "w")))
        return 1;
    fputs("kept\n", f);
    rewind(f);
    fgets(line, sizeof line, f);
    printf("%s %s %s", name, tmpnam(NULL), line);
    errno = 0;
    printf("system: %d %d %s\n", system(NULL), system("ls"), strerror(errno));
    return 0;
}
C
"$build/zvm-cc" -Wall -Werror tmp.c -o tmp.wasm 2> cc.log
last=$?
check "tmpnam, L_tmpnam, tmpfile and system build with -Wall -Werror: $(head -2 cc.log)" $last
cat > tmp.manifest <<M
Version = 20130611
Program = tmp.wasm
Memory = 67108864, 0
Timeout = 10
Channel = /dev/null, /dev/stdin, 0, 0, 1, 1, 0, 0
Channel = tmp.out, /dev/stdout, 0, 0, 0, 0, 100, 65536
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 100, 65536
M
"$zvm" run tmp.manifest > tmp.report
printf '/tmp/tmp.000001 /tmp/tmp.000002 kept\nsystem: 0 -1 Function not implemented\n' |
    cmp -s - tmp.out
last=$?
check "they work on the session's file system: $(cat tmp.out) $(sed -n 3p tmp.report)" $last

finish sjlj
