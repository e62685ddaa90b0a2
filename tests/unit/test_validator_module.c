/*
 * test_validator_module.c — module-level validation (Wasm core §3.4) of
 * well-formed modules: limits, constant expressions, index spaces, export
 * names, the start function, element and data segments, section counts
 * that must agree, and the implementation limits on function types.
 *
 * Mostly "invalid" (err.malformed == 0); the few rules the spec's binary
 * format states (inconsistent counts, data count required) are malformed.
 */
#include "wasm_build.h"

#define T_VOID    0x60, 0x00, 0x00             /* [] -> [] */
#define T_I32_I32 0x60, 0x01, 0x7f, 0x01, 0x7f /* [i32] -> [i32] */
#define ZVM_NAME  0x03, 'z', 'v', 'm'

/* ---- limits (§3.2.1, §3.2.3) ---- */

Test(module, memory_limits)
{
    /* 65537 pages = LEB128 81 80 04 */
    REJECTS(0, "memory size must be at most 65536 pages", HDR,
            SEC(S_MEMORY, 0x01, 0x00, 0x81, 0x80, 0x04));
    REJECTS(0, "memory size must be at most 65536 pages", HDR,
            SEC(S_MEMORY, 0x01, 0x01, 0x00, 0x81, 0x80, 0x04));
    REJECTS(0, "size minimum must not be greater than maximum", HDR,
            SEC(S_MEMORY, 0x01, 0x01, 0x02, 0x01));
    ACCEPTS(HDR, SEC(S_MEMORY, 0x01, 0x01, 0x80, 0x80, 0x04, 0x80, 0x80, 0x04));
}

Test(module, table_limits)
{
    REJECTS(0, "size minimum must not be greater than maximum", HDR,
            SEC(S_TABLE, 0x01, 0x70, 0x01, 0x05, 0x02));
    /* tables have no page bound: 2^32-1 elements is valid */
    ACCEPTS(HDR, SEC(S_TABLE, 0x01, 0x70, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff,
                     0xff, 0x0f));
}

Test(module, one_memory_only)
{
    REJECTS(0, "the multi-memory proposal is not supported", HDR,
            SEC(S_MEMORY, 0x02, 0x00, 0x01, 0x00, 0x01));
    REJECTS(0, "the multi-memory proposal is not supported", HDR,
            SEC(S_IMPORT, 0x01, ZVM_NAME, 0x01, 'm', 0x02, 0x00, 0x01),
            SEC(S_MEMORY, 0x01, 0x00, 0x01));
    REJECTS(0, "the multi-memory proposal is not supported", HDR,
            SEC(S_IMPORT, 0x02, ZVM_NAME, 0x01, 'm', 0x02, 0x00, 0x01, ZVM_NAME, 0x01, 'n', 0x02,
                0x00, 0x01));
}

/* ---- constant expressions (§3.3.10) ---- */

Test(module, constant_expressions)
{
    REJECTS(0, "unknown function 9", HDR, SEC(S_GLOBAL, 0x01, 0x70, 0x00, 0xd2, 0x09, 0x0b));
    /* global.get may read imported globals only ... */
    REJECTS(0, "may only read imported globals", HDR,
            SEC(S_GLOBAL, 0x02, 0x7f, 0x00, 0x41, 0x00, 0x0b, 0x7f, 0x00, 0x23, 0x00, 0x0b));
    /* ... and only immutable ones */
    REJECTS(0, "constant expression required: global 0 is mutable", HDR,
            SEC(S_IMPORT, 0x01, ZVM_NAME, 0x01, 'g', 0x03, 0x7f, 0x01),
            SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x23, 0x00, 0x0b));
    REJECTS(0, "constant expression required, found i32.add", HDR,
            SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b));
    REJECTS(0, "constant expression required, found nop", HDR,
            SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x01, 0x41, 0x00, 0x0b));
    REJECTS(0, "constant expression required, found local.get", HDR,
            SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x20, 0x00, 0x0b));
    REJECTS(0, "type mismatch in constant expression: expected one i32", HDR,
            SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x42, 0x00, 0x0b));
    REJECTS(0, "type mismatch in constant expression: expected one i32", HDR,
            SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x0b));
    REJECTS(0, "type mismatch in constant expression: expected one i32", HDR,
            SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x41, 0x00, 0x0b));
    REJECTS(0, "type mismatch in constant expression: expected one funcref", HDR,
            SEC(S_GLOBAL, 0x01, 0x70, 0x00, 0xd0, 0x6f, 0x0b));
    REJECTS(1, "unexpected end", HDR, SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x41, 0x00));
    REJECTS(1, "illegal opcode", HDR, SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0xff, 0x0b));
    /* every kind of constant */
    ACCEPTS(HDR, SEC(S_TYPE, 0x01, T_VOID),
            SEC(S_IMPORT, 0x01, ZVM_NAME, 0x01, 'g', 0x03, 0x7e, 0x00), SEC(S_FUNC, 0x01, 0x00),
            SEC(S_GLOBAL, 0x07, 0x7f, 0x00, 0x41, 0x7f, 0x0b, 0x7e, 0x01, 0x23, 0x00, 0x0b, 0x7d,
                0x00, 0x43, 0x00, 0x00, 0x80, 0x3f, 0x0b, 0x7c, 0x00, 0x44, 0, 0, 0, 0, 0, 0, 0xf0,
                0x3f, 0x0b, 0x7b, 0x00, 0xfd, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                15, 16, 0x0b, 0x70, 0x00, 0xd2, 0x00, 0x0b, 0x6f, 0x00, 0xd0, 0x6f, 0x0b),
            SEC(S_CODE, 0x01, 0x02, 0x00, 0x0b));
}

Test(module, constant_values_are_decoded)
{
    static const uint8_t b[] = {HDR, SEC(S_GLOBAL, 0x03, 0x7f, 0x00, 0x41, 0x7f, 0x0b, 0x7e, 0x00,
                                         0x42, 0x80, 0x01, 0x0b, 0x7d, 0x00, 0x43, 0x00, 0x00, 0x80,
                                         0x3f, 0x0b)};
    zv_val_err err = {0};
    zv_val_module *m;
    cr_assert_eq(zv_val_module_new(b, sizeof b, &m, &err), 0, "%s", err.msg);
    cr_assert_eq(m->n_globals, 3);
    cr_assert_eq(m->globals[0].init.kind, ZV_CONST_I32);
    cr_assert_eq(m->globals[0].init.bits, 0xffffffffu); /* -1 as u32 bits */
    cr_assert_eq(m->globals[1].init.bits, 128);
    cr_assert_eq(m->globals[2].init.bits, 0x3f800000u);
    cr_assert_eq(m->globals[2].init.type, ZV_F32);
    zv_val_module_free(m);
}

/* ---- index spaces ---- */

Test(module, unknown_types)
{
    REJECTS(0, "unknown type 5", HDR, SEC(S_IMPORT, 0x01, ZVM_NAME, 0x01, 'f', 0x00, 0x05));
    REJECTS(0, "unknown type 1", HDR, SEC(S_TYPE, 0x01, T_VOID), SEC(S_FUNC, 0x02, 0x00, 0x01));
}

Test(module, exports_name_existing_things)
{
    REJECTS(0, "unknown function 0", HDR, SEC(S_EXPORT, 0x01, 0x01, 'f', 0x00, 0x00));
    REJECTS(0, "unknown table 0", HDR, SEC(S_EXPORT, 0x01, 0x01, 't', 0x01, 0x00));
    REJECTS(0, "unknown memory 1", HDR, SEC(S_MEMORY, 0x01, 0x00, 0x01),
            SEC(S_EXPORT, 0x01, 0x01, 'm', 0x02, 0x01));
    REJECTS(0, "unknown global 0", HDR, SEC(S_EXPORT, 0x01, 0x01, 'g', 0x03, 0x00));
}

Test(module, duplicate_export_names)
{
    REJECTS(0, "duplicate export name \"f\"", HDR, SEC(S_MEMORY, 0x01, 0x00, 0x01),
            SEC(S_EXPORT, 0x02, 0x01, 'f', 0x02, 0x00, 0x01, 'f', 0x02, 0x00));
    /* the same name for different kinds is still a duplicate */
    REJECTS(0, "duplicate export name \"mem\"", HDR, SEC(S_TABLE, 0x01, 0x70, 0x00, 0x01),
            SEC(S_MEMORY, 0x01, 0x00, 0x01),
            SEC(S_EXPORT, 0x03, 0x03, 'm', 'e', 'm', 0x02, 0x00, 0x01, 't', 0x01, 0x00, 0x03, 'm',
                'e', 'm', 0x01, 0x00));
    /* names that differ only in length, or are empty, are distinct */
    ACCEPTS(
        HDR, SEC(S_MEMORY, 0x01, 0x00, 0x01),
        SEC(S_EXPORT, 0x03, 0x00, 0x02, 0x00, 0x01, 'a', 0x02, 0x00, 0x02, 'a', 'a', 0x02, 0x00));
}

/* Many exports (the hash set grows and probes past collisions). */
static void many_exports(wb *m, uint32_t n, int duplicate_last)
{
    wb sec = {0};
    const uint8_t head[] = {HDR, SEC(S_MEMORY, 0x01, 0x00, 0x01)};
    *m = (wb){0};
    wb_put(m, head, sizeof head);
    wb_u32(&sec, n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = duplicate_last && i == n - 1 ? n / 2 : i;
        uint8_t name[4] = {(uint8_t)('a' + k % 26), (uint8_t)('a' + k / 26 % 26),
                           (uint8_t)('a' + k / 676 % 26), (uint8_t)('a' + k / 17576 % 26)};
        wb_byte(&sec, 4);
        wb_put(&sec, name, 4);
        wb_put(&sec, (const uint8_t[]){0x02, 0x00}, 2);
    }
    wb_sec(m, S_EXPORT, &sec);
    wb_free(&sec);
}

Test(module, duplicate_among_many_exports)
{
    zv_val_err err = {0};
    wb m;
    many_exports(&m, 100000, 0);
    cr_assert_eq(wb_validate(m.p, m.n, &err), 0, "%s", err.msg);
    wb_free(&m);
    many_exports(&m, 100000, 1);
    ASSERT_REJECTED(wb_validate(m.p, m.n, &err), err, m.n, 0, "duplicate export name");
    wb_free(&m);
}

/* ---- the start function (§3.4.8) ---- */

Test(module, start_function)
{
    REJECTS(0, "unknown function 5", HDR, SEC(S_START, 0x05));
    REJECTS(0, "start function must have type [] -> []", HDR, SEC(S_TYPE, 0x01, T_I32_I32),
            SEC(S_FUNC, 0x01, 0x00), SEC(S_START, 0x00),
            SEC(S_CODE, 0x01, 0x04, 0x00, 0x20, 0x00, 0x0b));
    /* results alone are enough to refuse it */
    REJECTS(0, "start function must have type [] -> []", HDR,
            SEC(S_TYPE, 0x01, 0x60, 0x00, 0x01, 0x7f),
            SEC(S_IMPORT, 0x01, ZVM_NAME, 0x01, 'f', 0x00, 0x00), SEC(S_START, 0x00));
    REJECTS(1, "unexpected end", HDR, SEC(S_START, 0x80));
}

/* ---- element segments (§3.4.6) ---- */

Test(module, element_segments)
{
    /* flags 0: table 0 implied */
    REJECTS(0, "unknown table 0", HDR, SEC(S_ELEM, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x00));
    /* flags 2: explicit table index */
    REJECTS(0, "unknown table 3", HDR, SEC(S_TABLE, 0x01, 0x70, 0x00, 0x01),
            SEC(S_ELEM, 0x01, 0x02, 0x03, 0x41, 0x00, 0x0b, 0x00, 0x00));
    REJECTS(0, "unknown function 7", HDR, SEC(S_TABLE, 0x01, 0x70, 0x00, 0x01),
            SEC(S_ELEM, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x07));
    REJECTS(0, "unknown function 7", HDR, SEC(S_ELEM, 0x01, 0x03, 0x00, 0x01, 0x07));
    /* the offset is an i32 */
    REJECTS(0, "type mismatch in constant expression: expected one i32", HDR,
            SEC(S_TABLE, 0x01, 0x70, 0x00, 0x01), SEC(S_ELEM, 0x01, 0x00, 0x42, 0x00, 0x0b, 0x00));
    /* externref items into the funcref table (flags 6) */
    REJECTS(0, "type mismatch: externref segment for a funcref table", HDR,
            SEC(S_TABLE, 0x01, 0x70, 0x00, 0x01),
            SEC(S_ELEM, 0x01, 0x06, 0x00, 0x41, 0x00, 0x0b, 0x6f, 0x01, 0xd0, 0x6f, 0x0b));
    /* funcref items (flags 4, implied funcref) into an externref table */
    REJECTS(0, "type mismatch: funcref segment for a externref table", HDR,
            SEC(S_TABLE, 0x01, 0x6f, 0x00, 0x01),
            SEC(S_ELEM, 0x01, 0x04, 0x41, 0x00, 0x0b, 0x01, 0xd0, 0x70, 0x0b));
    /* an item expression of the wrong reference type (flags 5) */
    REJECTS(0, "type mismatch in constant expression: expected one funcref", HDR,
            SEC(S_ELEM, 0x01, 0x05, 0x70, 0x01, 0xd0, 0x6f, 0x0b));
    REJECTS(1, "unexpected end", HDR, SEC(S_ELEM, 0x01, 0x01, 0x00, 0x01, 0x80, 0x80));
}

/* ---- data segments (§3.4.7) and the data count (§5.5.15) ---- */

Test(module, data_segments)
{
    REJECTS(0, "unknown memory 0", HDR, SEC(S_DATA, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x00));
    REJECTS(0, "unknown memory 1", HDR, SEC(S_MEMORY, 0x01, 0x00, 0x01),
            SEC(S_DATA, 0x01, 0x02, 0x01, 0x41, 0x00, 0x0b, 0x00));
    REJECTS(0, "type mismatch in constant expression: expected one i32", HDR,
            SEC(S_MEMORY, 0x01, 0x00, 0x01),
            SEC(S_DATA, 0x01, 0x00, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0x00));
    REJECTS(1, "unexpected end", HDR, SEC(S_MEMORY, 0x01, 0x00, 0x01),
            SEC(S_DATA, 0x01, 0x02, 0x80));
    /* passive segments need no memory; flags 2 names memory 0 explicitly */
    ACCEPTS(HDR, SEC(S_MEMORY, 0x01, 0x00, 0x01),
            SEC(S_DATA, 0x02, 0x01, 0x01, 'x', 0x02, 0x00, 0x41, 0x00, 0x0b, 0x01, 'y'));
}

Test(module, counts_that_must_agree)
{
    REJECTS(1, "function and code section have inconsistent lengths", HDR,
            SEC(S_TYPE, 0x01, T_VOID), SEC(S_FUNC, 0x01, 0x00),
            SEC(S_CODE, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b));
    REJECTS(1, "function and code section have inconsistent lengths", HDR,
            SEC(S_TYPE, 0x01, T_VOID), SEC(S_CODE, 0x01, 0x02, 0x00, 0x0b));
    /* functions declared, code section missing */
    REJECTS(1, "function and code section have inconsistent lengths", HDR,
            SEC(S_TYPE, 0x01, T_VOID), SEC(S_FUNC, 0x01, 0x00));
    REJECTS(1, "data count and data section have inconsistent lengths", HDR, SEC(S_DATACOUNT, 0x02),
            SEC(S_DATA, 0x01, 0x01, 0x00));
    /* data count given, data section missing */
    REJECTS(1, "data count and data section have inconsistent lengths", HDR,
            SEC(S_DATACOUNT, 0x01));
    ACCEPTS(HDR, SEC(S_DATACOUNT, 0x00));
    ACCEPTS(HDR, SEC(S_TYPE, 0x01, T_VOID), SEC(S_FUNC, 0x00), SEC(S_CODE, 0x00));
}

/* ---- imports ---- */

Test(module, imports_fill_the_index_spaces)
{
    static const uint8_t b[] = {HDR, SEC(S_TYPE, 0x01, T_I32_I32),
                                SEC(S_IMPORT, 0x04, ZVM_NAME, 0x01, 'f', 0x00, 0x00, ZVM_NAME, 0x01,
                                    't', 0x01, 0x6f, 0x01, 0x01, 0x02, ZVM_NAME, 0x01, 'm', 0x02,
                                    0x00, 0x01, ZVM_NAME, 0x01, 'g', 0x03, 0x7e, 0x01),
                                SEC(S_FUNC, 0x01, 0x00),
                                SEC(S_CODE, 0x01, 0x04, 0x00, 0x20, 0x00, 0x0b)};
    zv_val_err err = {0};
    zv_val_module *m;
    cr_assert_eq(zv_val_module_new(b, sizeof b, &m, &err), 0, "%s", err.msg);
    cr_assert_eq(m->n_imports, 4);
    cr_assert_eq(m->n_funcs, 2);
    cr_assert_eq(m->n_imported_funcs, 1);
    cr_assert(m->funcs[0].imported && !m->funcs[1].imported);
    cr_assert_eq(m->n_tables, 1);
    cr_assert_eq(m->tables[0].elem_type, ZV_EXTERNREF);
    cr_assert_eq(m->tables[0].limits.max, 2);
    cr_assert_eq(m->n_imported_memories, 1);
    cr_assert_eq(m->n_imported_globals, 1);
    cr_assert_eq(m->globals[0].type.mutable_, 1);
    cr_assert_eq(m->imports[3].kind, ZV_EXT_GLOBAL);
    cr_assert_eq(m->imports[3].name_len, 1);
    cr_assert_eq(m->imports[3].name[0], 'g');
    zv_val_module_free(m);
}

/* ---- implementation limits on function types ---- */

/* A module with one type of `n_params` i32 params and `n_results` results. */
static void wide_type(wb *m, uint32_t n_params, uint32_t n_results)
{
    const uint8_t hdr[] = {HDR};
    wb sec = {0};
    *m = (wb){0};
    wb_put(m, hdr, sizeof hdr);
    wb_put(&sec, (const uint8_t[]){0x01, 0x60}, 2);
    wb_u32(&sec, n_params);
    wb_fill(&sec, 0x7f, n_params);
    wb_u32(&sec, n_results);
    wb_fill(&sec, 0x7e, n_results);
    wb_sec(m, S_TYPE, &sec);
    wb_free(&sec);
}

/* Bug: with no bound on a type's arity, the checker's work per instruction
 * grew with it, and a 600 KB module of nested blocks of a 300000-param
 * type (or a br_table of 300000 targets of such a label) took minutes. */
Test(module, function_type_arity_limit)
{
    zv_val_err err = {0};
    wb m;
    wide_type(&m, 1000, 1000);
    cr_assert_eq(wb_validate(m.p, m.n, &err), 0, "%s", err.msg);
    wb_free(&m);
    wide_type(&m, 1001, 0);
    ASSERT_REJECTED(wb_validate(m.p, m.n, &err), err, m.n, 0,
                    "too many parameters: 1001 (the limit is 1000)");
    cr_assert_eq(err.offset, 13, "the offset names the count");
    wb_free(&m);
    wide_type(&m, 0, 300000);
    ASSERT_REJECTED(wb_validate(m.p, m.n, &err), err, m.n, 0,
                    "too many results: 300000 (the limit is 1000)");
    wb_free(&m);
}

/* At the limit, the worst shapes stay linear in the body size: 20000
 * nested blocks of a [1000 x i32] -> [1000 x i32] type, and a br_table of
 * 20000 targets whose label has 1000 results. */
Test(module, widest_types_in_hostile_bodies)
{
    zv_val_err err = {0};
    wb m = {0}, sec = {0}, body = {0};
    const uint8_t hdr[] = {HDR};
    wb_put(&m, hdr, sizeof hdr);
    wb_put(&sec, (const uint8_t[]){0x02, 0x60, 0x00, 0x00, 0x60}, 5);
    wb_u32(&sec, 1000);
    wb_fill(&sec, 0x7f, 1000);
    wb_u32(&sec, 1000);
    wb_fill(&sec, 0x7f, 1000);
    wb_sec(&m, S_TYPE, &sec);
    wb_sec_bytes(&m, S_FUNC, (const uint8_t[]){0x01, 0x00}, 2);
    /* unreachable, then 20000 x (block type 1 ... end) nested, then a
     * br_table with 20000 targets to the innermost block, then 1000 drops */
    wb_put(&body, (const uint8_t[]){0x00, 0x00}, 2);
    for (int i = 0; i < 20000; i++)
        wb_put(&body, (const uint8_t[]){0x02, 0x01}, 2);
    wb_put(&body, (const uint8_t[]){0x41, 0x00, 0x0e}, 3);
    wb_u32(&body, 20000);
    wb_fill(&body, 0x00, 20001);
    wb_fill(&body, 0x0b, 20000);
    wb_fill(&body, 0x1a, 1000);
    wb_byte(&body, 0x0b);
    wb_free(&sec);
    wb_put(&sec, (const uint8_t[]){0x01}, 1);
    wb_u32(&sec, (uint32_t)body.n);
    wb_put(&sec, body.p, body.n);
    wb_sec(&m, S_CODE, &sec);
    cr_assert_eq(wb_validate(m.p, m.n, &err), 0, "%s", err.msg);
    wb_free(&m);
    wb_free(&sec);
    wb_free(&body);
}
