# lib.sh — sourced by the end-to-end scripts (run.sh, manifest.sh,
# batch.sh): a scratch folder that goes away at exit, a private code cache
# in it, and the failure counter.
set -uo pipefail

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
export ZVM_CACHE="$tmp/cache"

n_failed=0 n_checks=0
fail() { echo "FAIL: $*" >&2; n_failed=$((n_failed + 1)); }

# finish NAME: the totals line; the exit status says whether all passed.
finish() {
    echo "$1: $n_checks checks, $n_failed failed"
    [ "$n_failed" = 0 ]
}

# daemon_manifest PROGRAM: a daemon mode manifest for PROGRAM on stdout,
# serving on d.sock with /dev/null as its standard channels (callers add
# channels after it).
daemon_manifest() {
    cat <<MANIFEST
Version = 20130611
Program = $1
Memory = 67108864, 0
Timeout = 5
Job = d.sock
Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = /dev/null, /dev/stdout, 0, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
MANIFEST
}

# wait_until SECONDS COMMAND...: polls COMMAND every 50 ms until it
# succeeds (status 0) or SECONDS have passed (status 1). Waits for a start
# that builds a module with gcc allow a minute: on CI's 2 busy cores one
# such build took more than the 10 s these waits once allowed.
wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.05
    done
}

# start_daemon MANIFEST [OPTIONS...]: `zvm run` of a daemon manifest in the
# background (daemon_pid; its report in daemon.report, its stderr in
# daemon.err), once it serves; with $NOFILE set, under that descriptor
# limit. daemon.err goes first: the last daemon's says "serving jobs" too.
# A daemon whose module has a fork point builds it with gcc before it
# serves.
start_daemon() {
    local m=$1
    shift
    rm -f daemon.err
    ( [ -z "${NOFILE:-}" ] || ulimit -n "$NOFILE"; exec "$zvm" run "$@" "$m" ) \
        > daemon.report 2> daemon.err &
    daemon_pid=$!
    wait_until 60 daemon_serving && grep -q "serving jobs" daemon.err
}
daemon_serving() { grep -q "serving jobs" daemon.err 2>/dev/null || ! kill -0 $daemon_pid 2>/dev/null; }
