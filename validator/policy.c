/*
 * policy.c — what zvm accepts beyond the spec's rules, kept apart from
 * them: which imports a module may ask for, and how big it may be. The
 * policy is plain data (zv_val_policy); this file only applies it.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static const zv_val_import_rule default_imports[] = {
    {"zvm", NULL},
    {"wasi_snapshot_preview1", NULL},
};

const zv_val_policy zv_val_default_policy = {
    .imports = default_imports,
    .n_imports = sizeof default_imports / sizeof default_imports[0],
    .max_memory_pages = 65536,
    .max_table_elems = ZV_VAL_MAX_TABLE_ELEMS,
    .max_funcs = 1000000,
    .max_globals = 1000000,
    .max_tables = 100000,
    .max_data_segments = 100000,
    .max_elem_segments = 10000000,
    .max_exports = 1000000,
    .max_tags = 1000000,
    .max_imports = 1000000,
};

static int name_is(const char *s, uint32_t n, const char *want)
{
    return strlen(want) == n && memcmp(s, want, n) == 0;
}

static int import_allowed(const zv_val_import *im, const zv_val_policy *p)
{
    for (uint32_t i = 0; i < p->n_imports; i++) {
        const zv_val_import_rule *r = &p->imports[i];
        if (name_is(im->module, im->module_len, r->module) &&
            (!r->name || name_is(im->name, im->name_len, r->name)))
            return 1;
    }
    return 0;
}

static int over(zv_val_err *err, const char *what, uint64_t n, uint32_t limit)
{
    if (n <= limit)
        return 0;
    err->offset = 0;
    err->malformed = 0;
    snprintf(err->msg, sizeof err->msg, "policy: %llu %s exceed the limit of %u",
             (unsigned long long)n, what, limit);
    return -EPERM;
}

int zv_val_check_policy(const zv_val_module *m, const zv_val_policy *p, zv_val_err *err)
{
    int rc;
    for (uint32_t i = 0; i < m->n_imports; i++) {
        const zv_val_import *im = &m->imports[i];
        if (!import_allowed(im, p)) {
            err->offset = (size_t)((const uint8_t *)im->module - m->bytes);
            err->malformed = 0;
            snprintf(err->msg, sizeof err->msg, "policy: import \"%.*s\".\"%.*s\" is not allowed",
                     (int)im->module_len, im->module, (int)im->name_len, im->name);
            return -EPERM;
        }
    }
    if ((rc = over(err, "imports", m->n_imports, p->max_imports)) ||
        (rc = over(err, "functions", m->n_funcs, p->max_funcs)) ||
        (rc = over(err, "globals", m->n_globals, p->max_globals)) ||
        (rc = over(err, "tables", m->n_tables, p->max_tables)) ||
        (rc = over(err, "data segments", m->n_datas, p->max_data_segments)) ||
        (rc = over(err, "element segments", m->n_elems, p->max_elem_segments)) ||
        (rc = over(err, "exports", m->n_exports, p->max_exports)) ||
        (rc = over(err, "tags", m->n_tags, p->max_tags)))
        return rc;
    for (uint32_t i = 0; i < m->n_memories; i++)
        if ((rc = over(err, "initial memory pages", m->memories[i].min, p->max_memory_pages)))
            return rc;
    for (uint32_t i = 0; i < m->n_tables; i++)
        if ((rc = over(err, "initial table elements", m->tables[i].limits.min,
                       p->max_table_elems)))
            return rc;
    return 0;
}
