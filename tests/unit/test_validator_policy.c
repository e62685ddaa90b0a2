/*
 * test_validator_policy.c — zvm's policy on top of the spec rules
 * (validator/policy.c): which imports a module may ask for, and the bounds
 * on counts and sizes. Each bound is tested one under the module's own
 * count, so every -EPERM path is reached with the message it gives.
 */
#include "wasm_build.h"

#define ZVM_NAME 0x03, 'z', 'v', 'm'

/* Two of everything the policy counts: imports (a function and a global),
 * 3 functions, 2 globals, 1 table of 3 elements, 2 pages, 2 tags, 2
 * exports, 2 element and 2 data segments. */
static const uint8_t two_of_each[] = {
    HDR,
    SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00),
    SEC(S_IMPORT, 0x02, ZVM_NAME, 0x01, 'f', 0x00, 0x00, 0x16, 'w', 'a', 's', 'i', '_', 's', 'n',
        'a', 'p', 's', 'h', 'o', 't', '_', 'p', 'r', 'e', 'v', 'i', 'e', 'w', '1', 0x01, 'g', 0x03,
        0x7f, 0x00),
    SEC(S_FUNC, 0x02, 0x00, 0x00),
    SEC(S_TABLE, 0x01, 0x70, 0x00, 0x03),
    SEC(S_MEMORY, 0x01, 0x00, 0x02),
    SEC(S_TAG, 0x02, 0x00, 0x00, 0x00, 0x00),
    SEC(S_GLOBAL, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x0b),
    SEC(S_EXPORT, 0x02, 0x01, 'a', 0x00, 0x01, 0x01, 'b', 0x00, 0x02),
    SEC(S_ELEM, 0x02, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00),
    SEC(S_CODE, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b),
    SEC(S_DATA, 0x02, 0x01, 0x00, 0x01, 0x01, 'x'),
};

static const zv_val_import_rule any_zvm_or_wasi[] = {{"zvm", NULL},
                                                     {"wasi_snapshot_preview1", NULL}};

static zv_val_policy roomy(void)
{
    return (zv_val_policy){
        .imports = any_zvm_or_wasi,
        .n_imports = 2,
        .max_memory_pages = 100,
        .max_table_elems = 100,
        .max_funcs = 100,
        .max_globals = 100,
        .max_tables = 100,
        .max_data_segments = 100,
        .max_elem_segments = 100,
        .max_exports = 100,
        .max_imports = 100,
        .max_tags = 100,
    };
}

static int check(const uint8_t *b, size_t n, const zv_val_policy *p, zv_val_err *err)
{
    zv_val_module *m;
    int rc = zv_val_module_new(b, n, &m, err);
    cr_assert_eq(rc, 0, "%s", err->msg);
    rc = zv_val_check_policy(m, p, err);
    zv_val_module_free(m);
    return rc;
}

#define POLICY_REJECTS(field, value, needle)                                                       \
    do {                                                                                           \
        zv_val_policy p_ = roomy();                                                                \
        zv_val_err e_ = {0};                                                                       \
        p_.field = (value);                                                                        \
        cr_assert_eq(check(two_of_each, sizeof two_of_each, &p_, &e_), -EPERM, #field);            \
        cr_assert_eq(e_.malformed, 0);                                                             \
        cr_assert_str_eq(e_.msg, (needle));                                                        \
    } while (0)

Test(policy, every_limit)
{
    zv_val_policy p = roomy();
    zv_val_err err = {0};
    cr_assert_eq(check(two_of_each, sizeof two_of_each, &p, &err), 0, "%s", err.msg);
    cr_assert_eq(check(two_of_each, sizeof two_of_each, &zv_val_default_policy, &err), 0, "%s",
                 err.msg);
    POLICY_REJECTS(max_imports, 1, "policy: 2 imports exceed the limit of 1");
    POLICY_REJECTS(max_funcs, 2, "policy: 3 functions exceed the limit of 2");
    POLICY_REJECTS(max_globals, 1, "policy: 2 globals exceed the limit of 1");
    POLICY_REJECTS(max_tables, 0, "policy: 1 tables exceed the limit of 0");
    POLICY_REJECTS(max_data_segments, 1, "policy: 2 data segments exceed the limit of 1");
    POLICY_REJECTS(max_elem_segments, 1, "policy: 2 element segments exceed the limit of 1");
    POLICY_REJECTS(max_exports, 1, "policy: 2 exports exceed the limit of 1");
    POLICY_REJECTS(max_tags, 1, "policy: 2 tags exceed the limit of 1");
    POLICY_REJECTS(max_memory_pages, 1, "policy: 2 initial memory pages exceed the limit of 1");
    POLICY_REJECTS(max_table_elems, 2, "policy: 3 initial table elements exceed the limit of 2");
}

Test(policy, limits_are_inclusive)
{
    zv_val_policy p = {.imports = any_zvm_or_wasi,
                       .n_imports = 2,
                       .max_memory_pages = 2,
                       .max_table_elems = 3,
                       .max_funcs = 3,
                       .max_globals = 2,
                       .max_tables = 1,
                       .max_data_segments = 2,
                       .max_elem_segments = 2,
                       .max_exports = 2,
                       .max_imports = 2,
                       .max_tags = 2};
    zv_val_err err = {0};
    cr_assert_eq(check(two_of_each, sizeof two_of_each, &p, &err), 0, "%s", err.msg);
}

/* (import "<mod>" "<name>" (func)) in a module of its own. */
static int import_check(const char *mod, const char *name, const zv_val_policy *p, zv_val_err *err)
{
    static const uint8_t head[] = {HDR, SEC(S_TYPE, 0x01, 0x60, 0x00, 0x00)};
    wb m = {0}, sec = {0};
    int rc;
    wb_put(&m, head, sizeof head);
    wb_byte(&sec, 0x01);
    wb_u32(&sec, (uint32_t)strlen(mod));
    wb_put(&sec, mod, strlen(mod));
    wb_u32(&sec, (uint32_t)strlen(name));
    wb_put(&sec, name, strlen(name));
    wb_put(&sec, (const uint8_t[]){0x00, 0x00}, 2);
    wb_sec(&m, S_IMPORT, &sec);
    rc = check(m.p, m.n, p, err);
    wb_free(&m);
    wb_free(&sec);
    return rc;
}

Test(policy, default_imports)
{
    const zv_val_policy *p = &zv_val_default_policy;
    zv_val_err err = {0};
    cr_assert_eq(import_check("zvm", "anything", p, &err), 0, "%s", err.msg);
    cr_assert_eq(import_check("wasi_snapshot_preview1", "fd_write", p, &err), 0, "%s", err.msg);
    cr_assert_eq(import_check("env", "f", p, &err), -EPERM);
    cr_assert_str_eq(err.msg, "policy: import \"env\".\"f\" is not allowed");
    cr_assert_eq(err.malformed, 0);
    /* the offset names the import's module name: after the header (8), the
     * type section (7), the import section's id, size and count (3) and
     * the name's length byte (1) */
    cr_assert_eq(err.offset, 19);
    /* module names match whole, not by prefix */
    cr_assert_eq(import_check("zvm2", "f", p, &err), -EPERM);
    cr_assert_eq(import_check("zv", "f", p, &err), -EPERM);
    cr_assert_eq(import_check("", "f", p, &err), -EPERM);
    cr_assert_eq(import_check("wasi_unstable", "fd_write", p, &err), -EPERM);
    cr_assert(strstr(err.msg, "\"wasi_unstable\".\"fd_write\""), "%s", err.msg);
}

Test(policy, rules_naming_one_field)
{
    static const zv_val_import_rule only_zvm_f[] = {{"zvm", "f"}};
    zv_val_policy p = roomy();
    zv_val_err err = {0};
    p.imports = only_zvm_f;
    p.n_imports = 1;
    cr_assert_eq(import_check("zvm", "f", &p, &err), 0, "%s", err.msg);
    cr_assert_eq(import_check("zvm", "g", &p, &err), -EPERM);
    cr_assert_str_eq(err.msg, "policy: import \"zvm\".\"g\" is not allowed");
    cr_assert_eq(import_check("zvm", "ff", &p, &err), -EPERM);
    /* no rules: no imports */
    p.n_imports = 0;
    cr_assert_eq(import_check("zvm", "f", &p, &err), -EPERM);
}
