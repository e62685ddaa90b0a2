/*
 * module_private.h — private to module.c (the header, the section order
 * and the declarations) and module_code.c (elements, data count, code,
 * data and custom sections): the reader both use, and what one calls of
 * the other.
 */
#ifndef ZV_VAL_MODULE_PRIVATE_H
#define ZV_VAL_MODULE_PRIVATE_H

#include "internal.h"

/* A module being read: the reader, the module so far and the checker. */
typedef struct {
    zv_rd rd;
    zv_val_module *m;
    zv_chk *chk;
    uint8_t *refs;       /* C.refs: functions that ref.func may name */
    uint32_t n_declared; /* function section count */
    uint32_t data_count;
    int seen_code;
    /* zv_val_module_decode: 1, instructions not type-checked; 2, the code
     * section's contents not even read (absent) */
    int bodies_unchecked;
} zv_modrd;

#define RD (&x->rd)

/* A constant expression of type `want` (module.c). */
int zv_val_read_const(zv_modrd *x, uint8_t want, zv_val_const *out);

/* The sections module_code.c decodes and checks, each in one pass. */
int zv_val_sec_elem(zv_modrd *x);
int zv_val_sec_datacount(zv_modrd *x);
int zv_val_sec_code(zv_modrd *x);
int zv_val_sec_data(zv_modrd *x);
int zv_val_sec_custom(zv_modrd *x);

#endif
