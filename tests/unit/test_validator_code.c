/*
 * test_validator_code.c — the function body type checker (validator/code.c)
 * and the instruction decoder's errors inside bodies (validator/decode.c).
 *
 * Each test puts one body into the fixed environment of wasm_build.h, so
 * the body is the only thing that varies, and checks the exact cause.
 * The hostile cases (100000 nested blocks, a million br_table targets) make
 * sure the iterative checker neither recurses nor allocates per target.
 */
#include "wasm_build.h"

#define V128_ZERO 0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

/* ---- the operand stack (§A.3) ---- */

Test(code, pop_from_an_empty_stack)
{
    CODE_REJECTS(0, 0, 0, "expected i32 but the stack is empty", 0x00, 0x45, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "operand stack underflow", 0x00, 0x1a, 0x0b);
}

Test(code, operand_of_the_wrong_type)
{
    CODE_REJECTS(0, 0, 0, "expected i32, got i64", 0x00, 0x42, 0x00, 0x45, 0x1a, 0x0b);
    /* the function's result */
    CODE_REJECTS(0, 1, 0, "expected i32, got f32", 0x00, 0x43, 0, 0, 0, 0, 0x0b);
}

Test(code, values_left_at_the_end)
{
    CODE_REJECTS(0, 0, 0, "1 values left on the stack", 0x00, 0x02, 0x40, 0x41, 0x00, 0x0b, 0x0b);
    CODE_REJECTS(0, 0, 0, "2 values left on the stack", 0x00, 0x41, 0x00, 0x41, 0x00, 0x0b);
}

Test(code, if_without_else_must_map_params_to_results)
{
    /* (if (result i32) (then i32.const 1)): the implicit else yields nothing */
    CODE_REJECTS(0, 0, 0, "expected i32 but the stack is empty", 0x00, 0x41, 0x01, 0x04, 0x7f, 0x41,
                 0x01, 0x0b, 0x1a, 0x0b);
    /* with block type [i32] -> [i32] the implicit else passes the param through */
    CODE_ACCEPTS(0, 0, 0x00, 0x41, 0x05, 0x41, 0x01, 0x04, 0x01, 0x0b, 0x1a, 0x0b);
}

Test(code, unknown_label)
{
    CODE_REJECTS(0, 0, 0, "unknown label 1", 0x00, 0x0c, 0x01, 0x0b);
    CODE_REJECTS(0, 0, 0, "unknown label 5", 0x00, 0x41, 0x00, 0x0e, 0x01, 0x00, 0x05, 0x0b);
    CODE_REJECTS(0, 0, 0, "unknown label 7", 0x00, 0x41, 0x00, 0x0e, 0x02, 0x00, 0x07, 0x00, 0x0b);
}

Test(code, block_type_index_out_of_range)
{
    CODE_REJECTS(0, 0, 0, "unknown type 9", 0x00, 0x02, 0x09, 0x0b, 0x0b);
}

Test(code, malformed_block_type)
{
    /* 0x6e is a negative s33 that is not a value type */
    CODE_REJECTS(0, 0, 1, "malformed block type", 0x00, 0x02, 0x6e, 0x0b, 0x0b);
}

Test(code, br_table_arities_must_agree)
{
    /* default: the block (arity 0); target 1: the function (arity 1) */
    CODE_REJECTS(0, 1, 0, "br_table targets have different arities", 0x00, 0x02, 0x40, 0x20, 0x00,
                 0x0e, 0x01, 0x01, 0x00, 0x0b, 0x20, 0x00, 0x0b);
}

Test(code, else_without_if)
{
    CODE_REJECTS(0, 0, 0, "else without a matching if", 0x00, 0x05, 0x0b);
    CODE_REJECTS(0, 0, 0, "else without a matching if", 0x00, 0x02, 0x40, 0x05, 0x0b, 0x0b);
}

Test(code, body_without_end_or_with_trailing_bytes)
{
    CODE_REJECTS(0, 0, 1, "END opcode expected", 0x00, 0x41, 0x00, 0x1a);
    CODE_REJECTS(0, 0, 1, "END opcode expected", 0x00, 0x02, 0x40, 0x0b);
    CODE_REJECTS(0, 0, 1, "bytes after the function's end", 0x00, 0x0b, 0x01);
}

/* ---- memory instructions ---- */

Test(code, memory_instructions_need_a_memory)
{
    CODE_REJECTS(ENV_NO_MEMORY, 0, 0, "unknown memory 0", 0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x1a,
                 0x0b);
    CODE_REJECTS(ENV_NO_MEMORY, 0, 0, "unknown memory 0", 0x00, 0x3f, 0x00, 0x1a, 0x0b);
    CODE_REJECTS(ENV_NO_MEMORY, 0, 0, "unknown memory 0", 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00,
                 0xfc, 0x08, 0x00, 0x00, 0x0b);
}

Test(code, alignment_larger_than_natural)
{
    CODE_REJECTS(0, 0, 0, "alignment must not be larger than natural", 0x00, 0x41, 0x00, 0x28, 0x03,
                 0x00, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "alignment must not be larger than natural", 0x00, 0x41, 0x00, 0x30, 0x01,
                 0x00, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "alignment must not be larger than natural", 0x00, 0x41, 0x00, 0xfd, 0x00,
                 0x05, 0x00, 0x1a, 0x0b);
    /* natural alignment is fine */
    CODE_ACCEPTS(0, 0, 0x00, 0x41, 0x00, 0x29, 0x03, 0x00, 0x1a, 0x41, 0x00, 0xfd, 0x00, 0x04, 0x00,
                 0x1a, 0x0b);
}

Test(code, reserved_memory_byte_must_be_zero)
{
    CODE_REJECTS(0, 0, 1, "zero byte expected", 0x00, 0x3f, 0x01, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 1, "zero byte expected", 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc,
                 0x0a, 0x00, 0x01, 0x0b);
    CODE_REJECTS(0, 0, 1, "zero byte expected", 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc,
                 0x08, 0x00, 0x01, 0x0b);
}

Test(code, data_segments)
{
    CODE_REJECTS(ENV_NO_DATACOUNT, 0, 1, "data count section required", 0x00, 0xfc, 0x09, 0x00,
                 0x0b);
    CODE_REJECTS(0, 0, 0, "unknown data segment 5", 0x00, 0xfc, 0x09, 0x05, 0x0b);
    CODE_REJECTS(0, 0, 0, "unknown data segment 1", 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc,
                 0x08, 0x01, 0x00, 0x0b);
}

/* ---- SIMD lanes ---- */

Test(code, lane_index_out_of_range)
{
    CODE_REJECTS(0, 0, 0, "invalid lane index 16", 0x00, V128_ZERO, 0xfd, 0x15, 0x10, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "invalid lane index 2", 0x00, V128_ZERO, 0xfd, 0x1d, 0x02, 0x1a, 0x0b);
    /* v128.load8_lane: memarg then lane */
    CODE_REJECTS(0, 0, 0, "invalid lane index 16", 0x00, 0x41, 0x00, V128_ZERO, 0xfd, 0x54, 0x00,
                 0x00, 0x10, 0x1a, 0x0b);
    CODE_ACCEPTS(0, 0, 0x00, 0x41, 0x00, V128_ZERO, 0xfd, 0x54, 0x00, 0x00, 0x0f, 0x1a, 0x0b);
}

Test(code, shuffle_lane_out_of_range)
{
    CODE_REJECTS(0, 0, 0, "invalid lane index 32", 0x00, V128_ZERO, V128_ZERO, 0xfd, 0x0d, 0x20, 0,
                 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x0b);
    CODE_ACCEPTS(0, 0, 0x00, V128_ZERO, V128_ZERO, 0xfd, 0x0d, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                 0, 0, 0, 0, 0, 0x1a, 0x0b);
}

/* ---- variables ---- */

Test(code, locals)
{
    CODE_REJECTS(0, 0, 0, "unknown local 0", 0x00, 0x20, 0x00, 0x1a, 0x0b);
    CODE_REJECTS(0, 1, 0, "unknown local 3", 0x01, 0x02, 0x7e, 0x20, 0x03, 0x0b);
    CODE_REJECTS(0, 1, 0, "expected i64, got i32", 0x01, 0x02, 0x7e, 0x20, 0x00, 0x21, 0x01, 0x20,
                 0x00, 0x0b);
    CODE_ACCEPTS(0, 1, 0x01, 0x02, 0x7e, 0x42, 0x00, 0x22, 0x02, 0x21, 0x01, 0x20, 0x00, 0x0b);
}

Test(code, locals_limit)
{
    /* 50001 locals (LEB128 d1 86 03) is one over the implementation limit */
    CODE_REJECTS(0, 0, 0, "too many locals: 50001", 0x01, 0xd1, 0x86, 0x03, 0x7f, 0x0b);
    /* 50000 locals plus one parameter, likewise */
    CODE_REJECTS(0, 1, 0, "too many locals: 50001", 0x01, 0xd0, 0x86, 0x03, 0x7f, 0x20, 0x00, 0x0b);
    CODE_ACCEPTS(0, 0, 0x01, 0xd0, 0x86, 0x03, 0x7f, 0x0b);
    /* two runs of 2^32-1: the total overflows u32, which is malformed */
    CODE_REJECTS(0, 0, 1, "too many locals", 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0xff, 0xff,
                 0xff, 0xff, 0x0f, 0x7f, 0x0b);
}

Test(code, globals)
{
    CODE_REJECTS(0, 0, 0, "unknown global 9", 0x00, 0x23, 0x09, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "unknown global 9", 0x00, 0x41, 0x00, 0x24, 0x09, 0x0b);
    CODE_REJECTS(0, 0, 0, "global is immutable", 0x00, 0x41, 0x00, 0x24, 0x00, 0x0b);
    CODE_REJECTS(0, 0, 0, "expected i64, got i32", 0x00, 0x41, 0x00, 0x24, 0x02, 0x0b);
    CODE_ACCEPTS(0, 0, 0x00, 0x23, 0x00, 0x24, 0x01, 0x42, 0x07, 0x24, 0x02, 0x0b);
}

/* ---- tables and element segments ---- */

Test(code, unknown_table)
{
    CODE_REJECTS(0, 0, 0, "unknown table 5", 0x00, 0x41, 0x00, 0x25, 0x05, 0x1a, 0x0b);
    CODE_REJECTS(ENV_NO_TABLES, 0, 0, "unknown table 0", 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b);
    CODE_REJECTS(0, 0, 0, "unknown table 2", 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0e,
                 0x00, 0x02, 0x0b);
}

Test(code, unknown_elem_segment)
{
    CODE_REJECTS(0, 0, 0, "unknown elem segment 5", 0x00, 0xfc, 0x0d, 0x05, 0x0b);
    CODE_REJECTS(0, 0, 0, "unknown elem segment 2", 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc,
                 0x0c, 0x02, 0x00, 0x0b);
}

Test(code, table_copy_and_init_types)
{
    CODE_REJECTS(0, 0, 0, "table.copy between externref and funcref tables", 0x00, 0x41, 0x00, 0x41,
                 0x00, 0x41, 0x00, 0xfc, 0x0e, 0x00, 0x01, 0x0b);
    CODE_REJECTS(0, 0, 0, "table.init of a funcref table from a externref segment", 0x00, 0x41,
                 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0c, 0x01, 0x00, 0x0b);
    CODE_ACCEPTS(0, 0, 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0c, 0x01, 0x01, 0x41, 0x00,
                 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0e, 0x01, 0x01, 0xfc, 0x0d, 0x00, 0x0b);
}

Test(code, table_instructions)
{
    /* table.set of an externref into the funcref table */
    CODE_REJECTS(0, 0, 0, "expected funcref, got externref", 0x00, 0x41, 0x00, 0xd0, 0x6f, 0x26,
                 0x00, 0x0b);
    /* get, set, size, grow, fill on both tables */
    CODE_ACCEPTS(0, 0, 0x00, 0x41, 0x00, 0x25, 0x01, 0x1a, 0x41, 0x00, 0xd0, 0x6f, 0x26, 0x01, 0xfc,
                 0x10, 0x00, 0x1a, 0xd0, 0x70, 0x41, 0x01, 0xfc, 0x0f, 0x00, 0x1a, 0x41, 0x00, 0xd0,
                 0x6f, 0x41, 0x01, 0xfc, 0x11, 0x01, 0x0b);
}

/* ---- references and select ---- */

Test(code, references)
{
    CODE_REJECTS(0, 0, 0, "ref.is_null of i32", 0x00, 0x41, 0x00, 0xd1, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "unknown function 9", 0x00, 0xd2, 0x09, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "undeclared function reference 2", 0x00, 0xd2, 0x02, 0x1a, 0x0b);
    CODE_ACCEPTS(0, 0, 0x00, 0xd2, 0x01, 0xd1, 0x1a, 0x00, 0xd1, 0x1a, 0x0b);
}

Test(code, select)
{
    CODE_REJECTS(0, 0, 0, "select without a type needs numeric operands", 0x00, 0xd0, 0x70, 0xd0,
                 0x70, 0x41, 0x00, 0x1b, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "select of i32 and i64", 0x00, 0x41, 0x00, 0x42, 0x00, 0x41, 0x00, 0x1b,
                 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "typed select takes exactly one type", 0x00, 0x41, 0x00, 0x41, 0x00, 0x41,
                 0x00, 0x1c, 0x02, 0x7f, 0x7f, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 1, "malformed value type 0x40", 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00,
                 0x1c, 0x01, 0x40, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "expected i32 but the stack is empty", 0x00, 0x1c, 0x01, 0x7f, 0x1a,
                 0x0b);
    CODE_REJECTS(0, 0, 0, "expected f32, got i32", 0x00, 0x41, 0x00, 0x41, 0x00, 0x1c, 0x01, 0x7d,
                 0x1a, 0x0b);
    /* typed select of references; untyped select in dead code */
    CODE_ACCEPTS(0, 0, 0x00, 0xd0, 0x70, 0xd0, 0x70, 0x41, 0x00, 0x1c, 0x01, 0x70, 0x1a, 0x00, 0x1b,
                 0x1a, 0x0b);
}

/* ---- calls ---- */

Test(code, calls)
{
    CODE_REJECTS(0, 0, 0, "unknown function 9", 0x00, 0x10, 0x09, 0x0b);
    CODE_REJECTS(0, 0, 0, "expected i32 but the stack is empty", 0x00, 0x10, 0x02, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 0, "call_indirect through a table of externref", 0x00, 0x41, 0x00, 0x11,
                 0x00, 0x01, 0x0b);
    CODE_REJECTS(0, 0, 0, "unknown type 9", 0x00, 0x41, 0x00, 0x11, 0x09, 0x00, 0x0b);
    CODE_ACCEPTS(0, 0, 0x00, 0x41, 0x01, 0x10, 0x02, 0x41, 0x00, 0x11, 0x01, 0x00, 0x1a, 0x0b);
}

/* ---- opcodes beyond core 2.0: each proposal is named ---- */

Test(code, unsupported_proposals_are_named)
{
    CODE_REJECTS(0, 0, 1, "the threads proposal", 0x00, 0xfe, 0x03, 0x00, 0x0b);
    CODE_REJECTS(0, 0, 1, "the tail calls proposal", 0x00, 0x12, 0x00, 0x0b);
    CODE_REJECTS(0, 0, 1, "the tail calls proposal", 0x00, 0x41, 0x00, 0x13, 0x00, 0x00, 0x0b);
    CODE_REJECTS(0, 0, 1, "the exception handling proposal", 0x00, 0x06, 0x40, 0x0b, 0x0b);
    CODE_REJECTS(0, 0, 1, "the exception handling proposal", 0x00, 0x08, 0x00, 0x0b);
    CODE_REJECTS(0, 0, 1, "the garbage collection proposal", 0x00, 0xfb, 0x00, 0x00, 0x0b);
    CODE_REJECTS(0, 0, 1, "the typed function references proposal", 0x00, 0x14, 0x00, 0x0b);
    CODE_REJECTS(0, 0, 1, "the relaxed SIMD proposal", 0x00, 0xfd, 0x80, 0x02, 0x0b);
    CODE_REJECTS(0, 0, 1, "memory64", 0x00, 0xfc, 0x12, 0x0b);
    CODE_REJECTS(0, 0, 1, "memory64", 0x00, 0xfc, 0x80, 0x02, 0x0b);
}

Test(code, illegal_opcodes)
{
    CODE_REJECTS(0, 0, 1, "illegal opcode 0xff", 0x00, 0xff, 0x0b);
    CODE_REJECTS(0, 0, 1, "illegal opcode 0x27", 0x00, 0x27, 0x0b);
    CODE_REJECTS(0, 0, 1, "illegal opcode 0xfd 0x9a", 0x00, 0xfd, 0x9a, 0x01, 0x0b);
    /* a prefix at the end of the body, and an overlong sub-opcode */
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0xfc);
    CODE_REJECTS(0, 0, 1, "integer representation too long", 0x00, 0xfc, 0x80, 0x80, 0x80, 0x80,
                 0x80, 0x00, 0x0b);
}

/* ---- immediates cut short ---- */

Test(code, truncated_immediates)
{
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0x43, 0x00, 0x00);
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0x44, 0x00, 0x00, 0x00, 0x00);
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0xfd, 0x0c, 0x00, 0x00);
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0x41, 0x80);
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0x41, 0x00, 0xfd, 0x15);
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0x02);
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0x41, 0x00, 0x0e, 0x02, 0x00, 0x00);
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0xfc, 0x08, 0x80);
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0x11, 0x00);
    CODE_REJECTS(0, 0, 1, "unexpected end", 0x00, 0x41, 0x00, 0x28, 0x02);
}

/* ---- signed LEB128 immediates (§5.2.2) ---- */

Test(code, signed_leb128_limits)
{
    /* i32.const: a sixth byte, or unused bits that are not sign copies */
    CODE_REJECTS(0, 0, 1, "integer representation too long", 0x00, 0x41, 0x80, 0x80, 0x80, 0x80,
                 0x80, 0x00, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 1, "integer too large", 0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, 0x1a,
                 0x0b);
    CODE_REJECTS(0, 0, 1, "integer too large", 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x70, 0x1a,
                 0x0b);
    /* i64.const: ten bytes at most, the last holds one bit */
    CODE_REJECTS(0, 0, 1, "integer representation too long", 0x00, 0x42, 0x80, 0x80, 0x80, 0x80,
                 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b);
    CODE_REJECTS(0, 0, 1, "integer too large", 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                 0x80, 0x80, 0x02, 0x1a, 0x0b);
    /* s33 block type index */
    CODE_REJECTS(0, 0, 1, "integer too large", 0x00, 0x02, 0x80, 0x80, 0x80, 0x80, 0x10, 0x0b,
                 0x0b);
    /* the extremes are fine: INT32_MIN, INT64_MIN, -1 in five bytes */
    CODE_ACCEPTS(0, 0, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x78, 0x1a, 0x42, 0x80, 0x80, 0x80, 0x80,
                 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f, 0x1a, 0x41, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x1a,
                 0x0b);
}

Test(code, unsigned_leb128_limits)
{
    CODE_REJECTS(0, 0, 1, "integer too large", 0x00, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x10, 0x0b);
    CODE_REJECTS(0, 0, 1, "integer representation too long", 0x00, 0x0c, 0x80, 0x80, 0x80, 0x80,
                 0x80, 0x00, 0x0b);
    /* an overlong but in-range label index is fine */
    CODE_ACCEPTS(0, 0, 0x00, 0x0c, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b);
}

/* ---- control flow that must validate ---- */

Test(code, structured_control_accepted)
{
    /* block/loop/if/else with multi-value types, br_if, br_table in dead
     * code, return, unreachable */
    /* clang-format off */
    CODE_ACCEPTS(0, 1, 0x00,
                 0x02, 0x02, 0x41, 0x01, 0x41, 0x02, 0x0b, 0x1a, 0x1a, /* block [] -> [i32 i32] */
                 0x03, 0x40, 0x20, 0x00, 0x0d, 0x00, 0x0b,             /* loop: br_if 0 */
                 0x20, 0x00, 0x20, 0x00, 0x04, 0x01,                   /* if [i32]->[i32] */
                 0x05, 0x41, 0x00, 0x6a, 0x0b,                         /* else */
                 0x1a, 0x02, 0x7f, 0x00, 0x0e, 0x01, 0x00, 0x01, 0x0b, /* br_table, dead */
                 0x0f, 0x0b);                                          /* return */
    /* clang-format on */
}

/* ---- hostile shapes ---- */

/* A body: no locals, `open` n times, then n_ends `end`s. */
static void nested(wb *body, uint32_t n, const uint8_t *open, size_t open_n, uint32_t n_ends)
{
    wb_byte(body, 0x00);
    for (uint32_t i = 0; i < n; i++)
        wb_put(body, open, open_n);
    wb_fill(body, 0x0b, n_ends);
}

Test(code, hundred_thousand_nested_blocks)
{
    static const uint8_t block[] = {0x02, 0x40};
    zv_val_err err = {0};
    wb body = {0};
    size_t n;
    nested(&body, 100000, block, sizeof block, 100001);
    cr_assert_eq(env_validate(0, 0, body.p, body.n, &err, &n), 0, "%s", err.msg);
    wb_free(&body);

    /* one `end` short: the body ends inside the innermost blocks */
    nested(&body, 100000, block, sizeof block, 100000);
    ASSERT_REJECTED(env_validate(0, 0, body.p, body.n, &err, &n), err, n, 1, "END opcode expected");
    wb_free(&body);
}

Test(code, hundred_thousand_nested_ifs_and_loops)
{
    /* i32.const 1, if (result i32) ... , nested; each level leaves one i32 */
    static const uint8_t open[] = {0x41, 0x01, 0x04, 0x7f, 0x03, 0x7f};
    zv_val_err err = {0};
    wb body = {0};
    size_t n;
    wb_byte(&body, 0x00);
    for (int i = 0; i < 100000; i++)
        wb_put(&body, open, sizeof open);
    wb_put(&body, (const uint8_t[]){0x41, 0x00}, 2);
    for (int i = 0; i < 100000; i++)
        wb_put(&body, (const uint8_t[]){0x0b, 0x05, 0x41, 0x02, 0x0b}, 5); /* end loop, else */
    wb_put(&body, (const uint8_t[]){0x1a, 0x0b}, 2);
    cr_assert_eq(env_validate(0, 0, body.p, body.n, &err, &n), 0, "%s", err.msg);
    wb_free(&body);
}

Test(code, million_br_table_targets)
{
    zv_val_err err = {0};
    wb body = {0};
    size_t n;
    /* block; i32.const 0; br_table with 10^6 targets, all label 0; end */
    wb_put(&body, (const uint8_t[]){0x00, 0x02, 0x40, 0x41, 0x00, 0x0e}, 6);
    wb_u32(&body, 1000000);
    wb_fill(&body, 0x00, 1000001);
    wb_put(&body, (const uint8_t[]){0x0b, 0x0b}, 2);
    cr_assert_eq(env_validate(0, 0, body.p, body.n, &err, &n), 0, "%s", err.msg);

    /* the last target names a label that does not exist */
    body.p[body.n - 4] = 0x02;
    ASSERT_REJECTED(env_validate(0, 0, body.p, body.n, &err, &n), err, n, 0, "unknown label 2");
    wb_free(&body);
}

Test(code, br_table_count_beyond_the_body)
{
    /* 2^32-1 targets in a few bytes: refused before reading them */
    CODE_REJECTS(0, 0, 1, "count 4294967295 exceeds the remaining", 0x00, 0x41, 0x00, 0x0e, 0xff,
                 0xff, 0xff, 0xff, 0x0f, 0x00, 0x0b);
    CODE_REJECTS(0, 0, 1, "count 1000000 exceeds the remaining", 0x00, 0x41, 0x00, 0x0e, 0xc0, 0x84,
                 0x3d, 0x00, 0x00, 0x0b);
}

Test(code, br_table_in_dead_code_with_values)
{
    /* unreachable; br_table [1] 0 with label arity 1 = i32 (§A.3 polymorphic stack) */
    CODE_ACCEPTS(0, 1, 0x00, 0x02, 0x7f, 0x00, 0x0e, 0x01, 0x01, 0x00, 0x0b, 0x0b);
    /* a real i64 under the index does not fit the i32 labels */
    CODE_REJECTS(0, 1, 0, "expected i32, got i64", 0x00, 0x02, 0x7f, 0x42, 0x00, 0x41, 0x00, 0x0e,
                 0x01, 0x01, 0x00, 0x0b, 0x0b);
}

/* ---- the public decoder and opcode metadata ---- */

Test(code, decoder_metadata)
{
    cr_assert_str_eq(zv_val_op_name(ZV_OP_i32_add), "i32.add");
    cr_assert_str_eq(zv_val_op_name(0xfd0c), "v128.const");
    cr_assert_str_eq(zv_val_op_name(0xfc11), "table.fill");
    cr_assert_null(zv_val_op_name(0x27));
    cr_assert_null(zv_val_op_name(0xfc12));
    cr_assert_null(zv_val_op_name(0xfe00));
    cr_assert_eq(zv_val_op_imm(ZV_OP_br_table), ZV_IMM_BR_TABLE);
    cr_assert_eq(zv_val_op_imm(0xfd54), ZV_IMM_MEM_LANE);
    cr_assert_eq(zv_val_op_imm(0xfe00), ZV_IMM_NONE);
    cr_assert_str_eq(zv_val_type_name(ZV_V128), "v128");
    cr_assert_str_eq(zv_val_type_name(ZV_EXTERNREF), "externref");
    cr_assert_str_eq(zv_val_type_name(0x40), "unknown");
}

Test(code, decoder_reads_what_it_validated)
{
    /* br_table [1 300] 2, then i64.const -2, memory.copy */
    static const uint8_t code[] = {0x0e, 0x02, 0x01, 0xac, 0x02, 0x02,
                                   0x42, 0x7e, 0xfc, 0x0a, 0x00, 0x00};
    const uint8_t *p = code, *t;
    zv_val_err err = {0};
    zv_val_op op;
    cr_assert_eq(zv_val_op_next(code, &p, code + sizeof code, &op, &err), 0, "%s", err.msg);
    cr_assert_eq(op.op, ZV_OP_br_table);
    cr_assert_eq(op.idx, 2);
    t = op.targets;
    cr_assert_eq(zv_val_br_table_next(&t), 1);
    cr_assert_eq(zv_val_br_table_next(&t), 300);
    cr_assert_eq(zv_val_br_table_next(&t), 2);
    cr_assert_eq(t, p);
    cr_assert_eq(zv_val_op_next(code, &p, code + sizeof code, &op, &err), 0, "%s", err.msg);
    cr_assert_eq(op.i64, -2);
    cr_assert_eq(zv_val_op_next(code, &p, code + sizeof code, &op, &err), 0, "%s", err.msg);
    cr_assert_eq(op.op, ZV_OP_memory_copy);
    cr_assert_eq(p, code + sizeof code);
    /* an error leaves the position alone and names the offset */
    p = code + 8;
    cr_assert_eq(zv_val_op_next(code, &p, code + 10, &op, &err), -EINVAL);
    cr_assert_eq(p, code + 8);
    cr_assert_eq(err.offset, 10);
    cr_assert(strstr(err.msg, "unexpected end"), "%s", err.msg);
}
