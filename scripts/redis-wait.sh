# redis-wait.sh — sourced by the tests and benchmarks that start their own
# redis-server (tests/e2e/redis_lib.sh, perf/consume.sh, perf/idle.sh).
# (examples/queue_filter/run.sh, installed alone, has its own copy.)

# wait_up PID CLI...: until `CLI... ping` answers PONG (its data loaded) and
# `info server` with PID's process_id (not another server's, that held the
# port first); 1 if PID died first, or after 30 s (PID then killed).
wait_up() {
    local pid=$1
    shift
    for _ in $(seq 600); do
        "$@" ping 2>/dev/null | grep -q PONG &&
            "$@" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$pid" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    kill "$pid" 2>/dev/null
    return 1
}
