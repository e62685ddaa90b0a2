#!/usr/bin/env bash
# job.sh — end-to-end tests of multi-stage jobs (`zvm job JOB.json`, the
# ZeroCloud servlet format) on tests/guests/jobnode.c: instance names and
# connections as /dev/in and /dev/out, argv and env, wildcards in and out,
# count with '*', devices without a path, every malformed description
# (exit 14, the JSON path named, nothing started; a '*' that matches '..'
# never writes outside the job's folder), a deadlock (named, never
# a hang), a trapping node (the job stops, the report names it), a 200-node
# fan-in, and determinism over 20 runs on 1 and 2 workers.
#
# What a job says (issue 23): the report is a table labelled per instance
# (name, exit code, CPU, wall time, bytes in and out, status) and the JSON
# form has the same fields; every instance's stderr is kept (out/NAME.stderr,
# or the stderr device's path); a failure names the instance and how
# (`reduce-2: exit 3`, `boom: trap: unreachable`), never "1 failed: ok"; a
# write to an undeclared /dev/out/NAME fails the job, naming it; connections
# never opened are noted.
#
# Then the examples: the word count equals `sort | uniq -c` and gives the
# same bytes over 20 runs on 1 and 2 workers; the grep pipeline counts what
# `grep -c` counts; README's two-stage example runs exactly as written.
#
# Usage: job.sh ZVM GUEST_DIR EXAMPLES_BUILD_DIR SOURCE_DIR
zvm=$(realpath "$1") guests=$(realpath "$2") examples=$(realpath "$3") src=$(realpath "$4")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

cp "$guests/jobnode.wasm" .
node() { # node NAME ARGS [EXTRA-JSON]: one node of jobnode.wasm
    printf '{"name": "%s", "exec": {"path": "jobnode.wasm", "args": "%s"}%s}' "$1" "$2" "${3:-}"
}
zjob() { # zjob ARGS...: sets status, out, err
    out=$(timeout 60 "$zvm" job "$@" 2> err.txt)
    status=$?
    err=$(cat err.txt)
}

# ---- names, connections, argv, env ---------------------------------------------------
cat > names.json <<EOF
[{"name": "src", "exec": {"path": "jobnode.wasm", "args": "id", "env": {"ROLE": "source"}},
  "devices": [{"name": "stdout"}], "count": 2, "connect": ["mid", "src"]},
 {"name": "mid", "exec": {"path": "jobnode.wasm", "name": "custom0", "args": "id"},
  "devices": [{"name": "stdout", "path": "out/mid.txt"}], "connect": ["sink"]},
 $(node sink id ', "devices": [{"name": "stdout", "path": "out/sink.txt"}]')]
EOF
zjob names.json
check "a job of 4 instances exits 0: $err" $status
[ -f out/src-1.stdout ] && [ "$(cat out/src-1.stdout)" = "src-1 ROLE=source in: src-2 out: mid src-2" ]
last=$?; check "src-1 sees its peers, not itself, and its env: $(cat out/src-1.stdout 2>&1)" $last
[ "$(cat out/src-2.stdout)" = "src-2 ROLE=source in: src-1 out: mid src-1" ]
last=$?; check "src-2 likewise: $(cat out/src-2.stdout)" $last
[ "$(cat out/mid.txt)" = "custom0 ROLE=- in: src-1 src-2 out: sink" ]
last=$?; check "exec.name is argv[0]; mid reads both sources: $(cat out/mid.txt)" $last
[ "$(cat out/sink.txt)" = "sink ROLE=- in: mid out:" ]
last=$?; check "sink: $(cat out/sink.txt)" $last
# the id role lists /dev/in and /dev/out but opens nothing: noted, not failed
grep -q "^zvm job: 4 instances, 0 failed: ok; 4 instances never opened a connection: src-1, src-2, mid, sink$" <<< "$out"
last=$?; check "the job's line notes the connections never opened: $(tail -1 <<< "$out")" $last
head -1 <<< "$out" | grep -Eq '^name +exit_code +cpu_seconds +wall_seconds +bytes_in +bytes_out +status$'
last=$?; check "the report's header labels each field: $(head -1 <<< "$out")" $last
grep -Eq '^src-1 +0 +[0-9]+\.[0-9]{3} +[0-9]+\.[0-9]{3} +0 +43 +ok; never opened: /dev/in/src-2, /dev/out/mid, /dev/out/src-2$' <<< "$out"
last=$?; check "one labelled line per instance (src-1: exit 0, 43 bytes out, what it never opened): $(sed -n 2p <<< "$out")" $last
[ "$(wc -l <<< "$out")" = 6 ] && [ "$(awk 'NR > 1 && NR < 6 { print $1 }' <<< "$out" | tr '\n' ' ')" = "src-1 src-2 mid sink " ]
last=$?; check "a header, the 4 instances in order, the job's line: $(awk '{ print $1 }' <<< "$out" | tr '\n' ' ')" $last
header=$(head -1 <<< "$out")
zjob --report=json names.json
printf '%s\n' "$out" > names.out.json
python3 - "$header" <<'PY'
import json, sys
d = json.load(open("names.out.json"))
assert d["exit_code"] == 0 and d["failed"] == 0 and len(d["instances"]) == 4, d
assert d["status"].startswith("ok; 4 instances never opened a connection"), d["status"]
for i in d["instances"]:
    assert list(i) == sys.argv[1].split(), (list(i), sys.argv[1])
    assert i["exit_code"] == 0 and i["bytes_out"] > 0 and i["status"].startswith("ok; never opened")
    assert isinstance(i["cpu_seconds"], float) and isinstance(i["wall_seconds"], float)
assert [i["name"] for i in d["instances"]] == ["src-1", "src-2", "mid", "sink"]
PY
check "--report=json is one JSON document with the text's fields per instance" $?

# ---- wildcards -----------------------------------------------------------------------
mkdir -p in
for n in b a c; do printf 'text %s\n' "$n" > "in/log_$n.txt"; done
cat > wild.json <<EOF
[$(node cat cat ', "devices": [{"name": "stdin", "path": "in/log_*.txt"}, {"name": "stdout", "path": "res/count_*.txt"}]'),
 $(node part id ', "count": 3, "devices": [{"name": "stdout", "path": "res/part-*.txt"}]')]
EOF
zjob wild.json
check "wildcards: exits 0: $err" $status
[ "$(cat res/count_a.txt)" = "cat-1: text a" ] && [ "$(cat res/count_c.txt)" = "cat-3: text c" ]
last=$?; check "one instance per match, in sorted order, outputs named by the match: $(cat res/count_*.txt | tr '\n' ' ')" $last
[ -f res/part-part-3.txt ] && [ "$(ls res | grep -c part-part-)" = 3 ]
last=$?; check "'*' in a counted node's output is the instance's name: $(ls res | tr '\n' ' ')" $last
zjob --outdir "$tmp/elsewhere" names.json
[ -f elsewhere/src-1.stdout ]
check "--outdir takes the devices without a path" $?

# ---- malformed descriptions: exit 14, the path named, nothing started ----------------
rm -rf out
bad() { # bad WHAT PATTERN JSON
    printf '%s\n' "$3" > bad.json
    zjob bad.json
    [ "$status" = 14 ] && grep -q -- "$2" <<< "$err" && [ ! -e out ] && [ -z "$out" ]
    check "$1: exit 14 and '$2' (got $status: $err)" $?
}
bad "missing exec" 'bad.json:1: \$\[0\] (a): "exec" is missing' '[{"name": "a"}]'
bad "unknown device" 'devices\[0\].name: unknown device "stdinn"' \
    "[$(node a id ', "devices": [{"name": "stdinn", "path": "x"}]')]"
for n in a b; do printf '%s\n' $n > "in/b_$n.txt"; done
bad "wildcard mismatch" 'wildcard mismatch' \
    "[$(node a cat ', "devices": [{"name": "stdin", "path": "in/log_*.txt"}, {"name": "input", "path": "in/b_*.txt"}]')]"
bad "connect to an unknown node" 'connect\[0\]: no node is named "nobody"' \
    "[$(node a id ', "connect": ["nobody"]')]"
bad "a cycle with count 1" 'connects to itself but has one instance' \
    "[$(node a id ', "connect": ["a"]')]"
bad "a path that climbs out" 'climbs out of the job' \
    "[$(node a id ', "devices": [{"name": "stdout", "path": "../x.txt"}]')]"
bad "a path that climbs out through a folder" 'climbs out of the job' \
    "[$(node a id ', "devices": [{"name": "stdin", "path": "in/../../x.txt"}]')]"
bad "a writable path without '*' in a node of several" "without '\*', but the node has 3" \
    "[$(node a id ', "count": 3, "devices": [{"name": "stdout", "path": "one.txt"}]')]"
bad "a wildcard without a match" 'no file matches "in/none_\*.txt"' \
    "[$(node a id ', "devices": [{"name": "stdin", "path": "in/none_*.txt"}]')]"
bad "a duplicated node" '"a" is also the name of' "[$(node a id), $(node a id)]"
bad "an unknown key" 'unknown key "cuont"' "[$(node a id ', "cuont": 3')]"
bad "JSON syntax" 'bad.json: line 1, column 15: expected' '[{"name": "a" "exec": {}}]'
bad "not a list" '\$: an object, expected a list of nodes' '{"name": "a"}'
bad "a missing program" 'nothere.wasm' '[{"name": "a", "exec": {"path": "nothere.wasm"}}]'
bad "memory not whole pages" 'Memory' "[$(node a id ', "memory": 1000000')]"
bad "memory too small for its pipes" 'memory 524288 is too small for 2 pipes of 256 KiB' \
    "[$(node a id ', "memory": 524288, "count": 3, "connect": ["a"]')]"

long=$(printf 'n%.0s' {1..49})
bad "a node name over 48 bytes" 'at most 48' "[$(node "$long" id)]"
bad "a path over 2048 bytes" 'a path longer than 2048 bytes' \
    "[$(node a id ", \"devices\": [{\"name\": \"stdout\", \"path\": \"$(printf 'p%.0s' {1..2100})\"}]")]"
mkdir -p inj && : > "inj/x, evil.txt"
bad "a matched file name the manifest cannot hold" "\"x, evil.txt\" matches" \
    "[$(node a cat ', "devices": [{"name": "stdin", "path": "inj/*.txt"}]')]"
mkdir -p sub && echo "secret" > secret.txt
printf '[%s]\n' "$(node a cat ', "devices": [{"name": "stdin", "path": "..*/secret.txt"}]')" > sub/esc.json
zjob sub/esc.json
[ "$status" = 14 ] && grep -q 'no file matches' <<< "$err"
check "'..*' never matches '..' (got $status: $err)" $?
# a '*' that matched ".." in a readable path, put into a writable one, would
# write one level above the job's folder: refused, nothing written outside
mkdir -p climb/in && echo x > climb/in/log_a.txt && echo y > climb/in/log_...txt
cp jobnode.wasm climb/
printf '[%s]\n' "$(node c cat ', "devices": [{"name": "stdin", "path": "in/log_*.txt"}, {"name": "stdout", "path": "*/count.txt"}]')" > climb/job.json
before=$(ls -A)
zjob climb/job.json
[ "$status" = 14 ] && [ "$(ls -A)" = "$before" ] && [ ! -e climb/a ] &&
    grep -q 'climb/job.json:1: \$\[0\] (c).devices (stdin): "log_...txt" matches "in/log_\*.txt" with ".."' <<< "$err"
last=$?; check "a '*' that matches '..' is refused, naming the file, the node and the path, nothing written (got $status: $err; $(ls -A | tr '\n' ' '))" $last
json_keys=$(for k in $(seq 5000); do printf '"k%d": 1,' $k; done)
bad "an object of 5000 members" 'more than 4096 members' "[{${json_keys%,}}]"

# ---- waiting on a device is no deadlock ----------------------------------------------
cat > feed.json <<EOF
[$(node c cat ', "devices": [{"name": "stdin", "path": "/dev/stdin"}, {"name": "stdout", "path": "feed/out.txt"}]')]
EOF
(sleep 1; echo first; sleep 1; echo second) | timeout 60 "$zvm" job feed.json > /dev/null 2> err.txt
status=$?
[ "$status" = 0 ] && [ "$(cat feed/out.txt)" = "$(printf 'c: first\nc: second')" ]
last=$?; check "an instance waiting seconds on zvm's stdin is not a deadlock (exit $status): $(cat err.txt)" $last

# ---- a deadlock ends with the cycle named --------------------------------------------
cat > dead.json <<EOF
[$(node x wait ', "connect": ["y"]'), $(node y wait ', "connect": ["z"]'),
 $(node z wait ', "connect": ["x"]'), $(node bystander id)]
EOF
start=$(date +%s)
zjob dead.json
[ "$status" = 1 ] && grep -q "^zvm job: 4 instances, 3 failed: deadlock: x waits on z waits on y waits on x$" <<< "$out"
last=$?; check "a deadlock is named and ends the job (exit $status): $(tail -1 <<< "$out")" $last
[ $(($(date +%s) - start)) -lt 10 ]
check "... within seconds, not at the timeout" $?

# ---- a trapping node stops the job ---------------------------------------------------
cat > trap.json <<EOF
[$(node w wait ', "count": 3, "connect": ["w"]'), $(node boom trap)]
EOF
zjob trap.json
[ "$status" = 1 ] && grep -q "^zvm job: 4 instances, 4 failed: boom: trap: unreachable$" <<< "$out" &&
    [ "$(grep -Ec '^w-[1-3] +- .* stopped: the job ended$' <<< "$out")" = 3 ] &&
    grep -Eq '^boom +- .* trap: unreachable$' <<< "$out"
last=$?; check "a trap names the node and how, and stops the others (exit $status): $out" $last
grep -qx "zvm job: trap.json: boom: trap: unreachable (its stderr: out/boom.stderr)" <<< "$err"
last=$?; check "... and says so on stderr with where its stderr is: $err" $last

# ---- which instance failed, and how; its stderr is kept ------------------------------
printf 'one\ntwo\nthree\n' > three.txt
cat > fail.json <<EOF
[$(node src fan ', "devices": [{"name": "stdin", "path": "three.txt"}], "connect": ["reduce"]'),
 $(node reduce "fail 3 reduce-2" ', "count": 3')]
EOF
rm -rf out
zjob fail.json
[ "$status" = 1 ] && grep -q "^zvm job: 4 instances, [0-9] failed: reduce-2: exit 3$" <<< "$out" &&
    grep -Eq '^reduce-2 +3 +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+ +exit 3$' <<< "$out"
last=$?; check "a guest's exit 3 fails the job, named with its code (exit $status): $out" $last
grep -q "failed: ok" <<< "$out"
[ $? = 1 ]; check "never 'failed: ok'" $?
[ "$(cat out/reduce-2.stderr 2>&1)" = "reduce-2: failing with 3" ]
last=$?; check "its stderr is kept in out/reduce-2.stderr: $(cat out/reduce-2.stderr 2>&1)" $last
grep -qx "zvm job: fail.json: reduce-2: exit 3 (its stderr: out/reduce-2.stderr)" <<< "$err"
last=$?; check "zvm job says on stderr which instance failed and where its stderr is: $err" $last
zjob --report=json fail.json
printf '%s\n' "$out" > fail.out.json
python3 - <<'PY'
import json
d = json.load(open("fail.out.json"))
r = {i["name"]: i for i in d["instances"]}
assert d["exit_code"] == 1 and d["status"] == "reduce-2: exit 3", d
assert r["reduce-2"]["exit_code"] == 3 and r["reduce-2"]["status"] == "exit 3", r["reduce-2"]
assert all(i["exit_code"] is None for i in d["instances"]
           if i["status"].startswith(("stopped", "not started"))), d
PY
check "--report=json: the same, exit_code null where the guest did not end by itself" $?
cat > say.json <<EOF
[$(node talk say ', "count": 2, "devices": [{"name": "stderr", "path": "logs/*.err"}]'), $(node quiet say)]
EOF
zjob say.json
[ "$status" = 0 ] && [ "$(cat logs/talk-2.err)" = "talk-2: a line on stderr" ] &&
    [ "$(cat out/quiet.stderr)" = "quiet: a line on stderr" ]
last=$?; check "stderr goes to the stderr device's path, else out/NAME.stderr (exit $status): $(ls logs out | tr '\n' ' ')" $last
mkdir -p deep/er && cp jobnode.wasm say.json deep/er/
zjob deep/er/say.json
[ "$status" = 0 ] && [ -f deep/er/out/quiet.stderr ] && [ -f deep/er/logs/talk-1.err ] && [ ! -e deep/er/deep ]
last=$?; check "out/ is beside the JSON when it is in a folder (was deep/er/deep/er/out): $(find deep -name '*.stderr' | tr '\n' ' ')" $last
zjob --outdir rel deep/er/say.json
[ "$status" = 0 ] && [ -f rel/quiet.stderr ]
last=$?; check "a relative --outdir is the current folder's: $(find . -name quiet.stderr | tr '\n' ' ')" $last

# ---- a device no one declared fails the job ------------------------------------------
cat > typo.json <<EOF
[$(node src typo ', "devices": [{"name": "stdin", "path": "three.txt"}], "connect": ["dst"]'),
 $(node dst gather ', "devices": [{"name": "stdout", "path": "out/result.txt"}]')]
EOF
zjob typo.json
[ "$status" = 1 ] && grep -q "^zvm job: 2 instances, [12] failed: src: undeclared device: /dev/out/nope$" <<< "$out" &&
    grep -Eq '^src +0 .* undeclared device: /dev/out/nope$' <<< "$out"
last=$?; check "a write to /dev/out/nope, not a connection, fails the job and names it (exit $status): $out" $last
grep -qx "zvm job: typo.json: src: undeclared device: /dev/out/nope (its stderr: out/src.stderr)" <<< "$err"
last=$?; check "... on stderr too: $err" $last
printf '[%s]\n' "$(node quiet null)" > null.json
zjob null.json
[ "$status" = 0 ] && [ "$(tail -1 <<< "$out")" = "zvm job: 1 instance, 0 failed: ok" ]
last=$?; check "a write to /dev/null is no undeclared device (exit $status): $out" $last
# an instance with no connection has no /dev/out: its open fails (ENOENT),
# which a guest may ignore; the job still says it
printf '[%s]\n' "$(node lone typo ', "devices": [{"name": "stdin", "path": "three.txt"}]')" > lone.json
zjob lone.json
[ "$status" = 1 ] && grep -q "^zvm job: 1 instance, 1 failed: lone: undeclared device: /dev/out/nope$" <<< "$out"
last=$?; check "a /dev/out/NAME that cannot even be made is reported (exit $status): $out" $last

# ---- a 200-node fan-in ---------------------------------------------------------------
cat > fan.json <<EOF
[$(node leaf number ', "count": 200, "connect": ["root"]'),
 $(node root sum ', "devices": [{"name": "stdout", "path": "fan/sum.txt"}]')]
EOF
zjob --workers 2 fan.json
[ "$status" = 0 ] && [ "$(cat fan/sum.txt)" = 20100 ]
last=$?; check "200 leaves into one root: $(cat fan/sum.txt 2>&1) (1+...+200 = 20100): $err" $last

# ---- determinism: 20 runs on 1 and 2 workers -----------------------------------------
printf 'alpha\nbeta\ngamma\n' > in.txt
cat > det.json <<EOF
[$(node src fan ', "count": 4, "devices": [{"name": "stdin", "path": "in.txt"}], "connect": ["mid"]'),
 $(node mid relay ', "count": 3, "connect": ["end"]'),
 $(node end gather ', "devices": [{"name": "stdout", "path": "det/out.txt"}]')]
EOF
zjob --workers 1 det.json
cp det/out.txt first.txt
same=0
for r in $(seq 1 20); do
    zjob --workers $((r % 2 + 1)) det.json
    [ "$status" = 0 ] && cmp -s det/out.txt first.txt && same=$((same + 1))
done
check "20 runs on 1 and 2 workers give the same bytes: $same of 20" $([ $same = 20 ]; echo $?)
[ "$(grep -c '^src-[1-4]: end$' first.txt)" = 12 ] && [ "$(grep -c '^mid-[1-3]: end$' first.txt)" = 3 ]
last=$?; check "every source reached every mid, every mid the end: $(grep -c ': end$' first.txt) end lines" $last

# ---- the examples ---------------------------------------------------------------------
cp -r "$examples/wordcount" "$examples/grep-pipeline" .
rm -rf wordcount/out grep-pipeline/out
zjob wordcount/wordcount.json
check "the word count runs: $(tail -1 <<< "$out") $err" $status
[ "$(tail -1 <<< "$out")" = "zvm job: 9 instances, 0 failed: ok" ] && [ -z "$err" ] &&
    [ "$(ls wordcount/out/*.stderr | wc -l)" = 9 ] && [ -z "$(cat wordcount/out/*.stderr)" ]
last=$?; check "... every connection opened, an empty stderr file per instance: $(tail -1 <<< "$out") $(ls wordcount/out | tr '\n' ' ')" $last
(cd wordcount && cat text/*.txt | tr -s ' ' '\n' | grep -v '^$' | LC_ALL=C sort | uniq -c) > wc_ref.txt
cmp -s wc_ref.txt wordcount/out/counts.txt
last=$?; check "the word count equals cat | tr -s ' ' '\\n' | sort | uniq -c ($(wc -l < wc_ref.txt) words)" $last
same=0
for r in $(seq 1 20); do
    zjob --workers $((r % 2 + 1)) wordcount/wordcount.json
    [ "$status" = 0 ] && cmp -s wc_ref.txt wordcount/out/counts.txt && same=$((same + 1))
done
check "the word count: 20 runs on 1 and 2 workers, the same bytes: $same of 20" $([ $same = 20 ]; echo $?)
zjob grep-pipeline/grep.json
[ "$status" = 0 ] && [ "$(tail -1 grep-pipeline/out/counts.txt)" = "total $(grep -c ERROR grep-pipeline/sample.log)" ]
last=$?; check "the grep pipeline counts what grep -c counts: $(tail -1 grep-pipeline/out/counts.txt 2>&1) $err" $last

# ---- README's two-stage example, exactly as written -----------------------------------
# the block after the marker, run by bash -e with zvm and zvm-cc on PATH;
# its output ends with the lines README shows for it
awk '/job.sh runs the next block as it is/ { on = 1; next }
     on && /^```/ { if (inside) exit; inside = 1; next }
     inside' "$src/README.md" > readme_example.sh
shown=$(awk '/job.sh runs the next block as it is/ { on = 1 }
     on && /^It prints the report/ { after = 1 }
     after && /^```/ { if (inside) exit; inside = 1; next }
     after && inside' "$src/README.md")
mkdir -p readme && cd readme
PATH="$(dirname "$zvm"):$PATH" timeout 120 bash -e ../readme_example.sh > ../readme.out 2> ../readme.err
status=$?
cd ..
[ -s readme_example.sh ] && grep -q '/dev/out/count' readme_example.sh && grep -q '/dev/in/errors' readme_example.sh
last=$?; check "README shows a two-stage job that uses /dev/out/NAME and /dev/in/NAME ($(wc -l < readme_example.sh) lines)" $last
[ "$status" = 0 ] && [ "$(tail -2 readme.out)" = "$(tail -2 <<< "$shown")" ] &&
    [ "$(head -1 readme.out)" = "$(head -1 <<< "$shown")" ] &&
    [ "$(awk '{ print $1, $2, $5, $6, $7 }' readme.out)" = "$(awk '{ print $1, $2, $5, $6, $7 }' <<< "$shown")" ]
last=$?; check "README's two-stage example runs as written and prints what README shows, times aside (exit $status): $(cat readme.out readme.err)" $last
[ -f readme/two-stage/out/errors.stderr ] && [ -f readme/two-stage/out/count.stderr ]
check "... its stages' stderr files are where README says" $?

finish job
