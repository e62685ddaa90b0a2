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
