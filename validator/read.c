/*
 * read.c — bytes to integers, names and types, with every bound checked.
 *
 * LEB128 follows Wasm core §5.2.2: an N-bit integer takes at most
 * ceil(N/7) bytes, and the unused bits of the last byte must be zero
 * (unsigned) or copies of the sign bit (signed). Both errors are
 * "malformed": the bytes are not a module at all.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int zv_val_fail(zv_val_err *err, const uint8_t *base, const uint8_t *at, int malformed,
                const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->offset = (size_t)(at - base);
        err->malformed = malformed;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

int zv_rd_u32_slow(zv_rd *rd, uint32_t *out)
{
    uint32_t result = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b;
        if (rd->p >= rd->end)
            return ZV_MALFORMED(rd, rd->p, "unexpected end");
        b = *rd->p++;
        if (shift == 28) {
            if (b & 0x80)
                return ZV_MALFORMED(rd, rd->p - 1, "integer representation too long");
            if (b & 0x70)
                return ZV_MALFORMED(rd, rd->p - 1, "integer too large");
        }
        result |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    *out = result;
    return 0;
}

/* Signed LEB128 of `nbits` bits. */
static int rd_sleb(zv_rd *rd, unsigned nbits, int64_t *out)
{
    uint64_t result = 0;
    unsigned shift = 0;
    uint8_t b;
    for (;;) {
        if (rd->p >= rd->end)
            return ZV_MALFORMED(rd, rd->p, "unexpected end");
        b = *rd->p++;
        if (shift + 7 >= nbits) {
            unsigned used = nbits - shift; /* value bits in this byte, 1..7 */
            uint8_t ext = (uint8_t)(0x7f & ~((1u << (used - 1)) - 1));
            if (b & 0x80)
                return ZV_MALFORMED(rd, rd->p - 1, "integer representation too long");
            if ((b & ext) != 0 && (b & ext) != ext)
                return ZV_MALFORMED(rd, rd->p - 1, "integer too large");
        }
        result |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (shift < 64 && (b & 0x40))
        result |= ~(uint64_t)0 << shift;
    *out = (int64_t)result;
    return 0;
}

int zv_rd_s32(zv_rd *rd, int32_t *out)
{
    int64_t v;
    int rc = rd_sleb(rd, 32, &v);
    if (rc == 0)
        *out = (int32_t)v;
    return rc;
}

int zv_rd_s33(zv_rd *rd, int64_t *out) { return rd_sleb(rd, 33, out); }
int zv_rd_s64(zv_rd *rd, int64_t *out) { return rd_sleb(rd, 64, out); }

int zv_rd_count(zv_rd *rd, uint32_t min_elem_bytes, uint32_t *out)
{
    const uint8_t *at = rd->p;
    int rc = zv_rd_u32(rd, out);
    if (rc)
        return rc;
    if ((uint64_t)*out * min_elem_bytes > (uint64_t)(rd->end - rd->p))
        return ZV_MALFORMED(rd, at, "count %u exceeds the remaining %zu bytes", *out,
                            (size_t)(rd->end - rd->p));
    return 0;
}

/* UTF-8 per RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF (§5.2.4 requires names to be valid UTF-8). */
int zv_val_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        uint32_t cp, min;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

int zv_rd_name(zv_rd *rd, const char **s, uint32_t *len)
{
    const uint8_t *at = rd->p, *bytes;
    int rc = zv_rd_u32(rd, len);
    if (rc)
        return rc;
    if ((rc = zv_rd_bytes(rd, *len, &bytes)))
        return rc;
    if (!zv_val_utf8_valid(bytes, *len))
        return ZV_MALFORMED(rd, at, "malformed UTF-8 encoding");
    *s = (const char *)bytes;
    return 0;
}

int zv_rd_valtype(zv_rd *rd, uint8_t *out)
{
    const uint8_t *at = rd->p;
    int rc = zv_rd_byte(rd, out);
    if (rc)
        return rc;
    if (!zv_is_valtype(*out))
        return ZV_MALFORMED(rd, at, "malformed value type 0x%02x", *out);
    return 0;
}

int zv_rd_reftype(zv_rd *rd, uint8_t *out)
{
    const uint8_t *at = rd->p;
    int rc = zv_rd_byte(rd, out);
    if (rc)
        return rc;
    if (!zv_is_ref(*out))
        return ZV_MALFORMED(rd, at, "malformed reference type 0x%02x", *out);
    return 0;
}

const char *zv_val_type_name(uint8_t type)
{
    switch (type) {
    case ZV_I32: return "i32";
    case ZV_I64: return "i64";
    case ZV_F32: return "f32";
    case ZV_F64: return "f64";
    case ZV_V128: return "v128";
    case ZV_FUNCREF: return "funcref";
    case ZV_EXTERNREF: return "externref";
    default: return "unknown";
    }
}
