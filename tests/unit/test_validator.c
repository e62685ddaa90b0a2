/*
 * test_validator.c — Criterion suites for validator/: hand-built modules,
 * hostile inputs (truncation, overlong LEB128, huge counts), the policy,
 * and fault injection on every allocation.
 */
#include "validator/validator.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HDR 0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00

static int validate(const uint8_t *b, size_t n, zv_val_err *err, zv_val_module **out)
{
    zv_val_module *m = NULL;
    int rc = zv_val_module_new(b, n, &m, err);
    if (out)
        *out = m;
    else
        zv_val_module_free(m);
    return rc;
}

/* (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add) */
static const uint8_t add_one[] = {
    HDR,
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, /* type: (i32)->i32 */
    0x03, 0x02, 0x01, 0x00,                         /* func: type 0 */
    0x07, 0x05, 0x01, 0x01, 'f', 0x00, 0x00,        /* export "f" func 0 */
    0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b,
};

Test(validator, accepts_a_small_module)
{
    zv_val_err err = {0};
    zv_val_module *m;
    cr_assert_eq(validate(add_one, sizeof add_one, &err, &m), 0, "%s", err.msg);
    cr_assert_eq(m->n_types, 1);
    cr_assert_eq(m->n_funcs, 1);
    cr_assert_eq(m->n_exports, 1);
    cr_assert_eq(m->exports[0].name_len, 1);
    cr_assert_eq(m->funcs[0].max_height, 2);
    zv_val_module_free(m);
}

Test(validator, every_truncation_is_rejected)
{
    for (size_t n = 0; n < sizeof add_one; n++) {
        zv_val_err err = {0};
        /* Cut after the header or after the type section: a whole module. */
        int whole = n == 8 || n == 16;
        cr_assert_eq(validate(add_one, n, &err, NULL), whole ? 0 : -EINVAL, "prefix of %zu bytes",
                     n);
        cr_assert(err.offset <= n);
    }
}

Test(validator, type_mismatch_is_invalid)
{
    uint8_t b[sizeof add_one];
    zv_val_err err = {0};
    memcpy(b, add_one, sizeof b);
    b[sizeof b - 4] = 0x42; /* i64.const 1: i32.add of i32 and i64 */
    cr_assert_eq(validate(b, sizeof b, &err, NULL), -EINVAL);
    cr_assert_eq(err.malformed, 0);
    cr_assert(strstr(err.msg, "type mismatch"), "%s", err.msg);
}

Test(validator, overlong_leb128_is_malformed)
{
    /* the type count written in six bytes */
    static const uint8_t b[] = {HDR, 0x01, 0x07, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00};
    zv_val_err err = {0};
    cr_assert_eq(validate(b, sizeof b, &err, NULL), -EINVAL);
    cr_assert_eq(err.malformed, 1);
    cr_assert(strstr(err.msg, "too long"), "%s", err.msg);
}

Test(validator, huge_count_fails_before_allocating)
{
    /* 0xffffffff types in a 5-byte section */
    static const uint8_t b[] = {HDR, 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f};
    zv_val_err err = {0};
    cr_assert_eq(validate(b, sizeof b, &err, NULL), -EINVAL);
    cr_assert(strstr(err.msg, "exceeds the remaining"), "%s", err.msg);
}

Test(validator, unsupported_proposal_is_named)
{
    /* shared memory: limits flag 3 */
    static const uint8_t b[] = {HDR, 0x05, 0x04, 0x01, 0x03, 0x01, 0x01};
    zv_val_err err = {0};
    cr_assert_eq(validate(b, sizeof b, &err, NULL), -EINVAL);
    cr_assert(strstr(err.msg, "threads"), "%s", err.msg);
}

Test(validator, policy_rejects_foreign_import)
{
    /* (import "env" "f" (func)) */
    static const uint8_t b[] = {HDR,  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x02, 0x09, 0x01,
                                0x03, 'e',  'n',  'v',  0x01, 'f',  0x00, 0x00};
    zv_val_err err = {0};
    zv_val_module *m;
    cr_assert_eq(validate(b, sizeof b, &err, &m), 0, "%s", err.msg);
    cr_assert_eq(zv_val_check_policy(m, &zv_val_default_policy, &err), -EPERM);
    cr_assert(strstr(err.msg, "\"env\".\"f\""), "%s", err.msg);
    zv_val_module_free(m);
}

Test(validator, every_allocation_failure_unwinds)
{
    int saw_success = 0;
    for (long n = 1; n < 64 && !saw_success; n++) {
        zv_val_err err = {0};
        int rc;
        zv_val_test_fail_alloc(n);
        rc = validate(add_one, sizeof add_one, &err, NULL);
        zv_val_test_fail_alloc(0);
        cr_assert(rc == 0 || rc == -ENOMEM, "allocation %ld: rc %d", n, rc);
        saw_success = rc == 0;
    }
    cr_assert(saw_success, "validation never got past the injected failures");
}

/* Found by fuzz_validator (UBSan): the first body of a module, with no
 * params and no locals (or only empty local runs), copied 0 bytes to and
 * from a NULL locals array. memcpy/memset with NULL is undefined even for
 * 0 bytes; the ZVM_SANITIZE and ZVM_FUZZ builds abort here before the fix. */
Test(validator, empty_locals_of_the_first_body)
{
    static const uint8_t no_locals[] = {HDR,  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03,
                                        0x02, 0x01, 0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};
    /* (local i32) declared 0 times */
    static const uint8_t zero_run[] = {HDR,  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01,
                                       0x00, 0x0a, 0x06, 0x01, 0x04, 0x01, 0x00, 0x7f, 0x0b};
    zv_val_err err = {0};
    cr_assert_eq(validate(no_locals, sizeof no_locals, &err, NULL), 0, "%s", err.msg);
    cr_assert_eq(validate(zero_run, sizeof zero_run, &err, NULL), 0, "%s", err.msg);
}
