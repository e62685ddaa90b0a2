#!/usr/bin/env bash
# reload.sh — SIGHUP reloads the module without downtime (issue 26, part
# 3). zvm batch on a pipe: --module a symlink moved to a new version between
# two parts of the input, then a junk file; outputs, record indexes, summary and metrics go
# on across both. Daemon mode: jobs keep coming from 4 clients while the Program file
# is replaced and the daemon gets SIGHUP; every job is answered once, those
# before by the old module and those after by the new, and a Program that
# does not load is refused while the old one serves on. zvm consume,
# against a real redis-server and under load: while 30000
# entries stream through, the module file is replaced by another and the
# consumer gets SIGHUP; records after it run the new module, and every
# input id is still written exactly once with nothing pending. A module
# file that does not load on the next SIGHUP is refused with a
# reload_failed event while the one before runs on; the metrics count
# both reloads, and the totals go on across the reload.
#
# Usage: reload.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
source "$here/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
pids=()
trap 'kill -9 ${pids[@]:-} 2>/dev/null; rm -rf "$tmp"' EXIT
command -v curl > /dev/null || { echo "reload.sh: curl missing: skipped"; exit 77; }
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# wait_for FILE PATTERN
wait_for() { wait_until 60 grep -q "$2" "$1" 2>/dev/null; }
"$zvm" compile "$guests/hello.wasm" > /dev/null # the second module's build is not what is timed

# ---- daemon mode ------------------------------------------------------------------------------
cp "$guests/records.wasm" prog.wasm
daemon_manifest prog.wasm > d.manifest
printf 'a job\n' > din.txt
jobs=400
for i in $(seq $jobs); do
    printf 'Timeout = 5\nChannel = din.txt, /dev/stdin, 0, 0, 1000, 1048576, 0, 0\n' > "j$i.manifest"
    printf 'Channel = out%d.txt, /dev/stdout, 0, 0, 0, 0, 1000, 4096\n' "$i" >> "j$i.manifest"
    printf 'Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096\n' >> "j$i.manifest"
done
start_daemon d.manifest --workers 2 --metrics 0 --log-format json
st=$?
check "the daemon starts: $(head -c 300 daemon.err)" $st
pids+=($daemon_pid)
durl=$(grep -o 'http://[^"]*/metrics' daemon.err | head -1)
client() { # client K: jobs K, K+4, ... one after another; each one's exit status in status.K
    for ((i = $1; i <= jobs; i += 4)); do "$zvm" job d.sock "j$i.manifest" > "r$i.txt" 2>&1; echo "$i $?"; done > "status.$1"
}
for k in 1 2 3 4; do client $k & cpids+=($!); done
for _ in $(seq 400); do [ "$(ls out*.txt 2>/dev/null | wc -l)" -gt 60 ] && break; sleep 0.02; done
cp "$guests/hello.wasm" prog.new && mv prog.new prog.wasm
kill -HUP $daemon_pid
wait_for daemon.err '"event": "reload"'
st=$?
check "SIGHUP reloads the daemon's program: $(grep '"event": "reload' daemon.err | head -c 300)" $st
printf 'not wasm' > prog.new && mv prog.new prog.wasm
kill -HUP $daemon_pid
wait_for daemon.err '"event": "reload_failed"'
st=$?
check "a program that does not load is refused: $(grep reload_failed daemon.err | head -c 300)" $st
wait "${cpids[@]}"
curl -s "$durl" > dpage.txt
kill -TERM $daemon_pid
wait $daemon_pid
check "the daemon exits 0 after its reloads" $?
cat status.* | sort -n > statuses.txt
check "every job answered once, exit 0: $(awk '$2 != 0' statuses.txt | head -3 | tr '\n' ' ')" \
    $([ "$(wc -l < statuses.txt)" = $jobs ] && [ "$(awk '$2 == 0' statuses.txt | wc -l)" = $jobs ]; echo $?)
old=$(grep -lx 'A JOB' out*.txt | wc -l) new=$(grep -lx 'hello, world' out*.txt | wc -l)
check "each job's output is the old module's or the new one's: $old + $new = $jobs" \
    $([ "$old" -gt 0 ] && [ "$new" -gt 0 ] && [ $((old + new)) = $jobs ]; echo $?)
check "daemon metrics: one reload done, one refused, $jobs jobs ok: $(grep -E '^zvm_(module_reloads|records)_total' dpage.txt | grep -v ' 0$' | tr '\n' ' ')" \
    $([ "$(metric dpage.txt 'zvm_module_reloads_total{result="ok"}')" = 1 ] &&
      [ "$(metric dpage.txt 'zvm_module_reloads_total{result="failed"}')" = 1 ] &&
      [ "$(metric dpage.txt 'zvm_records_total{cause="ok"}')" = $jobs ]; echo $?)

# ---- zvm batch on a pipe -------------------------------------------------------------------
cp "$guests/hello.wasm" v1.wasm
cp "$guests/records.wasm" v2.wasm
ln -s v1.wasm b.wasm # a new version under a new name: the link moves
mkfifo in.fifo
"$zvm" batch --module b.wasm --input in.fifo --output bout.txt --errors berr.tsv --metrics 0 \
    --log-format json --stats json --stats-file bstats.json 2> batch.log &
batch=$!
pids+=($batch)
exec 3> in.fifo
for i in $(seq 1000); do echo "a $i"; done >&3
for _ in $(seq 200); do [ "$(wc -l < bout.txt 2>/dev/null || echo 0)" -ge 1000 ] && break; sleep 0.05; done
ln -sfn v2.wasm b.new && mv -T b.new b.wasm
kill -HUP $batch
wait_for batch.log '"event": "reload"'
st=$?
check "SIGHUP reloads batch's module: $(grep '"event": "reload' batch.log | head -c 300)" $st
burl=$(grep -o 'http://[^"]*/metrics' batch.log | head -1)
for i in $(seq 1000); do echo "b $i"; done >&3
echo "TRAP x" >&3
for _ in $(seq 200); do [ "$(wc -l < bout.txt)" -ge 2000 ] && break; sleep 0.05; done
printf 'not wasm' > b.new && mv b.new b.wasm
kill -HUP $batch
wait_for batch.log '"event": "reload_failed"'
st=$?
check "a module that does not load is refused, batch goes on: $(grep reload_failed batch.log | head -c 300)" $st
for i in $(seq 500); do echo "c $i"; done >&3
curl -s "$burl" > bpage.txt
exec 3>&-
wait $batch
check "batch exits 0 at the input's end after its reloads" $?
check "records before the reload ran the old module, after it the new: $(sort bout.txt | uniq -c | sort -rn | head -3 | tr '\n' ' ')" \
    $([ "$(grep -c '^hello, world$' bout.txt)" = 1000 ] && [ "$(grep -c '^B ' bout.txt)" = 1000 ] &&
      [ "$(grep -c '^C ' bout.txt)" = 500 ] && [ "$(wc -l < bout.txt)" = 2500 ] &&
      [ "$(head -1000 bout.txt | sort -u)" = "hello, world" ]; echo $?)
check "record indexes go on across the reload: $(cat berr.tsv)" \
    $(grep -q "^2000	trap	unreachable" berr.tsv; echo $?)
python3 -c 'import json
s = json.load(open("bstats.json"))
assert s["records"] == 2501 and s["by_cause"]["ok"] == 2500 and s["by_cause"]["trap"] == 1, s' 2> bstats.err
st=$?
check "the summary counts every record across the reload: $(cat bstats.err)" $st
check "batch metrics: reloads ok 1, failed 1: $(grep '^zvm_module_reloads_total' bpage.txt | tr '\n' ' ')" \
    $([ "$(metric bpage.txt 'zvm_module_reloads_total{result="ok"}')" = 1 ] &&
      [ "$(metric bpage.txt 'zvm_module_reloads_total{result="failed"}')" = 1 ]; echo $?)

# ---- zvm consume ----------------------------------------------------------------------------
if ! command -v redis-server > /dev/null || ! command -v redis-cli > /dev/null; then
    echo "reload.sh: redis-server missing: the consume checks are skipped"
    finish reload.sh
    exit
fi
source "$here/redis_lib.sh"

on_free_port start_scratch_redis
pids+=($redis_pid)
rcli() { redis-cli -p "$port" "$@"; }
n=30000
push s $n
cp "$guests/records.wasm" filter.wasm
"$zvm" consume --redis "127.0.0.1:$port" --stream s --group g --consumer c1 --module filter.wasm \
    --output-stream s.out --errors-stream s.err --count 32 --metrics 0 --log-format json \
    --stats json --stats-file stats.json 2> consume.log &
cons=$!
pids+=($cons)
wait_for consume.log '"event": "start"'
url=$(grep -o 'http://[^"]*/metrics' consume.log | head -1)
for _ in $(seq 200); do [ "$(rcli XLEN s.out)" -gt 2000 ] && break; sleep 0.02; done
before=$(rcli XLEN s.out)
cp "$guests/hello.wasm" filter.new && mv filter.new filter.wasm
kill -HUP $cons
wait_for consume.log '"event": "reload"'
st=$?
check "SIGHUP reloads the module: $(grep '"event": "reload' consume.log | head -c 300)" $st
at_reload=$(rcli XLEN s.out)
echo "reload.sh: $before entries written before the SIGHUP, $at_reload at the reload, of $n"
check "under load: the reload came while entries were streaming ($before written before, $at_reload at it, of $n)" \
    $([ "$at_reload" -lt $n ]; echo $?)
printf 'not wasm' > filter.new && mv filter.new filter.wasm
kill -HUP $cons
wait_for consume.log '"event": "reload_failed"'
check "a module that does not load is refused and says why: $(grep reload_failed consume.log | head -c 300)" \
    $(grep '"event": "reload_failed"' consume.log | grep -q 'filter.wasm'; echo $?)
for _ in $(seq 600); do [ "$(rcli XLEN s.out)" = $n ] && break; sleep 0.05; done
curl -s "$url" > page.txt
kill -TERM $cons
wait $cons
last=$?
check "consume exits 0 on SIGTERM after the reloads ($last)" $([ $last = 0 ]; echo $?)
exactly_once s g s.out s.err "across a reload and a refused one"
rcli XRANGE s.out - + | awk 'prev == "data" { print } { prev = $0 }' > datas.txt
old=$(grep -c '^LINE ' datas.txt) new=$(grep -c '^hello, world' datas.txt)
check "the records before ran the old module, those after the new one: $old + $new = $n" \
    $([ "$old" -ge "$before" ] && [ "$new" -gt 0 ] && [ $((old + new)) = $n ]; echo $?)
check "no old-module output after the first new one (in-flight records finished first)" \
    $(awk '/^hello, world/ { seen = 1 } /^LINE / && seen { bad = 1 } END { exit bad }' datas.txt; echo $?)
check "metrics: one reload done, one refused: $(grep '^zvm_module_reloads_total' page.txt | tr '\n' ' ')" \
    $([ "$(metric page.txt 'zvm_module_reloads_total{result="ok"}')" = 1 ] &&
      [ "$(metric page.txt 'zvm_module_reloads_total{result="failed"}')" = 1 ]; echo $?)
check "the totals go on across the reload: zvm_records_total ok = $(metric page.txt 'zvm_records_total{cause="ok"}')" \
    $([ "$(metric page.txt 'zvm_records_total{cause="ok"}')" = $n ]; echo $?)
python3 -c 'import json
s = json.load(open("stats.json"))
assert s["records"] == '$n' and s["by_cause"]["ok"] == '$n', s' 2> stats.err
st=$?
check "so does the summary: $(cat stats.err)" $st

finish reload.sh
