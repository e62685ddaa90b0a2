#!/usr/bin/env bash
# python_guest.sh — the installed CPython (issue 24): build/guests/python.wasm
# and its standard library image python3.11.tar, made by the target
# `guests` (scripts/build-python.sh), which zvm mounts by itself (the
# module's `zvm.mount` section): no option is given anywhere. Checks: `-c 'import re, json ...'` prints its
# line and nothing on stderr; no __pycache__ is written, even into a
# writable folder; the fast exit (guests/python/fast_exit.c) ends every
# program with the status, stdout and stderr that the native python3.11
# (Debian's, the same 3.11 source) gives: normal end, sys.exit(N),
# SystemExit, sys.exit("msg"), an uncaught exception, os._exit, atexit
# handlers, a large unflushed stdout, a stdout whose flush fails (120);
# __del__ at exit does not run (README says so). Then the same programs
# per record under `zvm batch --snapshot first-read`: each record's exit
# status as batch reports it, and the same bytes as --snapshot off.
# Skipped (77) when the guest was not built.
#
# Usage: python_guest.sh ZVM GUEST_DIR BUILD_DIR
zvm=$(realpath "$1") build=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
source "$here/lib.sh"
source "$here/python_lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

out=$("$zvm" run "$py" -c \
      'import re, json; print(json.dumps({"a": re.findall("[0-9]+", "a1b22")}))' 2> err.txt)
last=$?
[ $last = 0 ] && [ "$out" = '{"a": ["1", "22"]}' ] && [ ! -s err.txt ]
ok=$?
check "python.wasm -c 'import re, json...' prints its line alone: status $last, '$out', $(head -5 err.txt)" $ok
"$zvm" run "$py" -c 'import sys, os; print(sys.prefix, sys.dont_write_bytecode,
    os.path.exists(sys.prefix + "/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc"))' \
    > prefix.txt 2>&1
[ "$(cat prefix.txt)" = "/usr/local True True" ]
ok=$?
check "prefix /usr/local, bytecode not written, the image's .pyc there: $(cat prefix.txt)" $ok

# a writable folder with a module: imported, and still no __pycache__
mkdir mods && echo 'X = 42' > mods/mymod.py
out=$("$zvm" run --dir "$tmp/mods::/mods" "$py" -c \
      'import sys; sys.path.insert(0, "/mods"); import mymod; print(mymod.X)' 2>&1)
[ "$out" = 42 ] && [ ! -e mods/__pycache__ ]
ok=$?
check "a module from a writable folder: imported, no __pycache__ written: $out, $(ls -a mods)" $ok

# exit statuses, stdout and stderr against the native python3.11
native=$(command -v /usr/bin/python3.11 python3.11 | head -1)
progs=(
    'print("hi")'
    'import sys; print("a"); sys.exit(3)'
    'print("b"); raise SystemExit(4)'
    'import sys; sys.exit("msg")'
    'print("c"); raise ValueError("boom")'
    'import os, sys; sys.stdout.write("lost"); os._exit(5)'
    'import atexit; atexit.register(print, "bye"); print("hi")'
    'import atexit, sys; atexit.register(print, "bye"); sys.exit(2)'
    'import sys; sys.stdout.write("x" * 100000)'
    'import sys, atexit; atexit.register(lambda: sys.stdout.write("late")); sys.stdout.write("early")'
)
for prog in "${progs[@]}"; do
    "$native" -I -c "$prog" > want.out 2> want.err
    echo "status $?" >> want.out
    "$zvm" run "$py" -c "$prog" > got.out 2> got.err
    echo "status $?" >> got.out
    cmp -s got.out want.out && cmp -s got.err want.err
    ok=$?
    check "python -c '$prog' ends as natively: $(diff got.out want.out | head -4) $(diff got.err want.err | head -4)" $ok
done
flushfail='import sys
class W:
    def write(self, s): pass
    def flush(self): raise OSError("no")
sys.stdout = W()'
"$zvm" run "$py" -c "$flushfail" > /dev/null 2> got.err
last=$?
[ $last = 120 ] && grep -q '^OSError: no$' got.err
ok=$?
check "a stdout whose flush fails: status 120 and the error reported, as Py_FinalizeEx: $last, $(cat got.err)" $ok
out=$("$zvm" run "$py" -c 'class A:
    def __del__(self): print("del")
a = A(); print("end")' 2>&1)
[ "$out" = end ]
ok=$?
check "__del__ of an object alive at exit does not run (README): $out" $ok

# per record: a script whose records pick the program, under batch
cat > rec.py <<'EOF'
import atexit, os, sys
line = sys.stdin.readline().strip()
print("got", line)
if line == "exit3":
    sys.exit(3)
if line == "systemexit4":
    raise SystemExit(4)
if line == "msg":
    sys.exit("message")
if line == "raise":
    raise ValueError("boom")
if line == "osexit":
    os._exit(5)
if line == "atexit":
    atexit.register(print, "bye")
EOF
mkdir scripts && cp rec.py scripts/
printf '%s\n' plain exit3 systemexit4 msg raise osexit atexit plain > records.txt
for mode in off first-read; do
    "$zvm" batch --module "$py" --dir "$tmp/scripts::/s" --arg /s/rec.py \
        --snapshot $mode --input records.txt --output "b.$mode" --errors "b.$mode.err" \
        --workers 2 --allow-exit-codes 3 --stats json 2> "b.$mode.sum"
    echo "batch status $?" >> "b.$mode"
done
printf '%s\n' "got plain" "got exit3" "got atexit" bye "got plain" "batch status 0" > want.txt
cmp -s b.first-read want.txt
ok=$?
check "batch first-read: outputs of the records that ended 0 or with the allowed 3: $(diff b.first-read want.txt | head -6)" $ok
awk -F'\t' '{ print $1, $2, $3 }' b.first-read.err > errs.txt
printf '%s\n' "2 exit exit 4" "3 exit exit 1" "4 exit exit 1" "5 exit exit 5" | cmp -s - errs.txt
ok=$?
check "batch first-read: records 2-5 are errors with their exit codes 4, 1, 1, 5: $(cat b.first-read.err)" $ok
grep -q 'message' b.first-read.err && grep -q 'ValueError: boom' b.first-read.err
ok=$?
check "batch first-read: sys.exit's message and the traceback are the records' stderr: $(cat b.first-read.err)" $ok
cmp -s b.off b.first-read && cmp -s b.off.err b.first-read.err
ok=$?
check "first-read gives off's bytes: $(diff b.off b.first-read | head -4) $(diff b.off.err b.first-read.err | head -4)" $ok
grep -q '"start": "fork point"' b.first-read.sum
ok=$?
check "its records start from the fork point: $(cat b.first-read.sum)" $ok

finish python_guest
