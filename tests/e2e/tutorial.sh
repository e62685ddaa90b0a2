#!/usr/bin/env bash
# tutorial.sh — README's "A first filter" works as written: each command
# below is checked to be in README word for word, then run from the source
# tree's root with this build's zvm (README's `build/` is the build folder).
#
# Usage: tutorial.sh ZVM GUEST_DIR SOURCE_DIR
zvm=$(realpath "$1") src=$(realpath "$3")
source "$(dirname "$0")/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
readme=$(sed -n '/^## A first filter/,/^## Commands/p' "$src/README.md" |
         sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | tr '\n' ' ' | tr -s ' ') # continuations joined
ln -s "$(dirname "$zvm")" build # build/zvm is this build's, whatever its folder
mkdir examples && cp "$src/examples/sample.log" examples/
shown() { # shown CMD: is CMD (spaces squeezed) in the tutorial? Then run it.
    local flat
    flat=$(echo "$1" | tr -s ' ')
    [[ "$readme" == *"$flat"* ]]
    check "README's tutorial shows: $1" $?
    eval "$1"
}
shown 'build/zvm batch --module build/examples/logfilter.wasm --arg WARN --input examples/sample.log --output build/warnings.log' 2> s1.txt
check "the WARN lines are kept: $(head -1 s1.txt)" $(grep WARN examples/sample.log | cmp -s - build/warnings.log; echo $?)
timeout 5 bash -c 'tail -n +1 -F examples/sample.log | build/zvm batch --module build/examples/logfilter.wasm --arg ERROR --input - --output -' > live.txt 2>/dev/null
check "the live stream's ERROR lines came out while it ran ($(wc -l < live.txt))" \
    $(grep ERROR examples/sample.log | cmp -s - live.txt; echo $?)
[[ "$readme" == *"tail -n +1 -F examples/sample.log | build/zvm batch --module build/examples/logfilter.wasm --arg ERROR --input - --output -"* ]]
check "README's tutorial shows the live stream" $?
shown "printf '2023-11-14T22:13:23Z INFO search job done\\nnot a log line\\n' > build/two.log"
shown 'build/zvm batch --module build/examples/tojson.wasm --input build/two.log --output build/two.json --errors build/failed.tsv' 2>/dev/null
check "record 1 failed with exit 2 and its stderr: $(cat build/failed.tsv)" \
    $([ "$(cut -f1-3 build/failed.tsv)" = "$(printf '1\texit\texit 2')" ] &&
      cut -f4 build/failed.tsv | grep -q "^not a log line"; echo $?)
shown 'build/zvm batch --module build/examples/tojson.wasm --input build/two.log --only 1' > only.out 2> only.err
check "--only 1 shows the record: $(tail -1 only.err)" $(grep -q "^record 1: exit: exit 2" only.err; echo $?)
finish tutorial
