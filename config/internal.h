/*
 * internal.h — private to config/: the one allocation entry point (so a
 * test can fail the n-th allocation, STYLE rule 15) and the few facts the
 * parser and the writer must agree on: the version, the standard aliases,
 * what counts as whitespace, and the bounds on the input.
 */
#ifndef ZV_CFG_INTERNAL_H
#define ZV_CFG_INTERNAL_H

#include "config.h"

#include <stddef.h>

#define ZV_CFG_VERSION   20130611 /* the only manifest version ZeroVM accepted */
#define ZV_CFG_MAX_BYTES (512u * 1024)
#define ZV_CFG_MAX_LINES 8192
#define ZV_CFG_PAGE      65536ull
#define ZV_CFG_MAX_MEM   (65536ull * 65536) /* 4 GiB: a 32-bit guest's whole space */
/* Time is kept in ns by the session's clock: the largest start that fits. */
#define ZV_CFG_MAX_TIME  (UINT64_MAX / 1000000000ull)

/* The parser trims these and splits Args and Env on them: ASCII blanks,
 * never locale-dependent. '\n' ends a line before it is seen. */
static inline int zv_cfg_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* calloc/realloc/strndup through one counter. realloc checks n * size. */
void *zv_cfg_calloc(size_t n, size_t size);
void *zv_cfg_realloc(void *p, size_t n, size_t size);
char *zv_cfg_strndup(const char *s, size_t n);
/* Tests: make the n-th allocation from now fail (0: never). */
void zv_cfg_test_fail_alloc(long n);

#endif
