/*
 * module.c — the module: header, sections in order, and the module-level
 * rules (Wasm core §5.5 binary format, §3.4 module validation), with the
 * exception handling proposal's tags (their section, imports, exports).
 *
 * Sections are decoded and validated in one pass, in their binary order.
 * That order already puts every declaration before its use (types before
 * functions, elements before code, data count before code), so each check
 * runs as soon as its section is read, and function bodies are type-checked
 * as the code section streams by. Every count is checked against the bytes
 * left before anything is allocated for it.
 */
#include "module_private.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PAGES 65536u /* 4 GiB of 64 KiB pages (§2.5.10) */

/* Implementation limit on the parameters and on the results of a function
 * type (V8 and wasmparser use the same 1000; the spec allows such limits,
 * Wasm core §A.1). The checker's work per block, call and br_table target
 * grows with the arity, so without a bound a 600 KB module of 300000-value
 * types kept it busy for minutes. */
#define ZV_VAL_MAX_ARITY 1000u


static int grow_array(void **arr, uint32_t old_n, uint64_t new_n, size_t elem)
{
    void *p;
    if (new_n > UINT32_MAX)
        return -ENOMEM;
    p = zv_val_realloc(*arr, (size_t)new_n, elem);
    if (!p)
        return -ENOMEM;
    memset((char *)p + old_n * elem, 0, (size_t)(new_n - old_n) * elem);
    *arr = p;
    return 0;
}

static int read_limits(zv_modrd *x, zv_val_limits *l, int is_memory)
{
    const uint8_t *at = x->rd.p;
    uint8_t flags;
    int rc;
    if ((rc = zv_rd_byte(RD, &flags)))
        return rc;
    if (is_memory && (flags == 2 || flags == 3))
        return ZV_MALFORMED(RD, at, "shared memory: the threads proposal is not supported");
    if (is_memory && flags >= 4 && flags <= 7)
        return ZV_MALFORMED(RD, at, "64-bit memory: the memory64 proposal is not supported");
    if (flags > 1)
        return ZV_MALFORMED(RD, at, "integer too large: malformed limits flags 0x%02x", flags);
    if ((rc = zv_rd_u32(RD, &l->min)))
        return rc;
    l->has_max = flags;
    l->max = UINT32_MAX;
    if (flags && (rc = zv_rd_u32(RD, &l->max)))
        return rc;
    if (is_memory && l->min > MAX_PAGES)
        return ZV_INVALID(RD, at, "memory size must be at most 65536 pages (4GiB)");
    if (is_memory && l->has_max && l->max > MAX_PAGES)
        return ZV_INVALID(RD, at, "memory size must be at most 65536 pages (4GiB)");
    if (l->has_max && l->min > l->max)
        return ZV_INVALID(RD, at, "size minimum must not be greater than maximum");
    return 0;
}

static int read_table_type(zv_modrd *x, zv_val_table *t)
{
    int rc = zv_rd_reftype(RD, &t->elem_type);
    if (rc)
        return rc;
    return read_limits(x, &t->limits, 0);
}

static int read_global_type(zv_modrd *x, zv_val_globaltype *g)
{
    const uint8_t *at;
    uint8_t mut;
    int rc;
    if ((rc = zv_rd_valtype(RD, &g->type)))
        return rc;
    at = x->rd.p;
    if ((rc = zv_rd_byte(RD, &mut)))
        return rc;
    if (mut > 1)
        return ZV_MALFORMED(RD, at, "malformed mutability 0x%02x", mut);
    g->mutable_ = mut;
    return 0;
}

/* A tag's type (exception handling proposal): the attribute byte, 0 for
 * an exception (the only kind there is), then a function type with no
 * results, whose parameters are the values the exception carries. */
static int read_tag_type(zv_modrd *x, uint32_t *type_idx)
{
    const zv_val_module *m = x->m;
    const uint8_t *at = x->rd.p;
    uint8_t attribute;
    int rc;
    if ((rc = zv_rd_byte(RD, &attribute)))
        return rc;
    if (attribute != 0)
        return ZV_MALFORMED(RD, at, "malformed tag attribute 0x%02x", attribute);
    at = x->rd.p;
    if ((rc = zv_rd_u32(RD, type_idx)))
        return rc;
    if (*type_idx >= m->n_types)
        return ZV_INVALID(RD, at, "unknown type %u", *type_idx);
    if (m->types[*type_idx].n_results)
        return ZV_INVALID(RD, at, "non-empty tag result type: type %u has results", *type_idx);
    return 0;
}

static int add_memory(zv_modrd *x, const uint8_t *at, zv_val_limits *out)
{
    zv_val_module *m = x->m;
    int rc;
    if (m->n_memories >= 1)
        return ZV_INVALID(RD, at, "multiple memories: the multi-memory proposal is not supported");
    if ((rc = grow_array((void **)&m->memories, 0, 1, sizeof *m->memories)))
        return rc;
    m->memories[0] = *out;
    m->n_memories = 1;
    return 0;
}

/* A constant expression of type `want` (§3.3.10): one constant instruction
 * then `end`. global.get may only read imported immutable globals. */
int zv_val_read_const(zv_modrd *x, uint8_t want, zv_val_const *out)
{
    zv_val_module *m = x->m;
    const uint8_t *at = x->rd.p;
    int n_values = 0, rc;
    zv_val_op op;
    uint8_t type = 0;

    for (;;) {
        const uint8_t *op_at = x->rd.p;
        if ((rc = zv_val_op_next(x->rd.base, &x->rd.p, x->rd.end, &op, x->rd.err)))
            return rc;
        if (op.op == ZV_OP_end)
            break;
        n_values++;
        switch (op.op) {
        case ZV_OP_i32_const:
            out->kind = ZV_CONST_I32, type = ZV_I32, out->bits = (uint32_t)op.i64;
            break;
        case ZV_OP_i64_const:
            out->kind = ZV_CONST_I64, type = ZV_I64, out->bits = (uint64_t)op.i64;
            break;
        case ZV_OP_f32_const:
            out->kind = ZV_CONST_F32, type = ZV_F32, out->bits = op.bits32;
            break;
        case ZV_OP_f64_const:
            out->kind = ZV_CONST_F64, type = ZV_F64, out->bits = op.bits64;
            break;
        case ZV_OP_v128_const:
            out->kind = ZV_CONST_V128, type = ZV_V128;
            memcpy(out->v128, op.v128, 16);
            break;
        case ZV_OP_ref_null:
            out->kind = ZV_CONST_REF_NULL, type = (uint8_t)op.idx;
            break;
        case ZV_OP_ref_func:
            if (op.idx >= m->n_funcs)
                return ZV_INVALID(RD, op_at, "unknown function %u", op.idx);
            out->kind = ZV_CONST_REF_FUNC, type = ZV_FUNCREF, out->idx = op.idx;
            x->refs[op.idx] = 1;
            break;
        case ZV_OP_global_get:
            if (op.idx >= m->n_imported_globals)
                return ZV_INVALID(RD, op_at, "unknown global %u: a constant expression may "
                                             "only read imported globals", op.idx);
            if (m->globals[op.idx].type.mutable_)
                return ZV_INVALID(RD, op_at, "constant expression required: global %u is "
                                             "mutable", op.idx);
            out->kind = ZV_CONST_GLOBAL_GET, type = m->globals[op.idx].type.type;
            out->idx = op.idx;
            break;
        default:
            return ZV_INVALID(RD, op_at, "constant expression required, found %s",
                              zv_val_op_name(op.op));
        }
    }
    if (n_values != 1 || type != want)
        return ZV_INVALID(RD, at, "type mismatch in constant expression: expected one %s",
                          zv_val_type_name(want));
    out->type = type;
    return 0;
}

static int sec_type(zv_modrd *x)
{
    zv_val_module *m = x->m;
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 3, &n)))
        return rc;
    if (!(m->types = zv_val_calloc(n, sizeof *m->types)))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        zv_val_functype *t = &m->types[i];
        const uint8_t *at = x->rd.p;
        uint8_t form, vt;
        if ((rc = zv_rd_byte(RD, &form)))
            return rc;
        if (form != 0x60)
            return ZV_MALFORMED(RD, at, "malformed type form 0x%02x%s", form,
                                form == 0x5f || form == 0x5e || form == 0x4e || form == 0x50
                                    ? ": the garbage collection proposal is not supported"
                                    : "");
        /* The value types are single bytes: point straight into the module. */
        at = x->rd.p;
        if ((rc = zv_rd_count(RD, 1, &t->n_params)))
            return rc;
        if (t->n_params > ZV_VAL_MAX_ARITY)
            return ZV_INVALID(RD, at, "too many parameters: %u (the limit is %u)", t->n_params,
                              ZV_VAL_MAX_ARITY);
        t->params = x->rd.p;
        for (uint32_t k = 0; k < t->n_params; k++)
            if ((rc = zv_rd_valtype(RD, &vt)))
                return rc;
        at = x->rd.p;
        if ((rc = zv_rd_count(RD, 1, &t->n_results)))
            return rc;
        if (t->n_results > ZV_VAL_MAX_ARITY)
            return ZV_INVALID(RD, at, "too many results: %u (the limit is %u)", t->n_results,
                              ZV_VAL_MAX_ARITY);
        t->results = x->rd.p;
        for (uint32_t k = 0; k < t->n_results; k++)
            if ((rc = zv_rd_valtype(RD, &vt)))
                return rc;
        m->n_types++;
    }
    return 0;
}

static int import_one(zv_modrd *x, zv_val_import *im)
{
    zv_val_module *m = x->m;
    const uint8_t *at;
    int rc;
    if ((rc = zv_rd_name(RD, &im->module, &im->module_len)) ||
        (rc = zv_rd_name(RD, &im->name, &im->name_len)))
        return rc;
    at = x->rd.p;
    if ((rc = zv_rd_byte(RD, &im->kind)))
        return rc;
    switch (im->kind) {
    case ZV_EXT_FUNC: {
        uint32_t ti;
        if ((rc = zv_rd_u32(RD, &ti)))
            return rc;
        if (ti >= m->n_types)
            return ZV_INVALID(RD, at, "unknown type %u", ti);
        if ((rc = grow_array((void **)&m->funcs, m->n_funcs, m->n_funcs + 1ull, sizeof *m->funcs)))
            return rc;
        im->index = m->n_funcs;
        m->funcs[m->n_funcs].type_idx = ti;
        m->funcs[m->n_funcs++].imported = 1;
        m->n_imported_funcs++;
        return 0;
    }
    case ZV_EXT_TABLE: {
        zv_val_table t;
        if ((rc = read_table_type(x, &t)))
            return rc;
        if ((rc = grow_array((void **)&m->tables, m->n_tables, m->n_tables + 1ull,
                             sizeof *m->tables)))
            return rc;
        im->index = m->n_tables;
        m->tables[m->n_tables++] = t;
        m->n_imported_tables++;
        return 0;
    }
    case ZV_EXT_MEMORY: {
        zv_val_limits l;
        if ((rc = read_limits(x, &l, 1)) || (rc = add_memory(x, at, &l)))
            return rc;
        im->index = 0;
        m->n_imported_memories = 1;
        return 0;
    }
    case ZV_EXT_GLOBAL: {
        zv_val_globaltype g;
        if ((rc = read_global_type(x, &g)))
            return rc;
        if ((rc = grow_array((void **)&m->globals, m->n_globals, m->n_globals + 1ull,
                             sizeof *m->globals)))
            return rc;
        im->index = m->n_globals;
        m->globals[m->n_globals].type = g;
        m->globals[m->n_globals++].imported = 1;
        m->n_imported_globals++;
        return 0;
    }
    case ZV_EXT_TAG: {
        uint32_t ti;
        if ((rc = read_tag_type(x, &ti)) ||
            (rc = grow_array((void **)&m->tags, m->n_tags, m->n_tags + 1ull, sizeof *m->tags)))
            return rc;
        im->index = m->n_tags;
        m->tags[m->n_tags].type_idx = ti;
        m->tags[m->n_tags++].imported = 1;
        m->n_imported_tags++;
        return 0;
    }
    default:
        return ZV_MALFORMED(RD, at, "malformed import kind 0x%02x", im->kind);
    }
}

static int sec_import(zv_modrd *x)
{
    zv_val_module *m = x->m;
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 4, &n)))
        return rc;
    if (!(m->imports = zv_val_calloc(n, sizeof *m->imports)))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = import_one(x, &m->imports[i])))
            return rc;
        m->n_imports++;
    }
    return 0;
}

static int sec_function(zv_modrd *x)
{
    zv_val_module *m = x->m;
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 1, &n)))
        return rc;
    if ((rc = grow_array((void **)&m->funcs, m->n_funcs, (uint64_t)m->n_funcs + n,
                         sizeof *m->funcs)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = x->rd.p;
        uint32_t ti;
        if ((rc = zv_rd_u32(RD, &ti)))
            return rc;
        if (ti >= m->n_types)
            return ZV_INVALID(RD, at, "unknown type %u", ti);
        m->funcs[m->n_funcs++].type_idx = ti;
    }
    x->n_declared = n;
    return 0;
}

static int sec_table(zv_modrd *x)
{
    zv_val_module *m = x->m;
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 3, &n)))
        return rc;
    if ((rc = grow_array((void **)&m->tables, m->n_tables, (uint64_t)m->n_tables + n,
                         sizeof *m->tables)))
        return rc;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = read_table_type(x, &m->tables[m->n_tables++])))
            return rc;
    return 0;
}

static int sec_memory(zv_modrd *x)
{
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 2, &n)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = x->rd.p;
        zv_val_limits l;
        if ((rc = read_limits(x, &l, 1)) || (rc = add_memory(x, at, &l)))
            return rc;
    }
    return 0;
}

static int sec_global(zv_modrd *x)
{
    zv_val_module *m = x->m;
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 3, &n)))
        return rc;
    if ((rc = grow_array((void **)&m->globals, m->n_globals, (uint64_t)m->n_globals + n,
                         sizeof *m->globals)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        zv_val_global *g = &m->globals[m->n_globals];
        if ((rc = read_global_type(x, &g->type)) || (rc = zv_val_read_const(x, g->type.type, &g->init)))
            return rc;
        m->n_globals++;
    }
    return 0;
}

static int sec_tag(zv_modrd *x)
{
    zv_val_module *m = x->m;
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 2, &n)))
        return rc;
    if ((rc = grow_array((void **)&m->tags, m->n_tags, (uint64_t)m->n_tags + n, sizeof *m->tags)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = read_tag_type(x, &m->tags[m->n_tags].type_idx)))
            return rc;
        m->n_tags++;
    }
    return 0;
}

static uint32_t name_hash(const char *s, uint32_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Export names must be unique (§3.4.10): an open-addressing set of indices. */
static int check_unique_exports(zv_modrd *x, const uint8_t *at)
{
    zv_val_module *m = x->m;
    uint32_t cap = 16, *set;
    int rc = 0;
    while (cap < 2ull * m->n_exports)
        cap *= 2;
    if (!(set = zv_val_calloc(cap, sizeof *set)))
        return -ENOMEM;
    for (uint32_t i = 0; i < m->n_exports && !rc; i++) {
        const zv_val_export *e = &m->exports[i];
        uint32_t h = name_hash(e->name, e->name_len) & (cap - 1);
        for (; set[h]; h = (h + 1) & (cap - 1)) {
            const zv_val_export *o = &m->exports[set[h] - 1];
            if (o->name_len == e->name_len && !memcmp(o->name, e->name, e->name_len)) {
                rc = ZV_INVALID(RD, at, "duplicate export name \"%.*s\"", (int)e->name_len,
                                e->name);
                break;
            }
        }
        set[h] = i + 1;
    }
    free(set);
    return rc;
}

static int sec_export(zv_modrd *x)
{
    zv_val_module *m = x->m;
    const uint8_t *start = x->rd.p;
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 3, &n)))
        return rc;
    if (!(m->exports = zv_val_calloc(n, sizeof *m->exports)))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        zv_val_export *e = &m->exports[i];
        const uint8_t *at;
        uint32_t limit;
        if ((rc = zv_rd_name(RD, &e->name, &e->name_len)))
            return rc;
        at = x->rd.p;
        if ((rc = zv_rd_byte(RD, &e->kind)) || (rc = zv_rd_u32(RD, &e->index)))
            return rc;
        switch (e->kind) {
        case ZV_EXT_FUNC: limit = m->n_funcs; break;
        case ZV_EXT_TABLE: limit = m->n_tables; break;
        case ZV_EXT_MEMORY: limit = m->n_memories; break;
        case ZV_EXT_GLOBAL: limit = m->n_globals; break;
        case ZV_EXT_TAG: limit = m->n_tags; break;
        default: return ZV_MALFORMED(RD, at, "malformed export kind 0x%02x", e->kind);
        }
        if (e->index >= limit)
            return ZV_INVALID(RD, at, "unknown %s %u",
                              (const char *[]){"function", "table", "memory", "global",
                                               "tag"}[e->kind],
                              e->index);
        if (e->kind == ZV_EXT_FUNC)
            x->refs[e->index] = 1;
        m->n_exports++;
    }
    return check_unique_exports(x, start);
}

static int sec_start(zv_modrd *x)
{
    zv_val_module *m = x->m;
    const uint8_t *at = x->rd.p;
    uint32_t f;
    int rc;
    if ((rc = zv_rd_u32(RD, &f)))
        return rc;
    if (f >= m->n_funcs)
        return ZV_INVALID(RD, at, "unknown function %u", f);
    if (m->types[m->funcs[f].type_idx].n_params || m->types[m->funcs[f].type_idx].n_results)
        return ZV_INVALID(RD, at, "start function must have type [] -> []");
    m->start = f;
    return 0;
}

/* Binary order of the known sections: the data count (12) sits between
 * the element (9) and code (10) sections (§5.5.2), and the exception
 * handling proposal's tag section (13) between the memory (5) and global
 * (6) sections. */
static int section_rank(uint8_t id)
{
    static const int8_t rank[14] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
    return id < 14 ? rank[id] : -1;
}

static int section(zv_modrd *x, uint8_t id)
{
    switch (id) {
    case 0: return zv_val_sec_custom(x);
    case 1: return sec_type(x);
    case 2: return sec_import(x);
    case 3: return sec_function(x);
    case 4: return sec_table(x);
    case 5: return sec_memory(x);
    case 6: return sec_global(x);
    case 7: return sec_export(x);
    case 8: return sec_start(x);
    case 9: return zv_val_sec_elem(x);
    case 10: return zv_val_sec_code(x);
    case 11: return zv_val_sec_data(x);
    case 12: return zv_val_sec_datacount(x);
    default: return sec_tag(x);
    }
}

/* C.refs needs the function count, known once the function section is
 * read; sections after it may mark entries. */
static int ensure_refs(zv_modrd *x)
{
    if (x->refs)
        return 0;
    x->refs = zv_val_calloc(x->m->n_funcs, 1);
    return x->refs ? 0 : -ENOMEM;
}

static int read_sections(zv_modrd *x)
{
    int last_rank = 0, rc;
    while (x->rd.p < x->rd.end) {
        const uint8_t *at = x->rd.p, *body;
        const uint8_t *end = x->rd.end;
        uint8_t id;
        uint32_t size;
        int rank;
        if ((rc = zv_rd_byte(RD, &id)) || (rc = zv_rd_u32(RD, &size)))
            return rc;
        if (size > (size_t)(x->rd.end - x->rd.p))
            return ZV_MALFORMED(RD, x->rd.p, "section size mismatch: length out of bounds");
        rank = section_rank(id);
        if (rank < 0)
            return ZV_MALFORMED(RD, at, "malformed section id %u", id);
        if (rank > 0 && rank <= last_rank)
            return ZV_MALFORMED(RD, at, "unexpected content after last section: section %u out "
                                        "of order or repeated", id);
        if (rank > 0)
            last_rank = rank;
        if (rank > 3 && (rc = ensure_refs(x)))
            return rc;
        body = x->rd.p;
        x->rd.end = body + size;
        if ((rc = section(x, id)))
            return rc;
        if (x->rd.p != x->rd.end)
            return ZV_MALFORMED(RD, x->rd.p, "section size mismatch in section %u", id);
        x->rd.end = end;
    }
    return 0;
}

static int read_module(zv_modrd *x)
{
    static const uint8_t magic[4] = {0, 'a', 's', 'm'}, version[4] = {1, 0, 0, 0};
    const uint8_t *b;
    int rc;
    if (x->rd.end - x->rd.p < 4 || memcmp(x->rd.p, magic, 4))
        return ZV_MALFORMED(RD, x->rd.p, "magic header not detected");
    x->rd.p += 4;
    if ((rc = zv_rd_bytes(RD, 4, &b)) || memcmp(b, version, 4))
        return ZV_MALFORMED(RD, x->rd.p - 4 * !rc, "unknown binary version");
    if ((rc = read_sections(x)) || (rc = ensure_refs(x)))
        return rc;
    if (x->n_declared && !x->seen_code)
        return ZV_MALFORMED(RD, x->rd.p, "function and code section have inconsistent lengths");
    if (x->m->has_data_count && x->data_count && !x->m->datas)
        return ZV_MALFORMED(RD, x->rd.p, "data count and data section have inconsistent lengths");
    return 0;
}

static int module_new(const uint8_t *bytes, size_t size_bytes, const uint8_t *sha256,
                      zv_val_module **out, zv_val_err *err, int bodies_unchecked)
{
    zv_modrd x = {{bytes, bytes, bytes + size_bytes, err}, NULL, NULL, NULL, 0, 0, 0, bodies_unchecked};
    int rc;
    *out = NULL;
    if (!(x.m = zv_val_calloc(1, sizeof *x.m)))
        return -ENOMEM;
    x.m->bytes = bytes;
    x.m->size_bytes = size_bytes;
    x.m->start = -1;
    if ((rc = read_module(&x)))
        goto out;
    if (sha256)
        memcpy(x.m->sha256, sha256, sizeof x.m->sha256);
    else if ((rc = zv_val_sha256(bytes, size_bytes, x.m->sha256)))
        goto out;
    x.m->refs = x.refs, x.refs = NULL;
    *out = x.m;
    x.m = NULL;
out:
    zv_chk_free(x.chk);
    free(x.refs);
    zv_val_module_free(x.m);
    return rc;
}

int zv_val_module_new(const uint8_t *bytes, size_t size_bytes, zv_val_module **out,
                      zv_val_err *err)
{
    return module_new(bytes, size_bytes, NULL, out, err, 0);
}

int zv_val_module_decode(const uint8_t *bytes, size_t size_bytes, const uint8_t *sha256,
                         int code_absent, zv_val_module **out, zv_val_err *err)
{
    if (code_absent && !sha256) { /* the hash would be of bytes never read */
        *out = NULL;
        return -EINVAL;
    }
    return module_new(bytes, size_bytes, sha256, out, err, code_absent ? 2 : 1);
}

void zv_val_module_free(zv_val_module *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->n_elems; i++)
        free(m->elems[i].items);
    free(m->types);
    free(m->imports);
    free(m->funcs);
    free(m->tables);
    free(m->memories);
    free(m->globals);
    free(m->tags);
    free(m->exports);
    free(m->elems);
    free(m->datas);
    free(m->refs);
    free(m);
}

void zv_val_func_locals(const zv_val_module *m, uint32_t func,
                        void (*fn)(uint8_t type, uint32_t count, void *arg), void *arg)
{
    const uint8_t *p = m->bytes + m->funcs[func].locals_offset;
    uint32_t n = zv_val_br_table_next(&p); /* validated LEB128 u32 */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t count = zv_val_br_table_next(&p);
        fn(*p++, count, arg);
    }
}
