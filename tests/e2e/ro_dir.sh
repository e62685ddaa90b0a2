#!/usr/bin/env bash
# ro_dir.sh — read-only host folders (issue 24): `zvm run --dir
# HOST::GUEST:ro` and the records' `--dir HOST::GUEST` of zvm batch and
# zvm-bench, always read-only there. tests/guests/ro_dir.c reads a rules
# file under /data, lists the folder and tries every way of changing it:
# each says EROFS (a writable `zvm run --dir` lets them all), the host
# folder is byte for byte as before, and a file the guest opened before
# its first read of stdin is read from the same position by every record
# under --snapshot first-read, as under --snapshot off. Bad forms and a
# missing folder are refused, named.
#
# Usage: ro_dir.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
bench=$(dirname "$zvm")/perf/zvm-bench
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
g=$guests/ro_dir.wasm

mkdir data
printf 'rule one\nrule two\nrule three\n' > data/rules.txt
snap() { (cd data && find . -printf '%p %s %m\n' | sort && cat rules.txt) ; }
snap > before.txt
ro="create=EROFS append=EROFS trunc=EROFS mkdir=EROFS rename=EROFS symlink=EROFS unlink=EROFS"

printf 'a\nb\n' | "$zvm" run --dir "$tmp/data::/data:ro" "$g" > run_ro.txt 2> run_ro.err
last=$?
check "zvm run --dir ...:ro runs: $(cat run_ro.err)" $last
[ "$(grep -c "^$ro\$" run_ro.txt)" = 2 ]
st=$?
check "every change under a :ro dir is EROFS: $(grep create= run_ro.txt | head -1)" $st
grep -q '^rest 20 bytes: rule two' run_ro.txt && grep -q '^listing: rules.txt$' run_ro.txt
st=$?
check "and it reads and lists it: $(head -4 run_ro.txt)" $st
snap | cmp -s - before.txt
st=$?
check "the host folder is unchanged after :ro: $(snap | diff - before.txt | head -3)" $st

printf 'a\n' | "$zvm" run --dir "$tmp/data::/data" "$g" write > run_rw.txt 2>&1
grep -q '^create=ok append=ok trunc=ok mkdir=ok rename=ok symlink=ok unlink=ok$' run_rw.txt
st=$?
check "without :ro the same calls work: $(grep create= run_rw.txt)" $st
snap | cmp -s - before.txt
check "(and it put everything back)" $?

seq 1 40 | sed 's/^/line /' > in.txt
for w in 1 2; do
    for mode in off first-read; do
        "$zvm" batch --module "$g" --dir "$tmp/data::/data" --input in.txt --output "b.$w.$mode" \
            --errors "b.$w.$mode.err" --workers $w --snapshot $mode 2> "b.$w.$mode.sum"
        echo "status $?" >> "b.$w.$mode"
    done
    cmp -s "b.$w.off" "b.$w.first-read" && cmp -s "b.$w.off.err" "b.$w.first-read.err"
    last=$?
    check "batch --dir on $w workers: first-read gives off's bytes: $(diff "b.$w.off" "b.$w.first-read" | head -4) $(cat "b.$w.first-read.sum")" $last
done
[ "$(grep -c "^$ro\$" b.2.first-read)" = 40 ] && [ "$(grep -c '^rest 20 bytes: rule two' b.2.first-read)" = 40 ]
st=$?
check "each record reads the rules on from the point and cannot change them: $(head -6 b.2.first-read)" $st
grep -q '^status 0$' b.2.first-read && [ ! -s b.2.first-read.err ]
st=$?
check "no record failed: $(head -3 b.2.first-read.err)" $st
snap | cmp -s - before.txt
st=$?
check "the host folder is unchanged after batch: $(snap | diff - before.txt | head -3)" $st

"$bench" --module "$g" --dir "$tmp/data::/data" --count 2000 --workers 1 --snapshot first-read \
    > bench.txt 2>&1
st=$?
check "zvm-bench --dir runs 2000 instances: $(tail -3 bench.txt)" $st

"$zvm" batch --module "$g" --dir "$tmp/data" --input in.txt --output /dev/null 2> bad1.txt
[ $? = 2 ] && grep -q -- '--dir .*HOST::GUEST' bad1.txt
st=$?
check "batch --dir without ::GUEST is refused: $(cat bad1.txt)" $st
"$zvm" batch --module "$g" --dir "$tmp/missing::/data" --input in.txt --output /dev/null 2> bad2.txt
status=$?
[ $status != 0 ] && grep -q "missing" bad2.txt
st=$?
check "a missing --dir folder is refused, named (status $status): $(cat bad2.txt)" $st

finish ro_dir
