#!/usr/bin/env bash
# consume.sh — end-to-end tests of `zvm consume` against a real
# redis-server (Debian's), started here on a free port in the scratch
# folder with appendonly and appendfsync always, and stopped at the end:
# outputs and every error cause, 2 and 3 consumers on one stream, kill -9
# and a restart, a poison record that kills its consumer every time, Redis
# killed and restarted mid-run, empty and 16 MiB records, a key of the
# wrong type, bad settings, SIGTERM, a new module moving from its tcc
# build to gcc's while it consumes.
#
# The check everywhere: every input id appears exactly once in OUT and
# ERR together, and nothing stays pending.
#
# Usage: consume.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || { echo "consume.sh: redis-server missing: skipped"; exit 77; }
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
redis_pid=
pids=()
trap 'kill -9 ${pids[@]:-} $redis_pid 2>/dev/null; rm -rf "$tmp"' EXIT
records=$guests/records.wasm

start_redis() { # on $port in ./redis, AOF fsynced at every write
    mkdir -p redis
    redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
        --appendfsync always --save "" --daemonize no --logfile "$tmp/redis/log" &
    redis_pid=$!
    for _ in $(seq 100); do
        rcli ping 2>/dev/null | grep -q PONG && return 0
        kill -0 $redis_pid 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
rcli() { redis-cli -p "$port" "$@"; }
for _ in $(seq 20); do # a free port: the server refuses a taken one
    port=$((20000 + RANDOM % 40000))
    start_redis && break
    redis_pid=
done
check "redis-server starts on a free port ($port)" $([ -n "$redis_pid" ]; echo $?)

push() { # push STREAM N [PREFIX]: N entries "PREFIX i" through one pipe (RESP)
    awk -v s="$1" -v n="$2" -v p="${3:-line}" 'BEGIN {
        for (i = 0; i < n; i++) {
            v = p " " i
            printf "*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$4\r\ndata\r\n$%d\r\n%s\r\n",
                   length(s), s, length(v), v } }' | rcli --pipe > /dev/null
}
ids() { rcli XRANGE "$1" - + | grep -E '^[0-9]+-[0-9]+$' | sort; } # input ids
srcs() { # the src field of every entry of OUT and ERR
    for s in "$@"; do rcli XRANGE "$s" - + | awk 'prev == "src" { print } { prev = $0 }'; done | sort
}
pending() { rcli XPENDING "$1" "$2" | head -1; }
exactly_once() { # exactly_once IN GROUP OUT ERR WHAT [SKIPPED-ID]: SKIPPED-ID has no entry
    ids "$1" | grep -vx -- "${6:-none}" > want_ids.txt
    srcs "$3" "$4" > got_ids.txt
    cmp -s want_ids.txt got_ids.txt
    last=$?; check "$5: every input id once in OUT and ERR ($(wc -l < want_ids.txt) in, $(wc -l < got_ids.txt) out, $(sort got_ids.txt | uniq -d | wc -l) doubled)" $last
    check "$5: nothing pending ($(pending "$1" "$2"))" $([ "$(pending "$1" "$2")" = 0 ]; echo $?)
}
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
