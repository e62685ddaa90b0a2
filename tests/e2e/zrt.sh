#!/usr/bin/env bash
# zrt.sh — end-to-end tests of the in-memory file system (ZRT's model) that
# manifest sessions and batch records see: tests/guests/zrt.c, a stock C
# program, reads a tar image mounted with `Mount = ALIAS, PATH` (ustar with
# a long pax name), writes, renames and removes its own files, copies a
# channel through a file, cannot write the image or leave the tree; runs
# are deterministic; created files count against Memory (ENOSPC); 100,000
# files in one directory; each batch record starts from the same tree, with
# and without a fork point; a bad Mount or image is a manifest error.
#
# Usage: zrt.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

cp "$guests/zrt.wasm" .
mkdir -p img/sub
echo "hello from the image" > img/greeting.txt
echo "nested file" > img/sub/nested.txt
long=$(printf 'd%.0s' {1..120})
echo "a name over 100 bytes" > "img/sub/$long"
tar --format=pax -C img -cf image.tar greeting.txt sub
echo "input bytes" > input.txt

manifest() { # manifest ARGS IMAGE: a session of zrt.wasm
    cat <<EOF
Version = 20130611
Program = zrt.wasm
Memory = 16777216, 0
Timeout = 10
Args = zrt $1
Mount = /dev/image, /data
Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = out.txt, /dev/stdout, 0, 0, 0, 0, 1000, 1048576
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
Channel = $2, /dev/image, 1, 0, 1000, 10485760, 0, 0
Channel = input.txt, /dev/input, 0, 0, 10, 1000, 0, 0
Channel = output.txt, /dev/output, 0, 0, 0, 0, 10, 1000
EOF
}

# ---- a session on a mounted image ----------------------------------------------------
manifest session image.tar > s.manifest
"$zvm" run s.manifest > report.txt 2> err.txt
last=$?; check "the session exits 0: $(cat err.txt)" $last
want="/data/greeting.txt: hello from the image
/data/sub/nested.txt: nested file
ls /data: . .. greeting.txt sub
ls /data/sub: . .. $long nested.txt
ls /dev: . .. image input output stderr stdin stdout
write into the image: Read-only file system
mkdir /tmp/work: 0
/tmp/work/a.txt: first LINE
/tmp/work/a.txt: second line
size 23 mtime 0.000000000 ino 11
rename: 0, old gone: 1
ls /tmp/work: . .. b.txt copy
unlink: 0 0, rmdir: 0
escape: Operation not permitted
unlink a channel: Operation not permitted"
diff <(echo "$want") out.txt > diff.txt
last=$?; check "the guest's view of the tree: $(cat diff.txt)" $last
check "/dev/input went through a file to /dev/output" $(cmp -s input.txt output.txt; echo $?)
cp out.txt out1.txt
"$zvm" run s.manifest > /dev/null 2>&1
check "a second run prints the same bytes (times and inodes are the virtual clock's)" \
    $(cmp -s out.txt out1.txt; echo $?)

# ---- Memory bounds created files -----------------------------------------------------
manifest fill image.tar > fill.manifest
"$zvm" run fill.manifest > report.txt 2> err.txt
last=$?; check "fill exits 0: $(cat err.txt)" $last
grep -q "^wrote [0-9]* KiB, then: No space left on device$" out.txt
last=$?; check "files stop at the Memory limit with ENOSPC: $(head -1 out.txt)" $last
kib=$(sed -n 's/^wrote \([0-9]*\) KiB.*/\1/p' out.txt)
[ -n "$kib" ] && [ "$kib" -gt 8192 ] && [ "$kib" -lt 16384 ]
check "what fits is Memory less the guest's own pages: $kib KiB of 16384" $?
grep -q "^rename when full: No space left on device, the file kept: 1$" out.txt
last=$?; check "a rename with no room for the new name fails and keeps the file: $(sed -n 2p out.txt)" $last
grep -q "^write again: 65536$" out.txt
last=$?; check "unlink gives the room back: $(tail -1 out.txt)" $last

# (100,000 nodes and names take about 20 MiB of the host's memory, which Memory counts)
manifest many image.tar | sed 's/^Memory = .*/Memory = 67108864, 0/' > many.manifest
"$zvm" run many.manifest > report.txt 2> err.txt
want="100000 files: 100002 entries listed
removed while listing: 100000, rmdir 0"
check "100,000 files in one directory, removed while listed: $(cat out.txt err.txt)" \
    $([ "$(cat out.txt)" = "$want" ]; echo $?)

# ---- batch records: each starts from the same tree -----------------------------------
sed -e '/^Args/d' -e 's#out.txt#/dev/null#' -e '/input.txt\|output.txt/d' s.manifest > tmpl.manifest
printf 'A\nW a\nA\nR a\nA\n' > recs.txt
for snap in on off; do
    "$zvm" batch --module zrt.wasm --manifest tmpl.manifest --input recs.txt --output "recs.$snap" \
        --workers 1 --snapshot $snap 2> err.txt
    last=$?; check "batch --snapshot $snap exits 0: $(tail -1 err.txt)" $last
done
want="/tmp/setup.txt: made before the fork+record
wrote /tmp/a
/tmp/setup.txt: made before the fork+record
/tmp/a: No such file or directory
/tmp/setup.txt: made before the fork+record"
diff <(echo "$want") recs.on > diff.txt
last=$?; check "a record's files are gone for the next; the set-up's come back as they were: $(cat diff.txt)" $last
check "the same bytes with and without the fork point" $(cmp -s recs.on recs.off; echo $?)
"$zvm" batch --module zrt.wasm --manifest tmpl.manifest --input recs.txt --output recs.w2 \
    --workers 2 2> /dev/null
check "the same bytes on two workers" $(cmp -s recs.on recs.w2; echo $?)

# ---- bad mounts: named errors --------------------------------------------------------
bad() { # bad WHAT EXPECTED-STDERR-PATTERN MANIFEST-TEXT
    printf '%s\n' "$3" > bad.manifest
    "$zvm" run bad.manifest > /dev/null 2> err.txt
    local status=$?
    [ $status != 0 ] && grep -q "$2" err.txt
    last=$?; check "$1 is refused (status $status): $(head -1 err.txt)" $last
}
bad "a Mount of no channel" "^zvm run: bad.manifest:6: Mount: no channel has the alias '/dev/nothere'" \
    "$(manifest session image.tar | sed 's#^Mount = .*#Mount = /dev/nothere, /data#')"
bad "a Mount with one field" "^zvm run: bad.manifest:6: Mount: 1 field" \
    "$(manifest session image.tar | sed 's#^Mount = .*#Mount = /dev/image#')"
bad "a relative Mount path" "^zvm run: bad.manifest:6: Mount: path 'data' is not absolute" \
    "$(manifest session image.tar | sed 's#^Mount = .*#Mount = /dev/image, data#')"
bad "an image that is not tar" "Mount = /dev/image: input.txt: not a tar archive at offset 0" \
    "$(manifest session input.txt)"
head -c 1024 image.tar > cut.tar
bad "a truncated image" "Mount = /dev/image: cut.tar: truncated tar archive" \
    "$(manifest session cut.tar)"
cp image.tar flipped.tar
printf 'X' | dd of=flipped.tar bs=1 seek=20 conv=notrunc 2> /dev/null
bad "a header with a bad checksum" "flipped.tar: not a tar archive at offset 0" \
    "$(manifest session flipped.tar)"

finish zrt
