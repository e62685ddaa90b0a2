#!/usr/bin/env bash
# run_validate_bench.sh — the validation benchmark: build zvm, gen_module and
# bench_validate, generate the module into the build folder (deterministic:
# same size and seed, same bytes), then time zvm against wabt's
# wasm-validate on it (see bench_validate.c for what each row means).
#
#   perf/run_validate_bench.sh [--build DIR] [--code-bytes N[k|m]] [--seed S] [--runs N]
#   perf/run_validate_bench.sh --smoke [--build DIR]
# --smoke (the perf-smoke CTest test): a 100 KB module, generated twice to
# check determinism, that zvm and wasm-validate must both accept; no build,
# no timing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build" code_bytes=8m seed=1 runs=11 smoke=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --code-bytes) code_bytes="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --smoke) smoke=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--code-bytes N[k|m]] [--seed S] [--runs N] [--smoke]" >&2
       exit 2 ;;
  esac
done

if [ "$smoke" = 1 ]; then
  module="$build/perf/smoke.wasm"
  "$build/perf/gen_module" --code-bytes 100k --seed "$seed" "$module"
  "$build/perf/gen_module" --code-bytes 100k --seed "$seed" "$module.again" 2>/dev/null
  cmp "$module" "$module.again" # deterministic
  rm -f "$module.again"
  "$build/zvm" validate --no-policy "$module"
  wasm-validate "$module"
  echo "perf-smoke: $module is deterministic; zvm and wasm-validate accept it"
  exit 0
fi

cmake --build "$build" --target zvm gen_module bench_validate
module="$build/perf/validate_bench_${code_bytes}_s${seed}.wasm"
"$build/perf/gen_module" --code-bytes "$code_bytes" --seed "$seed" "$module"
exec "$build/perf/bench_validate" --runs "$runs" --zvm "$build/zvm" \
  --wasm-validate "$(command -v wasm-validate)" "$module"
