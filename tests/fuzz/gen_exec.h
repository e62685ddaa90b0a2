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

#endif
