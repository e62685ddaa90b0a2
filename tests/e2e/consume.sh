#!/usr/bin/env bash
# consume.sh — end-to-end tests of `zvm consume` against a real
# redis-server (Debian's), started here on a free port in the scratch
# folder with appendonly and appendfsync always, and stopped at the end:
# outputs and every error cause, 2 and 3 consumers on one stream, kill -9
# and a restart, entries deleted while pending (claimed, or read back by a
# restart), a poison record that kills its consumer every time, Redis
# killed and restarted mid-run, empty and 16 MiB records, --snapshot
# first-read with a read-only --dir, a key of the
# wrong type, writes Redis refuses (ids exhausted, OUT retyped mid-run),
# bad settings, SIGTERM, a new module moving from its tcc build to gcc's
# while it consumes.
#
# The check everywhere: every input id appears exactly once in OUT and
# ERR together, and nothing stays pending.
#
# Usage: consume.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
source "$here/lib.sh"
source "$here/redis_lib.sh"
redis_pid=
pids=()
trap 'kill -9 ${pids[@]:-} $redis_pid 2>/dev/null; rm -rf "$tmp"' EXIT
records=$guests/records.wasm

start_redis() { # [PORT]: on $port in ./redis, AOF fsynced at every write
    port=${1:-$port}
    mkdir -p redis
    redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
        --appendfsync always --save "" --daemonize no --logfile "$tmp/redis/log" &
    redis_pid=$!
    wait_up $redis_pid rcli
}
rcli() { redis-cli -p "$port" "$@"; }
on_free_port start_redis || redis_pid=
check "redis-server starts on a free port ($port)" $([ -n "$redis_pid" ]; echo $?)

consume() { # consume IN GROUP NAME [OPTIONS...]: zvm consume to IN.out, in the foreground
    local in=$1 group=$2 name=$3
    shift 3
    "$zvm" consume --redis "127.0.0.1:$port" --stream "$in" --group "$group" --consumer "$name" \
        --module "$records" --output-stream "$in.out" --timeout 1 "$@"
}
# Its arguments for a background run, which must be zvm's own process (so
# that $! is what a kill reaches): "$zvm" consume $(args IN GROUP NAME) ... &
args() { echo "--redis 127.0.0.1:$port --stream $1 --group $2 --consumer $3 --module $records --output-stream $1.out --timeout 1"; }
running() { # running STREAM NAME MIN_OUT: a consumer in the background ($worker) until
            # its output stream holds MIN_OUT entries
    "$zvm" consume $(args "$1" g "$2") 2> "$1.log" &
    worker=$!
    pids=($worker $redis_pid)
    for _ in $(seq 200); do [ "$(rcli XLEN "$1.out")" -gt "$3" ] && break; sleep 0.05; done
}
kill_holding() { # kill_holding STREAM: kill -9 $worker while it holds pending entries
    for _ in $(seq 100); do # stopped, it cannot commit: catch it between a read and its commit
        kill -STOP $worker
        [ "$(pending "$1" g)" -gt 0 ] && break
        kill -CONT $worker
        sleep 0.01
    done
    kill -9 $worker
    wait $worker 2>/dev/null
}
"$zvm" compile "$records" > /dev/null

# ---- outputs and every error cause ---------------------------------------------------------
push s1 2000
rcli XADD s1 '*' data "TRAP me" > /dev/null
rcli XADD s1 '*' data "LOOP forever" > /dev/null
rcli XADD s1 '*' other "no data field" > /dev/null
rcli XADD s1 '*' data "" > /dev/null
consume s1 g c1 --drain 2> c1.log
last=$?; check "consume --drain exits 0: $(tail -1 c1.log)" $last
exactly_once s1 g s1.out s1.errors "one consumer"
rcli XRANGE s1.out - + COUNT 1 | sed -n 5p > first.txt
check "outputs are the records upper-cased: $(cat first.txt)" $([ "$(cat first.txt)" = "LINE 0" ]; echo $?)
rcli XRANGE s1.errors - + | awk 'prev == "cause" { print } { prev = $0 }' | sort | tr '\n' ' ' > causes.txt
check "ERR holds trap, timeout and malformed: $(cat causes.txt)" \
    $([ "$(cat causes.txt)" = "malformed timeout trap " ]; echo $?)
rcli XRANGE s1.errors - + > s1_errors.txt
grep -q "^TRAP me$" s1_errors.txt
check "an error entry keeps its input data for replay" $?
check "an empty output still gets an entry: $(rcli XLEN s1.out) outputs" $([ "$(rcli XLEN s1.out)" = 2001 ]; echo $?)

# ---- a record that fails says why: its exit code and stderr ---------------------------------
cp "$guests/reuse.wasm" .
rcli XADD sx '*' data "0 fine" > /dev/null
rcli XADD sx '*' data '9 went\twrong' > /dev/null
rcli XADD sx '*' data "3 allowed" > /dev/null
consume sx g cx --drain --module reuse.wasm --arg lines --allow-exit-codes 3 2> cx.log
last=$?; check "consume with failing records exits 0: $(tail -1 cx.log)" $last
exactly_once sx g sx.out sx.errors "exit codes"
rcli --raw XRANGE sx.errors - + > sx_err.txt
check "a non-zero exit goes to ERR with cause exit, detail 'exit 9', its stderr and exit_code: $(tr '\n' ' ' < sx_err.txt)" \
    $(awk 'prev == "cause" { c = $0 } prev == "detail" { d = $0 } prev == "exit_code" { e = $0 }
           prev == "stderr" { s = $0 } { prev = $0 }
           END { exit !(c == "exit" && d == "exit 9" && e == "9" && s == "went\twrong") }' sx_err.txt; echo $?)
rcli --raw XRANGE sx.out - + > sx_out.txt
check "an allowed exit code is an output with its exit_code; a 0 carries none: $(tr '\n' ' ' < sx_out.txt)" \
    $([ "$(grep -c '^exit_code$' sx_out.txt)" = 1 ] && grep -A1 '^exit_code$' sx_out.txt | grep -qx 3; echo $?)

# ---- --skip-empty, 16 MiB records -----------------------------------------------------------
empty_id=$(rcli XADD s2 '*' data "")
head -c 16777216 /dev/zero | tr '\0' 'a' > big.txt
rcli -x XADD s2 '*' data < big.txt > /dev/null
printf 'a' >> big.txt
rcli -x XADD s2 '*' data < big.txt > /dev/null
consume s2 g c1 --drain --skip-empty 2> c2.log
exactly_once s2 g s2.out s2.errors "skip-empty and 16 MiB: the empty output has no entry;" "$empty_id"
check "--skip-empty: only the 16 MiB record has an output ($(rcli XLEN s2.out))" $([ "$(rcli XLEN s2.out)" = 1 ]; echo $?)
rcli XRANGE s2.errors - + > s2_errors.txt
grep -q "larger than the input limit" s2_errors.txt
check "a record over 16 MiB is a limit error" $?

# ---- 2 and 3 consumers on one stream ----------------------------------------------------------
for n in 2 3; do
    push "m$n" 30000
    pids=()
    for k in $(seq "$n"); do
        "$zvm" consume $(args "m$n" g "c$k") --drain --workers 1 2> "m$n-$k.log" &
        pids+=($!)
    done
    wait "${pids[@]}"
    exactly_once "m$n" g "m$n.out" "m$n.errors" "$n consumers"
    busy=0
    for k in $(seq "$n"); do grep -q "zvm consume: [1-9][0-9]* records" "m$n-$k.log" && busy=$((busy + 1)); done
    check "$n consumers all took records ($busy did)" $([ $busy = "$n" ]; echo $?)
done

# ---- kill -9 mid-stream, then a restart under the same name ------------------------------------
push k 60000
running k victim 5000
kill_holding k
before=$(pending k g)
consume k g victim --drain 2> k2.log
exactly_once k g k.out k.errors "kill -9 and restart"
check "the restart found entries pending ($before) and redelivered them: $(tail -1 k2.log)" \
    $([ "$before" -gt 0 ] && grep -q "[1-9][0-9]* redelivered" k2.log; echo $?)

# ---- kill -9, then another consumer claims the dead one's entries ------------------------------
push h 60000
running h dead 5000
kill_holding h
held=$(pending h g)
sleep 1.6 # past --claim-idle
consume h g heir --drain --claim-idle 1500 2> h2.log
exactly_once h g h.out h.errors "claimed from a dead consumer"
check "the heir claimed the dead consumer's $held pending entries: $(tail -2 h2.log | head -1)" \
    $([ "$held" -gt 0 ] && grep -q "[1-9][0-9]* redelivered" h2.log; echo $?)

# ---- entries deleted (XDEL) while pending: they go to ERR as `deleted` --------------------------
# Read under a consumer name with redis-cli, so they are pending to it, then deleted: another
# consumer claims them (Redis 7's XAUTOCLAIM dropped them from the pending list and only named
# them, so they vanished), or a restart under the same name reads them back (they came as
# `malformed`). Either way each input id must be once in OUT or ERR, the deleted ones in ERR
# with cause `deleted`, and nothing pending.
causes_of() { # the "src cause" of every entry of ERR
    rcli XRANGE "$1" - + | awk 'prev == "src" { src = $0 } prev == "cause" { print src, $0 } { prev = $0 }' | sort
}
deleted_while_pending() { # deleted_while_pending IN HOLDER NAME WHAT [OPTIONS...]
    local in=$1 holder=$2 name=$3 what=$4
    shift 4
    push "$in" 20
    rcli XGROUP CREATE "$in" g 0 > /dev/null
    rcli XREADGROUP GROUP g "$holder" COUNT 20 STREAMS "$in" '>' > /dev/null
    ids "$in" > "$in-in.txt"
    gone=$(sed -n '2p;5p;6p;20p' "$in-in.txt")
    rcli XDEL "$in" $gone > /dev/null
    sleep 1.2 # past --claim-idle
    consume "$in" g "$name" --drain "$@" 2> "$in.log"
    last=$?; check "$what: exit 0 ($(tail -1 "$in.log"))" $last
    srcs "$in.out" "$in.errors" > "$in-got.txt"
    cmp -s "$in-in.txt" "$in-got.txt"
    last=$?; check "$what: every input id once in OUT and ERR ($(wc -l < "$in-in.txt") in, $(wc -l < "$in-got.txt") out)" $last
    printf '%s deleted\n' $gone | sort > "$in-want.txt"
    causes_of "$in.errors" > "$in-causes.txt"
    cmp -s "$in-want.txt" "$in-causes.txt"
    last=$?; check "$what: the 4 deleted ids are in ERR as \`deleted\`: $(tr '\n' ' ' < "$in-causes.txt")" $last
    check "$what: nothing pending ($(pending "$in" g))" $([ "$(pending "$in" g)" = 0 ]; echo $?)
}
deleted_while_pending d dead heir "deleted while pending to a dead consumer, claimed" --claim-idle 1001
deleted_while_pending d2 again again "deleted while pending, a restart under the same name"

# ---- a poison record that kills its consumer every time ----------------------------------------
rcli XADD p '*' data "line before" > /dev/null
rcli XADD p '*' data "LOOP poison" > /dev/null
rcli XADD p '*' data "line after" > /dev/null
for round in 1 2 3 4; do
    "$zvm" consume $(args p g poisoned) --timeout 3 --max-deliveries 3 2> "p$round.log" &
    victim=$!
    pids=($victim)
    sleep 1 # the LOOP record runs (3 s): the consumer dies with it
    kill -9 $victim
    wait $victim 2>/dev/null
done
consume p g poisoned --timeout 3 --max-deliveries 3 --drain 2> p5.log
exactly_once p g p.out p.errors "poison"
rcli XRANGE p.errors - + > p_errors.txt
grep -q "^poison$" p_errors.txt && grep -q "^LOOP poison$" p_errors.txt
last=$?; check "the record that killed its consumer 3 times is poison: $(tr '\n' ' ' < p_errors.txt)" $last

# ---- Redis killed and restarted mid-run (appendfsync always) -----------------------------------
push r 60000
running r rc 5000
kill -9 $redis_pid
wait $redis_pid 2>/dev/null
sleep 0.5
start_redis
check "redis-server restarts from its AOF" $?
pids=($worker $redis_pid)
for _ in $(seq 600); do
    [ "$(( $(rcli XLEN r.out) + $(rcli XLEN r.errors) ))" -ge 60000 ] && break
    sleep 0.1
done
sleep 0.5
kill -TERM $worker
wait $worker
check "the consumer exits 0 on SIGTERM after the restart" $?
grep -q "reconnected to Redis" r.log
last=$?; check "it reconnected: $(grep -c reconnect r.log) messages" $last
exactly_once r g r.out r.errors "Redis restarted"

# ---- SIGTERM finishes what is in flight --------------------------------------------------------
push t 30000
running t term 1000
kill -TERM $worker
wait $worker
check "SIGTERM: exit 0" $?
check "SIGTERM: nothing of its own left pending ($(pending t g))" $([ "$(pending t g)" = 0 ]; echo $?)

# ---- tiers: a new module starts on tcc, the pool moves to gcc between records -------------------
if command -v tcc > /dev/null; then
    export ZVM_CACHE=$tmp/cache_tiers
    push tr 1000 first
    "$zvm" consume $(args tr g tier) 2> tr.log &
    worker=$!
    pids=($worker $redis_pid)
    for _ in $(seq 600); do # the background gcc build: at most a minute
        [ "$(rcli XLEN tr.out)" -ge 1000 ] && ! ls cache_tiers/*.pending > /dev/null 2>&1 && break
        sleep 0.1
    done
    sleep 0.3 # the pool polls the cache every 50 ms
    push tr 1000 second
    for _ in $(seq 200); do [ "$(rcli XLEN tr.out)" -ge 2000 ] && break; sleep 0.05; done
    kill -TERM $worker
    wait $worker
    check "tiers: exit 0 on SIGTERM" $?
    exactly_once tr g tr.out tr.errors "tiers"
    tiers=$(grep "tiers:" tr.log)
    base=$(echo "$tiers" | awk '{print $2}')
    check "tiers: the first records ran on tcc, then the pool moved to gcc: $tiers" \
        $([[ "$tiers" == *"then on the optimised one"* ]] && [ "$base" -gt 0 ] &&
          [ "$base" -le 1000 ]; echo $?)
    export ZVM_CACHE=$tmp/cache
fi

# ---- a write Redis refuses leaves its input pending ---------------------------------------------
# OUT's ids exhausted (its last id the largest there is), ERR's likewise, OUT turned into a
# string mid-run: the ack script acked the input, then its XADD failed, and the input was
# recorded nowhere (one more lost at every restart). Now zvm consume stops with exit 1 and a
# message naming the stream and Redis' error, the input stays pending, and once the key is
# repaired a restart writes every input exactly once.
max_id=18446744073709551615-18446744073709551615
pending_ids() { rcli XPENDING "$1" "$2" - + 1000000 | grep -E '^[0-9]+-[0-9]+$'; }
refused() { # refused IN STATUS STREAM ERROR WHAT [ID]: the run that ended with STATUS (log
            # IN.log) was refused; ID (default: any input) is still pending
    check "$5: exit 1 naming $3 and Redis' error: $(grep -m1 "$3" "$1.log")" \
        $([ "$2" = 1 ] && grep -q "$3.*$4" "$1.log"; echo $?)
    check "$5: the input ${6:-of the refused write} is still pending ($(pending "$1" g) are)" \
        $(pending_ids "$1" g | grep -x -- "${6:-.*}" > /dev/null; echo $?)
}
exhausted() { # exhausted IN STREAM WHAT ID: STREAM's last id is the largest: a run is refused
               # with ID pending; STREAM deleted, a rerun writes every input once
    rcli XADD "$2" "$max_id" data x > /dev/null
    consume "$1" g c1 --drain 2> "$1.log"
    refused "$1" $? "$2" "exhausted the last possible ID" "$3" "$4"
    rcli DEL "$2" > /dev/null
    consume "$1" g c1 --drain 2> "$1-2.log"
    exactly_once "$1" g "$1.out" "$1.errors" "$3, then repaired"
}
push x 100
exhausted x x.out "OUT's ids exhausted" "$(rcli XRANGE x - + COUNT 1 | head -1)"
push y 50
trap_id=$(rcli XADD y '*' data "TRAP in y")
push y 50 after
exhausted y y.errors "ERR's ids exhausted" "$trap_id"

push z 60000
running z retyped 5000
kill -STOP $worker # mid-run: OUT becomes a string (its outputs kept aside), then more input
rcli EVAL "redis.call('RENAME', KEYS[1], KEYS[2]) redis.call('SET', KEYS[1], 'x')" 2 z.out z.kept > /dev/null
kill -CONT $worker
rcli XADD z '*' data "after the change" > /dev/null # a commit to come, whenever it stopped
for _ in $(seq 200); do kill -0 $worker 2>/dev/null || break; sleep 0.05; done
kill -TERM $worker 2>/dev/null # still running: the check below fails
wait $worker
refused z $? z.out "WRONGTYPE" "OUT turned into a string mid-run"
rcli EVAL "redis.call('DEL', KEYS[1]) redis.call('RENAME', KEYS[2], KEYS[1])" 2 z.out z.kept > /dev/null
consume z g retyped --drain 2> z2.log
exactly_once z g z.out z.errors "OUT turned into a string mid-run, then repaired"

# ---- --snapshot first-read and a read-only --dir (issue 24), as in batch -------------------------
mkdir data && printf 'rule one\nrule two\n' > data/rules.txt
push fr 200
"$zvm" consume --redis "127.0.0.1:$port" --stream fr --group g --consumer c1 \
    --module "$guests/ro_dir.wasm" --output-stream fr.out --dir "$tmp/data::/data" \
    --snapshot first-read --drain 2> fr.log
last=$?; check "consume --dir --snapshot first-read --drain exits 0: $(tail -1 fr.log)" $last
exactly_once fr g fr.out fr.errors "first-read with a --dir"
rcli XRANGE fr.out - + > fr.txt
echo "$(grep -c '^rest 9 bytes: rule two' fr.txt) $(grep -c '^create=EROFS append=EROFS' fr.txt)" > fr.n
check "each record reads the rules on from the point and cannot change them: $(cat fr.n) of 200" \
    $([ "$(cat fr.n)" = "200 200" ]; echo $?)
[ "$(cat data/rules.txt)" = "$(printf 'rule one\nrule two')" ] && [ "$(ls data)" = rules.txt ]
check "the host folder is unchanged" $?

# ---- bad settings -------------------------------------------------------------------------------
rcli SET notastream x > /dev/null
consume notastream g c1 --drain 2> bad1.log
status=$?
check "a key of another type: exit 1 and why ($(cat bad1.log))" \
    $([ $status = 1 ] && grep -q "notastream holds a string, not a stream" bad1.log; echo $?)
consume s1 g c1 --drain --claim-idle 500 2> bad2.log
status=$?
check "--claim-idle not above --timeout is refused: $(cat bad2.log)" \
    $([ $status = 2 ] && grep -q "must exceed the record timeout" bad2.log; echo $?)
"$zvm" consume --redis 127.0.0.1:1 --stream s --group g --module "$records" --output-stream o \
    --drain 2> bad3.log
status=$?
check "no server: exit 1 and why ($(cat bad3.log))" $([ $status = 1 ] && grep -q "cannot connect" bad3.log; echo $?)

rcli shutdown nosave > /dev/null 2>&1
finish consume
