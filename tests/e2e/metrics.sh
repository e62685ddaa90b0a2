#!/usr/bin/env bash
# metrics.sh — `--metrics` and `--log-format` (issue 26, part 1) on the
# real binary, scraped with curl while it runs: zvm batch on a pipe (its
# records by cause against its own summary, the histogram, the address
# rules, 404 and 405, a taken port, a bad address), zvm consume against a
# real redis-server (records, redeliveries, lag) and daemon mode (jobs,
# refused ones as malformed); every stderr line of --log-format json is a
# JSON object, with start and summary events and no progress line.
#
# Usage: metrics.sh ZVM GUEST_DIR EXAMPLES_DIR
zvm=$(realpath "$1") guests=$(realpath "$2") examples=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
source "$here/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
command -v curl > /dev/null || { echo "metrics.sh: curl missing: skipped"; exit 77; }
pids=()
trap 'kill -9 ${pids[@]:-} 2>/dev/null; rm -rf "$tmp"' EXIT

# url_of LOG: the metrics URL a start event names (waits for it)
url_of() {
    wait_until 60 grep -q 'http://[^" ]*/metrics' "$1" 2>/dev/null &&
        grep -o 'http://[^" ]*/metrics' "$1" | head -1
}
# metric PAGE NAME{LABELS}: its value
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# all_json FILE: every line is one JSON object
all_json() { python3 -c 'import json, sys
for line in open(sys.argv[1]): json.loads(line)' "$1"; }

records=$guests/records.wasm
"$zvm" compile "$records" > /dev/null

# ---- zvm batch on a pipe: scraped mid-run, then against its summary --------------------------
mkfifo in.fifo
for i in $(seq 3000); do echo "line $i"; done > part1.txt
printf 'TRAP a\nTRAP b\nLOOP c\n' >> part1.txt
"$zvm" batch --module "$records" --input in.fifo --output out.txt --errors err.tsv --timeout 1 \
    --metrics 0 --log-format json --progress --stats json --stats-file stats.json 2> batch.log &
batch=$!
pids+=($batch)
exec 3> in.fifo
cat part1.txt >&3
url=$(url_of batch.log)
check "batch's start event names where its metrics are: $url" $?
for _ in $(seq 100); do
    curl -s "$url" > page1.txt
    [ "$(metric page1.txt 'zvm_records_total{cause="timeout"}')" = 1 ] &&
        [ "$(metric page1.txt 'zvm_records_total{cause="ok"}')" = 3000 ] && break
    sleep 0.1
done
check "mid-run: 3000 ok, 2 traps, 1 timeout: $(grep '^zvm_records_total' page1.txt | tr '\n' ' ')" \
    $([ "$(metric page1.txt 'zvm_records_total{cause="ok"}')" = 3000 ] &&
      [ "$(metric page1.txt 'zvm_records_total{cause="trap"}')" = 2 ] &&
      [ "$(metric page1.txt 'zvm_records_total{cause="timeout"}')" = 1 ]; echo $?)
check "Content-Type is Prometheus' text format" \
    $(curl -s -o /dev/null -w '%{content_type}' "$url" | grep -q '^text/plain; version=0.0.4'; echo $?)
check "the histogram counts every record that ran: $(metric page1.txt zvm_record_duration_seconds_count)" \
    $([ "$(metric page1.txt zvm_record_duration_seconds_count)" = 3003 ] &&
      [ "$(metric page1.txt 'zvm_record_duration_seconds_bucket{le="+Inf"}')" = 3003 ]; echo $?)
check "a timed-out record lands in the 1-2.5 s buckets" \
    $(awk '$1 == "zvm_record_duration_seconds_bucket{le=\"1\"}" { a = $2 }
           $1 == "zvm_record_duration_seconds_bucket{le=\"2.5\"}" { b = $2 }
           END { exit !(b - a == 1) }' page1.txt; echo $?)
check "instances running, CPU, workers and output bytes are there" \
    $(for m in zvm_instances_running zvm_instance_cpu_seconds_total zvm_workers zvm_output_bytes_total \
               zvm_workers_baseline process_resident_memory_bytes; do
          [ -n "$(metric page1.txt $m)" ] || exit 1; done; echo $?)
check "batch has no consumer series" $(! grep -q zvm_consumer_lag page1.txt; echo $?)
check "it listens on loopback: $url" $(case $url in http://127.0.0.1:*) echo 0;; *) echo 1;; esac)
check "another path is 404" $([ "$(curl -s -o /dev/null -w '%{http_code}' "${url%/metrics}/")" = 404 ]; echo $?)
check "another method is 405" \
    $([ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")" = 405 ]; echo $?)
port=${url##*:}
port=${port%%/*}
"$zvm" batch --module "$records" --input part1.txt --output o2.txt --metrics "$port" 2> taken.log
last=$?
check "a port in use is exit 1 and says so: $(cat taken.log)" \
    $([ $last = 1 ] && grep -q "cannot listen: Address already in use" taken.log; echo $?)
for _ in $(seq 500); do echo "more"; done >&3
exec 3>&-
wait $batch
check "batch exits 0" $?
check "every stderr line is a JSON object: $(head -c 300 batch.log)" $(all_json batch.log; echo $?)
check "with --log-format json there is no progress line, even with --progress" \
    $(! grep -q $'\r' batch.log; echo $?)
check "a start event and no summary on stderr (it went to --stats-file)" \
    $(grep -q '"event": "start"' batch.log && ! grep -q '"event": "summary"' batch.log; echo $?)
python3 -c 'import json, sys
s = json.load(open("stats.json"))
assert s["records"] == 3503 and s["by_cause"]["ok"] == 3500 and s["by_cause"]["trap"] == 2 \
    and s["by_cause"]["timeout"] == 1 and s["errors"] == 3, s' 2> stats_check.txt
st=$?
check "the summary counts what the metrics counted, plus the last 500: $(cat stats_check.txt)" $st

# The same counters, from the same owner, at the end of a run that only
# has a file: the last scrape before EOF equals the summary.
for i in $(seq 2000); do echo "x $i"; done > part2.txt
echo "TRAP z" >> part2.txt
mkfifo in2.fifo
"$zvm" batch --module "$records" --input in2.fifo --output out2.txt --errors err2.tsv \
    --metrics 127.0.0.1:0 --stats json --stats-file stats2.json 2> batch2.log &
batch=$!
pids+=($batch)
exec 3> in2.fifo
cat part2.txt >&3
url=$(url_of batch2.log)
check "a text start line names the metrics when --metrics is given: $(head -1 batch2.log)" \
    $(grep -q '^zvm batch: started: .* on [0-9]* workers; metrics at http' batch2.log; echo $?)
for _ in $(seq 100); do
    curl -s "$url" > page2.txt
    [ "$(metric page2.txt 'zvm_records_total{cause="ok"}')" = 2000 ] && break
    sleep 0.1
done
exec 3>&-
wait $batch
python3 -c 'import json, sys
s = json.load(open("stats2.json"))
page = {l.split()[0]: int(l.split()[1]) for l in open("page2.txt") if l.startswith("zvm_records_total")}
for cause, n in s["by_cause"].items():
    assert page["zvm_records_total{cause=\"%s\"}" % cause] == n, (cause, n, page)
assert sum(page.values()) == s["records"] == 2001' 2> cmp2.txt
st=$?
check "zvm_records_total by cause is the run's own summary: $(cat cmp2.txt)" $st

"$zvm" batch --module "$records" --input part2.txt --output o3.txt --metrics 'localhost:x' 2> bad.log
last=$?
check "a bad --metrics is exit 2: $(cat bad.log)" \
    $([ $last = 2 ] && grep -q "^zvm batch: --metrics localhost:x: not PORT" bad.log; echo $?)
"$zvm" batch --module "$records" --input part2.txt --output o4.txt --log-format yaml 2> bad2.log
last=$?
check "a bad --log-format is exit 2: $(cat bad2.log)" $([ $last = 2 ]; echo $?)
"$zvm" batch --module nonexistent.wasm --input part2.txt --output o5.txt --log-format json 2> bad3.log
last=$?
check "an error under --log-format json is an error event: $(cat bad3.log)" \
    $([ $last = 2 ] && all_json bad3.log && grep -q '"level": "error", "command": "batch", "event": "error", "message": "nonexistent.wasm: cannot read' bad3.log; echo $?)
mkfifo in3.fifo
"$zvm" batch --module "$records" --input in3.fifo --output o6.txt --metrics :0 --log-format json \
    2> every.log &
batch=$!
pids+=($batch)
exec 3> in3.fifo
url=$(url_of every.log)
check ":PORT listens on every interface: $url" $(case $url in http://0.0.0.0:*) echo 0;; *) echo 1;; esac)
echo "TRAP q" >&3
for _ in $(seq 100); do grep -q record_failed every.log && break; sleep 0.05; done
check "without --errors a failed record is a record_failed event with its cause" \
    $(grep '"event": "record_failed"' every.log | grep -q '"index": 0, "cause": "trap", "detail": "unreachable"'; echo $?)
exec 3>&-
wait $batch
check "the summary is an event holding the stats: $(tail -1 every.log | head -c 200)" \
    $(tail -1 every.log | python3 -c 'import json, sys
e = json.loads(sys.stdin.read())
assert e["event"] == "summary" and e["stats"]["records"] == 1 and e["stats"]["by_cause"]["trap"] == 1'; echo $?)

# ---- daemon mode ------------------------------------------------------------------------------
cp "$guests/snapshot_rules.wasm" .
printf 'error\n' > rules.txt
printf 'an error here\n' > din.txt
{ daemon_manifest snapshot_rules.wasm
  echo "Channel = rules.txt, /dev/rules, 0, 0, 10, 65536, 0, 0"; } > d.manifest
job() {
    cat <<MANIFEST
Timeout = 1
Channel = din.txt, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = $1, /dev/stdout, 0, 0, 0, 0, 1000, 4096
Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1000, 4096
Channel = rules.txt, /dev/rules, 0, 0, 10, 65536, 0, 0
MANIFEST
}
start_daemon d.manifest --workers 2 --metrics 0 --log-format json
st=$?
check "the daemon starts with metrics: $(cat daemon.err)" $st
pids+=($daemon_pid)
url=$(url_of daemon.err)
for i in 1 2 3; do job "dout$i.txt" > "j$i.manifest"; "$zvm" job d.sock "j$i.manifest" > /dev/null; done
printf 'Bogus = 1\n' > bad.manifest
"$zvm" job d.sock bad.manifest > /dev/null 2>&1
curl -s "$url" > dpage.txt
check "daemon jobs by cause: 3 ok, the refused one malformed: $(grep '^zvm_records_total' dpage.txt | tr '\n' ' ')" \
    $([ "$(metric dpage.txt 'zvm_records_total{cause="ok"}')" = 3 ] &&
      [ "$(metric dpage.txt 'zvm_records_total{cause="malformed"}')" = 1 ]; echo $?)
kill -TERM $daemon_pid
wait $daemon_pid
check "the daemon stops cleanly" $?
check "every line of the daemon's stderr is JSON: $(head -c 300 daemon.err)" $(all_json daemon.err; echo $?)

# ---- zvm consume ----------------------------------------------------------------------------
if command -v redis-server > /dev/null && command -v redis-cli > /dev/null; then
    source "$here/redis_lib.sh"
    on_free_port start_scratch_redis
    pids+=($redis_pid)
    rcli() { redis-cli -p "$port" "$@"; }
    push s 3000
    rcli XADD s '*' data "TRAP me" > /dev/null
    rcli XADD s '*' other "no data" > /dev/null
    "$zvm" consume --redis "127.0.0.1:$port" --stream s --group g --consumer c1 \
        --module "$records" --output-stream s.out --timeout 1 --metrics 0 --log-format json \
        --stats json --stats-file cstats.json 2> consume.log &
    cons=$!
    pids+=($cons)
    url=$(url_of consume.log)
    check "consume's start event names its metrics, stream and group" \
        $(grep '"event": "start"' consume.log | grep -q '"stream": "s", "group": "g", "consumer": "c1"'; echo $?)
    for _ in $(seq 100); do
        curl -s "$url" > cpage.txt
        [ "$(metric cpage.txt 'zvm_records_total{cause="ok"}')" = 3000 ] && break
        sleep 0.1
    done
    sleep 5.5 # the lag is read every 5 s
    curl -s "$url" > cpage.txt
    check "consume: 3000 ok, 1 trap, 1 malformed: $(grep '^zvm_records_total' cpage.txt | tr '\n' ' ')" \
        $([ "$(metric cpage.txt 'zvm_records_total{cause="ok"}')" = 3000 ] &&
          [ "$(metric cpage.txt 'zvm_records_total{cause="trap"}')" = 1 ] &&
          [ "$(metric cpage.txt 'zvm_records_total{cause="malformed"}')" = 1 ]; echo $?)
    check "consume has zvm_redeliveries_total and zvm_consumer_lag, 0 once all is acked: $(grep -E '^zvm_(redel|consumer)' cpage.txt | tr '\n' ' ')" \
        $([ "$(metric cpage.txt zvm_redeliveries_total)" = 0 ] &&
          [ "$(metric cpage.txt zvm_consumer_lag)" = 0 ]; echo $?)
    kill -TERM $cons
    wait $cons
    check "consume stops on SIGTERM with exit 0" $?
    check "a stop event, and every line JSON: $(tail -c 300 consume.log)" \
        $(grep -q '"event": "stop"' consume.log && all_json consume.log; echo $?)
    python3 -c 'import json
s = json.load(open("cstats.json"))
assert s["by_cause"]["ok"] >= 3000 and s["by_cause"]["malformed"] == 1 and "lag" in s, s' 2> c.txt
    st=$?
    check "consume's summary counts the malformed entry too: $(cat c.txt)" $st
else
    echo "metrics.sh: redis-server missing: the consume checks are skipped"
fi

finish metrics.sh
