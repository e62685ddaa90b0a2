/*
 * instance.c — instantiation (Wasm core §4.5.4): resolve and check the
 * imports, allocate memory, tables and globals, apply element and data
 * segments in order, run the start function.
 *
 * Functions are referenced through zv_func objects {code, type id, owning
 * context}, so a reference keeps working when it travels to another
 * instance's table. Imported host functions get a zv_func whose context
 * is the importing instance, which is how WASI reaches the caller's
 * memory. Active segments use the compile-time memory image when the
 * memory is the instance's own.
 */
#include "engine/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The instance's budget (zv_eng_limits.budget_bytes) covers its own
 * memory's pages, its own tables' slots (8 bytes each) and the files the
 * host keeps for it in memory: would `more` bytes go over it? */
static int over_budget(const zv_eng_instance *inst, uint64_t more)
{
    uint64_t mem = inst->own_memory ? inst->own_memory->size_bytes : 0;
    uint64_t files = inst->file_bytes ? *inst->file_bytes : 0;
    return inst->budget_bytes && mem + inst->table_bytes + files + more > inst->budget_bytes;
}

static int own_table(const zv_eng_instance *inst, const zv_table *t)
{
    const zv_val_module *info = inst->mod->info;
    return inst->own_tables && t >= inst->own_tables &&
           t < inst->own_tables + (info->n_tables - info->n_imported_tables);
}

static uint32_t host_memory_grow(zv_ctx *ctx, uint32_t delta)
{
    zv_eng_instance *inst = ctx->engine;
    if (ctx->memory == inst->own_memory && over_budget(inst, (uint64_t)delta * 65536))
        return UINT32_MAX;
    return zv_eng_memory_grow(ctx->memory, delta);
}

static uint32_t host_table_grow(zv_ctx *ctx, zv_table *t, void *init, uint32_t delta)
{
    zv_eng_instance *inst = ctx->engine;
    uint64_t old = t->size, want = old + delta;
    int own = own_table(inst, t);
    void **elems;
    if (want > t->max || want > ZV_VAL_MAX_TABLE_ELEMS ||
        (own && over_budget(inst, (uint64_t)delta * sizeof(void *))))
        return UINT32_MAX;
    if (delta == 0)
        return (uint32_t)old;
    if (!(elems = realloc(t->elems, (size_t)want * sizeof *elems)))
        return UINT32_MAX;
    for (uint64_t i = old; i < want; i++)
        elems[i] = init;
    t->elems = elems;
    t->size = (uint32_t)want;
    if (own)
        inst->table_bytes += (uint64_t)delta * sizeof(void *);
    return (uint32_t)old;
}

__attribute__((noreturn)) static void host_trap(zv_ctx *ctx, int cause)
{
    (void)ctx;
    zv_eng_trap(cause, 0);
}

const zv_host zv_eng_host = {host_trap,         host_memory_grow,  host_table_grow,
                              zv_eng_eh_enter,   zv_eng_eh_throw,   zv_eng_eh_rethrow,
                              zv_eng_eh_delegate};

static int link_error(zv_eng_err *err, const zv_val_import *im, const char *why)
{
    snprintf(err->msg, sizeof err->msg, "import \"%.*s\".\"%.*s\": %s", (int)im->module_len,
             im->module, (int)im->name_len, im->name, why);
    return -ENOLINK;
}

/* "ii:i" -> canonical id. */
static uint32_t sig_id(const char *sig)
{
    static const char letters[] = "iIfFVre";
    static const uint8_t types[] = {ZV_I32, ZV_I64, ZV_F32,     ZV_F64,
                                    ZV_V128, ZV_FUNCREF, ZV_EXTERNREF};
    uint8_t p[32], r[32];
    uint32_t np = 0, nr = 0;
    int results = 0;
    for (const char *c = sig; *c; c++) {
        const char *k = strchr(letters, *c);
        if (*c == ':') {
            results = 1;
        } else if (k && (results ? nr : np) < 32) {
            if (results)
                r[nr++] = types[k - letters];
            else
                p[np++] = types[k - letters];
        }
    }
    return zv_eng_type_id(p, np, r, nr);
}

static int limits_match(uint32_t size, uint32_t max, int has_max, const zv_val_limits *want)
{
    if (size < want->min)
        return 0;
    return !want->has_max || (has_max && max <= want->max);
}

static int link_import(zv_eng_instance *inst, const zv_val_import *im, const zv_eng_extern *ext,
                       zv_eng_err *err)
{
    const zv_val_module *info = inst->mod->info;
    zv_ctx *ctx = &inst->ctx;
    if (ext->kind != im->kind)
        return link_error(err, im, "incompatible import type (wrong kind)");
    switch (im->kind) {
    case ZV_EXT_FUNC: {
        uint32_t want = inst->mod->type_ids[info->funcs[im->index].type_idx];
        if (ext->host_fn) {
            zv_func *f = &inst->own_funcs[im->index];
            if (sig_id(ext->host_sig) != want)
                return link_error(err, im, "incompatible import type (function signature)");
            f->fn = ext->host_fn;
            f->type_id = want;
            f->ctx = ctx;
            ctx->funcs[im->index] = f;
        } else {
            if (ext->func->type_id != want)
                return link_error(err, im, "incompatible import type (function signature)");
            ctx->funcs[im->index] = ext->func;
        }
        return 0;
    }
    case ZV_EXT_TABLE: {
        const zv_val_table *want = &info->tables[im->index];
        if (ext->table->elem_type != want->elem_type ||
            !limits_match(ext->table->size, ext->table->max, ext->table->max != UINT32_MAX,
                          &want->limits))
            return link_error(err, im, "incompatible import type (table)");
        ctx->tables[im->index] = ext->table;
        return 0;
    }
    case ZV_EXT_MEMORY:
        if (!limits_match(ext->memory->pages, ext->memory->max_pages, (int)ext->memory->has_max,
                          &info->memories[0]))
            return link_error(err, im, "incompatible import type (memory)");
        ctx->memory = ext->memory;
        ctx->mem = ext->memory->base;
        return 0;
    case ZV_EXT_TAG:
        if (!ext->tag || ext->tag->type_id != inst->mod->type_ids[info->tags[im->index].type_idx])
            return link_error(err, im, "incompatible import type (tag)");
        ctx->tags[im->index] = ext->tag;
        return 0;
    default: {
        const zv_val_globaltype *want = &info->globals[im->index].type;
        if (ext->global_type != want->type || ext->global_mutable != want->mutable_)
            return link_error(err, im, "incompatible import type (global)");
        ctx->global_ptrs[im->index] = ext->global;
        return 0;
    }
    }
}

static int alloc_arrays(zv_eng_instance *inst)
{
    const zv_val_module *info = inst->mod->info;
    zv_ctx *ctx = &inst->ctx;
    uint32_t n_def_globals = info->n_globals - info->n_imported_globals;
    uint32_t n_def_tables = info->n_tables - info->n_imported_tables;
    ctx->funcs = calloc(info->n_funcs + 1, sizeof *ctx->funcs);
    inst->own_funcs = calloc(info->n_funcs + 1, sizeof *inst->own_funcs);
    ctx->global_ptrs = calloc(info->n_globals + 1, sizeof *ctx->global_ptrs);
    inst->globals = calloc(n_def_globals + 1, sizeof *inst->globals);
    ctx->tables = calloc(info->n_tables + 1, sizeof *ctx->tables);
    inst->own_tables = zv_eng_has_table0(info) ? &ctx->table0
                                               : calloc(n_def_tables + 1, sizeof *inst->own_tables);
    ctx->data_sizes = calloc(info->n_datas + 1, sizeof *ctx->data_sizes);
    ctx->elem_sizes = calloc(info->n_elems + 1, sizeof *ctx->elem_sizes);
    ctx->elem_items = calloc(info->n_elems + 1, sizeof *ctx->elem_items);
    ctx->tags = calloc(info->n_tags + 1, sizeof *ctx->tags);
    inst->own_tags = calloc(info->n_tags - info->n_imported_tags + 1, sizeof *inst->own_tags);
    if (!ctx->funcs || !inst->own_funcs || !ctx->global_ptrs || !inst->globals || !ctx->tables ||
        !inst->own_tables || !ctx->data_sizes || !ctx->elem_sizes || !ctx->elem_items ||
        !ctx->tags || !inst->own_tags)
        return -ENOMEM;
    ctx->globals = inst->globals;
    return 0;
}

static zv_value eval_const(const zv_ctx *ctx, const zv_val_const *c)
{
    zv_value v;
    memset(&v, 0, sizeof v);
    switch (c->kind) {
    case ZV_CONST_I32: v.i32 = (uint32_t)c->bits; break;
    case ZV_CONST_I64: v.i64 = c->bits; break;
    case ZV_CONST_F32: { uint32_t b = (uint32_t)c->bits; memcpy(&v.f32, &b, 4); break; }
    case ZV_CONST_F64: memcpy(&v.f64, &c->bits, 8); break;
    case ZV_CONST_V128: memcpy(&v.v128, c->v128, 16); break;
    case ZV_CONST_REF_NULL: v.ref = NULL; break;
    case ZV_CONST_REF_FUNC: v.ref = ctx->funcs[c->idx]; break;
    default: v = *ctx->global_ptrs[c->idx]; break;
    }
    return v;
}

static void initial_globals(zv_eng_instance *inst)
{
    const zv_val_module *info = inst->mod->info;
    for (uint32_t i = info->n_imported_globals; i < info->n_globals; i++)
        inst->globals[i - info->n_imported_globals] = eval_const(&inst->ctx, &info->globals[i].init);
}

static void initial_segments(zv_eng_instance *inst)
{
    const zv_val_module *info = inst->mod->info;
    for (uint32_t s = 0; s < info->n_elems; s++)
        inst->ctx.elem_sizes[s] = info->elems[s].n_items;
    for (uint32_t d = 0; d < info->n_datas; d++)
        inst->ctx.data_sizes[d] = info->datas[d].size_bytes;
}

static int define(zv_eng_instance *inst)
{
    const zv_val_module *info = inst->mod->info;
    zv_ctx *ctx = &inst->ctx;
    int rc;
    for (uint32_t i = info->n_imported_funcs; i < info->n_funcs; i++) {
        zv_func *f = &inst->own_funcs[i];
        f->fn = inst->mod->desc->funcs[i - info->n_imported_funcs];
        f->type_id = inst->mod->type_ids[info->funcs[i].type_idx];
        f->ctx = ctx;
        ctx->funcs[i] = f;
    }
    for (uint32_t i = info->n_imported_tags; i < info->n_tags; i++) {
        zv_tag *t = &inst->own_tags[i - info->n_imported_tags];
        t->type_id = inst->mod->type_ids[info->tags[i].type_idx];
        ctx->tags[i] = t; /* a fresh tag per instance: its address is its identity */
    }
    for (uint32_t i = info->n_imported_tables; i < info->n_tables; i++) {
        zv_table *t = &inst->own_tables[i - info->n_imported_tables];
        const zv_val_table *d = &info->tables[i];
        if (d->limits.min > ZV_VAL_MAX_TABLE_ELEMS)
            return -ENOMEM;
        if (!(t->elems = calloc(d->limits.min + 1, sizeof *t->elems)))
            return -ENOMEM;
        t->size = d->limits.min;
        t->max = d->limits.has_max ? d->limits.max : UINT32_MAX;
        t->elem_type = d->elem_type;
        ctx->tables[i] = t;
        inst->table_bytes += (uint64_t)d->limits.min * sizeof(void *);
    }
    if (over_budget(inst, info->n_memories && !info->n_imported_memories
                              ? (uint64_t)info->memories[0].min * 65536 : 0))
        return -E2BIG;
    if (info->n_memories && !info->n_imported_memories) {
        const zv_val_limits *l = &info->memories[0];
        uint32_t max = l->has_max && l->max < inst->max_pages ? l->max : inst->max_pages;
        if (l->min > max)
            return -E2BIG;
        if ((rc = zv_eng_memory_new(l->min, max, 1, &inst->own_memory)))
            return rc;
        inst->own_memory->has_max = (uint32_t)l->has_max;
        ctx->memory = inst->own_memory;
        ctx->mem = inst->own_memory->base;
    }
    for (uint32_t i = info->n_imported_globals; i < info->n_globals; i++)
        ctx->global_ptrs[i] = &inst->globals[i - info->n_imported_globals];
    initial_globals(inst);
    for (uint32_t s = 0; s < info->n_elems; s++) {
        const zv_val_elem *e = &info->elems[s];
        void **items = calloc(e->n_items + 1, sizeof *items);
        if (!items)
            return -ENOMEM;
        for (uint32_t k = 0; k < e->n_items; k++)
            items[k] = eval_const(ctx, &e->items[k]).ref;
        ((void ***)ctx->elem_items)[s] = items;
    }
    ctx->data_bytes = inst->mod->desc->data;
    initial_segments(inst);
    return 0;
}

static int init_trap(zv_eng_err *err, int cause)
{
    err->trap = cause;
    snprintf(err->msg, sizeof err->msg, "%s", zv_eng_trap_name(cause));
    return -EFAULT;
}

/* The image's pages mapped from the entry into the new memory: 1, or 0
 * (then copied). */
static int map_image(zv_eng_instance *inst)
{
    const zv_eng_module *m = inst->mod;
    return m->image_fd >= 0 && zv_eng_memory_map_file(inst->own_memory, m->image_at, m->image_len,
                                                       m->image_fd, m->image_off) == 0;
}

/* Element then data segments, in order, each checked before it is written
 * (§4.5.4 steps 14-15: earlier writes stay when a later one traps). fresh:
 * a new memory, no page present yet: a big image mapped from the entry
 * (map_image: the pages the instance touches are faulted in, the ones it
 * writes copied), else copied into pages faulted in at once. */
static int apply_segments(zv_eng_instance *inst, zv_eng_err *err, int fresh)
{
    const zv_val_module *info = inst->mod->info;
    const zv_module_desc *desc = inst->mod->desc;
    zv_ctx *ctx = &inst->ctx;
    for (uint32_t s = 0; s < info->n_elems; s++) {
        const zv_val_elem *e = &info->elems[s];
        if (e->mode == ZV_SEG_ACTIVE) {
            zv_table *t = ctx->tables[e->table];
            uint64_t at = eval_const(ctx, &e->offset).i32;
            if (at + e->n_items > t->size)
                return init_trap(err, ZV_TRAP_TABLE_OOB);
            memcpy(t->elems + at, ctx->elem_items[s], (size_t)e->n_items * sizeof(void *));
        }
        if (e->mode != ZV_SEG_PASSIVE)
            ctx->elem_sizes[s] = 0;
    }
    if (inst->own_memory && desc->has_image) {
        if (!fresh || !map_image(inst)) {
            if (fresh)
                zv_eng_prefault(ctx->mem + desc->image_offset, desc->image_size);
            memcpy(ctx->mem + desc->image_offset, desc->image, desc->image_size);
        }
        for (uint32_t d = 0; d < info->n_datas; d++)
            if (info->datas[d].mode == ZV_SEG_ACTIVE)
                ctx->data_sizes[d] = 0;
        return 0;
    }
    for (uint32_t d = 0; d < info->n_datas; d++) {
        const zv_val_data *seg = &info->datas[d];
        uint64_t at;
        if (seg->mode != ZV_SEG_ACTIVE)
            continue;
        at = eval_const(ctx, &seg->offset).i32;
        if (at + seg->size_bytes > ctx->memory->size_bytes)
            return init_trap(err, ZV_TRAP_MEMORY_OOB);
        memcpy(ctx->mem + at, desc->data[d], seg->size_bytes);
        ctx->data_sizes[d] = 0;
    }
    return 0;
}

int zv_eng_instance_new(zv_eng_module *m, const zv_eng_limits *limits, zv_eng_resolver resolve,
                        void *arg, void *user, zv_eng_instance **out, zv_eng_err *err)
{
    const zv_val_module *info = m->info;
    zv_eng_instance *inst = calloc(1, sizeof *inst);
    int rc;
    *out = NULL;
    if (!inst)
        return -ENOMEM;
    inst->mod = m;
    inst->user = user;
    inst->max_pages = limits && limits->max_memory_pages ? limits->max_memory_pages : 65536;
    inst->budget_bytes = limits ? limits->budget_bytes : 0;
    inst->ctx.engine = inst;
    inst->ctx.host = &zv_eng_host;
    inst->ctx.type_ids = m->type_ids;
    if ((rc = alloc_arrays(inst)))
        goto fail;
    for (uint32_t i = 0; i < info->n_imports; i++) {
        const zv_val_import *im = &info->imports[i];
        zv_eng_extern ext;
        memset(&ext, 0, sizeof ext);
        if (!resolve || resolve(arg, im, &ext) < 0) {
            rc = link_error(err, im, "unknown import");
            goto fail;
        }
        if ((rc = link_import(inst, im, &ext, err)))
            goto fail;
    }
    if (m->forks && info->n_memories && !info->n_imported_memories &&
        !(inst->ctx.dirty = inst->dirty =
              calloc((size_t)inst->max_pages * ZV_DIRTY_PER_PAGE + 1, 1))) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = define(inst)))
        goto trapped;
    if ((rc = apply_segments(inst, err, 1)))
        goto trapped;
    if (info->start >= 0) {
        zv_func *f = inst->ctx.funcs[info->start];
        rc = zv_eng_call(inst, f, info->funcs[info->start].type_idx, NULL, NULL, err);
    }
trapped:
    if (rc == -EFAULT) {
        *out = inst; /* its functions may already sit in imported tables */
        return rc;
    }
    if (rc)
        goto fail;
    *out = inst;
    return 0;
fail:
    if (rc == -ENOMEM)
        snprintf(err->msg, sizeof err->msg, "out of memory or address space (an instance "
                 "reserves an 8 GiB memory slot: is `ulimit -v` set?)");
    if (rc == -E2BIG)
        snprintf(err->msg, sizeof err->msg, "the module's initial memory (%u pages) and tables "
                 "(%llu bytes) exceed the memory limit", info->n_memories ? info->memories[0].min : 0,
                 (unsigned long long)inst->table_bytes);
    zv_eng_instance_free(inst);
    return rc;
}

/* Back to the state right after instantiation, in the same memory slot and
 * with no allocation: memory cleared (see zv_eng_memory_reset) and the
 * image copied again, own tables shrunk and cleared, globals and segment
 * states re-initialised, segments re-applied, the start function run.
 * Only for instances that own their memory and tables (no imports of
 * those), which is every WASI program. */
int zv_eng_instance_reset(zv_eng_instance *inst, int how, zv_eng_err *err)
{
    const zv_val_module *info = inst->mod->info;
    zv_ctx *ctx = &inst->ctx;
    int rc;
    ctx->interrupt = 0;
    if (info->n_imported_memories || info->n_imported_tables)
        return -ENOTSUP;
    if (how == ZV_ENG_RESET_AUTO && info->n_memories)
        how = (uint64_t)info->memories[0].min * 65536 <= ZV_ENG_RESET_MEMSET_MAX
                  ? ZV_ENG_RESET_MEMSET
                  : ZV_ENG_RESET_MADVISE;
    if (inst->own_memory &&
        (rc = zv_eng_memory_reset(inst->own_memory, info->memories[0].min, how)))
        return rc;
    if (inst->own_memory) /* it may have moved to another window (memory.c) */
        ctx->mem = inst->own_memory->base;
    inst->table_bytes = 0;
    for (uint32_t i = 0; i < info->n_tables; i++) {
        zv_table *t = &inst->own_tables[i];
        t->size = info->tables[i].limits.min;
        memset(t->elems, 0, (size_t)t->size * sizeof *t->elems);
        inst->table_bytes += (uint64_t)t->size * sizeof(void *);
    }
    initial_globals(inst);
    initial_segments(inst);
    if ((rc = apply_segments(inst, err, 0)))
        return rc;
    if (info->start >= 0)
        return zv_eng_call(inst, ctx->funcs[info->start], info->funcs[info->start].type_idx, NULL,
                           NULL, err);
    return 0;
}

void zv_eng_instance_free(zv_eng_instance *inst)
{
    const zv_val_module *info;
    if (!inst)
        return;
    info = inst->mod->info;
    for (uint32_t i = 0; inst->own_tables && i < info->n_tables - info->n_imported_tables; i++)
        free(inst->own_tables[i].elems);
    for (uint32_t s = 0; inst->ctx.elem_items && s < info->n_elems; s++)
        free(inst->ctx.elem_items[s]);
    zv_eng_memory_free(inst->own_memory);
    zv_eng_fiber_free(inst->fiber);
    free(inst->dirty);
    free(inst->ctx.funcs);
    free(inst->own_funcs);
    free(inst->ctx.global_ptrs);
    free(inst->globals);
    free(inst->ctx.tables);
    if (inst->own_tables != &inst->ctx.table0)
        free(inst->own_tables);
    free(inst->ctx.data_sizes);
    free(inst->ctx.elem_sizes);
    free((void *)inst->ctx.elem_items);
    free(inst->ctx.tags);
    free(inst->own_tags);
    free(inst);
}

const zv_val_module *zv_eng_instance_info(const zv_eng_instance *inst) { return inst->mod->info; }

/* Function references (tables, exports, other instances) point at the
 * zv_func objects, which stay: only their code changes, with the data
 * segments' bytes. Both builds come from the same validated bytes, so
 * types, segments and the memory image agree. */
int zv_eng_instance_retier(zv_eng_instance *inst, zv_eng_module *to)
{
    const zv_val_module *info = inst->mod->info;
    if (memcmp(info->sha256, to->info->sha256, sizeof info->sha256) || zv_eng_fiber_paused(inst))
        return -EINVAL;
    for (uint32_t i = info->n_imported_funcs; i < info->n_funcs; i++)
        inst->own_funcs[i].fn = to->desc->funcs[i - info->n_imported_funcs];
    inst->ctx.data_bytes = to->desc->data;
    inst->mod = to;
    return 0;
}
void *zv_eng_instance_user(zv_eng_instance *inst) { return inst->user; }
void *zv_eng_caller_user(zv_ctx *caller) { return ((zv_eng_instance *)caller->engine)->user; }

void zv_eng_instance_release(zv_eng_instance *inst)
{
    zv_memory *mem = inst->own_memory;
    /* the contents are dropped: the caller resets before the next run */
    if (mem)
        zv_eng_memory_drop(mem);
}

int zv_eng_instance_memory(const zv_eng_instance *inst, const uint8_t **bytes, uint64_t *size)
{
    if (!inst->ctx.memory)
        return -ENOENT;
    *bytes = inst->ctx.mem;
    *size = inst->ctx.memory->size_bytes;
    return 0;
}

int zv_eng_instance_reservation(const zv_eng_instance *inst, void **base, size_t *size)
{
    if (!inst->own_memory)
        return -ENOENT;
    *base = inst->own_memory->base;
    *size = ZV_ENG_SLOT_BYTES;
    return 0;
}

int zv_eng_table_new(uint8_t elem_type, uint32_t min, uint32_t max, zv_table **out)
{
    zv_table *t = calloc(1, sizeof *t);
    if (!t || min > ZV_VAL_MAX_TABLE_ELEMS || !(t->elems = calloc((size_t)min + 1, sizeof *t->elems))) {
        free(t);
        return -ENOMEM;
    }
    t->size = min;
    t->max = max;
    t->elem_type = elem_type;
    *out = t;
    return 0;
}

void zv_eng_table_free(zv_table *t)
{
    if (t)
        free(t->elems);
    free(t);
}

int zv_eng_instance_export(zv_eng_instance *inst, const char *name, size_t len,
                           zv_eng_extern *out, uint32_t *type_idx)
{
    const zv_val_module *info = inst->mod->info;
    for (uint32_t i = 0; i < info->n_exports; i++) {
        const zv_val_export *e = &info->exports[i];
        if (e->name_len != len || memcmp(e->name, name, len))
            continue;
        memset(out, 0, sizeof *out);
        out->kind = e->kind;
        switch (e->kind) {
        case ZV_EXT_FUNC:
            out->func = inst->ctx.funcs[e->index];
            if (type_idx)
                *type_idx = info->funcs[e->index].type_idx;
            break;
        case ZV_EXT_TABLE: out->table = inst->ctx.tables[e->index]; break;
        case ZV_EXT_MEMORY: out->memory = inst->ctx.memory; break;
        case ZV_EXT_TAG: out->tag = inst->ctx.tags[e->index]; break;
        default:
            out->global = inst->ctx.global_ptrs[e->index];
            out->global_type = info->globals[e->index].type.type;
            out->global_mutable = info->globals[e->index].type.mutable_;
            break;
        }
        return 0;
    }
    return -ENOENT;
}
