#!/usr/bin/env bash
# check.sh — every man page lists exactly the options its command's --help
# lists (by their labels: "-m, --module M.wasm"), and mandoc finds nothing
# wrong in it (when mandoc is installed: the check says when it is not).
#
# Usage: check.sh ZVM BENCH MAN_DIR
zvm=$1 bench=$2 man=$3
failed=0 checks=0
for cmd in run batch consume job compile validate keygen sign bench; do
    page=$man/zvm-$cmd.1
    if [ $cmd = bench ]; then help=$("$bench" --help); else help=$("$zvm" $cmd --help); fi
    want=$(sed -n '/^Options:/,/^$/p' <<< "$help" | grep -oE '^  (-[a-zA-Z], )?--[a-z-]+( [^ ]+)?' |
           sed 's/^  //' | sort)
    got=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$page" |
          awk 'prev == ".TP" && /^\.B / { sub(/^\.B /, ""); print } { prev = $0 }' | sed 's/\\-/-/g' | sort)
    checks=$((checks + 1))
    if [ "$want" != "$got" ] || [ -z "$want" ]; then
        echo "FAIL: zvm-$cmd.1 and --help list different options:"
        diff <(echo "$want") <(echo "$got")
        failed=$((failed + 1))
    fi
done
if command -v mandoc > /dev/null; then
    for page in "$man"/*.1; do
        checks=$((checks + 1))
        out=$(mandoc -T lint -W warning "$page" 2>&1)
        [ -z "$out" ] || { echo "FAIL: mandoc on $page: $out"; failed=$((failed + 1)); }
    done
else
    echo "man pages: mandoc is not installed: the pages' roff is not linted"
fi
echo "man pages: $checks checks, $failed failed"
[ $failed = 0 ]
