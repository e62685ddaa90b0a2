/*
 * json.c — recursive-descent JSON reader for wast2json files (test-only).
 * Inputs are trusted tool output, but malformed text still fails cleanly.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p;
    int depth;
} parser;

static void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')
        ps->p++;
}

static spec_json *node(spec_json_kind k)
{
    spec_json *j = calloc(1, sizeof *j);
    if (j)
        j->kind = k;
    return j;
}

static void put_utf8(char *out, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static unsigned hex4(const char *s, int *ok)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else *ok = 0;
    }
    return v;
}

static char *parse_string(parser *ps, size_t *len)
{
    const char *s = ++ps->p; /* after the quote */
    size_t cap = 0, n = 0;
    char *out;
    int ok = 1;
    while (*ps->p && *ps->p != '"') {
        if (*ps->p == '\\' && ps->p[1])
            ps->p++;
        ps->p++;
    }
    if (*ps->p != '"')
        return NULL;
    cap = (size_t)(ps->p - s) + 1;
    if (!(out = malloc(cap)))
        return NULL;
    for (const char *q = s; q < ps->p; q++) {
        if (*q != '\\') {
            out[n++] = *q;
            continue;
        }
        switch (*++q) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'u': {
            unsigned cp = hex4(q + 1, &ok);
            q += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && q[1] == '\\' && q[2] == 'u') {
                unsigned lo = hex4(q + 3, &ok);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                q += 6;
            }
            put_utf8(out, &n, cp); /* never longer than the 6-byte escape */
            break;
        }
        default: out[n++] = *q; break;
        }
    }
    ps->p++;
    out[n] = 0;
    *len = n;
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

static spec_json *parse_value(parser *ps);

static spec_json *parse_container(parser *ps, int is_obj)
{
    spec_json *j = node(is_obj ? J_OBJ : J_ARR), **tail;
    char close = is_obj ? '}' : ']';
    if (!j)
        return NULL;
    tail = &j->child;
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        return j;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        spec_json *v;
        skip_ws(ps);
        if (is_obj) {
            if (*ps->p != '"' || !(key = parse_string(ps, &klen)))
                goto fail;
            skip_ws(ps);
            if (*ps->p++ != ':') {
                free(key);
                goto fail;
            }
        }
        if (!(v = parse_value(ps))) {
            free(key);
            goto fail;
        }
        v->key = key;
        *tail = v;
        tail = &v->next;
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return j;
        }
        goto fail;
    }
fail:
    spec_json_free(j);
    return NULL;
}

static spec_json *parse_value(parser *ps)
{
    spec_json *j = NULL;
    skip_ws(ps);
    if (++ps->depth > 64)
        return NULL;
    if (*ps->p == '{' || *ps->p == '[') {
        j = parse_container(ps, *ps->p == '{');
    } else if (*ps->p == '"') {
        size_t len;
        char *s = parse_string(ps, &len);
        if (s && (j = node(J_STR))) {
            j->str = s;
            j->len = len;
        } else {
            free(s);
        }
    } else if (!strncmp(ps->p, "true", 4) || !strncmp(ps->p, "false", 5)) {
        if ((j = node(J_BOOL)))
            j->boolean = *ps->p == 't';
        ps->p += *ps->p == 't' ? 4 : 5;
    } else if (!strncmp(ps->p, "null", 4)) {
        j = node(J_NULL);
        ps->p += 4;
    } else {
        const char *s = ps->p;
        while (*ps->p && strchr("+-0123456789.eE", *ps->p))
            ps->p++;
        if (ps->p > s && (j = node(J_NUM))) {
            j->len = (size_t)(ps->p - s);
            if ((j->str = malloc(j->len + 1))) {
                memcpy(j->str, s, j->len);
                j->str[j->len] = 0;
            }
        }
    }
    ps->depth--;
    return j;
}

spec_json *spec_json_parse(const char *text)
{
    parser ps = {text, 0};
    spec_json *j = parse_value(&ps);
    skip_ws(&ps);
    if (j && *ps.p) {
        spec_json_free(j);
        return NULL;
    }
    return j;
}

void spec_json_free(spec_json *j)
{
    while (j) {
        spec_json *next = j->next;
        spec_json_free(j->child);
        free(j->str);
        free(j->key);
        free(j);
        j = next;
    }
}

const spec_json *spec_json_get(const spec_json *obj, const char *key)
{
    if (!obj || obj->kind != J_OBJ)
        return NULL;
    for (const spec_json *c = obj->child; c; c = c->next)
        if (c->key && !strcmp(c->key, key))
            return c;
    return NULL;
}

const char *spec_json_str(const spec_json *obj, const char *key)
{
    const spec_json *v = spec_json_get(obj, key);
    return v && v->kind == J_STR ? v->str : NULL;
}
