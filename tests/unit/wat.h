/*
 * wat.h — test-only: modules written in the text format, turned into
 * binaries by wabt's wat2wasm (a test dependency) at test time, and a
 * code cache shared by the suites of one user (it is content-addressed,
 * so every test may share it; each module compiles once).
 */
#ifndef ZVM_TESTS_WAT_H
#define ZVM_TESTS_WAT_H

#include "engine/engine.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline const char *test_cache_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/zvm-unit-cache-%u", (unsigned)getuid());
    return dir;
}

/* The binary of `wat`; the caller frees it. */
static inline uint8_t *wat_to_wasm(const char *wat, size_t *size)
{
    char dir[] = "/tmp/zvm-wat.XXXXXX", cmd[256], path[64];
    uint8_t *bytes;
    FILE *f;
    long n;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.wat", dir);
    cr_assert_not_null(f = fopen(path, "w"));
    fputs(wat, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && wat2wasm --enable-exceptions m.wat -o m.wasm", dir);
    cr_assert_eq(system(cmd), 0, "wat2wasm refused the test module");
    snprintf(path, sizeof path, "%s/m.wasm", dir);
    cr_assert_not_null(f = fopen(path, "rb"));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    cr_assert_not_null(bytes = malloc((size_t)n));
    cr_assert_eq(fread(bytes, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    *size = (size_t)n;
    return bytes;
}

/* Write `wat`'s binary to `path` (for APIs that take files). */
static inline void wat_to_file(const char *wat, const char *path)
{
    size_t n;
    uint8_t *b = wat_to_wasm(wat, &n);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
}

/* Export `name` of inst called with (a, b), as many as it takes; it must
 * not trap: its i32 result. */
static inline uint32_t wat_call(zv_eng_instance *inst, const char *name, uint32_t a, uint32_t b)
{
    zv_eng_extern ext;
    zv_eng_err err = {0};
    zv_value args[2] = {{.i32 = a}, {.i32 = b}}, res[1] = {{0}};
    uint32_t type;
    cr_assert_eq(zv_eng_instance_export(inst, name, strlen(name), &ext, &type), 0);
    cr_assert_eq(zv_eng_call(inst, ext.func, type, args, res, &err), 0, "%s: %s", name, err.msg);
    return res[0].i32;
}

/* Load `wat` through the engine (spec rules only, -O2, the shared cache). */
static inline zv_eng_module *wat_load(const char *wat)
{
    zv_eng_opts opts = {0};
    zv_eng_err err = {0};
    zv_eng_module *m = NULL;
    size_t n;
    uint8_t *b = wat_to_wasm(wat, &n);
    opts.cache_dir = test_cache_dir();
    cr_assert_eq(zv_eng_module_load(b, n, &opts, &m, NULL, &err), 0, "load: %s", err.msg);
    free(b);
    return m;
}

#endif
