/*
 * test_validator_binary.c — the binary format (Wasm core §5): header,
 * section framing and order, LEB128 in unsigned and signed positions,
 * vector counts far beyond the bytes left, names and their UTF-8, and the
 * proposals beyond core 2.0 that show up in the module structure.
 *
 * Everything here is "malformed" (err.malformed == 1): the bytes are not a
 * module at all. Validation rules of well-formed modules are in
 * test_validator_module.c.
 */
#include "wasm_build.h"

/* ---- header ---- */

Test(binary, magic_and_version)
{
    zv_val_err err = {0};
    cr_assert_eq(wb_validate((const uint8_t *)"", 0, &err), -EINVAL);
    cr_assert_str_eq(err.msg, "magic header not detected");
    cr_assert_eq(err.offset, 0);
    REJECTS(1, "magic header not detected", 0x00, 0x61, 0x73);
    REJECTS(1, "magic header not detected", 0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00);
    REJECTS(1, "magic header not detected", 'h', 'e', 'l', 'l', 'o', '\n');
    REJECTS(1, "unknown binary version", 0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00);
    REJECTS(1, "unknown binary version", 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00);
    /* the version is a fixed 4-byte field, not a LEB128 */
    REJECTS(1, "unknown binary version", 0x00, 0x61, 0x73, 0x6d, 0x81, 0x00, 0x00, 0x00);
    ACCEPTS(HDR);
}

Test(binary, version_error_offsets)
{
    static const uint8_t v2[] = {0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00};
    zv_val_err err = {0};
    cr_assert_eq(wb_validate(v2, sizeof v2, &err), -EINVAL);
    cr_assert_eq(err.offset, 4);
    cr_assert_eq(wb_validate(v2, 6, &err), -EINVAL);
    cr_assert_eq(err.offset, 4);
}

/* ---- sections ---- */

Test(binary, unknown_section_ids)
{
    REJECTS(1, "malformed section id 14", HDR, 0x0e, 0x00);
    REJECTS(1, "malformed section id 255", HDR, 0xff, 0x00);
    REJECTS(1, "malformed section id 14", HDR, SEC(S_TYPE, 0x00), 0x0e, 0x01, 0x00);
}

/* The exception handling proposal's tag section: an attribute byte (0,
 * an exception) and a type index per tag, between memory and global. */
Test(binary, tag_section)
{
    ACCEPTS(HDR, SEC(S_TYPE, 0x01, 0x60, 0x01, 0x7f, 0x00), SEC(S_MEMORY, 0x01, 0x00, 0x01),
            SEC(S_TAG, 0x02, 0x00, 0x00, 0x00, 0x00), SEC(S_GLOBAL, 0x00));
    ACCEPTS(HDR, SEC(S_TAG, 0x00));
    REJECTS(1, "malformed tag attribute 0x01", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00),
            SEC(S_TAG, 0x01, 0x01, 0x00));
    REJECTS(1, "count 1 exceeds the remaining 1 bytes", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00),
            SEC(S_TAG, 0x01, 0x00));
    REJECTS(1, "unexpected end", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00), SEC(S_TAG, 0x01, 0x00, 0x80));
    REJECTS(1, "unexpected end", HDR, 0x0d, 0x00);
    REJECTS(1, "section 13 out of order", HDR, SEC(S_GLOBAL, 0x00), SEC(S_TAG, 0x00));
    REJECTS(1, "section 5 out of order", HDR, SEC(S_TAG, 0x00), SEC(S_MEMORY, 0x00));
    REJECTS(1, "section 13 out of order or repeated", HDR, SEC(S_TAG, 0x00), SEC(S_TAG, 0x00));
    /* the tag's type must exist and have no results (validation, not format) */
    REJECTS(0, "unknown type 1", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00),
            SEC(S_TAG, 0x01, 0x00, 0x01));
    REJECTS(0, "non-empty tag result type", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x01, 0x7f),
            SEC(S_TAG, 0x01, 0x00, 0x00));
}

Test(binary, tag_imports_and_exports)
{
    zv_val_module *m = NULL;
    zv_val_err err = {0};
    static const uint8_t b[] = {HDR, SEC(S_TYPE, 0x01, 0x60, 0x01, 0x7e, 0x00),
                                SEC(S_IMPORT, 0x01, 0x01, 'm', 0x01, 't', 0x04, 0x00, 0x00),
                                SEC(S_TAG, 0x01, 0x00, 0x00),
                                SEC(S_EXPORT, 0x02, 0x01, 'a', 0x04, 0x00, 0x01, 'b', 0x04, 0x01)};
    cr_assert_eq(zv_val_module_new(b, sizeof b, &m, &err), 0, "%s", err.msg);
    cr_assert_eq(m->n_tags, 2);
    cr_assert_eq(m->n_imported_tags, 1);
    cr_assert(m->tags[0].imported && !m->tags[1].imported);
    cr_assert_eq(m->imports[0].kind, ZV_EXT_TAG);
    cr_assert_eq(m->exports[1].kind, ZV_EXT_TAG);
    cr_assert_eq(m->exports[1].index, 1);
    zv_val_module_free(m);
    REJECTS(1, "malformed tag attribute 0x02", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00),
            SEC(S_IMPORT, 0x01, 0x01, 'm', 0x01, 't', 0x04, 0x02, 0x00));
    REJECTS(0, "unknown type 0", HDR,
            SEC(S_IMPORT, 0x01, 0x01, 'm', 0x01, 't', 0x04, 0x00, 0x00));
    REJECTS(0, "non-empty tag result type", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x01, 0x7f),
            SEC(S_IMPORT, 0x01, 0x01, 'm', 0x01, 't', 0x04, 0x00, 0x00));
    REJECTS(0, "unknown tag 0", HDR, SEC(S_EXPORT, 0x01, 0x01, 'x', 0x04, 0x00));
}

Test(binary, sections_out_of_order_or_repeated)
{
    REJECTS(1, "section 1 out of order", HDR, SEC(S_FUNC, 0x00), SEC(S_TYPE, 0x00));
    REJECTS(1, "section 1 out of order or repeated", HDR, SEC(S_TYPE, 0x00), SEC(S_TYPE, 0x00));
    REJECTS(1, "section 11 out of order", HDR, SEC(S_DATA, 0x00), SEC(S_DATA, 0x00));
    /* the data count section sits between element and code (§5.5.2) */
    REJECTS(1, "section 12 out of order", HDR, SEC(S_CODE, 0x00), SEC(S_DATACOUNT, 0x00));
    REJECTS(1, "section 9 out of order", HDR, SEC(S_DATACOUNT, 0x00), SEC(S_ELEM, 0x00));
    ACCEPTS(HDR, SEC(S_ELEM, 0x00), SEC(S_DATACOUNT, 0x00), SEC(S_CODE, 0x00), SEC(S_DATA, 0x00));
}

Test(binary, custom_sections_go_anywhere)
{
    ACCEPTS(HDR, SEC(S_CUSTOM, 0x01, 'a', 0xde, 0xad), SEC(S_TYPE, 0x00), SEC(S_CUSTOM, 0x01, 'b'),
            SEC(S_CUSTOM, 0x01, 'b'), SEC(S_FUNC, 0x00), SEC(S_CUSTOM, 0x00));
    /* a custom section needs at least its name */
    REJECTS(1, "unexpected end", HDR, 0x00, 0x00);
    REJECTS(1, "unexpected end", HDR, 0x00, 0x02, 0x05, 'a');
}

Test(binary, section_sizes)
{
    /* longer than the file */
    REJECTS(1, "length out of bounds", HDR, 0x01, 0x05, 0x00);
    REJECTS(1, "length out of bounds", HDR, 0x00, 0x80, 0x80, 0x80, 0x80, 0x08);
    /* bytes left over inside the section */
    REJECTS(1, "section size mismatch in section 1", HDR, 0x01, 0x02, 0x00, 0x00);
    /* the section's content runs past its size */
    REJECTS(1, "unexpected end", HDR, 0x01, 0x04, 0x01, 0x60, 0x01, 0x7f, 0x00);
    /* the size field itself */
    REJECTS(1, "integer too large", HDR, 0x01, 0xff, 0xff, 0xff, 0xff, 0x7f);
    REJECTS(1, "unexpected end", HDR, 0x01, 0x80);
    REJECTS(1, "unexpected end", HDR, 0x01);
}

/* ---- unsigned LEB128 (§5.2.2) ---- */

Test(binary, unsigned_leb128)
{
    /* six bytes, or a fifth byte with bits beyond 32 */
    REJECTS(1, "integer representation too long", HDR, 0x01, 0x07, 0x80, 0x80, 0x80, 0x80, 0x80,
            0x00, 0x00);
    REJECTS(1, "integer too large", HDR, 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x1f);
    REJECTS(1, "integer too large", HDR, 0x01, 0x05, 0x80, 0x80, 0x80, 0x80, 0x70);
    /* the count runs off the end of its section */
    REJECTS(1, "unexpected end", HDR, 0x01, 0x01, 0x80);
    REJECTS(1, "unexpected end", HDR, 0x01, 0x03, 0x80, 0x80, 0x80);
    /* five bytes with the top bits clear are fine: 0 types */
    ACCEPTS(HDR, 0x01, 0x05, 0x80, 0x80, 0x80, 0x80, 0x00);
    /* a type index written in five bytes */
    ACCEPTS(HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00),
            SEC(S_FUNC, 0x01, 0x80, 0x80, 0x80, 0x80, 0x00), SEC(S_CODE, 0x01, 0x02, 0x00, 0x0b));
}

Test(binary, unsigned_leb128_in_every_kind_of_position)
{
    /* an index (function type), a limit, a name length, a section size */
    REJECTS(1, "integer too large", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00),
            SEC(S_FUNC, 0x01, 0xff, 0xff, 0xff, 0xff, 0x7f));
    REJECTS(1, "integer representation too long", HDR,
            SEC(S_MEMORY, 0x01, 0x00, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00));
    REJECTS(1, "integer too large", HDR, SEC(S_CUSTOM, 0xff, 0xff, 0xff, 0xff, 0x10, 'n'));
}

/* ---- signed LEB128 in constant expressions ---- */

Test(binary, signed_leb128_in_constant_expressions)
{
    REJECTS(1, "integer representation too long", HDR,
            SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b));
    REJECTS(1, "integer too large", HDR,
            SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x40, 0x0b));
    REJECTS(1, "integer too large", HDR,
            SEC(S_GLOBAL, 0x01, 0x7e, 0x00, 0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0x01, 0x0b));
    REJECTS(1, "unexpected end", HDR, SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x41, 0x80));
    /* INT64_MAX: a tenth byte of 0x00 is a legal sign extension */
    ACCEPTS(HDR, SEC(S_GLOBAL, 0x01, 0x7e, 0x00, 0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                     0xff, 0xff, 0x00, 0x0b));
    /* -1 as an i64 in ten bytes is the longest legal form */
    ACCEPTS(HDR, SEC(S_GLOBAL, 0x01, 0x7e, 0x00, 0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                     0xff, 0xff, 0x7f, 0x0b));
}

/* ---- counts larger than the bytes left ---- */

/* The count check must come before any allocation sized by the count: with
 * the allocation after the `n_before` unavoidable ones made to fail, the
 * result must still be the count error, not -ENOMEM. */
#define HUGE_COUNT_REJECTS(n_before, ...)                                                          \
    do {                                                                                           \
        static const uint8_t b_[] = {__VA_ARGS__};                                                 \
        zv_val_err e_ = {0};                                                                       \
        int rc_;                                                                                   \
        zv_val_test_fail_alloc((n_before) + 1);                                                    \
        rc_ = wb_validate(b_, sizeof b_, &e_);                                                     \
        zv_val_test_fail_alloc(0);                                                                 \
        ASSERT_REJECTED(rc_, e_, sizeof b_, 1, "count 4294967295 exceeds the remaining");          \
    } while (0)

#define U32_MAX_LEB 0xff, 0xff, 0xff, 0xff, 0x0f

Test(binary, huge_counts_fail_before_allocating)
{
    /* allocations made before: the module (1), C.refs once past the
     * function section (2) */
    HUGE_COUNT_REJECTS(1, HDR, SEC(S_TYPE, U32_MAX_LEB, 0x60));
    HUGE_COUNT_REJECTS(1, HDR, SEC(S_IMPORT, U32_MAX_LEB, 0x00));
    HUGE_COUNT_REJECTS(1, HDR, SEC(S_FUNC, U32_MAX_LEB, 0x00));
    HUGE_COUNT_REJECTS(2, HDR, SEC(S_TABLE, U32_MAX_LEB, 0x70));
    HUGE_COUNT_REJECTS(2, HDR, SEC(S_MEMORY, U32_MAX_LEB, 0x00));
    HUGE_COUNT_REJECTS(2, HDR, SEC(S_GLOBAL, U32_MAX_LEB, 0x7f));
    HUGE_COUNT_REJECTS(2, HDR, SEC(S_EXPORT, U32_MAX_LEB, 0x00));
    HUGE_COUNT_REJECTS(2, HDR, SEC(S_ELEM, U32_MAX_LEB, 0x00));
    HUGE_COUNT_REJECTS(2, HDR, SEC(S_CODE, U32_MAX_LEB, 0x00));
    HUGE_COUNT_REJECTS(2, HDR, SEC(S_DATA, U32_MAX_LEB, 0x00));
    /* vectors inside entries: params and results (after the module and the
     * type array), element items (after the module, C.refs and the segment
     * array) */
    HUGE_COUNT_REJECTS(2, HDR, SEC(S_TYPE, 0x01, 0x60, U32_MAX_LEB, 0x7f));
    HUGE_COUNT_REJECTS(2, HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, U32_MAX_LEB, 0x7f));
    HUGE_COUNT_REJECTS(3, HDR, SEC(S_ELEM, 0x01, 0x01, 0x00, U32_MAX_LEB, 0x00));
}

Test(binary, huge_counts_inside_bodies)
{
    /* locals: declaration runs */
    REJECTS(1, "count 4294967295 exceeds the remaining", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00),
            SEC(S_FUNC, 0x01, 0x00), SEC(S_CODE, 0x01, 0x07, U32_MAX_LEB, 0x7f, 0x0b));
    /* a body size beyond the section */
    REJECTS(1, "unexpected end", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00), SEC(S_FUNC, 0x01, 0x00),
            SEC(S_CODE, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x0b));
    /* a data segment's size beyond the section */
    REJECTS(1, "unexpected end", HDR, SEC(S_DATA, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'));
}

Test(binary, count_just_fitting_is_read_element_by_element)
{
    /* 3 types claimed, 3 bytes each, 9 bytes present, the last one broken */
    REJECTS(1, "malformed type form 0x61", HDR,
            SEC(S_TYPE, 0x03, 0x60, 0x00, 0x00, 0x60, 0x00, 0x00, 0x61, 0x00, 0x00));
}

/* ---- names (§5.2.4) ---- */

#define NAME_REJECTS(...)                                                                          \
    REJECTS(1, "malformed UTF-8 encoding", HDR, SEC(S_CUSTOM, NB(__VA_ARGS__), __VA_ARGS__))
#define NAME_ACCEPTS(...) ACCEPTS(HDR, SEC(S_CUSTOM, NB(__VA_ARGS__), __VA_ARGS__))

Test(binary, invalid_utf8_names)
{
    NAME_REJECTS(0xff);
    NAME_REJECTS(0x80);                         /* a lone continuation byte */
    NAME_REJECTS(0xc0, 0x80);                   /* overlong NUL */
    NAME_REJECTS(0xc1, 0xbf);                   /* overlong U+007F */
    NAME_REJECTS(0xe0, 0x80, 0x80);             /* overlong, 3 bytes */
    NAME_REJECTS(0xf0, 0x80, 0x80, 0x80);       /* overlong, 4 bytes */
    NAME_REJECTS(0xed, 0xa0, 0x80);             /* surrogate U+D800 */
    NAME_REJECTS(0xed, 0xbf, 0xbf);             /* surrogate U+DFFF */
    NAME_REJECTS(0xf4, 0x90, 0x80, 0x80);       /* U+110000 */
    NAME_REJECTS(0xf8, 0x88, 0x80, 0x80, 0x80); /* 5-byte form */
    NAME_REJECTS('a', 0xe2, 0x82);              /* cut short */
    NAME_REJECTS(0xe2, 0x28, 0xa1);             /* bad continuation */
    NAME_REJECTS(0xc3);
}

Test(binary, valid_utf8_names)
{
    NAME_ACCEPTS('z', 'v', 'm');
    NAME_ACCEPTS(0xc3, 0xa9);             /* U+00E9 */
    NAME_ACCEPTS(0xe2, 0x82, 0xac);       /* U+20AC */
    NAME_ACCEPTS(0xef, 0xbf, 0xbf);       /* U+FFFF */
    NAME_ACCEPTS(0xf0, 0x9f, 0x98, 0x80); /* U+1F600 */
    NAME_ACCEPTS(0xf4, 0x8f, 0xbf, 0xbf); /* U+10FFFF */
    NAME_ACCEPTS(0x00, 0x7f);
}

Test(binary, names_in_imports_and_exports_are_checked)
{
    REJECTS(1, "malformed UTF-8 encoding", HDR,
            SEC(S_IMPORT, 0x01, 0x01, 0xff, 0x01, 'f', 0x02, 0x00, 0x01));
    REJECTS(1, "malformed UTF-8 encoding", HDR,
            SEC(S_IMPORT, 0x01, 0x03, 'z', 'v', 'm', 0x02, 0xed, 0xa0, 0x02, 0x00, 0x01));
    REJECTS(1, "malformed UTF-8 encoding", HDR, SEC(S_MEMORY, 0x01, 0x00, 0x01),
            SEC(S_EXPORT, 0x01, 0x02, 0xc0, 0x80, 0x02, 0x00));
    /* a name longer than what is left */
    REJECTS(1, "unexpected end", HDR, SEC(S_IMPORT, 0x01, 0x09, 'z', 'v', 'm', 0x00));
}

/* ---- types in the module structure ---- */

Test(binary, malformed_types)
{
    REJECTS(1, "malformed type form 0x40", HDR, SEC(S_TYPE, 0x01, 0x40, 0x00, 0x00));
    REJECTS(1, "malformed value type 0x00", HDR, SEC(S_TYPE, 0x01, 0x60, 0x01, 0x00, 0x00));
    REJECTS(1, "malformed value type 0x40", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x01, 0x40));
    REJECTS(1, "malformed reference type 0x7f", HDR, SEC(S_TABLE, 0x01, 0x7f, 0x00, 0x01));
    REJECTS(1, "malformed value type 0x6e", HDR, SEC(S_GLOBAL, 0x01, 0x6e, 0x00, 0x0b));
    REJECTS(1, "malformed mutability 0x02", HDR, SEC(S_GLOBAL, 0x01, 0x7f, 0x02, 0x41, 0x00, 0x0b));
    REJECTS(1, "malformed mutability 0x81", HDR,
            SEC(S_IMPORT, 0x01, 0x03, 'z', 'v', 'm', 0x01, 'g', 0x03, 0x7f, 0x81));
}

Test(binary, malformed_limits)
{
    REJECTS(1, "malformed limits flags 0x02", HDR, SEC(S_TABLE, 0x01, 0x70, 0x02, 0x01));
    REJECTS(1, "malformed limits flags 0x08", HDR, SEC(S_MEMORY, 0x01, 0x08, 0x01));
    REJECTS(1, "malformed limits flags 0x04", HDR, SEC(S_TABLE, 0x01, 0x70, 0x04, 0x01));
    REJECTS(1, "unexpected end", HDR, SEC(S_MEMORY, 0x01, 0x01, 0x00));
}

/* ---- kinds and flags ---- */

Test(binary, malformed_kinds)
{
    REJECTS(1, "malformed import kind 0x05", HDR,
            SEC(S_IMPORT, 0x01, 0x03, 'z', 'v', 'm', 0x01, 'x', 0x05, 0x00));
    REJECTS(1, "malformed export kind 0x05", HDR, SEC(S_EXPORT, 0x01, 0x01, 'x', 0x05, 0x00));
    REJECTS(1, "malformed elements segment kind 8", HDR, SEC(S_ELEM, 0x01, 0x08, 0x00));
    REJECTS(1, "malformed element kind 0x01", HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00),
            SEC(S_FUNC, 0x01, 0x00), SEC(S_ELEM, 0x01, 0x01, 0x01, 0x01, 0x00),
            SEC(S_CODE, 0x01, 0x02, 0x00, 0x0b));
    REJECTS(1, "malformed reference type 0x7f", HDR, SEC(S_ELEM, 0x01, 0x05, 0x7f, 0x00));
    REJECTS(1, "malformed data segment kind 3", HDR, SEC(S_DATA, 0x01, 0x03, 0x00));
}

/* ---- proposals beyond core 2.0, by their module structure ---- */

Test(binary, unsupported_proposals_in_the_module_structure)
{
    /* threads: shared memory, with and without a maximum */
    REJECTS(1, "the threads proposal is not supported", HDR, SEC(S_MEMORY, 0x01, 0x03, 0x01, 0x01));
    REJECTS(1, "the threads proposal is not supported", HDR, SEC(S_MEMORY, 0x01, 0x02, 0x01));
    REJECTS(1, "the threads proposal is not supported", HDR,
            SEC(S_IMPORT, 0x01, 0x03, 'z', 'v', 'm', 0x01, 'm', 0x02, 0x03, 0x01, 0x01));
    /* memory64: limits flags 4 to 7 */
    REJECTS(1, "the memory64 proposal is not supported", HDR, SEC(S_MEMORY, 0x01, 0x04, 0x01));
    REJECTS(1, "the memory64 proposal is not supported", HDR,
            SEC(S_MEMORY, 0x01, 0x05, 0x01, 0x02));
    REJECTS(1, "the memory64 proposal is not supported", HDR,
            SEC(S_MEMORY, 0x01, 0x07, 0x01, 0x02));
    /* GC: struct, array, sub and rec type forms */
    REJECTS(1, "the garbage collection proposal is not supported", HDR,
            SEC(S_TYPE, 0x01, 0x5f, 0x00, 0x00));
    REJECTS(1, "the garbage collection proposal is not supported", HDR,
            SEC(S_TYPE, 0x01, 0x5e, 0x7f, 0x00));
    REJECTS(1, "the garbage collection proposal is not supported", HDR,
            SEC(S_TYPE, 0x01, 0x4e, 0x00, 0x00));
    REJECTS(1, "the garbage collection proposal is not supported", HDR,
            SEC(S_TYPE, 0x01, 0x50, 0x00, 0x60));
}
