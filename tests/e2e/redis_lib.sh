# redis_lib.sh — sourced, after lib.sh, by the tests of `zvm consume`
# against real redis-servers (consume.sh, consume_auth.sh,
# consume_cluster.sh): servers on free ports, streams pushed and read back
# through rcli (each test defines it: port, password, cluster mode), and
# the check everywhere: every input id appears exactly once in OUT and ERR
# together, and nothing stays pending.
command -v redis-server > /dev/null && command -v redis-cli > /dev/null ||
    { echo "$(basename "$0"): redis-server or redis-cli missing: skipped"; exit 77; }
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

# on_free_port START: call START PORT with random ports until it succeeds
# (a server exits when its port is taken); $port is the one taken.
on_free_port() {
    for _ in $(seq 20); do
        port=$((20000 + RANDOM % 40000))
        "$1" "$port" && return 0
    done
    return 1
}

# start_scratch_redis PORT: a server that keeps nothing on disk, on PORT
# (redis_pid), once it answers; for on_free_port.
start_scratch_redis() {
    redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
        --logfile "$tmp/redis.log" &
    redis_pid=$!
    wait_up $redis_pid redis-cli -p "$1"
}

source "$here/../../scripts/redis-wait.sh" # wait_up

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
