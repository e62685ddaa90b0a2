/*
 * json.c — the JSON reader of json.h: recursive descent over the text,
 * at most MAX_DEPTH levels deep.
 */
#include "config/json.h"
#include "config/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH   64
#define MAX_MEMBERS 4096

typedef struct {
    const char *s, *end, *p;
    char *why;
    size_t wn;
    int nomem;
    int line; /* of r->p: strings hold no raw newline, so only blanks count */
} reader;

static int fail(reader *r, const char *fmt, ...)
{
    int line = 1, col = 1;
    va_list ap;
    char msg[160];
    for (const char *q = r->s; q < r->p && q < r->end; q++) {
        col = *q == '\n' ? 1 : col + 1;
        line += *q == '\n';
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->why, r->wn, "line %d, column %d: %s", line, col, msg);
    return -1;
}

static void skip_ws(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->line += *r->p++ == '\n';
}

static int hex4(reader *r, unsigned *out)
{
    unsigned v = 0;
    if (r->end - r->p < 4) return fail(r, "a \\u escape needs 4 hex digits");
    for (int i = 0; i < 4; i++) {
        char c = r->p[i];
        v = v * 16 + (unsigned)(c >= '0' && c <= '9'   ? c - '0'
                                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                       : 99);
        if (v >= 0x10000 ||
            !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return fail(r, "a \\u escape needs 4 hex digits");
    }
    r->p += 4;
    *out = v;
    return 0;
}

/* A string after its opening quote, into a new buffer. */
static char *string(reader *r)
{
    size_t cap = 16, n = 0;
    char *out = zv_cfg_calloc(cap, 1);
    while (out) {
        unsigned cp;
        if (r->p >= r->end) {
            fail(r, "a string is not closed");
            break;
        }
        if (n + 5 > cap) {
            char *bigger = zv_cfg_realloc(out, cap * 2, 1);
            if (!bigger) {
                r->nomem = 1;
                break;
            }
            out = bigger;
            cap *= 2;
        }
        cp = (unsigned char)*r->p++;
        if (cp == '"') {
            out[n] = 0;
            return out;
        }
        if (cp < 0x20) {
            r->p--;
            fail(r, "a control character inside a string");
            break;
        }
        if (cp != '\\') {
            out[n++] = (char)cp;
            continue;
        }
        if (r->p >= r->end) {
            fail(r, "a string is not closed");
            break;
        }
        switch (*r->p++) {
        case '"':
            out[n++] = '"';
            continue;
        case '\\':
            out[n++] = '\\';
            continue;
        case '/':
            out[n++] = '/';
            continue;
        case 'b':
            out[n++] = '\b';
            continue;
        case 'f':
            out[n++] = '\f';
            continue;
        case 'n':
            out[n++] = '\n';
            continue;
        case 'r':
            out[n++] = '\r';
            continue;
        case 't':
            out[n++] = '\t';
            continue;
        case 'u':
            break;
        default:
            r->p--;
            fail(r, "an unknown escape \\%c", *r->p);
            goto bad;
        }
        if (hex4(r, &cp)) break;
        if (cp >= 0xd800 && cp < 0xdc00) { /* a surrogate pair */
            unsigned lo;
            if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u') {
                fail(r, "a lone surrogate in a \\u escape");
                break;
            }
            r->p += 2;
            if (hex4(r, &lo)) break;
            if (lo < 0xdc00 || lo > 0xdfff) {
                fail(r, "a lone surrogate in a \\u escape");
                break;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp < 0xe000) {
            fail(r, "a lone surrogate in a \\u escape");
            break;
        }
        if (cp == 0) {
            fail(r, "a NUL character (\\u0000) inside a string");
            break;
        }
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xc0 | cp >> 6);
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[n++] = (char)(0xe0 | cp >> 12);
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[n++] = (char)(0xf0 | cp >> 18);
            out[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
bad:
    if (!out) r->nomem = 1;
    free(out);
    return NULL;
}

static int number(reader *r, zv_json *v)
{
    const char *start = r->p;
    char buf[64], *end;
    if (r->p < r->end && *r->p == '-') r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail(r, "not a value");
    if (*r->p == '0' && r->p + 1 < r->end && r->p[1] >= '0' && r->p[1] <= '9')
        return fail(r, "a number with a leading zero");
    v->integer = 1;
    while (r->p < r->end && ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' || *r->p == 'e' ||
                             *r->p == 'E' || *r->p == '+' || *r->p == '-')) {
        v->integer &= *r->p >= '0' && *r->p <= '9';
        r->p++;
    }
    if ((size_t)(r->p - start) >= sizeof buf) return fail(r, "a number of more than 63 characters");
    memcpy(buf, start, (size_t)(r->p - start));
    buf[r->p - start] = 0;
    v->num = strtod(buf, &end);
    if (*end) {
        r->p = start + (end - buf);
        return fail(r, "a malformed number");
    }
    v->type = ZV_JSON_NUM;
    return 0;
}

static int value(reader *r, zv_json *v, int depth);

static int grow(reader *r, zv_json *v, uint32_t *cap, int obj)
{
    if (v->n < *cap) return 0;
    *cap = *cap ? *cap * 2 : 4;
    zv_json *items = zv_cfg_realloc(v->items, *cap, sizeof *items);
    if (items) v->items = items;
    char **keys = obj && items ? zv_cfg_realloc(v->keys, *cap, sizeof *keys) : NULL;
    if (keys) v->keys = keys;
    if (!items || (obj && !keys)) {
        r->nomem = 1;
        return -1;
    }
    return 0;
}

static int container(reader *r, zv_json *v, int depth, int obj)
{
    uint32_t cap = 0;
    char close = obj ? '}' : ']';
    v->type = obj ? ZV_JSON_OBJ : ZV_JSON_ARR;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(r);
        if (obj) {
            if (r->p >= r->end || *r->p != '"') return fail(r, "expected a member name in quotes");
            r->p++;
            if (!(key = string(r))) return -1;
            skip_ws(r);
            if (r->p >= r->end || *r->p != ':') {
                free(key);
                return fail(r, "expected ':' after a member name");
            }
            r->p++;
            if (v->n == MAX_MEMBERS) { /* the duplicate check is quadratic */
                free(key);
                return fail(r, "an object with more than %d members", MAX_MEMBERS);
            }
            for (uint32_t i = 0; i < v->n; i++)
                if (!strcmp(v->keys[i], key)) {
                    fail(r, "the member \"%.60s\" appears twice", key);
                    free(key);
                    return -1;
                }
        }
        if (grow(r, v, &cap, obj)) {
            free(key);
            return -1;
        }
        memset(&v->items[v->n], 0, sizeof *v->items);
        if (obj) v->keys[v->n] = key;
        v->n++;
        if (value(r, &v->items[v->n - 1], depth + 1)) return -1;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 0;
        }
        return fail(r, "expected ',' or '%c'", close);
    }
}

static int value(reader *r, zv_json *v, int depth)
{
    skip_ws(r);
    v->line = r->line;
    if (depth > MAX_DEPTH) return fail(r, "nested more than %d levels deep", MAX_DEPTH);
    if (r->p >= r->end) return fail(r, "the text ends where a value should be");
    switch (*r->p) {
    case '{':
        return container(r, v, depth, 1);
    case '[':
        return container(r, v, depth, 0);
    case '"':
        r->p++;
        v->type = ZV_JSON_STR;
        return (v->str = string(r)) ? 0 : -1;
    case 't':
    case 'f':
    case 'n': {
        static const char *const words[] = {"true", "false", "null"};
        for (int i = 0; i < 3; i++) {
            size_t n = strlen(words[i]);
            if ((size_t)(r->end - r->p) >= n && !memcmp(r->p, words[i], n)) {
                r->p += n;
                v->type = i == 2 ? ZV_JSON_NULL : ZV_JSON_BOOL;
                v->num = i == 0;
                return 0;
            }
        }
        return fail(r, "not a value");
    }
    default:
        return number(r, v);
    }
}

int zv_json_parse(const char *text, size_t len, zv_json *out, char *why, size_t wn)
{
    reader r = {text, text + len, text, why, wn, 0, 1};
    memset(out, 0, sizeof *out);
    if (memchr(text, 0, len)) {
        r.p = memchr(text, 0, len);
        fail(&r, "a NUL byte");
        return -EINVAL;
    }
    if (value(&r, out, 0) == 0) {
        skip_ws(&r);
        if (r.p == r.end) return 0;
        fail(&r, "text after the end of the value");
    }
    zv_json_free(out);
    if (r.nomem) snprintf(why, wn, "out of memory");
    return r.nomem ? -ENOMEM : -EINVAL;
}

void zv_json_free(zv_json *v)
{
    if (!v) return;
    free(v->str);
    for (uint32_t i = 0; i < v->n; i++) {
        zv_json_free(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

const zv_json *zv_json_get(const zv_json *obj, const char *key)
{
    if (!obj || obj->type != ZV_JSON_OBJ) return NULL;
    for (uint32_t i = 0; i < obj->n; i++)
        if (!strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

const char *zv_json_type_name(int type)
{
    static const char *const names[] = {"null",     "a boolean", "a number",
                                        "a string", "a list",    "an object"};
    return names[type];
}
