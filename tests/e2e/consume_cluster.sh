#!/usr/bin/env bash
# consume_cluster.sh — `zvm consume` on a real Redis Cluster: three
# masters on loopback ports (redis-server --cluster-enabled yes, then
# redis-cli --cluster create), IN, OUT and ERR under one hash tag, two
# consumers started at a node that does not serve the slot, a producer
# pushing through the whole run, and the slot moved to another master
# mid-stream in three steps, so that each of Redis Cluster's answers
# comes up: IN migrated first (reads get ASK, the ack script TRYAGAIN:
# its keys are split), then OUT and ERR (everything ASK, and NOSCRIPT at
# the new node, which never saw the scripts), then the slot handed over
# (MOVED). Every entry must be once in OUT and ERR with nothing pending.
# The consumers are ACL users with README's rights, one with +asking too:
# the other cannot follow ASK and waits for the migration to end. Keys in
# different slots are refused at start, and so is a database other than 0.
#
# Usage: consume_cluster.sh ZVM GUEST_DIR     (exit 77: no cluster support)
zvm=$(realpath "$1") guests=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
readme=$here/../../README.md
source "$here/lib.sh"
source "$here/redis_lib.sh"
node_pids=() pids=() producer=
trap 'kill -9 ${pids[@]:-} ${node_pids[@]:-} $producer 2>/dev/null; rm -rf "$tmp"' EXIT
skip() { echo "consume_cluster.sh: $*: skipped"; exit 77; }
[[ "$(redis-cli --cluster help 2>&1)" == *create* ]] || skip "redis-cli has no --cluster"

start_node() { # PORT: a cluster-enabled master in ./PORT
    mkdir -p "$1"
    redis-server --port "$1" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file \
        "$tmp/$1/nodes.conf" --cluster-node-timeout 5000 --dir "$tmp/$1" --save "" \
        --appendonly no --logfile "$tmp/$1/log" &
    node_pids+=($!)
    wait_up $! redis-cli -p "$1"
}
ports=()
for k in 1 2 3; do
    on_free_port start_node ||
        skip "redis-server does not start with --cluster-enabled yes: $(tail -1 "$port/log" 2>/dev/null)"
    ports+=("$port")
done
redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes \
    > create.log 2>&1 || skip "redis-cli --cluster create failed: $(tail -1 create.log)"
for _ in $(seq 200); do # every node agrees the cluster is up
    up=0
    for p in "${ports[@]}"; do redis-cli -p "$p" CLUSTER INFO | grep -q 'cluster_state:ok' && up=$((up + 1)); done
    [ $up = 3 ] && break
    sleep 0.05
done
check "a 3-master cluster on ports ${ports[*]} is up ($up of 3 nodes say ok)" $([ $up = 3 ]; echo $?)

in='{t}:in' out='{t}:out' err='{t}:errors'
slot=$(redis-cli -p "${ports[0]}" CLUSTER KEYSLOT "$in")
owner_of() { # the port of the master serving $slot, as node $1 sees it (CLUSTER NODES)
    redis-cli -p "$1" CLUSTER NODES | awk -v s="$slot" '{
        for (i = 9; i <= NF; i++) {
            n = split($i, r, "-")
            if ($i !~ /^\[/ && r[1] + 0 <= s && s <= r[n] + 0) { sub(/@.*/, "", $2); sub(/.*:/, "", $2); print $2 }
        } }'
}
from=$(owner_of "${ports[0]}")
for p in "${ports[@]}"; do [ "$p" != "$from" ] && { [ -z "${to:-}" ] && to=$p || seed=$p; }; done
check "slot $slot of $in is on $from; it moves to $to; the consumers start at $seed" \
    $([ -n "$from" ] && [ -n "$to" ] && [ -n "${seed:-}" ]; echo $?)
id_of() { redis-cli -p "$1" CLUSTER MYID; }
rcli() { redis-cli -c -p "$seed" "$@"; } # follows MOVED and ASK, one command at a time
owner_cli() { redis-cli -p "$from" "$@"; }

# ---- IN, OUT and ERR in one slot; two consumers; the slot moved mid-stream ----------------------
{ for i in $(seq 0 2999); do
      [ $((i % 500)) = 7 ] && echo "TRAP $i" || echo "line $i"
  done; } | awk -v s="$in" '{ printf "*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$4\r\ndata\r\n$%d\r\n%s\r\n",
                               length(s), s, length($0), $0 }' | owner_cli --pipe > /dev/null
readme_line=$(grep -m1 '^ACL SETUSER zvm-worker on >PASSWORD ~{logs}:\* ' "$readme")
read -r -a rights <<< "${readme_line#ACL SETUSER zvm-worker on >PASSWORD ~\{logs\}:\* }"
for p in "${ports[@]}"; do # users are per node
    redis-cli -p "$p" ACL SETUSER w1 on '>pw1' '~{t}:*' "${rights[@]}" +asking > /dev/null
    redis-cli -p "$p" ACL SETUSER w2 on '>pw2' '~{t}:*' "${rights[@]}" > /dev/null
done
"$zvm" compile "$guests/records.wasm" > /dev/null # (two first runs at once race on the cache)
for k in 1 2; do
    "$zvm" consume --redis "redis://w$k:pw$k@127.0.0.1:$seed" --stream "$in" --group g --consumer "c$k" \
        --module "$guests/records.wasm" --output-stream "$out" --errors-stream "$err" --timeout 1 \
        --workers 1 --count 64 2> "c$k.log" &
    pids+=($!)
done
touch producing
( b=0
  while [ -e producing ]; do # 50 entries every 20 ms, wherever the slot is (redis-cli -c)
      for i in $(seq 50); do echo "XADD $in * data \"more $b $i\""; done | rcli > /dev/null
      b=$((b + 1))
      sleep 0.02
  done ) &
producer=$!
done_count() { echo $(( $(rcli XLEN "$out") + $(rcli XLEN "$err") )); }
for _ in $(seq 200); do [ "$(done_count)" -ge 1500 ] && break; sleep 0.05; done
check "the consumers run before the move ($(done_count) entries done)" $([ "$(done_count)" -ge 1500 ]; echo $?)

redis-cli -p "$to" CLUSTER SETSLOT "$slot" IMPORTING "$(id_of "$from")" > /dev/null
redis-cli -p "$from" CLUSTER SETSLOT "$slot" MIGRATING "$(id_of "$to")" > /dev/null
redis-cli -p "$from" MIGRATE 127.0.0.1 "$to" "" 0 10000 KEYS "$in" > migrate.log
sleep 1 # IN on the new node, OUT and ERR on the old: reads ASK, commits TRYAGAIN
redis-cli -p "$from" MIGRATE 127.0.0.1 "$to" "" 0 10000 KEYS "$out" "$err" >> migrate.log
sleep 1 # all three moved, the slot not yet handed over: everything ASK
for p in "$to" "$from" "$seed"; do redis-cli -p "$p" CLUSTER SETSLOT "$slot" NODE "$(id_of "$to")"; done >> migrate.log
check "the keys migrated and the slot moved ($(tr '\n' ' ' < migrate.log)); now on $(owner_of "$seed")" \
    $([ "$(grep -c OK migrate.log)" = 5 ] && [ "$(owner_of "$seed")" = "$to" ]; echo $?)
sleep 1 # entries keep coming at the new node
rm producing
wait $producer
producer=
total=$(rcli XLEN "$in")
for _ in $(seq 300); do [ "$(done_count)" -ge "$total" ] && break; sleep 0.1; done
kill -TERM "${pids[@]}"
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
check "both consumers exit 0 on SIGTERM" $status
exactly_once "$in" g "$out" "$err" "a slot moved mid-stream ($total entries, two consumers)"
check "the trapping records are in ERR ($(rcli XLEN "$err"))" $([ "$(rcli XLEN "$err")" = 6 ]; echo $?)
redirects() { # KIND LOG...: the sum of one kind over these consumers' summaries
    local k=$1
    shift
    cat "$@" | awk -v k="$k" '/redirects and retries:/ { for (i = 2; i <= NF; i++) if ($i ~ "^" k) s += $(i - 1) } END { print s + 0 }'
}
for kind in MOVED TRYAGAIN NOSCRIPT; do
    check "the consumers met $kind: $(redirects "$kind" c1.log c2.log) times" \
        $([ "$(redirects "$kind" c1.log c2.log)" -gt 0 ]; echo $?)
done
check "the consumer with +asking followed ASK: $(redirects ASK c1.log) times" \
    $([ "$(redirects ASK c1.log)" -gt 0 ]; echo $?)
check "the consumer without +asking waited instead: $(redirects ASK c2.log) ASK followed" \
    $([ "$(redirects ASK c2.log)" = 0 ]; echo $?)
grep -h "zvm consume:" c1.log c2.log | grep -v "records (" | grep -v -e ": started: " -e ": stopping" > unexpected.log
check "nothing else said on stderr: $(head -3 unexpected.log)" $([ ! -s unexpected.log ]; echo $?)

# ---- refused at start --------------------------------------------------------------------------
"$zvm" consume --redis "127.0.0.1:$seed" --stream logs:in --group g --module "$guests/records.wasm" \
    --output-stream logs:out --errors-stream logs:errors --drain 2> split.log
status=$?
check "keys in different slots: exit 1 and why ($(cat split.log))" \
    $([ $status = 1 ] && grep -q "must share a slot.*logs:in is in slot [0-9]*, logs:out in slot [0-9]*.*hash tag" split.log; echo $?)
check "... before anything was created ($(rcli EXISTS logs:in))" $([ "$(rcli EXISTS logs:in)" = 0 ]; echo $?)
"$zvm" consume --redis "redis://127.0.0.1:$seed/2" --stream "$in" --group g \
    --module "$guests/records.wasm" --output-stream "$out" --drain 2> db.log
status=$?
check "a database other than 0: exit 1 and why ($(cat db.log))" \
    $([ $status = 1 ] && grep -q "SELECT.*not allowed in cluster mode" db.log; echo $?)

finish consume_cluster
