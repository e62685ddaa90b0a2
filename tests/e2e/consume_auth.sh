#!/usr/bin/env bash
# consume_auth.sh — `zvm consume` against Redis set up as production ones
# are, each a real redis-server on a free port: a password (requirepass)
# from every source (the URL, %-encoded or not, ZVM_REDIS_PASSWORD,
# --redis-password-file), never in argv once read nor in any message; a
# wrong password and one changed under a running consumer (exit 1, no
# retry storm); SELECT of a database over TCP and a unix socket; ACL users
# with exactly the rights README lists and the issue's set, and without
# each right in turn (a setup error naming the command, nothing read);
# and TLS (rediss://) through the OpenSSL relay: the server's certificate
# and name checked, a client certificate, and the server killed and
# restarted under a running consumer.
#
# Usage: consume_auth.sh ZVM GUEST_DIR
zvm=$(realpath "$1") guests=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
readme=$here/../../README.md
source "$here/lib.sh"
source "$here/redis_lib.sh"
redis_pid= tls_pid=
pids=()
trap 'kill -9 ${pids[@]:-} $redis_pid $tls_pid 2>/dev/null; rm -rf "$tmp"' EXIT
records=$guests/records.wasm
"$zvm" compile "$records" > /dev/null

pass='s3cr#t:p@ss/w' enc='s3cr%23t%3Ap%40ss%2Fw' # the password, and %-encoded for a URL
db=0
rcli() { redis-cli -p "$port" -a "$pass" --no-auth-warning -n "$db" "$@"; }
start_redis() { # PORT: requirepass, a unix socket
    port=$1
    redis-server --port "$port" --bind 127.0.0.1 --requirepass "$pass" --unixsocket "$tmp/redis.sock" \
        --unixsocketperm 700 --dir "$tmp" --save "" --appendonly no --logfile "$tmp/redis.log" &
    redis_pid=$!
    wait_up $redis_pid rcli
}
on_free_port start_redis || redis_pid=
check "redis-server with requirepass starts on a free port ($port)" $([ -n "$redis_pid" ]; echo $?)
consume() { # consume IN URL [OPTIONS...]: drain IN to IN.out and IN.errors as consumer c1
    local in=$1 url=$2
    shift 2
    "$zvm" consume --redis "$url" --stream "$in" --group g --consumer c1 --module "$records" \
        --output-stream "$in.out" --errors-stream "$in.errors" --timeout 1 --drain "$@"
}
said() { # said LOG STATUS WANT-STATUS PATTERN WHAT: the run ended so and LOG says PATTERN
    check "$5: exit $3 and why ($(head -c 400 "$1"))" $([ "$2" = "$3" ] && grep -q -- "$4" "$1"; echo $?)
}
connections() { rcli INFO stats | awk -F: '/^total_connections_received/ { print $2 + 0 }'; }

# ---- the password, from every source -------------------------------------------------------------
s='{logs}:p'
push "$s" 100
consume "$s" "redis://127.0.0.1:$port" 2> p0.log
said p0.log $? 1 "NOAUTH.*ZVM_REDIS_PASSWORD" "no password"
check "no password: nothing read ($(rcli XLEN "$s.out") out)" $([ "$(rcli XLEN "$s.out")" = 0 ]; echo $?)
n=0
for how in url raw env file; do
    push "$s" 100 "$how"
    case $how in
    url) consume "$s" "redis://:$enc@127.0.0.1:$port" 2> p1.log ;;
    raw) consume "$s" ":$pass@127.0.0.1:$port" 2> p1.log ;; # scheme-less, not encoded
    env) ZVM_REDIS_PASSWORD=$pass consume "$s" "127.0.0.1:$port" 2> p1.log ;;
    file) printf '%s\n' "$pass" > pw.txt
          consume "$s" "127.0.0.1:$port" --redis-password-file pw.txt 2> p1.log ;;
    esac
    last=$?; check "the password from the $how: exit 0 ($(tail -2 p1.log | head -1))" $last
    cat p1.log >> p_all.log
done
push "$s" 10 named
consume "$s" "redis://:$enc@127.0.0.1:$port" --consumer "night shift 1" 2> p1.log
last=$?; check "a consumer name with spaces (CLIENT SETNAME takes none): exit 0" $last
cat p1.log >> p_all.log
exactly_once "$s" g "$s.out" "$s.errors" "the password from the URL, the environment and a file"
printf '%s\n' "$pass" > pw.txt
consume "$s" "redis://:$enc@127.0.0.1:$port" --redis-password-file pw.txt 2> p2.log
said p2.log $? 2 "give one" "a password in the URL and a file"
: > empty.txt
consume "$s" "127.0.0.1:$port" --redis-password-file empty.txt 2> p3.log
said p3.log $? 2 "empty" "an empty password file"

before=$(connections)
t0=$(date +%s%N)
consume "$s" "redis://:wrong-one@127.0.0.1:$port" 2> p4.log
said p4.log $? 1 "refused AUTH: WRONGPASS" "a wrong password"
made=$(( $(connections) - before - 1 )) # (- 1: this INFO's own connection)
check "a wrong password: one connection, not retried ($made made, $(( ($(date +%s%N) - t0) / 1000000 )) ms)" \
    $([ $made = 1 ]; echo $?)

push "$s" 20000 ps
"$zvm" consume --redis "redis://:$enc@127.0.0.1:$port" --stream "$s" --group g --consumer c1 \
    --module "$records" --output-stream "$s.out" --errors-stream "$s.errors" 2> p5.log &
worker=$!
pids=($worker)
for _ in $(seq 200); do [ "$(rcli XLEN "$s.out")" -gt 500 ] && break; sleep 0.05; done
tr '\0' ' ' < /proc/$worker/cmdline > cmdline.txt
check "ps shows stars, not the password: $(grep -o -- '--redis [^ ]*' cmdline.txt)" \
    $(grep -q -- "--redis redis://:\*\{${#enc}\}@127.0.0.1" cmdline.txt && ! grep -qF "$enc" cmdline.txt; echo $?)
# the password changed under it: its next connection is refused, and that is the end
rcli CONFIG SET requirepass "new$pass" > /dev/null
pass="new$pass"
before=$(connections)
rcli CLIENT KILL TYPE normal > /dev/null
for _ in $(seq 100); do kill -0 $worker 2>/dev/null || break; sleep 0.1; done
kill -TERM $worker 2>/dev/null # still running: the check below fails
wait $worker
said p5.log $? 1 "refused AUTH: WRONGPASS" "the password changed under a running consumer"
made=$(( $(connections) - before - 2 )) # (- 2: CLIENT KILL's and this INFO's)
check "... it tried once, not in a loop ($made connections)" $([ $made = 1 ]; echo $?)
ZVM_REDIS_PASSWORD=$pass consume "$s" "127.0.0.1:$port" 2> p6.log
last=$?; check "restarted with the new password: exit 0" $last
exactly_once "$s" g "$s.out" "$s.errors" "the password changed mid-run"
rcli CONFIG SET requirepass "${pass#new}" > /dev/null
pass=${pass#new}
cat p*.log > all.log
check "the password is in no message" $(! grep -qF -e "$pass" -e "$enc" -e "s3cr" all.log; echo $?)

# ---- SELECT: a database other than 0, over TCP and a unix socket ---------------------------------
db=5
push '{logs}:db' 50
consume '{logs}:db' "redis://:$enc@127.0.0.1:$port/5" 2> d1.log
last=$?; check "redis://...:PORT/5: exit 0" $last
push '{logs}:db' 50 unix
consume '{logs}:db' "unix://:$enc@$tmp/redis.sock?db=5" 2> d2.log
last=$?; check "unix://...redis.sock?db=5: exit 0 ($(tail -2 d2.log | head -1))" $last
exactly_once '{logs}:db' g '{logs}:db.out' '{logs}:db.errors' "database 5, TCP and a unix socket"
db=0
check "database 0 holds none of it ($(rcli EXISTS '{logs}:db' '{logs}:db.out'))" \
    $([ "$(rcli EXISTS '{logs}:db' '{logs}:db.out')" = 0 ]; echo $?)
consume '{logs}:db' "unix://:$enc@$tmp/none.sock" 2> d3.log
said d3.log $? 1 "cannot connect to Redis at unix://$tmp/none.sock" "a socket that is not there"

# ---- ACL users: README's rights, the issue's, and each right missing -------------------------------
readme_line=$(grep -m1 '^ACL SETUSER zvm-worker on >PASSWORD ~{logs}:\* ' "$readme")
read -r -a rights <<< "${readme_line#ACL SETUSER zvm-worker on >PASSWORD ~\{logs\}:\* }"
check "README lists the rights (${#rights[@]}): ${rights[*]}" $([ ${#rights[@]} -gt 10 ]; echo $?)
check "zvm-consume(1) lists the same" $(grep -qxF -- "${rights[*]}" "$here/../../doc/zvm-consume.1.in"; echo $?)
issue=(+@stream +@read +@write +eval +evalsha '+script|load' '+script|exists' +ping +type +info +auth
       +select '+client|setname' '+cluster|slots' '+cluster|info')
user() { rcli ACL SETUSER "$1" reset on ">pw-$1" '~{logs}:*' "${@:2}" > /dev/null; }
broad=(+@stream +@read +@write +evalsha '+script|load' '+client|setname') # README's example
k=0
for set in readme issue broad; do
    k=$((k + 1))
    case $set in
    readme) user "u$k" "${rights[@]}" ;;
    issue) user "u$k" "${issue[@]}" ;;
    broad) user "u$k" "${broad[@]}" ;;
    esac
    push '{logs}:acl' 100 "$set"
    consume '{logs}:acl' "redis://u$k:pw-u$k@127.0.0.1:$port" 2> a$k.log
    last=$?; check "an ACL user with the $set rights: exit 0 ($(tail -2 a$k.log | head -1))" $last
done
exactly_once '{logs}:acl' g '{logs}:acl.out' '{logs}:acl.errors' "ACL users"
user u4 "${rights[@]}" +select
db=3 push '{logs}:acl' 10 db3
consume '{logs}:acl' "redis://u4:pw-u4@127.0.0.1:$port/3" 2> a4.log
last=$?; check "README's rights and +select: database 3" $last
user u5 "${rights[@]}"
consume '{logs}:acl' "redis://u5:pw-u5@127.0.0.1:$port/3" 2> a5.log
said a5.log $? 1 "refused SELECT: NOPERM" "README's rights without +select: database 3"
k=5
for right in "${rights[@]}"; do
    k=$((k + 1))
    user "u$k" $(printf '%s\n' "${rights[@]}" | grep -vxF -- "$right")
    cmd=$(echo "${right#+}" | tr 'a-z|' 'A-Z ')
    s="{logs}:no-$k"
    push "$s" 5
    consume "$s" "redis://u$k:pw-u$k@127.0.0.1:$port" 2> a$k.log
    said a$k.log $? 1 "refused $cmd.*and the rights +" "without $right"
    check "without $right: nothing read ($(rcli XLEN "$s.out") out, $(rcli XPENDING "$s" g 2>&1 | head -1) pending)" \
        $([ "$(rcli XLEN "$s.out")" = 0 ] && [ "$(rcli XPENDING "$s" g 2>&1 | head -1 | grep -c '^[1-9]')" = 0 ]; echo $?)
done
grep -ho "and the rights [^)]*" a$k.log | cut -d' ' -f4- > printed.txt
check "README's rights are the ones zvm consume names ($(cat printed.txt))" \
    $([ "$(cat printed.txt)" = "${rights[*]}" ]; echo $?)
rcli ACL SETUSER u99 reset on '>pw' '~other:*' "${rights[@]}" > /dev/null
consume '{logs}:acl' "redis://u99:pw@127.0.0.1:$port" 2> k1.log
said k1.log $? 1 "refused TYPE on {logs}:acl: NOPERM.*keys" "keys the user may not touch"
consume '{logs}:acl' "redis://u1:wrong@127.0.0.1:$port" 2> k2.log
said k2.log $? 1 "refused AUTH: WRONGPASS" "an ACL user's wrong password"
consume '{logs}:acl' "redis://u1@127.0.0.1:$port" 2> k3.log
said k3.log $? 1 "user u1 needs a password" "an ACL user without a password"

# ---- TLS: rediss:// through the relay ------------------------------------------------------------
tls_checks() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=zvm-ca &&
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost &&
    printf 'subjectAltName=DNS:localhost\n' > san.ext && # no IP: 127.0.0.1 is the wrong name
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
        -days 2 -extfile san.ext &&
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=zvm-client &&
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
} > certs.log 2>&1
start_tls() { # PORT: TLS only, with a client certificate asked for, AOF fsynced at every write
    tport=$1
    mkdir -p tls
    redis-server --port 0 --tls-port "$tport" --bind 127.0.0.1 --tls-cert-file "$tmp/server.pem" \
        --tls-key-file "$tmp/server.key" --tls-ca-cert-file "$tmp/ca.pem" --requirepass "$pass" \
        --dir "$tmp/tls" \
        --appendonly yes --appendfsync always --save "" --logfile "$tmp/tls/log" &
    tls_pid=$!
    wait_up $tls_pid tcli
}
tcli() { redis-cli --tls --cacert ca.pem --cert client.pem --key client.key -p "$tport" -a "$pass" \
             --no-auth-warning "$@"; }
if ! command -v openssl > /dev/null || ! tls_checks; then
    echo "consume_auth.sh: no openssl to make certificates: TLS checks skipped"
elif ! on_free_port start_tls; then
    echo "consume_auth.sh: redis-server without TLS ($(tail -1 tls/log)): TLS checks skipped"
else
    rcli() { tcli "$@"; }
    url="rediss://:$enc@localhost:$tport" certs=(--redis-cacert ca.pem --redis-cert client.pem --redis-key client.key)
    push '{logs}:tls' 200
    consume '{logs}:tls' "$url" "${certs[@]}" 2> t1.log
    last=$?; check "rediss://: exit 0 ($(tail -2 t1.log | head -1))" $last
    exactly_once '{logs}:tls' g '{logs}:tls.out' '{logs}:tls.errors' "TLS"
    consume '{logs}:tls' "$url" --redis-cert client.pem --redis-key client.key 2> t2.log
    said t2.log $? 1 "certificate verify failed" "TLS: a server certificate no CA we know signed"
    consume '{logs}:tls' "rediss://:$enc@127.0.0.1:$tport" "${certs[@]}" 2> t3.log
    said t3.log $? 1 "IP address mismatch" "TLS: a certificate for another name"
    consume '{logs}:tls' "$url" --redis-cacert ca.pem 2> t4.log
    said t4.log $? 1 "certificate required\|want a client certificate" "TLS: no client certificate"
    consume '{logs}:tls' "redis://:$enc@localhost:$tport" "${certs[@]}" 2> t5.log
    said t5.log $? 2 "rediss://" "TLS certificates with redis://"

    push '{logs}:tr' 40000
    "$zvm" consume --redis "$url" "${certs[@]}" --stream '{logs}:tr' --group g --consumer c1 \
        --module "$records" --output-stream '{logs}:tr.out' --errors-stream '{logs}:tr.errors' \
        --timeout 1 2> t6.log &
    worker=$!
    pids=($worker)
    for _ in $(seq 200); do [ "$(rcli XLEN '{logs}:tr.out')" -gt 3000 ] && break; sleep 0.05; done
    kill -9 $tls_pid
    wait $tls_pid 2>/dev/null
    sleep 0.5
    start_tls "$tport"
    check "the TLS redis-server restarts from its AOF" $?
    for _ in $(seq 600); do
        [ "$(( $(rcli XLEN '{logs}:tr.out') + $(rcli XLEN '{logs}:tr.errors') ))" -ge 40000 ] && break
        sleep 0.1
    done
    kill -TERM $worker
    wait $worker
    check "TLS: the consumer exits 0 on SIGTERM after the restart" $?
    grep -q "reconnected to Redis" t6.log
    last=$?; check "TLS: it reconnected through a new relay: $(grep -c reconnect t6.log) messages" $last
    exactly_once '{logs}:tr' g '{logs}:tr.out' '{logs}:tr.errors' "TLS, Redis restarted"
    cat t*.log > tls_all.log
    check "TLS: the password is in no message" $(! grep -qF -e "$pass" -e "$enc" tls_all.log; echo $?)
fi

finish consume_auth
