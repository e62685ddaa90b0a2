#!/usr/bin/env bash
# diff_wabt.sh — differential check of the validator against wabt's
# wasm-validate: both must accept or both must reject every module.
#
#   diff_wabt.sh [-z ZVM] [-m WASM_MUTATE] [-s SPEC_DIR] [-b DEFAULT_SPEC_DIR] [-n N]
#                [-S SEED] [-d DIR]...
#
# The suite's folder: -s, else $ZVM_SPEC_DIR, else -b (CTest passes the
# build's), else ../shared/wasm-testsuite beside the clone. Without the
# suite there, the check is skipped (exit 77) with a line saying where to
# put it, or fails (exit 2) under ZVM_REQUIRE_SPEC=1, as in the spec runners
# (tests/spec/wast.h).
#
# The corpus is every binary module of the spec suite (wast2json into a
# temporary folder, never committed), N mutants (default 2000) of the spec
# modules zvm accepts, made by wasm_mutate with SEED (default 1) so that the
# corpus is the same on every run, and the files of each -d DIR (e.g. a
# libFuzzer corpus from run.sh with ZVM_FUZZ_CORPUS), and the modules of
# zvm's own tests/wast/*.wast (the exception handling forms, accepted and
# refused). zvm runs as `zvm validate --no-policy` (spec rules only); wabt
# runs with its defaults, which in 1.0.32 are exactly core 2.0's features
# (mutable globals, sat-float-to-int, sign-ext, SIMD, multi-value, bulk
# memory, reference types), and --enable-exceptions: the legacy exception
# handling instructions clang emits for setjmp, which zvm accepts too.
#
# Known classes of disagreement, recognised below (see classify) and
# counted but not failed. Any other disagreement fails the check, and the
# module is copied to ./diff_wabt-failures/ for a regression test.
#   impl-limit    zvm rejects, wabt accepts: zvm's implementation limits
#                 (Wasm core §A.2 allows them), reported as "too many X: N
#                 (the limit is L)" or "... (implementation limit)": more
#                 than ZV_VAL_MAX_LOCALS (50000) locals in a body, more than
#                 ZV_VAL_MAX_ARITY (1000) parameters or results in a type,
#                 and any other bound the validator sets. wabt has none.
#   empty-const   zvm rejects, wabt accepts: an active data or element
#                 segment whose offset is an empty expression (just `end`).
#                 Spec data.wast:400 and elem.wast:372 assert_invalid it;
#                 wabt 1.0.32 skips the offset's type check when the
#                 expression is empty (src/validator.cc: `if (offset.size())`).
#   datacount-no-data  zvm rejects, wabt accepts: a data count section
#                 with a non-zero count and no data section. An omitted
#                 section reads as an empty one (§5.5.2), so the counts
#                 disagree (§5.5.16: malformed). wabt 1.0.32 checks the count
#                 only in the data section; fixed in wabt 1.0.37 (wabt PR
#                 #2432, "Data section missing but DataCount non-zero").
#                 Recognised by zvm's end-of-module offset for that error.
#   missing-end   zvm rejects, wabt accepts: a function body or a constant
#                 expression that is not closed by its own `end` (the body's
#                 last byte ends an inner block, or the section ends inside
#                 the expression). wabt 1.0.32 only checks that a body's last
#                 opcode is some `end` and stops a constant expression at the
#                 section's end; fixed in wabt 1.0.33 (PR #2218, "check for
#                 missing end markers"). Recognised from wasm-validate -v's
#                 trace: a body with fewer `end`s than blocks, or an init
#                 expression with no `end`.
#   data-flags    zvm rejects, wabt accepts: a data segment whose flags are
#                 3 to 7. Core 2.0 has only 0, 1 and 2 (§5.5.14); wabt
#                 (1.0.32 and still in 1.0.39) bounds them by the element
#                 segments' maximum, SegFlagMax = 7.
#   elem-global   wabt rejects, zvm accepts: global.get of an imported
#                 immutable global as an element item. Core 2.0 allows any
#                 constant expression of the element type there (§3.3.10);
#                 wabt 1.0.32's binary reader takes only ref.null and
#                 ref.func ("expected ref.null or ref.func in passive element
#                 segment", whatever the segment's mode).
#   elem-prefixed  zvm rejects, wabt accepts: an element segment's item
#                 that starts with a 0xfc-prefixed opcode no proposal zvm
#                 supports defines. wasm-validate passes over the item;
#                 wasm2wat, reading the same bytes, rejects it ("expected
#                 ref.null or ref.func in passive element segment").
#   custom-section  wabt rejects, zvm accepts: malformed contents of a
#                 tool-convention custom section (name, linking, reloc.*,
#                 dylink, dylink.0, target_features), which wabt parses. The
#                 spec leaves custom section contents unchecked (§5.5.3).
#                 Recognised when wabt accepts the module with
#                 --ignore-custom-section-errors (which also hides errors in
#                 a custom section's own name: those do not count) and the
#                 module holds one of those names.
#   catch-after-all  zvm rejects, wabt accepts: a catch after catch_all
#                 in the same try. The exception handling proposal's legacy
#                 form allows catches, then at most one catch_all, last
#                 (try blocktype instr* (catch x instr*)* (catch_all instr*)?
#                 end); wabt 1.0.32 gives catch_all's frame the same kind as
#                 a catch's, so a catch may follow it (a catch_all after
#                 catch_all it does refuse).
# A wasm-validate that crashes gives no verdict: such modules are listed
# and counted apart ("no wabt verdict"), they do not fail the check.
#
# Exit: 0 agreement up to the known classes, 1 an unknown disagreement,
# 2 setup error, 77 the suite, wasm-validate or wast2json missing (CTest:
# skipped; 2 under ZVM_REQUIRE_SPEC=1).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
zvm=$repo/build/zvm
mutate=$repo/build/tests/wasm_mutate
spec= default_spec=$repo/../shared/wasm-testsuite
n_mutants=2000
seed=1
extra=()
while getopts "z:m:s:b:n:S:d:" opt; do
    case $opt in
    z) zvm=$OPTARG ;;
    m) mutate=$OPTARG ;;
    s) spec=$OPTARG ;;
    b) default_spec=$OPTARG ;;
    n) n_mutants=$OPTARG ;;
    S) seed=$OPTARG ;;
    d) extra+=("$OPTARG") ;;
    *) sed -n '4,5p' "$0" >&2; exit 2 ;;
    esac
done

# cannot_run WHY...: skipped (77), or failed (2) where CI requires the suite.
cannot_run() {
    if [ "${ZVM_REQUIRE_SPEC:-}" = 1 ]; then
        echo "diff_wabt: $*; failed (ZVM_REQUIRE_SPEC=1)" >&2
        exit 2
    fi
    echo "diff_wabt: $*; skipped" >&2
    exit 77
}
if [ -z "$spec" ]; then
    spec=${ZVM_SPEC_DIR:-$default_spec}
    compgen -G "$spec/*.wast" >/dev/null || cannot_run "spec suite not found at $spec:" \
        "clone github.com/WebAssembly/testsuite there (commit 3a04b2c, core 2.0) or set ZVM_SPEC_DIR"
fi
for tool in wasm-validate wast2json; do
    command -v "$tool" >/dev/null || cannot_run "$tool not found"
done
for tool in "$zvm" "$mutate"; do
    [ -x "$tool" ] || { echo "diff_wabt: $tool is not built" >&2; exit 2; }
done

# wabt with the features zvm has (above)
wasm-validate() { command wasm-validate --enable-exceptions "$@"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zvm-diff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/wast" "$tmp/spec" "$tmp/mutants"

for wast in "$spec"/*.wast; do
    wast2json "$wast" -o "$tmp/wast/$(basename "$wast" .wast).json" 2>/dev/null ||
        { echo "diff_wabt: wast2json failed on $wast" >&2; exit 2; }
done
for wast in "$repo"/tests/wast/*.wast; do
    wast2json --enable-exceptions "$wast" -o "$tmp/wast/zvm-$(basename "$wast" .wast).json" \
        2>/dev/null || { echo "diff_wabt: wast2json failed on $wast" >&2; exit 2; }
done
find "$tmp/wast" -name '*.wasm' -exec mv -t "$tmp/spec" {} +
# Many spec modules are byte-identical (assert_invalid of the same text):
# keep the first of each content.
mapfile -t spec_files < <(find "$tmp/spec" -name '*.wasm' | LC_ALL=C sort |
    xargs -r sha1sum | awk '!seen[$1]++ { print substr($0, 43) }')
[ "${#spec_files[@]}" -gt 0 ] || { echo "diff_wabt: no modules in $spec" >&2; exit 2; }

# zvm's verdicts, in one process per batch: a rejected module is one line
# "zvm validate: PATH: offset 0xOFF: malformed|invalid: CAUSE" on stderr.
declare -A zvm_msg
zvm_verdicts() {
    local line path
    printf '%s\0' "$@" | xargs -0 -r "$zvm" validate --no-policy >/dev/null 2>"$tmp/zvm.err" || true
    while IFS= read -r line; do
        line=${line#zvm validate: }
        path=${line%%: offset 0x*}
        if [ "$path" = "$line" ]; then
            echo "diff_wabt: zvm failed: $line" >&2
            exit 2
        fi
        zvm_msg[$path]=${line#"$path: "}
    done <"$tmp/zvm.err"
}

zvm_verdicts "${spec_files[@]}"
accepted=()
for f in "${spec_files[@]}"; do
    [ -n "${zvm_msg[$f]+x}" ] || accepted+=("$f")
done
"$mutate" "$seed" "$n_mutants" "$tmp/mutants" "${accepted[@]}"
mapfile -t mutant_files < <(find "$tmp/mutants" -name '*.wasm' | LC_ALL=C sort)
extra_files=()
for d in "${extra[@]}"; do
    mapfile -t -O "${#extra_files[@]}" extra_files < <(find "$d" -type f | LC_ALL=C sort)
done
zvm_verdicts "${mutant_files[@]}" "${extra_files[@]}"

# The byte at zvm's error offset, as two hex digits.
byte_at() { od -An -tx1 -j "$(($2))" -N1 "$1" | tr -d ' \n'; }

# Does wabt's trace show a body or an init expression without its own end?
missing_end() {
    wasm-validate -v "$1" 2>&1 | awk '
        /Begin(Global|ElemSegment|DataSegment)InitExpr/ { init = 1; ends = 0 }
        /End(Global|ElemSegment|DataSegment)InitExpr/ { if (init && !ends) bad = 1; init = 0 }
        /BeginFunctionBody/ { depth = 1 }
        /On(Block|Loop|If|Try)Expr/ { depth++ }
        /OnEndExpr/ { if (init) ends++; else depth-- }
        /EndFunctionBody/ { if (depth > 0) bad = 1 }
        END { exit !bad }'
}

# Name the known class of a disagreement, or print nothing.
classify() {
    local f=$1 wabt_ok=$2 zmsg=$3 wmsg off
    if [ "$wabt_ok" = 1 ]; then
        off=${zmsg#offset }
        off=${off%%:*}
        case $zmsg in
        *": too many "*": "*" (the limit is "*")" | *" (implementation limit)")
            echo impl-limit ;;
        *"type mismatch in constant expression"*)
            [ "$(byte_at "$f" "$off")" = 0b ] && echo empty-const ;;
        *": data count and data section have inconsistent lengths")
            [ "$((off))" = "$(stat -c %s "$f")" ] && echo datacount-no-data ;;
        *": malformed data segment kind "[3-7]) echo data-flags ;;
        *": catch without a matching try: catch_all ends the catching blocks")
            echo catch-after-all ;;
        *": unexpected end"*) missing_end "$f" && echo missing-end ;;
        *": illegal opcode 0xfc (prefixed): "*)
            wasm2wat "$f" -o /dev/null 2>&1 |
                grep -q 'expected ref.null or ref.func in passive element segment' &&
                echo elem-prefixed ;;
        esac
        return 0
    fi
    wmsg=$(wasm-validate "$f" 2>&1 >/dev/null | head -n 1 || true)
    off=0x${wmsg%%:*}
    case $wmsg in
    *": expected ref.null or ref.func in passive element segment")
        # wabt reports the offset just past the item's opcode: global.get?
        [ "$(byte_at "$f" "$((off - 1))")" = 23 ] && echo elem-global ;;
    *": section name" | *": string length") ;; # the custom section's own name
    *)
        grep -qaE 'name|linking|reloc\.|dylink|target_features' "$f" &&
            wasm-validate --ignore-custom-section-errors "$f" >/dev/null 2>&1 &&
            echo custom-section ;;
    esac
    return 0
}

declare -A n_class
n_valid=0 n_invalid=0 n_known=0 n_unknown=0 n_noverdict=0
keep=$PWD/diff_wabt-failures
for f in "${spec_files[@]}" "${mutant_files[@]}" "${extra_files[@]}"; do
    w=0
    wasm-validate "$f" >/dev/null 2>&1 || w=$?
    z=0
    [ -z "${zvm_msg[$f]+x}" ] || z=1
    if [ "$w" -gt 1 ]; then
        n_noverdict=$((n_noverdict + 1))
        echo "diff_wabt: no wabt verdict (wasm-validate exit $w): $f" >&2
        continue
    fi
    if [ "$w" = "$z" ]; then
        if [ "$z" = 0 ]; then n_valid=$((n_valid + 1)); else n_invalid=$((n_invalid + 1)); fi
        continue
    fi
    class=$(classify "$f" "$((1 - w))" "${zvm_msg[$f]:-}")
    if [ -n "$class" ]; then
        n_known=$((n_known + 1))
        n_class[$class]=$((${n_class[$class]:-0} + 1))
        continue
    fi
    n_unknown=$((n_unknown + 1))
    mkdir -p "$keep"
    cp "$f" "$keep/"
    if [ "$w" = 0 ]; then
        echo "DISAGREE $(basename "$f"): wabt accepts, zvm rejects: ${zvm_msg[$f]}"
    else
        echo "DISAGREE $(basename "$f"): wabt rejects, zvm accepts:" \
             "$(wasm-validate "$f" 2>&1 >/dev/null | head -n 1)"
    fi
done

classes=""
for c in "${!n_class[@]}"; do classes+=" $c=${n_class[$c]}"; done
echo "diff_wabt: $((${#spec_files[@]} + ${#mutant_files[@]} + ${#extra_files[@]})) modules" \
     "(${#spec_files[@]} spec, ${#mutant_files[@]} mutants of seed $seed," \
     "${#extra_files[@]} extra): agree $((n_valid + n_invalid))" \
     "($n_valid valid, $n_invalid invalid), known disagreements $n_known${classes:+ (${classes# })}," \
     "unknown disagreements $n_unknown, no wabt verdict $n_noverdict"
if [ "$n_unknown" -gt 0 ]; then
    echo "diff_wabt: FAIL: the disagreeing modules are in $keep" >&2
    exit 1
fi
