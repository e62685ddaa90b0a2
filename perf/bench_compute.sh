#!/usr/bin/env bash
# bench_compute.sh — the compute benchmark: each kernel of perf/kernels/
# natively (gcc -O2) against the same C as wasm32-wasi run by `zvm run`,
# with and without the interruption checks (safe-point polls) and built
# with -msimd128, then a cold `zvm run` (translate + gcc) against a warm
# one (cache hit). zvm builds generated code for the host's x86-64 level
# (engine/backend_cc.c); on an x86-64-v3 host the native build for that
# level (kernel_NAME_v3) runs too, so the ratio to it shows how much of
# zvm's speed comes from the level rather than the translation.
#
#   perf/bench_compute.sh [--build DIR] [--runs N]
#   perf/bench_compute.sh --smoke [--build DIR]
#   perf/bench_compute.sh --callgrind [--build DIR]
#
# Builds nothing: run `cmake --build build` first. Times are the wall time
# of the whole process (bash's `time`), one process at a time, interleaved:
# each round runs every kernel's three variants, the order rotated from
# round to round, so load from other users spreads over all of them. Each
# cell is the median of N rounds (default 5). Every run's output must equal
# the native build's checksum line. zvm uses a private, fresh cache folder
# (ZVM_CACHE), filled once before the timed rounds, so the warm rows never
# translate or compile. --smoke (the perf-smoke CTest test): every kernel
# at a tiny size, native and under zvm, checksums compared; no timing.
# --callgrind: instructions executed (valgrind's Ir, stable under load) by
# each variant at a reduced size, warm cache; no timing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build" runs=5 smoke=0 callgrind=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --callgrind) callgrind=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--runs N] [--smoke | --callgrind]" >&2; exit 2 ;;
  esac
done
build="$(cd "$build" && pwd)"
zvm="$build/zvm" kdir="$build/perf"
kernels=(sha256 sort nbody matmul strsearch crc32 mandelbrot bytetable)
declare -A tiny_size=([sha256]=2 [sort]=20000 [nbody]=50 [matmul]=1 [strsearch]=1 [crc32]=2
  [mandelbrot]=40 [bytetable]=1)
declare -A callgrind_size=([sha256]=8 [sort]=1000000 [nbody]=8000 [matmul]=5 [strsearch]=4
  [crc32]=20 [mandelbrot]=300 [bytetable]=10)

for f in "$zvm" "$build/examples/logfilter.wasm"; do
  [ -e "$f" ] || { echo "$0: $f is missing: run cmake --build $build" >&2; exit 2; }
done
for k in "${kernels[@]}"; do
  for f in "$kdir/kernel_$k" "$kdir/kernel_$k.wasm"; do
    [ -e "$f" ] || { echo "$0: $f is missing: run cmake --build $build" >&2; exit 2; }
  done
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export ZVM_CACHE="$work/cache"
export ZVM_TIER=0 # gcc -O2 from the first run: the timed runs and the cold rows are gcc's

# run_variant KERNEL VARIANT [SIZE]: one run; prints the kernel's line. No
# SIZE: the kernel's default (0.5-2 s natively). Variants: native, zvm,
# noint (zvm run --no-interrupt-checks), simd (the guest built with
# -msimd128).
run_variant() {
  local k=$1 v=$2
  shift 2
  case "$v" in
    native) "$kdir/kernel_$k" "$@" ;;
    v3) "$kdir/kernel_${k}_v3" "$@" ;;
    zvm) "$zvm" run "$kdir/kernel_$k.wasm" "$@" ;;
    noint) "$zvm" run --no-interrupt-checks "$kdir/kernel_$k.wasm" "$@" ;;
    simd) "$zvm" run "$kdir/kernel_${k}_simd.wasm" "$@" ;;
  esac
}

# Checks that a run printed the native checksum line; exits otherwise.
check_line() { # check_line WHAT GOT WANT
  if [ "$2" != "$3" ]; then
    echo "$0: $1 printed [$2], native printed [$3]" >&2
    exit 1
  fi
}

if [ "$smoke" = 1 ]; then
  for k in "${kernels[@]}"; do
    want="$(run_variant "$k" native "${tiny_size[$k]}")"
    got="$(run_variant "$k" zvm "${tiny_size[$k]}")"
    check_line "zvm run kernel_$k.wasm ${tiny_size[$k]}" "$got" "$want"
    echo "perf-smoke: $want (native and zvm)"
  done
  echo "perf-smoke: ${#kernels[@]} kernels, native and wasm checksums match"
  exit 0
fi

if [ "$callgrind" = 1 ]; then
  printf '%-10s %9s %14s %14s %7s %14s %7s\n' kernel size "native Ir" "zvm Ir" ratio \
    "zvm-noint Ir" ratio
  for k in "${kernels[@]}"; do
    s="${callgrind_size[$k]}"
    run_variant "$k" zvm "$s" >/dev/null # fill the cache: the counted runs are warm
    run_variant "$k" noint "$s" >/dev/null
    n="$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$kdir/kernel_$k" "$s" 2>&1 |
      awk '/Collected/ { print $4 }')"
    z="$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$zvm" run \
      "$kdir/kernel_$k.wasm" "$s" 2>&1 | awk '/Collected/ { print $4 }')"
    ni="$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$zvm" run \
      --no-interrupt-checks "$kdir/kernel_$k.wasm" "$s" 2>&1 | awk '/Collected/ { print $4 }')"
    awk -v k="$k" -v s="$s" -v n="$n" -v z="$z" -v ni="$ni" \
      'BEGIN { printf "%-10s %9s %14d %14d %6.2fx %14d %6.2fx\n", k, s, n, z, z / n, ni, ni / n }'
  done
  exit 0
fi

# time_run FILE CMD...: runs CMD with stdout to FILE; sets wall_ms and cpu_ms
# (user + sys of the process and its threads).
time_run() {
  local out=$1
  shift
  if ! { TIMEFORMAT='%3R %3U %3S'; time "$@" >"$out" 2>"$work/stderr"; } 2>"$work/time"; then
    echo "$0: $* failed: $(cat "$work/stderr")" >&2
    exit 1
  fi
  read -r wall_ms cpu_ms < <(awk '{ printf "%.1f %.1f\n", $1 * 1000, ($2 + $3) * 1000 }' \
    "$work/time")
}

source "$root/perf/lib.sh" # median

echo "compute benchmark: $runs rounds, median wall time of each process; zvm cache $ZVM_CACHE"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# Reference lines, and one run of each zvm variant to fill the cache.
declare -A want
for k in "${kernels[@]}"; do
  want[$k]="$(run_variant "$k" native)"
  for v in zvm noint simd; do
    check_line "$v kernel_$k" "$(run_variant "$k" "$v")" "${want[$k]}"
  done
done

variants=(native zvm noint simd)
v3=0
if [ -x "$kdir/kernel_sha256_v3" ] && grep -qw avx2 /proc/cpuinfo && grep -qw movbe /proc/cpuinfo &&
  [ "${ZVM_CC_ISA:-x86-64-v3}" = x86-64-v3 ]; then
  v3=1 variants+=(v3)
fi
echo "generated code built for: ${ZVM_CC_ISA:-the x86-64 level of this host}$([ $v3 = 1 ] && echo " (x86-64-v3)")"
declare -A wall cpu
for ((r = 0; r < runs; r++)); do
  for k in "${kernels[@]}"; do
    for ((i = 0; i < ${#variants[@]}; i++)); do
      v="${variants[$(((r + i) % ${#variants[@]}))]}"
      time_run "$work/out" run_variant "$k" "$v"
      check_line "$v kernel_$k" "$(<"$work/out")" "${want[$k]}"
      wall[$k.$v]+="$wall_ms "
      cpu[$k.$v]+="$cpu_ms "
    done
  done
  echo "round $((r + 1))/$runs done" >&2
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }

echo
printf '%-10s %9s %11s %9s %7s %12s %7s %11s %7s %13s %9s\n' kernel size "native ms" "zvm ms" \
  ratio "zvm-noint ms" ratio "zvm-simd ms" ratio "native-v3 ms" "zvm/v3"
lz=0 ln=0 lcz=0 lcn=0 ls=0 l3=0 # sums of log ratios, wall and cpu; simd's wall; zvm/native-v3
for k in "${kernels[@]}"; do
  n="$(med "${wall[$k.native]}")" z="$(med "${wall[$k.zvm]}")" ni="$(med "${wall[$k.noint]}")"
  sm="$(med "${wall[$k.simd]}")" n3="$z"
  [ $v3 = 1 ] && n3="$(med "${wall[$k.v3]}")"
  ls="$(awk -v a="$ls" -v sm="$sm" -v n="$n" 'BEGIN { print a + log(sm / n) }')"
  l3="$(awk -v a="$l3" -v z="$z" -v n3="$n3" 'BEGIN { print a + log(z / n3) }')"
  worst="$(awk -v w="${worst:-0}" -v z="$z" -v n="$n" 'BEGIN { r = z / n; print (r > w ? r : w) }')"
  cn="$(med "${cpu[$k.native]}")" cz="$(med "${cpu[$k.zvm]}")" cni="$(med "${cpu[$k.noint]}")"
  read -r lz ln lcz lcn < <(awk -v a="$lz" -v b="$ln" -v c="$lcz" -v d="$lcn" -v n="$n" -v z="$z" \
    -v ni="$ni" -v cn="$cn" -v cz="$cz" -v cni="$cni" \
    'BEGIN { print a + log(z / n), b + log(ni / n), c + log(cz / cn), d + log(cni / cn) }')
  size="${want[$k]#* n=}"
  awk -v k="$k" -v s="${size%% *}" -v n="$n" -v z="$z" -v ni="$ni" -v sm="$sm" -v n3="$n3" \
    -v v3="$v3" 'BEGIN { printf "%-10s %9s %11.1f %9.1f %6.2fx %12.1f %6.2fx %11.1f %6.2fx %13s %8s\n",
             k, s, n, z, z / n, ni, ni / n, sm, sm / n, v3 ? sprintf("%.1f", n3) : "-",
             v3 ? sprintf("%.2fx", z / n3) : "-" }'
done
awk -v lz="$lz" -v ln="$ln" -v lcz="$lcz" -v lcn="$lcn" -v ls="$ls" -v l3="$l3" -v v3="$v3" \
  -v worst="$worst" -v nk="${#kernels[@]}" 'BEGIN {
  gz = exp(lz / nk); gn = exp(ln / nk)
  printf "%-10s %9s %11s %9s %6.2fx %12s %6.2fx %11s %6.2fx %13s %8s\n", "geomean", "", "", "", gz,
         "", gn, "", exp(ls / nk), "", v3 ? sprintf("%.2fx", exp(l3 / nk)) : "-"
  printf "the same by CPU time (user + sys, less disturbed by load): %.2fx, %.2fx without checks\n",
         exp(lcz / nk), exp(lcn / nk)
  printf "goal (geomean <= 1.10x native): %s with interruption checks, %s without\n",
         gz <= 1.10 ? "met" : "NOT met", gn <= 1.10 ? "met" : "NOT met"
  printf "goal (no kernel over 1.25x, with checks): %s (worst %.2fx)\n",
         worst <= 1.25 ? "met" : "NOT met", worst
}'

# ---- cold (translate + gcc) against warm (cache hit) -------------------------------
# Cold: a new empty cache folder for every run. The kernel runs at a tiny
# size, so both times are start-up: the difference is translate + compile.
echo
log="$work/log.txt"
for ((i = 0; i < 2000; i++)); do
  case $((i % 7)) in
    3) echo "2013-06-11 12:00:$((i % 60)) ERROR worker $i: disk quota exceeded" ;;
    *) echo "2013-06-11 12:00:$((i % 60)) INFO worker $i: request served in $((i % 97)) ms" ;;
  esac
done >"$log"
cold_k=sort cold_size=1
want_log="$(grep ERROR "$log")"
printf '%-34s %10s %10s %14s %10s\n' "program" "cold ms" "warm ms" "translate+cc" "wasm KB"
for prog in kernel logfilter; do
  cold="" warm=""
  for ((r = 0; r < runs; r++)); do
    cache="$(mktemp -d -p "$work")"
    for phase in cold warm; do # the warm run hits the entry the cold run just wrote
      if [ "$prog" = kernel ]; then
        ZVM_CACHE="$cache" time_run "$work/out" "$zvm" run "$kdir/kernel_$cold_k.wasm" "$cold_size"
        check_line "zvm run kernel_$cold_k.wasm $cold_size" "$(<"$work/out")" \
          "$("$kdir/kernel_$cold_k" "$cold_size")"
      else
        ZVM_CACHE="$cache" time_run "$work/out" "$zvm" run "$build/examples/logfilter.wasm" \
          ERROR <"$log"
        check_line "zvm run logfilter.wasm ERROR" "$(<"$work/out")" "$want_log"
      fi
      if [ "$phase" = cold ]; then cold+="$wall_ms "; else warm+="$wall_ms "; fi
    done
    if [ "$(find "$cache" -name '*.so' | wc -l)" != 1 ]; then
      echo "$0: the cold run left no cache entry in $cache" >&2
      exit 1
    fi
    rm -rf "$cache"
  done
  c="$(med "$cold")" w="$(med "$warm")"
  if [ "$prog" = kernel ]; then
    name="kernel_$cold_k.wasm $cold_size" f="$kdir/kernel_$cold_k.wasm"
  else
    name="logfilter.wasm ERROR <2000 lines" f="$build/examples/logfilter.wasm"
  fi
  awk -v p="$name" -v c="$c" -v w="$w" -v kb="$(($(stat -c %s "$f") / 1024))" \
    'BEGIN { printf "%-34s %10.1f %10.1f %14.1f %10d\n", p, c, w, c - w, kb }'
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
