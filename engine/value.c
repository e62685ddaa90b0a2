/*
 * value.c — WebAssembly values as text, the form `zvm run --invoke` reads
 * and prints: integers in decimal or 0x hex, floats in decimal or as raw
 * bits (so every NaN payload can be written), v128 as 32 hex digits, and
 * results as TYPE:0xBITS, exact for every value.
 */
#include "engine/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_int(const char *s, uint64_t *out, int bits)
{
    char *end;
    int neg = s[0] == '-';
    uint64_t v;
    errno = 0;
    v = strtoull(neg ? s + 1 : s, &end, 0);
    if (errno || *end || end == s || (neg && !s[1]))
        return -EINVAL;
    if (bits == 32 && v > (neg ? 0x80000000ull : 0xffffffffull))
        return -EINVAL;
    *out = neg ? 0 - v : v;
    return 0;
}

/* Floats: decimal, inf, nan (any sign), or raw bits written 0x... */
static int parse_float(const char *s, zv_value *v, int is32)
{
    char *end;
    uint64_t bits;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (parse_int(s, &bits, is32 ? 32 : 64))
            return -EINVAL;
        if (is32)
            v->i32 = (uint32_t)bits;
        else
            v->i64 = bits;
        return 0;
    }
    if (is32)
        v->f32 = strtof(s, &end);
    else
        v->f64 = strtod(s, &end);
    return *end || end == s ? -EINVAL : 0;
}

/* v128: 0x and 32 hex digits, the most significant first, as printed. */
static int parse_v128(const char *s, zv_value *v)
{
    char half[17];
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || strlen(s) != 34 ||
        strspn(s + 2, "0123456789abcdefABCDEF") != 32)
        return -EINVAL;
    for (int i = 0; i < 2; i++) {
        memcpy(half, s + 2 + 16 * i, 16);
        half[16] = 0;
        v->v128[1 - i] = strtoull(half, NULL, 16);
    }
    return 0;
}

int zv_eng_value_parse(const char *s, uint8_t type, zv_value *v)
{
    uint64_t x;
    memset(v, 0, sizeof *v);
    switch (type) {
    case ZV_I32:
        if (parse_int(s, &x, 32))
            return -EINVAL;
        v->i32 = (uint32_t)x;
        return 0;
    case ZV_I64: return parse_int(s, &v->i64, 64);
    case ZV_F32: return parse_float(s, v, 1);
    case ZV_F64: return parse_float(s, v, 0);
    case ZV_V128: return parse_v128(s, v);
    default: return -EINVAL; /* references cannot be written as text */
    }
}

int zv_eng_value_format(uint8_t type, const zv_value *v, char *buf, size_t n)
{
    switch (type) {
    case ZV_I32: return snprintf(buf, n, "i32:0x%08x", v->i32);
    case ZV_I64: return snprintf(buf, n, "i64:0x%016llx", (unsigned long long)v->i64);
    case ZV_F32: return snprintf(buf, n, "f32:0x%08x", v->i32);
    case ZV_F64: return snprintf(buf, n, "f64:0x%016llx", (unsigned long long)v->i64);
    case ZV_V128:
        return snprintf(buf, n, "v128:0x%016llx%016llx", (unsigned long long)v->v128[1],
                        (unsigned long long)v->v128[0]);
    default:
        return snprintf(buf, n, "%s:%s", zv_val_type_name(type), v->ref ? "non-null" : "null");
    }
}
