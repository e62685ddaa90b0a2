#!/usr/bin/env bash
# module_mount.sh — a module's own images (issue 24): the custom section
# `zvm.mount` names tar images beside the module's file, and zvm mounts
# them read-only in `zvm run PROG.wasm`, `zvm batch` (both snapshot
# modes, 1 and 2 workers) and zvm-bench, with no option. The guest is
# tests/guests/ro_dir.c (it reads /data/rules.txt, lists /data and tries
# every way of changing it) with a section added by llvm-objcopy: what it
# sees must be what a read-only --dir of the same files shows, every
# change EROFS. Hostile sections (an image path that climbs, a relative
# or unnormalised guest path, two sections, too many lines, a missing
# image) are refused before the guest runs, naming the line and cause.
#
# Usage: module_mount.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
bench=$(dirname "$zvm")/perf/zvm-bench
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
objcopy=$(command -v llvm-objcopy-14 || command -v llvm-objcopy)

# with_section OUT TEXT: ro_dir.wasm with TEXT as its zvm.mount section
with_section() {
    printf '%b' "$2" > section.txt
    "$objcopy" --add-section zvm.mount=section.txt "$guests/ro_dir.wasm" "$1"
}

mkdir data mod
printf 'rule one\nrule two\nrule three\n' > data/rules.txt
tar -C data -cf mod/rules.tar rules.txt
with_section mod/filter.wasm 'rules.tar /data\n'
ro="create=EROFS append=EROFS trunc=EROFS mkdir=EROFS rename=EROFS symlink=EROFS unlink=EROFS"

printf 'a\nb\n' | "$zvm" run --dir "$tmp/data::/data:ro" "$guests/ro_dir.wasm" > want.txt 2>&1
printf 'a\nb\n' | "$zvm" run mod/filter.wasm > run.txt 2> run.err
last=$?
check "zvm run of a module with a zvm.mount section: status $last: $(cat run.err)" $last
cmp -s run.txt want.txt
st=$?
check "it sees the image at /data as a read-only --dir of the same files: $(diff run.txt want.txt | head -6)" $st
[ "$(grep -c "^$ro\$" run.txt)" = 2 ] && grep -q '^rest 20 bytes: rule two' run.txt
st=$?
check "it reads the image and every change is EROFS: $(head -4 run.txt)" $st
(cd / && printf 'a\n' | "$zvm" run "$tmp/mod/filter.wasm" > "$tmp/cwd.txt" 2>&1)
grep -q '^rest 20 bytes: rule two' cwd.txt
st=$?
check "the image is found beside the module from any folder: $(head -3 cwd.txt)" $st
ln -s mod/filter.wasm link.wasm
printf 'a\n' | "$zvm" run link.wasm > link.txt 2>&1
grep -q '^rest 20 bytes: rule two' link.txt
st=$?
check "and beside the file a symlink names: $(head -3 link.txt)" $st
printf 'a\n' | "$zvm" run --dir "$tmp/data::/other:ro" mod/filter.wasm > both.txt 2>&1
grep -q '^rest 20 bytes: rule two' both.txt
st=$?
check "a --dir beside it keeps its own place: $(head -3 both.txt)" $st

seq 1 40 | sed 's/^/line /' > in.txt
"$zvm" batch --module "$guests/ro_dir.wasm" --dir "$tmp/data::/data" --input in.txt \
    --output b.want --workers 1 --snapshot off 2> b.want.sum
for w in 1 2; do
    for mode in off first-read; do
        "$zvm" batch --module mod/filter.wasm --input in.txt --output "b.$w.$mode" \
            --errors "b.$w.$mode.err" --workers $w --snapshot $mode 2> "b.$w.$mode.sum"
        last=$?
        check "batch on $w workers, --snapshot $mode: status $last: $(cat "b.$w.$mode.sum")" $last
        cmp -s "b.$w.$mode" b.want && [ ! -s "b.$w.$mode.err" ]
        st=$?
        check "batch on $w workers, --snapshot $mode: a --dir's bytes: $(diff "b.$w.$mode" b.want | head -4)" $st
    done
done
[ "$(grep -c "^$ro\$" b.2.first-read)" = 40 ]
st=$?
check "no record can change the image: $(grep create= b.2.first-read | sort | uniq -c)" $st

"$bench" --module mod/filter.wasm --count 2000 --workers 1 --snapshot first-read > bench.txt 2>&1
st=$?
check "zvm-bench runs 2000 instances of it: $(tail -3 bench.txt)" $st

# refused(NAME SECTION WHY): zvm run and zvm batch both refuse the module,
# naming the cause, and the guest never runs
refused() {
    with_section "mod/$1.wasm" "$2"
    printf 'a\n' | "$zvm" run "mod/$1.wasm" > "$1.out" 2> "$1.err"
    local st=$? ok
    [ $st = 1 ] && grep -q -- "$3" "$1.err" && ! grep -q record "$1.out"
    ok=$?
    check "zvm run refuses $1 (status $st, want 1): $(cat "$1.err" "$1.out" | head -3)" $ok
    "$zvm" batch --module "mod/$1.wasm" --input in.txt --output "$1.b" 2> "$1.berr"
    st=$?
    [ $st = 1 ] && grep -q -- "$3" "$1.berr" && [ ! -s "$1.b" ]
    ok=$?
    check "zvm batch refuses $1 (status $st, want 1): $(head -3 "$1.berr")" $ok
}
refused climb '../data/rules.tar /data\n' "line 1: the image must be a file name beside the module"
refused dotdot '.. /data\n' "line 1: the image must be a file name"
refused relative 'rules.tar data\n' "line 1: the guest directory must be absolute"
refused unnormal 'rules.tar /a/../data\n' "line 1: the guest directory must be normalised"
refused trailing 'rules.tar /data/\n' "line 1: the guest directory must be normalised"
refused nospace 'rules.tar\n' "line 1: expected 'IMAGE GUESTDIR'"
refused second 'rules.tar /data\nrules.tar\t/x\n' "line 2: a control character"
refused missing 'gone.tar /data\n' "gone.tar: No such file"
refused many "$(for i in $(seq 17); do printf 'rules.tar /d%s\\n' "$i"; done)" "line 17: more than 16 images"
"$objcopy" --add-section zvm.mount=section.txt mod/filter.wasm mod/twice.wasm
printf 'a\n' | "$zvm" run mod/twice.wasm > twice.out 2> twice.err
[ $? = 1 ] && grep -q "zvm.mount appears 2 times" twice.err
st=$?
check "two zvm.mount sections are refused: $(cat twice.err)" $st
head -c 700 mod/rules.tar > mod/cut.tar
with_section mod/cut.wasm 'cut.tar /data\n'
printf 'a\n' | "$zvm" run mod/cut.wasm > cut.out 2> cut.err
[ $? = 1 ] && grep -q "cut.tar" cut.err
st=$?
check "a truncated image is refused, named: $(cat cut.err)" $st

finish module_mount
