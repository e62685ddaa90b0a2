/*
 * gen_exec.h — random valid WebAssembly modules that always terminate and
 * whose exported results are the same on every conforming engine, for
 * differential execution (diff_exec.c). See gen_exec.c for what makes
 * them deterministic.
 */
#ifndef ZVM_TESTS_GEN_EXEC_H
#define ZVM_TESTS_GEN_EXEC_H

#include "wasm_enc.h"

#include <stdint.h>

/* Appends the module for `seed` to `out`. Its exports are functions with
 * no parameters ("w0", "w1", ...) returning only i32, i64 and v128. */
void gen_exec_module(uint64_t seed, buf *out);

/* The same with flags, for comparing zvm with itself (diff_exec --tiers),
 * where every bit must agree:
 * GEN_RAW_NANS: float results are not canonicalised (NaN payloads flow into
 *   results, memory and globals), constants are often NaNs of any payload
 *   and sign, counted loops also do float arithmetic, and the mutable
 *   globals are exported ("g1".."g5") so that their bits are compared too.
 * GEN_NO_SIMD: no v128 anywhere, so that tcc builds the module (cache.c
 *   sends SIMD modules to gcc).
 * GEN_EXCEPTIONS: four tags, and try/catch/catch_all/delegate, throw and
 *   rethrow in the code; half the exports catch what their function
 *   throws. Not for wasm-interp 1.0.32: its interpreter fails an assertion
 *   when an exception lands in a function with locals (diff_exec.c).
 * Flags 0 give gen_exec_module's modules. */
enum { GEN_RAW_NANS = 1, GEN_NO_SIMD = 2, GEN_EXCEPTIONS = 4 };
void gen_exec_module_ex(uint64_t seed, unsigned flags, buf *out);

#endif
