#!/usr/bin/env bash
# reuse.sh — every reused run starts from exactly its own state (issue 22),
# and nothing untrusted runs before a deadline.
#
# The same guests (tests/guests/reuse.c: a channel reader with limits,
# stat/fstat/manifest readers, an image reader, a writer of every device)
# run four ways: a plain session, `zvm batch --snapshot off`, `--snapshot
# on`, and a daemon job whose daemon has other channel sources and another
# image than the job. Outputs must be identical, and reports too but for
# the daemon flag and the CPU time. The one documented difference: a
# daemon job's channels are its own, opened for it, so what the daemon's
# set-up read before zvm_fork() is not read from the job's (chan fork).
# Then hostile tar images (a pax length that wraps, 200,000 members in
# reverse order, `..` in names) and what the in-memory file system makes
# the host hold (peak RSS against Memory).
#
# Usage: reuse.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
source "$here/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
daemon_pid=
trap '[ -n "$daemon_pid" ] && kill -9 $daemon_pid 2>/dev/null; rm -rf "$tmp"' EXIT

cp "$guests/reuse.wasm" .
printf '0123456789ab' > rules.txt
printf 'small\n' > small.txt
head -c 100000 /dev/zero | tr '\0' 'z' > big.txt
printf 'record-1\n' > in.txt
mkdir -p ia ib
echo "from a" > ia/a.txt
echo "from b" > ib/b.txt
tar -C ia -cf a.tar a.txt
tar -C ib -cf b.tar b.txt

# channels MODE STDIN STDOUT STDERR INPUT IMAGE: the Channel lines (etags on)
channels() {
    cat <<EOF
Channel = $2, /dev/stdin, 0, 1, 1000, 1048576, 0, 0
Channel = $3, /dev/stdout, 0, 1, 0, 0, 1000, 1048576
Channel = $4, /dev/stderr, 0, 1, 0, 0, 1000, 4096
Channel = rules.txt, /dev/rules, 0, 1, 2, 1000, 0, 0
Channel = $5, /dev/input, 1, 1, 10, 1000000, 0, 0
Channel = $6, /dev/image, 1, 0, 1000, 10485760, 0, 0
EOF
    if [ "$1" = write ]; then
        echo "Channel = out_$3, /dev/out, 0, 1, 0, 0, 10, 1000"
        echo "Channel = rout_$3, /dev/rout, 2, 1, 0, 0, 10, 1000"
        echo "Channel = /dev/null, /dev/null, 0, 1, 0, 0, 10, 1000"
    fi
}
# head MODE FORK [Job = ...]: the manifest's first lines
head_lines() {
    printf 'Version = 20130611\nProgram = reuse.wasm\nMemory = 67108864, 0\nTimeout = 10\n'
    printf 'Args = reuse %s %s\nMount = /dev/image, /img\n' "$1" "$2"
    [ -n "${3:-}" ] && printf 'Job = %s\n' "$3"
    return 0
}
norm() { sed -e '2d' -e '5s/^[0-9.]* //' "$1"; } # a report without daemon flag and CPU
stop_daemon() { kill $daemon_pid; wait $daemon_pid 2>/dev/null; daemon_pid=; }

for mode in chan chan2 stat image write; do
    for fork in nofork fork; do
        k=$mode-$fork
        # a plain session
        { head_lines $mode $fork; channels $mode in.txt s_$k.out s_$k.err big.txt b.tar; } > s_$k.manifest
        "$zvm" run s_$k.manifest > s_$k.report 2> s_$k.log
        last=$?; check "$k: the session exits 0: $(cat s_$k.log)" $last
        # a daemon job: the daemon's sources differ from the job's
        { head_lines $mode $fork d_$k.sock; channels $mode /dev/null /dev/null /dev/null small.txt a.tar
        } | sed '/\/dev\/\(out\|rout\|null\),/s/^Channel = [^,]*,/Channel = \/dev\/null,/' > d_$k.manifest
        { echo "Timeout = 10"; channels $mode in.txt j_$k.out j_$k.err big.txt b.tar; } > j_$k.manifest
        if start_daemon d_$k.manifest --workers 1; then
            "$zvm" job d_$k.sock j_$k.manifest > j_$k.report 2> j_$k.log
            last=$?; check "$k: the daemon job runs: $(cat j_$k.log)" $last
            stop_daemon
        else
            check "$k: the daemon starts: $(cat daemon.err)" 1
        fi
        if [ $k != chan-fork ] && [ $k != chan2-fork ]; then
            cmp -s s_$k.out j_$k.out
            last=$?; check "$k: the daemon job prints what the session prints: $(diff s_$k.out j_$k.out | head -6)" $last
            diff <(norm s_$k.report) <(norm j_$k.report) > rdiff.txt
            last=$?; check "$k: the daemon job's report is the session's: $(cat rdiff.txt)" $last
        fi
        if [ $mode = write ]; then
            cmp -s out_s_$k.out out_j_$k.out && cmp -s rout_s_$k.out rout_j_$k.out &&
                cmp -s s_$k.err j_$k.err
            check "$k: the job writes the devices as the session does" $?
            continue # batch templates have no writable channels but the standard ones
        fi
        # batch records, with the snapshot on and off
        { head_lines $mode $fork; channels $mode /dev/null /dev/null /dev/null big.txt b.tar; } > t_$k.manifest
        for snap in on off; do
            "$zvm" batch --module reuse.wasm --manifest t_$k.manifest --input in.txt \
                --output b_${snap}_$k.out --errors b_${snap}_$k.errors --workers 1 \
                --snapshot $snap 2> b_$snap.log
            last=$?; check "$k: batch --snapshot $snap exits 0: $(cat b_$snap.log)" $last
            if [ -s b_${snap}_$k.errors ]; then # a record refused by a limit is an error in batch
                grep -q "channel calls refused" s_$k.report && [ ! -s b_${snap}_$k.out ]
                last=$?; check "$k: batch --snapshot $snap fails the record where the session's report has refused calls: $(cat b_${snap}_$k.errors)" $last
            else
                cmp -s s_$k.out b_${snap}_$k.out
                last=$?; check "$k: batch --snapshot $snap prints what the session prints: $(diff s_$k.out b_${snap}_$k.out | head -6)" $last
            fi
        done
        cmp -s b_on_$k.out b_off_$k.out && cmp -s b_on_$k.errors b_off_$k.errors
        last=$?; check "$k: batch gives the same bytes and statuses with --snapshot on and off: $(cat b_on_$k.errors b_off_$k.errors)" $last
    done
done
# what the cases above must have printed, so that agreeing on a wrong answer fails too
want_chan='set-up read: 4 "0123"
second: 4 "4567"
third: Quota exceeded
stdin: record-1'
check "chan-fork: the set-up's read counts: records go on from the fork point's position and limits: $(cat s_chan-fork.out)" \
    $([ "$(cat s_chan-fork.out)" = "$want_chan" ]; echo $?)
want_job='set-up read: 4 "0123"
second: 4 "0123"
third: 4 "4567"
stdin: record-1'
check "chan-fork: a daemon job's /dev/rules is its own, opened for it: $(cat j_chan-fork.out)" \
    $([ "$(cat j_chan-fork.out)" = "$want_job" ]; echo $?)
check "chan2-fork: records with --snapshot on go on from the fork point: $(cat b_on_chan2-fork.out)" \
    $([ "$(cat b_on_chan2-fork.out)" = "$(head -2 <<< "$want_chan"; echo "stdin: record-1")" ]; echo $?)
for f in nofork fork; do
    check "stat-$f: the job's /dev/input: $(cat j_stat-$f.out)" \
        $([ "$(head -3 j_stat-$f.out)" = "$(printf 'stat: 100000 file\nfstat: 100000 file\nmanifest: 100000')" ]; echo $?)
    check "image-$f: the job's image: $(cat j_image-$f.out)" \
        $([ "$(head -1 j_image-$f.out)" = "/img/b.txt: from b" ]; echo $?)
done

# ---- untrusted images are parsed in time bounded by their size ------------------------
img_manifest() { # img_manifest IMAGE ARGS
    printf 'Version = 20130611\nProgram = reuse.wasm\nMemory = 67108864, 0\nTimeout = %s\n' "${3:-2}"
    printf 'Args = reuse %s\nMount = /dev/image, /img\n' "$2"
    channels image /dev/null out.txt /dev/null small.txt "$1"
}
python3 "$here/mktar.py" pax-wrap wrap.tar
img_manifest wrap.tar image > wrap.manifest
timeout 20 "$zvm" run wrap.manifest > wrap.report 2> wrap.log
last=$?
check "a pax length that wraps around 2^64 does not hang the set-up (exit $last)" $([ $last != 124 ]; echo $?)
check "the image is read up to the bad record: $(cat out.txt)" $([ "$(cat out.txt)" = "/img/aaaaaaaaaaa: hello" ]; echo $?)

python3 "$here/mktar.py" dotdot dotdot.tar
img_manifest dotdot.tar image > dotdot.manifest
"$zvm" run dotdot.manifest > /dev/null 2>&1
check "members whose names climb are left out, ./ is dropped: $(cat out.txt)" \
    $([ "$(cat out.txt)" = "/img/ok.txt: ok" ]; echo $?)

python3 "$here/mktar.py" reverse 200000 rev.tar
python3 "$here/mktar.py" sorted 200000 sorted.tar
elapsed() { # elapsed IMAGE: seconds to set up a session on it
    img_manifest "$1" none 60 > t.manifest
    local t0 t1
    t0=$(date +%s%N)
    "$zvm" run t.manifest > /dev/null 2>&1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
t_sorted=$(elapsed sorted.tar) t_rev=$(elapsed rev.tar)
check "200,000 members in reverse order set up about as fast as in order: ${t_rev} ms against ${t_sorted} ms" \
    $([ "$t_rev" -lt $((3 * t_sorted + 500)) ]; echo $?)

# ---- what the file system makes the host hold counts against Memory ------------------
peak_kib() { # peak_kib MEMORY ARGS: zvm run's peak RSS (hog KIND: making KIND until refused)
    printf 'Version = 20130611\nProgram = reuse.wasm\nMemory = %s, 0\nTimeout = 60\nArgs = reuse %s\n' "$1" "$2" > hog.manifest
    printf 'Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0\nChannel = hog.out, /dev/stdout, 0, 0, 0, 0, 1000, 4096\nChannel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096\n' >> hog.manifest
    /usr/bin/time -f %M "$zvm" run hog.manifest 2>&1 >/dev/null | tail -1
}
base=$(peak_kib 67108864 none)
for kind in file dir symlink link data; do
    for mem in 16777216 67108864; do
        kib=$(peak_kib $mem "hog $kind")
        mib=$((mem >> 20))
        limit=$((mib >= 64 ? (mem >> 10) + 65536 : 3 * (mem >> 10)))
        grep -q "No space left on device" hog.out
        last=$?; check "$kind, Memory $mib MiB: stops with ENOSPC: $(cat hog.out)" $last
        check "$kind, Memory $mib MiB: peak RSS $kib KiB (zvm alone $base KiB) under $limit KiB" \
            $([ "$kib" -lt "$limit" ]; echo $?)
    done
done

finish reuse
