/*
 * translate_module.c — WebAssembly to C, the module level: the prelude,
 * the function types and declarations, the trampolines that call a
 * function of each type with array values, the data segments and the
 * initial memory image, and the descriptor the loader binds. A module
 * becomes one C file, or several (units) that compile side by side, each
 * in bounded memory; the functions' bodies are translate.c's.
 */
#include "engine/engine.h"
#include "engine/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static void emit_types(FILE *out, const zv_val_module *m)
{
    for (uint32_t i = 0; i < m->n_types; i++) {
        const zv_val_functype *ty = &m->types[i];
        const char *ret = "void";
        char buf[32];
        if (ty->n_results > 1) {
            fprintf(out, "typedef struct {");
            for (uint32_t k = 0; k < ty->n_results; k++)
                fprintf(out, " %s r%u;", zv_eng_ctype(ty->results[k]), k);
            fprintf(out, " } zv_res%u;\n", i);
            snprintf(buf, sizeof buf, "zv_res%u", i);
            ret = buf;
        } else if (ty->n_results == 1) {
            ret = zv_eng_ctype(ty->results[0]);
        }
        fprintf(out, "typedef %s (*zv_ft%u)(zv_ctx *", ret, i);
        for (uint32_t k = 0; k < ty->n_params; k++)
            fprintf(out, ", %s", zv_eng_ctype(ty->params[k]));
        fprintf(out, ");\n");
    }
}

/* zv_trampN(ctx, fn, args, results): calls fn of type N with array values. */
static void emit_trampolines(FILE *out, const zv_val_module *m)
{
    for (uint32_t i = 0; i < m->n_types; i++) {
        const zv_val_functype *ty = &m->types[i];
        fprintf(out, "static void zv_tramp%u(zv_ctx *ctx, void *fn, const zv_value *a, "
                     "zv_value *r) {\n  (void)a; (void)r;\n  ",
                i);
        if (ty->n_results == 1)
            fprintf(out, "r[0].%s = ", zv_eng_value_field(ty->results[0]));
        else if (ty->n_results > 1)
            fprintf(out, "zv_res%u res = ", i);
        fprintf(out, "((zv_ft%u)fn)(ctx", i);
        for (uint32_t k = 0; k < ty->n_params; k++)
            fprintf(out, ", a[%u].%s", k, zv_eng_value_field(ty->params[k]));
        fprintf(out, ");\n");
        for (uint32_t k = 0; ty->n_results > 1 && k < ty->n_results; k++)
            fprintf(out, "  r[%u].%s = res.r%u;\n", k, zv_eng_value_field(ty->results[k]), k);
        fprintf(out, "}\n");
    }
}

/* Bytes as a C string literal, octal escapes (never ambiguous). */
static void emit_bytes(FILE *out, const uint8_t *b, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?')
            fputc(c, out);
        else
            fprintf(out, "\\%03o", c);
        if (i % 64 == 63)
            fputs("\"\n\"", out);
    }
    fputc('"', out);
}

static void emit_data(FILE *out, const zv_val_module *m)
{
    zv_eng_image img;
    uint8_t *buf = NULL;
    int has_image = zv_eng_image_plan(m, &img);
    /* a big image starts as many bytes into its first page as in the memory */
    uint64_t head = has_image && img.size >= ZV_IMAGE_MAP_MIN ? img.offset % ZV_IMAGE_PAGE : 0;
    has_image = has_image && (buf = calloc(1, (size_t)(head + img.size + 1)));
    for (uint32_t i = 0; i < m->n_datas; i++) {
        /* an active segment laid out in the image is dropped at
         * instantiation and never read again: its bytes would be there twice */
        if (has_image && !m->n_imported_memories && m->datas[i].mode == ZV_SEG_ACTIVE) {
            fprintf(out, "static const uint8_t zv_d%u[1];\n", i);
            continue;
        }
        fprintf(out, "static const uint8_t zv_d%u[] = ", i);
        emit_bytes(out, m->datas[i].bytes, m->datas[i].size_bytes);
        fprintf(out, ";\n");
    }
    fprintf(out, "static const uint8_t *const zv_data[] = {");
    for (uint32_t i = 0; i < m->n_datas; i++)
        fprintf(out, "zv_d%u, ", i);
    fprintf(out, "0};\n");
    if (has_image) {
        zv_eng_image_fill(m, &img, buf + head);
        if (img.size >= ZV_IMAGE_MAP_MIN) /* zeros to its last page's end */
            fprintf(out, "static _Alignas(%u) const uint8_t zv_image_pages[%llu] = ",
                    ZV_IMAGE_PAGE, (unsigned long long)zv_eng_image_span(img.offset, img.size));
        else
            fprintf(out, "static const uint8_t zv_image_pages[] = ");
        emit_bytes(out, buf, (size_t)(head + img.size));
        fprintf(out, ";\n#define zv_image (zv_image_pages + %llu)\n", (unsigned long long)head);
        free(buf);
    } else {
        fprintf(out, "static const uint8_t zv_image[1];\n");
    }
    fprintf(out, "#define ZV_HAS_IMAGE %d\n#define ZV_IMAGE_OFFSET %uu\n#define ZV_IMAGE_SIZE %uu\n",
            has_image, has_image ? img.offset : 0, has_image ? img.size : 0);
}

static void emit_desc(FILE *out, const zv_val_module *m)
{
    uint32_t n_defined = m->n_funcs - m->n_imported_funcs;
    /* only what a funcref may name and the start are entered by address
     * (exports, tables, globals, ref.func): the rest stay out, so that gcc
     * sees every caller of a static function and may inline it, drop its
     * unused arguments or clone it for constant ones */
    fprintf(out, "static void *const zv_funcs[] = {");
    for (uint32_t i = m->n_imported_funcs; i < m->n_funcs; i++)
        if (zv_eng_by_address(m, i))
            fprintf(out, "(void *)wf%u, ", i);
        else
            fprintf(out, "0, ");
    fprintf(out, "0};\nstatic const zv_trampoline zv_tramps[] = {");
    for (uint32_t i = 0; i < m->n_types; i++)
        fprintf(out, "zv_tramp%u, ", i);
    fprintf(out, "0};\n");
    fprintf(out, "__attribute__((visibility(\"default\"))) const zv_module_desc %s = {\n"
                 "  %u, %u, zv_funcs, %u, zv_tramps,\n"
                 "  ZV_HAS_IMAGE, ZV_IMAGE_OFFSET, ZV_IMAGE_SIZE, zv_image, zv_data,\n};\n",
            ZV_DESC_SYMBOL, ZV_ABI_VERSION, n_defined, m->n_types);
}

uint32_t zv_eng_translate_split(const zv_val_module *m, uint64_t unit_code, uint32_t *first)
{
    uint32_t n = 0;
    uint64_t code = 0;
    first[n++] = m->n_imported_funcs;
    for (uint32_t i = m->n_imported_funcs; i < m->n_funcs; i++) {
        uint64_t size = m->funcs[i].code_end - m->funcs[i].code_offset;
        if (code && code + size > unit_code) {
            first[n++] = i;
            code = 0;
        }
        code += size;
    }
    first[n] = m->n_funcs;
    return n;
}

int zv_eng_translate_unit(const zv_val_module *m, const zv_eng_translate_opts *opts,
                          const zv_eng_unit *u, FILE *out)
{
    zv_eng_translate_opts own = *opts;
    uint32_t *plan = NULL;
    int rc;
    if (!opts->entry_plan) { /* (a build of several units plans once: cache.c) */
        if ((rc = zv_eng_tr_entry_plan(m, &plan)))
            return rc;
        own.entry_plan = plan;
        opts = &own;
    }
    if (zv_eng_seg_on()) /* rt_ops.h: where the compiler has __seg_gs */
        fputs(opts->no_seg ? "#define ZV_SEG_HOST 1\n#define ZV_SEG_NO_GS 1\n"
                           : "#define ZV_SEG_HOST 1\n", out);
    fputs(zv_eng_prelude, out);
    fprintf(out, "\n/* module %02x%02x%02x%02x... translated by zvm */\n", m->sha256[0],
            m->sha256[1], m->sha256[2], m->sha256[3]);
    /* alone, functions are static (gcc sees every caller); split, those
     * that another unit names are shared between the units but not
     * exported from the object, and the others are static */
    fprintf(out, "#define ZV_FN %s\n", u->split ? "__attribute__((visibility(\"hidden\")))"
                                                 : "static");
    emit_types(out, m);
    for (uint32_t i = m->n_imported_funcs; i < m->n_funcs; i++) {
        if (opts->shared && !opts->shared[i - m->n_imported_funcs] && (i < u->from || i >= u->to))
            continue; /* another unit's own */
        zv_eng_emit_signature(out, m, opts, i);
        fprintf(out, ";\n");
    }
    rc = zv_eng_translate_funcs(m, opts, u->from, u->to, out);
    if (rc == 0 && u->last) {
        emit_trampolines(out, m);
        emit_data(out, m);
        emit_desc(out, m);
    }
    if (rc == 0 && ferror(out))
        rc = -EIO;
    free(plan);
    return rc;
}

int zv_eng_translate(const zv_val_module *m, const zv_eng_translate_opts *opts, FILE *out)
{
    zv_eng_unit all = {m->n_imported_funcs, m->n_funcs, 0, 1};
    return zv_eng_translate_unit(m, opts, &all, out);
}
