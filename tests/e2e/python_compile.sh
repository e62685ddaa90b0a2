#!/usr/bin/env bash
# python_compile.sh — the fixture of the tests labelled "python": fills the
# build's code cache for python.wasm (build/guests/cache, see
# python_lib.sh) with its two gcc -O2 builds, the plain one (`zvm
# compile`: zvm run) and the one for a fork point (a one-record `zvm batch
# --snapshot first-read`: batch and consume), each about 2.5 minutes of 2
# cores, once per build tree; later runs find them and take a second.
#
# Usage: python_compile.sh ZVM GUEST_DIR BUILD_DIR
zvm=$(realpath "$1") build=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
source "$here/lib.sh"
source "$here/python_lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }
"$zvm" compile "$py" > compile.log 2>&1
last=$?
check "zvm compile python.wasm: $(cat compile.log)" $last
echo 'import sys; print(sys.stdin.readline().upper(), end="")' > up.py
echo hello | "$zvm" batch --module "$py" --dir "$tmp::/t" --arg /t/up.py \
    --snapshot first-read --input - --output out.txt 2> batch.log
check "a first-read batch (the fork point's build): $(cat out.txt) $(cat batch.log)" \
    $([ "$(cat out.txt)" = HELLO ]; echo $?)
finish python_compile
