/*
 * libc_refs_tool.c — a build step, not part of zvm: writes the table of
 * libc_bind.h (libc_refs.c) from REF.wasm, a module that exports the
 * build host's wasi-libc routines under their names (built by CMake from
 * wasi-libc's libc.a, the archive guests link). A routine REF.wasm does
 * not export is left out of the table, said on stderr.
 *
 *   zvm_libc_refs REF.wasm OUT.c
 */
#include "engine/libc_bind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The table this tool writes; it has none yet. */
const zv_eng_libc_ref zv_eng_libc_refs[1];
const unsigned zv_eng_libc_n_refs = 0;

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    long len;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)len)) && fread(b, 1, (size_t)len, f) == (size_t)len)
        *n = (size_t)len;
    else {
        free(b);
        b = NULL;
    }
    if (f)
        fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    size_t n = 0;
    uint8_t *bytes, h[32];
    zv_val_module *m;
    zv_val_err err;
    FILE *out;
    if (argc != 3) {
        fprintf(stderr, "usage: zvm_libc_refs REF.wasm OUT.c\n");
        return 2;
    }
    if (!(bytes = read_all(argv[1], &n))) {
        fprintf(stderr, "zvm_libc_refs: cannot read %s\n", argv[1]);
        return 1;
    }
    if (zv_val_module_new(bytes, n, &m, &err)) {
        fprintf(stderr, "zvm_libc_refs: %s: offset %zu: %s\n", argv[1], err.offset, err.msg);
        return 1;
    }
    if (!(out = fopen(argv[2], "w"))) {
        fprintf(stderr, "zvm_libc_refs: cannot write %s\n", argv[2]);
        return 1;
    }
    fprintf(out, "/* Written by zvm_libc_refs from %s: do not edit. */\n"
                 "#include \"engine/libc_bind.h\"\n\n"
                 "const zv_eng_libc_ref zv_eng_libc_refs[] = {\n", argv[1]);
    unsigned found = 0;
    for (int k = 1; k < ZV_LIBC_COUNT; k++) {
        const char *name = zv_eng_libc_names[k];
        uint32_t i;
        for (i = 0; i < m->n_exports; i++)
            if (m->exports[i].kind == ZV_EXT_FUNC && m->exports[i].name_len == strlen(name) &&
                !memcmp(m->exports[i].name, name, m->exports[i].name_len))
                break;
        if (i == m->n_exports || zv_eng_libc_hash(m, m->exports[i].index, h)) {
            fprintf(stderr, "zvm_libc_refs: %s: no %s that can be bound: calls to it stay wasm\n",
                    argv[1], name);
            continue;
        }
        fprintf(out, "    {%d, {", k);
        for (int b = 0; b < 32; b++)
            fprintf(out, "%s0x%02x", b ? ", " : "", h[b]);
        fprintf(out, "}}, /* %s */\n", name);
        found++;
    }
    fprintf(out, "%s};\nconst unsigned zv_eng_libc_n_refs = %u;\n", found ? "" : "    {0, {0}},\n",
            found);
    zv_val_module_free(m);
    free(bytes);
    return fclose(out) ? 1 : 0;
}
