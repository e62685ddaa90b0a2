#!/usr/bin/env bash
# daemon.sh — end-to-end tests of daemon mode (`zvm run` of a manifest
# with Job = PATH) with the rule-filter guest: jobs from the fork point
# over the socket (owner-only), etags, JSON reports, every way a job can
# be bad (framing, manifest, channels that do not fit, sources that do
# not open) answered with a report while the daemon goes on, even to a
# client still sending bytes the daemon will not read, jobs that trap or
# time out, clients that hang up, 1000 connections at once, idle
# connections that must not starve new clients (slowloris), a second
# daemon on the same socket, SIGTERM finishing a running job, and a new
# module's daemon moving from its tcc build to gcc's between jobs.
#
# Usage: daemon.sh ZVM GUEST_DIR CLIENT
zvm=$(realpath "$1") guests=$(realpath "$2") client=$(realpath "$3")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
daemon_pid=
trap '[ -n "$daemon_pid" ] && kill -9 $daemon_pid 2>/dev/null; rm -rf "$tmp"' EXIT

cp "$guests/snapshot_rules.wasm" .
printf 'error\nwarn\n' > rules.txt
printf 'an error here\n' > in.txt
daemon_manifest() { # daemon_manifest SOCKET
    cat <<MANIFEST
Version = 20130611
Program = snapshot_rules.wasm
Memory = 67108864, 0
Timeout = 5
Job = $1
Channel = /dev/null, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = /dev/null, /dev/stdout, 0, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
Channel = rules.txt, /dev/rules, 0, 0, 10, 65536, 0, 0
MANIFEST
}
job() { # job IN OUT [TIMEOUT [ETAG]]: a job manifest on stdout
    cat <<MANIFEST
Timeout = ${3:-1}
Channel = $1, /dev/stdin, 0, ${4:-0}, 1000, 1048576, 0, 0
Channel = $2, /dev/stdout, 0, ${4:-0}, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
Channel = rules.txt, /dev/rules, 0, 0, 10, 65536, 0, 0
MANIFEST
}
status_of() { sed -n 6p "$1"; } # the status line of a text report
code_of() { sed -n 3p "$1"; }   # the user code line

daemon_manifest d.sock > d.manifest
start_daemon d.manifest --workers 2
last=$?; check "the daemon starts and says where it serves: $(cat daemon.err)" $last
check "the socket is owner-only: $(stat -c %a d.sock)" $([ "$(stat -c %a d.sock)" = 600 ]; echo $?)

# ---- good jobs, from the fork point ----------------------------------------------------
job in.txt out1.txt 1 1 > j1.manifest
"$zvm" job d.sock j1.manifest > r1.txt
check "zvm job exits 0 with a report" $?
check "the job's report says ok: $(status_of r1.txt)" $([ "$(status_of r1.txt)" = ok ]; echo $?)
check "its daemon flag is 1" $([ "$(sed -n 2p r1.txt)" = 1 ]; echo $?)
printf 'forked=1 calls=1 pages=2 an error here\n' > want1.txt
cmp -s want1.txt out1.txt
last=$?; check "the job ran from the fork point with the rules read in the set-up: $(cat out1.txt)" $last
want_etags="/dev/stdin $(sha256sum < in.txt | cut -d' ' -f1) /dev/stdout $(sha256sum < out1.txt | cut -d' ' -f1)"
check "the etags are the channels' bytes: $(sed -n 4p r1.txt)" $([ "$(sed -n 4p r1.txt)" = "$want_etags" ]; echo $?)
ok=0
for i in $(seq 20); do
    job in.txt "out_$i.txt" > "j_$i.manifest"
    "$zvm" job d.sock "j_$i.manifest" > "r_$i.txt" && [ "$(status_of "r_$i.txt")" = ok ] &&
        cmp -s out1.txt "out_$i.txt" && ok=$((ok + 1))
done
check "20 jobs in a row give the same output: $ok" $([ $ok = 20 ]; echo $?)

# ---- bad jobs get a report; the daemon goes on -------------------------------------------
printf 'abcdefghChannel = x' > raw1.bin
"$client" raw d.sock raw1.bin > r_raw1.txt
check "a header that is not 8 digits: $(status_of r_raw1.txt)" \
    $(grep -q 'not 8 decimal digits' r_raw1.txt && [ "$(code_of r_raw1.txt)" = 14 ]; echo $?)
printf '00000000' > raw2.bin
"$client" raw d.sock raw2.bin > r_raw2.txt
check "a zero length: $(status_of r_raw2.txt)" $(grep -q 'job manifest of 0 bytes' r_raw2.txt; echo $?)
printf '99999999' > raw3.bin
"$client" raw d.sock raw3.bin > r_raw3.txt
check "a length over the limit: $(status_of r_raw3.txt)" $(grep -q 'job manifest of 99999999 bytes' r_raw3.txt; echo $?)
printf 'Timeout = 1\nChannel = x\n' > bad1.manifest
"$zvm" job d.sock bad1.manifest > r_bad1.txt
check "a malformed job manifest names its line: $(status_of r_bad1.txt)" \
    $(grep -q 'job manifest line 2: Channel: 1 field, expected 8' r_bad1.txt && [ "$(code_of r_bad1.txt)" = 14 ]; echo $?)
job in.txt out.txt | sed 's|rules.txt, /dev/rules, 0, 0, 10, 65536|rules.txt, /dev/rules, 0, 0, 10, 65535|' > bad2.manifest
"$zvm" job d.sock bad2.manifest > r_bad2.txt
check "a channel whose limits differ: $(status_of r_bad2.txt)" \
    $(grep -q '/dev/rules: limit 2 is 65535, the daemon.s is 65536' r_bad2.txt; echo $?)
job in.txt out.txt | grep -v /dev/rules > bad3.manifest
"$zvm" job d.sock bad3.manifest > r_bad3.txt
check "a missing channel: $(status_of r_bad3.txt)" $(grep -q '/dev/rules missing' r_bad3.txt; echo $?)
job missing.txt out.txt > bad4.manifest
"$zvm" job d.sock bad4.manifest > r_bad4.txt
check "a source that does not open: $(status_of r_bad4.txt)" \
    $(grep -q 'missing.txt' r_bad4.txt && [ "$(code_of r_bad4.txt)" != 0 ]; echo $?)
"$zvm" job d.sock j1.manifest > r_after.txt && [ "$(status_of r_after.txt)" = ok ]
check "the daemon still serves after bad jobs" $?

# the daemon answers those before it has read what follows: the client,
# still sending, must get the report, not a reset connection
{ printf 'abcdefgh'; head -c 300000 /dev/zero | tr '\0' x; } > raw_more.bin
"$client" raw d.sock raw_more.bin > r_raw_more.txt
last=$?
check "a bad header followed by 300 KB gets its report (client status $last): $(status_of r_raw_more.txt)" \
    $([ $last = 0 ] && grep -q 'not 8 decimal digits' r_raw_more.txt &&
      [ "$(code_of r_raw_more.txt)" = 14 ]; echo $?)
for size in 600000 3000000; do # over the 512 KiB limit; over the 1 MiB the daemon drains
    { job in.txt out.txt; head -c $size /dev/zero | tr '\0' '#'; } > big.manifest
    "$zvm" job d.sock big.manifest > r_big.txt 2> e_big.txt
    last=$?
    check "zvm job of a manifest of $size bytes and more gets its report (status $last: $(cat e_big.txt)): $(status_of r_big.txt)" \
        $([ $last = 1 ] && grep -q "job manifest of $(stat -c %s big.manifest) bytes: 1 to 524288" r_big.txt &&
          [ "$(code_of r_big.txt)" = 14 ] && grep -q "the job failed: job manifest of" e_big.txt; echo $?)
done

# ---- jobs that trap, time out, or whose client hangs up -----------------------------------
printf 'TRAP error\n' > trap_in.txt
job trap_in.txt trap_out.txt > trap.manifest
"$zvm" job d.sock trap.manifest > r_trap.txt 2> e_trap.txt
last=$?
check "a job that traps: $(status_of r_trap.txt); zvm job exits 1 ($last) and says why ($(cat e_trap.txt))" \
    $([ "$(status_of r_trap.txt)" = unreachable ] && [ $last = 1 ] &&
      [ "$(cat e_trap.txt)" = "zvm job: trap.manifest: the job failed: unreachable" ]; echo $?)
printf 'LOOP\n' > loop_in.txt
job loop_in.txt loop_out.txt 1 > loop.manifest
"$zvm" job d.sock loop.manifest > r_loop.txt
check "a job that spins meets its own Timeout: $(status_of r_loop.txt)" $([ "$(status_of r_loop.txt)" = timeout ]; echo $?)
"$client" hangup d.sock loop.manifest
"$client" hangup d.sock j1.manifest
sleep 1.5
"$zvm" job d.sock j1.manifest > r_after2.txt && [ "$(status_of r_after2.txt)" = ok ] &&
    cmp -s want1.txt out1.txt
check "the daemon serves on after a trap, a timeout and clients that hung up" $?

# ---- 1000 connections at once -------------------------------------------------------------
job in.txt /dev/null > many.manifest
"$client" many d.sock many.manifest 1000 > many.txt
last=$?; check "1000 concurrent connections, every one answered ok: $(cat many.txt)" $last

# ---- a second daemon on the same socket; JSON reports ---------------------------------------
"$zvm" run d.manifest > second.report 2> second.err
check "a second daemon on a live socket refuses: $(cat second.err)" \
    $(grep -q "another daemon is serving there" second.err; echo $?)

# ---- SIGTERM: running jobs finish, then exit 0 ----------------------------------------------
printf 'LOOP\n' > loop2_in.txt
job loop2_in.txt loop2_out.txt 2 > loop2.manifest
"$zvm" job d.sock loop2.manifest > r_term.txt &
job_pid=$!
sleep 0.5
kill -TERM $daemon_pid
wait $daemon_pid
status=$?
daemon_pid=
wait $job_pid
check "SIGTERM: the daemon exits 0 ($status)" $([ $status = 0 ]; echo $?)
check "the job running at SIGTERM got its report: $(status_of r_term.txt)" \
    $([ "$(status_of r_term.txt)" = timeout ]; echo $?)
check "the daemon's own report counts the jobs: $(status_of daemon.report)" \
    $(grep -q "jobs served" daemon.report; echo $?)
check "the socket is gone" $([ ! -e d.sock ]; echo $?)

daemon_manifest j.sock > dj.manifest
start_daemon dj.manifest --report=json --socket-mode 0660 --snapshot off
last=$?; check "a daemon with JSON reports, a group-writable socket and no snapshots starts: $(cat daemon.err)" $last
check "the socket mode is 660: $(stat -c %a j.sock)" $([ "$(stat -c %a j.sock)" = 660 ]; echo $?)
"$zvm" job j.sock j1.manifest > r_json.txt
check "the job's report is JSON: $(cat r_json.txt)" \
    $(grep -q '"daemon": 1, "user_code": 0' r_json.txt && grep -q '"status": "ok"' r_json.txt; echo $?)
cmp -s want1.txt out1.txt
check "without snapshots the output is the same" $?
kill -TERM $daemon_pid
wait $daemon_pid
daemon_pid=

# ---- idle connections do not starve new clients (slowloris) ---------------------------------
# The table holds a quarter of the descriptor limit: 256 under 1024. 306 idle
# connections fill it; a new client takes the oldest idle one's slot, and an
# idle connection is dropped 3 s after it connected (the frame's deadline).
daemon_manifest s.sock > s.manifest
NOFILE=1024 start_daemon s.manifest --workers 1
last=$?; check "a daemon under a limit of 1024 descriptors starts: $(cat daemon.err)" $last
"$client" idle s.sock 306 7 > idle.txt & # held longer than the new job may take
idle_pid=$!
for _ in $(seq 100); do grep -qs open idle.txt && break; sleep 0.1; done
t0=$(date +%s%N)
timeout 5 "$zvm" job s.sock j1.manifest > r_starved.txt
last=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "306 idle connections (256 slots): a new job is answered in $ms ms: $(status_of r_starved.txt)" \
    $([ $last = 0 ] && [ $ms -lt 5000 ] && [ "$(status_of r_starved.txt)" = ok ]; echo $?)
wait $idle_pid
check "every idle connection was dropped within 7 s: $(tail -1 idle.txt)" \
    $(grep -q "^306 idle connections, 306 closed" idle.txt; echo $?)
kill -TERM $daemon_pid
wait $daemon_pid
daemon_pid=

# ---- a path that is not a socket, a set-up that traps -----------------------------------------
touch notsock
daemon_manifest notsock > ns.manifest
"$zvm" run ns.manifest > ns.report 2> ns.err
check "Job = a file that is not a socket is refused, the file left alone: $(cat ns.err)" \
    $(grep -q "exists and is not a socket" ns.err && [ -f notsock ]; echo $?)
printf 'TRAP\n' > bad_rules.txt
daemon_manifest t.sock | sed 's/rules.txt/bad_rules.txt/' > t.manifest
"$zvm" run t.manifest > t.report 2> t.err
status=$?
check "a set-up that traps ends the daemon with 4 and the cause: $(cat t.err)" \
    $([ $status = 4 ] && grep -q "set-up (before zvm_fork) ended with: unreachable" t.err && [ ! -e t.sock ]; echo $?)

# ---- tiers: a daemon on a new module serves its first jobs from the tcc build ------------------
if command -v tcc > /dev/null; then
    export ZVM_CACHE=$tmp/cache_tiers
    cp "$guests/hello.wasm" .
    daemon_manifest h.sock | sed 's/snapshot_rules.wasm/hello.wasm/' | grep -v /dev/rules > h.manifest
    start_daemon h.manifest --workers 1
    last=$?; check "tiers: the daemon starts on a new module: $(cat daemon.err)" $last
    job in.txt h1.out | grep -v /dev/rules > h1.manifest
    "$zvm" job h.sock h1.manifest > rh1.txt
    for _ in $(seq 600); do # the background gcc build: at most a minute
        ls cache_tiers/*.pending > /dev/null 2>&1 || break
        sleep 0.1
    done
    sleep 1 # the pool polls the cache every 50 ms, then loads the build: slower on a busy machine
    job in.txt h2.out | grep -v /dev/rules > h2.manifest
    "$zvm" job h.sock h2.manifest > rh2.txt
    kill -TERM $daemon_pid
    wait $daemon_pid
    status=$?
    daemon_pid=
    check "tiers: both jobs answer the same ($(status_of rh1.txt), $(status_of rh2.txt))" \
        $([ "$(status_of rh1.txt)" = ok ] && [ "$(status_of rh2.txt)" = ok ] &&
          [ "$(cat h1.out)" = "hello, world" ] && cmp -s h1.out h2.out; echo $?)
    check "tiers: the first job ran on tcc, the second on gcc: $(status_of daemon.report)" \
        $([ $status = 0 ] && [[ "$(status_of daemon.report)" == *"2 jobs served, 0 of them failed; 1 on the baseline build (tcc), then on the optimised one (gcc -O2)" ]]; echo $?)
    export ZVM_CACHE=$tmp/cache
fi

finish daemon
