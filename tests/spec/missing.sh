#!/usr/bin/env bash
# missing.sh — a clone without the spec suite beside it: every CTest test
# labelled "spec" reads ZVM_SPEC_DIR when it runs and, with it naming an
# empty folder, reports itself skipped (exit 77) with one line saying where
# to put the suite; under ZVM_REQUIRE_SPEC=1 (what CI sets) each fails
# instead. The tests run in a CTest of their own, on a copy of the build's
# test files in a scratch folder, so that its logs do not overwrite those
# of the CTest running this script.
#
# Usage: missing.sh BUILD_DIR
build=$(realpath "$1")
source "$(dirname "$0")/../e2e/lib.sh"
check() { n_checks=$((n_checks + 1)); [ "$2" = 0 ] || fail "$1"; }

(cd "$build" && find . -name CTestTestfile.cmake) | while read -r f; do
    mkdir -p "ctest/$(dirname "$f")" && cp "$build/$f" "ctest/$f"
done
mkdir empty

# spec_tests ENV...: the "spec" tests under ENV; sets names and statuses
# (counted per word: "6 Skipped"); ctest.out holds the tests' output.
spec_tests() {
    env "$@" ctest --test-dir ctest -L '^spec$' -V > ctest.out 2>&1
    names=$(sed -En 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+) .*/\1/p' ctest.out | sort)
    statuses=$(sed -En 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: [^ ]+ \.+ *(\*\*\*)?([A-Za-z]+).*/\2/p' \
               ctest.out | sort | uniq -c | xargs)
}
where="spec suite not found at $tmp/empty: clone github.com/WebAssembly/testsuite there"

spec_tests -u ZVM_REQUIRE_SPEC ZVM_SPEC_DIR="$tmp/empty"
n=$(wc -w <<< "$names")
for t in spec_validate spec_exec_O2 spec_exec_O0 diff_wabt; do
    grep -qx "$t" <<< "$names"
    ok=$?; check "$t is a test labelled spec: [$(xargs <<< "$names")]" $ok
done
[ "$statuses" = "$n Skipped" ]
ok=$?; check "all $n spec tests skipped without the suite: $statuses" $ok
[ "$(grep -c "$where (commit 3a04b2c, core 2.0) or set ZVM_SPEC_DIR; skipped$" ctest.out)" = "$n" ]
ok=$?; check "each says where to put the suite, once: $(grep -m3 'not found' ctest.out)" $ok

spec_tests ZVM_REQUIRE_SPEC=1 ZVM_SPEC_DIR="$tmp/empty"
[ "$statuses" = "$n Failed" ]
ok=$?; check "with ZVM_REQUIRE_SPEC=1, all $n fail: $statuses" $ok
[ "$(grep -c "$where .*; failed (ZVM_REQUIRE_SPEC=1)$" ctest.out)" = "$n" ]
ok=$?; check "each says why it failed: $(grep -m3 'not found' ctest.out)" $ok

finish spec_missing
