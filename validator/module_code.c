/*
 * module_code.c — the module's later sections (Wasm core §5.5): elements,
 * the data count, the code (each body type-checked as it streams by),
 * data segments and custom sections; module.c reads the rest and keeps
 * the order. Every count is checked against the bytes left before
 * anything is allocated for it.
 */
#include "module_private.h"

#include <stdlib.h>
#include <string.h>

static int elem_items(zv_modrd *x, zv_val_elem *e, int exprs)
{
    zv_val_module *m = x->m;
    int rc;
    if ((rc = zv_rd_count(RD, 1, &e->n_items)))
        return rc;
    if (!(e->items = zv_val_calloc(e->n_items, sizeof *e->items)))
        return -ENOMEM;
    for (uint32_t i = 0; i < e->n_items; i++) {
        const uint8_t *at = x->rd.p;
        zv_val_const *it = &e->items[i];
        if (exprs) {
            if ((rc = zv_val_read_const(x, e->elem_type, it)))
                return rc;
            continue;
        }
        if ((rc = zv_rd_u32(RD, &it->idx)))
            return rc;
        if (it->idx >= m->n_funcs)
            return ZV_INVALID(RD, at, "unknown function %u", it->idx);
        it->kind = ZV_CONST_REF_FUNC, it->type = ZV_FUNCREF;
        x->refs[it->idx] = 1;
    }
    return 0;
}

/* One element segment; its flags pick one of eight encodings (§5.5.12). */
static int elem_one(zv_modrd *x, zv_val_elem *e)
{
    zv_val_module *m = x->m;
    const uint8_t *at = x->rd.p;
    uint32_t flags;
    int rc;
    if ((rc = zv_rd_u32(RD, &flags)))
        return rc;
    if (flags > 7)
        return ZV_MALFORMED(RD, at, "malformed elements segment kind %u", flags);
    e->mode = !(flags & 1) ? ZV_SEG_ACTIVE : (flags & 2) ? ZV_SEG_DECLARATIVE : ZV_SEG_PASSIVE;
    e->elem_type = ZV_FUNCREF;
    if (flags == 2 || flags == 6)
        if ((rc = zv_rd_u32(RD, &e->table)))
            return rc;
    if (e->mode == ZV_SEG_ACTIVE) {
        if (e->table >= m->n_tables)
            return ZV_INVALID(RD, at, "unknown table %u", e->table);
        if ((rc = zv_val_read_const(x, ZV_I32, &e->offset)))
            return rc;
    }
    if (flags & 3) { /* an elemkind or a reftype follows */
        const uint8_t *kat = x->rd.p;
        uint8_t k;
        if (flags & 4) {
            if ((rc = zv_rd_reftype(RD, &e->elem_type)))
                return rc;
        } else {
            if ((rc = zv_rd_byte(RD, &k)))
                return rc;
            if (k != 0)
                return ZV_MALFORMED(RD, kat, "malformed element kind 0x%02x", k);
        }
    }
    if ((rc = elem_items(x, e, flags & 4)))
        return rc;
    if (e->mode == ZV_SEG_ACTIVE && m->tables[e->table].elem_type != e->elem_type)
        return ZV_INVALID(RD, at, "type mismatch: %s segment for a %s table",
                          zv_val_type_name(e->elem_type),
                          zv_val_type_name(m->tables[e->table].elem_type));
    return 0;
}

int zv_val_sec_elem(zv_modrd *x)
{
    zv_val_module *m = x->m;
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 2, &n)))
        return rc;
    if (!(m->elems = zv_val_calloc(n, sizeof *m->elems)))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        m->n_elems++; /* count first: free() walks the items of every counted segment */
        if ((rc = elem_one(x, &m->elems[i])))
            return rc;
    }
    return 0;
}

int zv_val_sec_datacount(zv_modrd *x)
{
    int rc = zv_rd_u32(RD, &x->data_count);
    if (rc)
        return rc;
    x->m->has_data_count = 1;
    /* Code refers to segments by index before the data section is read. */
    x->m->n_datas = x->data_count;
    return 0;
}

/* One body: size, locals, instructions (§5.5.13). */
static int code_one(zv_modrd *x, uint32_t fi)
{
    zv_val_module *m = x->m;
    zv_val_func *fn = &m->funcs[fi];
    const uint8_t *at = x->rd.p, *body;
    uint32_t size, n_decls;
    uint64_t total = 0;
    zv_rd body_rd;
    int rc;
    if ((rc = zv_rd_u32(RD, &size)) || (rc = zv_rd_bytes(RD, size, &body)))
        return rc;
    body_rd = (zv_rd){x->rd.base, body, body + size, x->rd.err};
    fn->locals_offset = (uint32_t)(body - x->rd.base);
    if ((rc = zv_rd_count(&body_rd, 2, &n_decls)))
        return rc;
    for (uint32_t i = 0; i < n_decls; i++) {
        uint32_t count;
        uint8_t t;
        if ((rc = zv_rd_u32(&body_rd, &count)) || (rc = zv_rd_valtype(&body_rd, &t)))
            return rc;
        total += count;
        if (total > UINT32_MAX)
            return ZV_MALFORMED(&body_rd, at, "too many locals");
    }
    fn->n_locals = (uint32_t)total;
    fn->code_offset = (uint32_t)(body_rd.p - x->rd.base);
    fn->code_end = (uint32_t)(body + size - x->rd.base);
    return x->bodies_unchecked ? 0 : zv_chk_func(x->chk, m, fi, x->refs, x->rd.err);
}

int zv_val_sec_code(zv_modrd *x)
{
    zv_val_module *m = x->m;
    const uint8_t *at = x->rd.p;
    uint32_t n;
    int rc;
    if (x->bodies_unchecked == 2) { /* absent: the functions keep no extents */
        x->rd.p = x->rd.end;
        x->seen_code = 1;
        return 0;
    }
    if ((rc = zv_rd_count(RD, 2, &n)))
        return rc;
    if (n != x->n_declared)
        return ZV_MALFORMED(RD, at, "function and code section have inconsistent lengths");
    if (!(x->chk = zv_chk_new()))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = code_one(x, m->n_imported_funcs + i)))
            return rc;
    x->seen_code = 1;
    return 0;
}

static int data_one(zv_modrd *x, zv_val_data *d)
{
    const uint8_t *at = x->rd.p;
    uint32_t flags, mem = 0;
    int rc;
    if ((rc = zv_rd_u32(RD, &flags)))
        return rc;
    if (flags > 2)
        return ZV_MALFORMED(RD, at, "malformed data segment kind %u", flags);
    d->mode = flags == 1 ? ZV_SEG_PASSIVE : ZV_SEG_ACTIVE;
    if (flags == 2 && (rc = zv_rd_u32(RD, &mem)))
        return rc;
    if (d->mode == ZV_SEG_ACTIVE) {
        if (mem >= x->m->n_memories)
            return ZV_INVALID(RD, at, "unknown memory %u", mem);
        if ((rc = zv_val_read_const(x, ZV_I32, &d->offset)))
            return rc;
    }
    if ((rc = zv_rd_u32(RD, &d->size_bytes)) || (rc = zv_rd_bytes(RD, d->size_bytes, &d->bytes)))
        return rc;
    return 0;
}

int zv_val_sec_data(zv_modrd *x)
{
    zv_val_module *m = x->m;
    const uint8_t *at = x->rd.p;
    uint32_t n;
    int rc;
    if ((rc = zv_rd_count(RD, 2, &n)))
        return rc;
    if (m->has_data_count && n != x->data_count)
        return ZV_MALFORMED(RD, at, "data count and data section have inconsistent lengths");
    if (!(m->datas = zv_val_calloc(n, sizeof *m->datas)))
        return -ENOMEM;
    m->n_datas = n;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = data_one(x, &m->datas[i])))
            return rc;
    return 0;
}

int zv_val_sec_custom(zv_modrd *x)
{
    const char *name;
    uint32_t len;
    int rc = zv_rd_name(RD, &name, &len);
    if (rc)
        return rc;
    if (len == 9 && !memcmp(name, "zvm.mount", 9) && !x->m->n_zvm_mount++) {
        x->m->zvm_mount = x->rd.p; /* checked when used (zv_eng_module_mounts) */
        x->m->zvm_mount_len = (uint32_t)(x->rd.end - x->rd.p);
    }
    x->rd.p = x->rd.end; /* the contents are not ours to check */
    return 0;
}
