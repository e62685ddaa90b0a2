#!/usr/bin/env bash
# units.sh — zvm under systemd (issue 26, part 2): `cmake --install` into a
# scratch prefix puts zvm-consume@.service and zvm-daemon.service in
# PREFIX/lib/systemd/system with ExecStart at PREFIX/bin/zvm, and
# `systemd-analyze verify --man=no` finds nothing to say about them. Then
# the readiness protocol, through a datagram socket as systemd's
# NOTIFY_SOCKET: daemon mode says READY=1 once it serves (and the socket
# answers), STOPPING=1 on SIGTERM; zvm consume says READY=1 once Redis
# answered (when redis-server is installed).
#
# Usage: units.sh ZVM GUEST_DIR BUILD_DIR
zvm=$(realpath "$1") guests=$(realpath "$2") build=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
source "$here/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
command -v systemd-analyze > /dev/null ||
    { echo "units.sh: systemd-analyze missing (Debian: systemd): skipped"; exit 77; }
pids=()
trap 'kill -9 ${pids[@]:-} 2>/dev/null; rm -rf "$tmp"' EXIT

P=$tmp/prefix
cmake --install "$build" --prefix "$P" > install.log 2>&1
last=$?
check "cmake --install: $(tail -3 install.log)" $last
for u in zvm-consume@.service zvm-daemon.service; do
    f=$P/lib/systemd/system/$u
    check "installed $u" $([ -f "$f" ]; echo $?)
    check "$u runs PREFIX/bin/zvm: $(grep ^ExecStart= "$f")" \
        $(grep -q "^ExecStart=$P/bin/zvm " "$f"; echo $?)
    check "$u is Type=notify with a dedicated user" \
        $(grep -qx "Type=notify" "$f" && grep -qx "User=zvm" "$f" && grep -q "^Restart=" "$f"; echo $?)
    systemd-analyze verify --man=no "$f" > verify.out 2>&1
    last=$?
    check "systemd-analyze verify --man=no $u says nothing: $(cat verify.out)" \
        $([ $last = 0 ] && [ ! -s verify.out ]; echo $?)
done
check "the user comes with them (sysusers.d)" $(grep -q "^u zvm " "$P/lib/sysusers.d/zvm.conf"; echo $?)
sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/zvm|' "$P/lib/systemd/system/zvm-daemon.service" \
    > broken.service
systemd-analyze verify --man=no "$tmp/broken.service" > broken.out 2>&1
check "(the check can fail: a missing ExecStart is reported: $(cat broken.out))" \
    $(grep -q "/nonexistent/zvm is not executable" broken.out; echo $?)

# ---- NOTIFY_SOCKET ----------------------------------------------------------------------------
# listen NAME: a datagram socket at $tmp/NAME.sock writing what it gets to NAME.got, one a line
listen() {
    python3 -c 'import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".up", "w").close()
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", " ") + "\n")' "$tmp/$1.sock" "$tmp/$1.got" &
    pids+=($!)
    for _ in $(seq 100); do [ -e "$tmp/$1.sock.up" ] && return 0; sleep 0.05; done
    return 1
}
# wait_for FILE PATTERN
wait_for() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

listen daemon
cp "$guests/hello.wasm" .
daemon_manifest hello.wasm > d.manifest
NOTIFY_SOCKET=$tmp/daemon.sock "$zvm" run --workers 1 d.manifest > daemon.report 2> daemon.err &
daemon=$!
pids+=($daemon)
wait_for daemon.got "READY=1"
check "daemon mode says READY=1 with a status: $(cat daemon.got) $(cat daemon.err)" \
    $(grep -qx "READY=1 STATUS=serving jobs" daemon.got; echo $?)
check "and only once it serves: the socket is there by then" $([ -S d.sock ]; echo $?)
kill -TERM $daemon
wait $daemon
wait_for daemon.got "STOPPING=1"
check "SIGTERM: STOPPING=1, exit 0: $(tr '\n' '|' < daemon.got)" $(grep -qx "STOPPING=1" daemon.got; echo $?)
NOTIFY_SOCKET=$tmp/nobody-listens.sock "$zvm" run "$guests/hello.wasm" > hello.out 2> hello.err
last=$?
check "a NOTIFY_SOCKET nobody listens on changes nothing: $(cat hello.err)" \
    $([ $last = 0 ] && [ ! -s hello.err ]; echo $?)

if command -v redis-server > /dev/null && command -v redis-cli > /dev/null; then
    source "$here/redis_lib.sh"
    on_free_port start_scratch_redis
    pids+=($redis_pid)
    rcli() { redis-cli -p "$port" "$@"; }
    push s 10
    listen consume
    NOTIFY_SOCKET=$tmp/consume.sock "$zvm" consume --redis "127.0.0.1:$port" --stream s --group g \
        --module "$guests/records.wasm" --output-stream s.out > /dev/null 2> consume.err &
    cons=$!
    pids+=($cons)
    wait_for consume.got "READY=1"
    check "zvm consume says READY=1 once Redis answered: $(cat consume.got) $(cat consume.err)" \
        $(grep -qx "READY=1 STATUS=consuming" consume.got; echo $?)
    kill -TERM $cons
    wait $cons
    last=$?
    wait_for consume.got "STOPPING=1"
    check "consume: SIGTERM is STOPPING=1 and exit 0 ($last)" \
        $([ $last = 0 ] && grep -qx "STOPPING=1" consume.got; echo $?)
else
    echo "units.sh: redis-server missing: the consume checks are skipped"
fi

finish units.sh
