/*
 * manifest.c — the manifest parser and checker (ZeroVM format 20130611).
 *
 * One pass over the lines, driven by a key table (ZV_CFG_KEYS) that gives
 * each key its handler and whether it is required or may appear once, then
 * the whole-manifest checks: duplicated aliases and Env names, missing
 * keys, the standard channels, and the channel sort. The text is never
 * copied whole nor NUL-terminated: each value is a counted slice and only
 * what is kept is copied out, so memory stays a small multiple of the
 * input, which is itself capped (512 KiB, 8192 lines). Errors come in line
 * order, name the key and carry ZeroVM's exit codes.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const zv_cfg_std_alias[3] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};

/* ---- allocation: one entry point, a test-only countdown ---- */

static atomic_long fail_countdown; /* 0: off; n: the n-th call from now fails */

void zv_cfg_test_fail_alloc(long n) { atomic_store(&fail_countdown, n > 0 ? n : 0); }

static int should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

void *zv_cfg_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *zv_cfg_realloc(void *p, size_t n, size_t size)
{
    if (should_fail() || (size && n > SIZE_MAX / size))
        return NULL;
    return realloc(p, n && size ? n * size : 1);
}

char *zv_cfg_strndup(const char *s, size_t n)
{
    char *d = zv_cfg_calloc(n + 1, 1);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- errors ---- */

typedef struct parse_ctx parse_ctx;

static int fail(zv_cfg_err *err, int code, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(zv_cfg_err *err, int code, int line, const char *key, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(err->msg, sizeof err->msg, "%s: ", key);
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    err->exit_code = code;
    err->line = line;
    return -EINVAL;
}

/* A short, printable copy of hostile text for a message. */
static const char *excerpt(char buf[40], const char *s, size_t n)
{
    size_t k = n > 32 ? 32 : n;
    for (size_t i = 0; i < k; i++)
        buf[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
    strcpy(buf + k, n > k ? "..." : "");
    return buf;
}

/* ---- the key table ---- */

/* JOB: a job manifest (daemon mode) ignores the key; JOB_OPTIONAL: a job
 * manifest need not have it. */
enum { REQUIRED = 1, SINGLE = 2, JOB = 4, JOB_OPTIONAL = 8 };

/* X(key, flags): one row per key; the order is the order of the
 * "missing" checks. */
#define ZV_CFG_KEYS(X)                                                                             \
    X(Version, REQUIRED | SINGLE | JOB)                                                            \
    X(Program, REQUIRED | SINGLE | JOB)                                                            \
    X(Memory, REQUIRED | SINGLE | JOB)                                                             \
    X(Timeout, REQUIRED | SINGLE | JOB_OPTIONAL)                                                   \
    X(Channel, 0)                                                                                  \
    X(Node, SINGLE)                                                                                \
    X(Job, SINGLE | JOB)                                                                             \
    X(Etag, SINGLE)                                                                                \
    X(Args, SINGLE)                                                                                \
    X(Env, 0)                                                                                      \
    X(Seed, SINGLE)                                                                                \
    X(Time, SINGLE)                                                                                \
    X(Mount, JOB)

#define DECLARE(key, flags) static int on_##key(parse_ctx *p, const char *v, size_t n);
ZV_CFG_KEYS(DECLARE)
#undef DECLARE

enum {
#define ENUMERATE(key, flags) K_##key,
    ZV_CFG_KEYS(ENUMERATE)
#undef ENUMERATE
        N_KEYS
};

static const struct {
    const char *name;
    int flags;
    int (*parse)(parse_ctx *p, const char *v, size_t n);
} keys[N_KEYS] = {
#define ROW(key, flags) {#key, flags, on_##key},
    ZV_CFG_KEYS(ROW)
#undef ROW
};

struct parse_ctx {
    zv_cfg_manifest *m;
    zv_cfg_err *err;
    int key;           /* K_* of the line being parsed */
    int line;          /* 1-based */
    int first[N_KEYS]; /* line each key was first seen on, 0 if not yet */
    uint32_t cap_channels, cap_env, cap_mounts;
    int *env_line;     /* line of each Env entry, for the duplicate check */
    int job;           /* a job manifest (zv_cfg_parse_job) */
    int template;      /* a pool's template (zv_cfg_load_template): Program optional */
};

/* A manifest error (14) on the current line and key. */
#define BAD(p, ...)                                                                                \
    fail((p)->err, ZV_CFG_EXIT_MANIFEST, (p)->line, keys[(p)->key].name, __VA_ARGS__)

/* ---- values ---- */

typedef struct {
    const char *s;
    size_t n;
} slice;

static slice trim(const char *s, size_t n)
{
    while (n && zv_cfg_blank(*s))
        s++, n--;
    while (n && zv_cfg_blank(s[n - 1]))
        n--;
    return (slice){s, n};
}

/* Split on `sep` into trimmed fields; keeps the first `max`, returns how
 * many there are. */
static size_t split(const char *s, size_t n, char sep, slice *f, size_t max)
{
    size_t k = 0;
    for (;;) {
        const char *e = memchr(s, sep, n);
        size_t len = e ? (size_t)(e - s) : n;
        if (k < max)
            f[k] = trim(s, len);
        k++;
        if (!e)
            return k;
        s += len + 1, n -= len + 1;
    }
}

enum { NUM_OK, NUM_JUNK, NUM_BIG };

static unsigned digit(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (unsigned)((c | 0x20) - 'a' + 10);
    return 99;
}

/* strtoll's base 0 on a counted string, the whole of it: a sign, then 0x
 * hex, 0 octal or decimal. NUM_BIG: a well-formed magnitude over 2^64-1. */
static int read_int(const char *s, size_t n, int *neg, uint64_t *mag)
{
    size_t i = 0;
    unsigned base = 10;
    uint64_t v = 0;
    int big = 0;
    *neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        *neg = s[i++] == '-';
    if (i + 1 < n && s[i] == '0' && (s[i + 1] | 0x20) == 'x')
        base = 16, i += 2;
    else if (i < n && s[i] == '0')
        base = 8;
    if (i == n)
        return NUM_JUNK;
    for (; i < n; i++) {
        unsigned d = digit(s[i]);
        if (d >= base)
            return NUM_JUNK;
        if (v > (UINT64_MAX - d) / base)
            big = 1;
        else
            v = v * base + d;
    }
    *mag = v;
    if (!v)
        *neg = 0;
    return big ? NUM_BIG : NUM_OK;
}

/* An integer in [lo, hi] (`what` prefixes the message, e.g. "gets ");
 * a negative result comes back in two's complement. */
static int get_num(parse_ctx *p, const char *what, slice f, int64_t lo, uint64_t hi, uint64_t *out)
{
    char ex[40];
    int neg;
    uint64_t mag;
    int r = read_int(f.s, f.n, &neg, &mag);
    *out = 0;
    if (r == NUM_JUNK)
        return BAD(p, "%s'%s' is not an integer", what, excerpt(ex, f.s, f.n));
    if (r == NUM_OK && (neg ? lo < 0 && mag - 1 <= (uint64_t)-(lo + 1)
                            : mag <= hi && (lo <= 0 || mag >= (uint64_t)lo))) {
        *out = neg ? 0 - mag : mag;
        return 0;
    }
    if (neg && lo == 0)
        return BAD(p, "%s'%s' is negative", what, excerpt(ex, f.s, f.n));
    return BAD(p, "%s'%s' is out of range (%lld to %llu)", what, excerpt(ex, f.s, f.n),
               (long long)lo, (unsigned long long)hi);
}

static int get_str(parse_ctx *p, const char *what, slice f, char **out)
{
    if (!f.n)
        return BAD(p, "empty %s", what);
    return (*out = zv_cfg_strndup(f.s, f.n)) ? 0 : -ENOMEM;
}

/* Percent-decode s into dst (room for n + 1 bytes): %XX is the byte XX.
 * %00 is refused: the result is a C string. */
static int decode(parse_ctx *p, const char *s, size_t n, char *dst)
{
    char ex[40];
    for (size_t i = 0; i < n; i++) {
        unsigned hi, lo;
        if (s[i] != '%') {
            *dst++ = s[i];
            continue;
        }
        hi = i + 1 < n ? digit(s[i + 1]) : 99;
        lo = i + 2 < n ? digit(s[i + 2]) : 99;
        if (hi > 15 || lo > 15)
            return BAD(p, "bad escape in '%s'", excerpt(ex, s, n));
        if (!hi && !lo)
            return BAD(p, "%%00 in '%s'", excerpt(ex, s, n));
        *dst++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *dst = 0;
    return 0;
}

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t size)
{
    void *q;
    uint32_t c = *cap ? *cap : 4;
    if (need <= *cap)
        return 0;
    while (c < need) /* need <= 2 * ZV_CFG_MAX_LINES: no overflow */
        c *= 2;
    if (!(q = zv_cfg_realloc(*arr, c, size)))
        return -ENOMEM;
    *arr = q, *cap = c;
    return 0;
}

/* ---- one handler per key ---- */

static int on_Version(parse_ctx *p, const char *v, size_t n)
{
    char ex[40];
    int neg, r;
    uint64_t mag;
    if ((r = read_int(v, n, &neg, &mag)) == NUM_JUNK)
        return BAD(p, "'%s' is not an integer", excerpt(ex, v, n));
    if (r == NUM_BIG || neg || mag != ZV_CFG_VERSION)
        return BAD(p, "'%s', expected %d", excerpt(ex, v, n), ZV_CFG_VERSION);
    return 0;
}

static int on_Program(parse_ctx *p, const char *v, size_t n)
{
    return get_str(p, "path", (slice){v, n}, &p->m->program);
}

/* Memory = bytes, etag. A bad size is ZeroVM's exit 12, not 14. */
static int on_Memory(parse_ctx *p, const char *v, size_t n)
{
    char ex[40];
    slice f[2];
    size_t k = split(v, n, ',', f, 2);
    uint64_t mag, etag;
    int neg, r, rc;
    if (k != 2)
        return BAD(p, "%zu field%s, expected 2", k, k == 1 ? "" : "s");
    if ((r = read_int(f[0].s, f[0].n, &neg, &mag)) == NUM_JUNK)
        return BAD(p, "'%s' is not an integer", excerpt(ex, f[0].s, f[0].n));
    excerpt(ex, f[0].s, f[0].n);
    if (neg)
        return fail(p->err, ZV_CFG_EXIT_MEMORY, p->line, "Memory", "'%s' is negative", ex);
    if (r == NUM_BIG || mag > ZV_CFG_MAX_MEM)
        return fail(p->err, ZV_CFG_EXIT_MEMORY, p->line, "Memory", "'%s' is above 4 GiB", ex);
    if (!mag)
        return fail(p->err, ZV_CFG_EXIT_MEMORY, p->line, "Memory", "0 bytes");
    if (mag % ZV_CFG_PAGE)
        return fail(p->err, ZV_CFG_EXIT_MEMORY, p->line, "Memory",
                    "'%s' is not a multiple of 65536", ex);
    if ((rc = get_num(p, "etag ", f[1], 0, 1, &etag)))
        return rc;
    p->m->memory_bytes = mag;
    p->m->memory_etag = (int)etag;
    return 0;
}

static int on_Timeout(parse_ctx *p, const char *v, size_t n)
{
    uint64_t t;
    int rc = get_num(p, "", (slice){v, n}, 1, UINT32_MAX, &t);
    if (rc == 0)
        p->m->timeout_s = (uint32_t)t;
    return rc;
}

/* Channel = uri, alias, type, etag, gets, getsize, puts, putsize */
static int on_Channel(parse_ctx *p, const char *v, size_t n)
{
    static const char *const limit_name[4] = {"gets ", "getsize ", "puts ", "putsize "};
    zv_cfg_manifest *m = p->m;
    zv_cfg_channel c = {.line = p->line};
    slice f[8];
    size_t k = split(v, n, ',', f, 8);
    uint64_t x;
    int rc;
    if (k != 8)
        return BAD(p, "%zu field%s, expected 8", k, k == 1 ? "" : "s");
    if (!f[0].n || !f[1].n)
        return BAD(p, "empty %s", f[0].n ? "alias" : "uri");
    if ((rc = get_num(p, "type ", f[2], 0, 3, &x)))
        return rc;
    c.type = (int)x;
    if ((rc = get_num(p, "etag ", f[3], 0, 1, &x)))
        return rc;
    c.etag = (int)x;
    for (int i = 0; i < 4; i++) {
        if ((rc = get_num(p, limit_name[i], f[4 + i], 0, INT64_MAX, &x)))
            return rc;
        c.limits[i] = (int64_t)x;
    }
    if (!(c.limits[0] | c.limits[1] | c.limits[2] | c.limits[3]))
        return fail(p->err, ZV_CFG_EXIT_ZERO_LIMITS, p->line, "Channel",
                    "all four limits are zero");
    if (grow((void **)&m->channels, &p->cap_channels, m->n_channels + 1, sizeof c))
        return -ENOMEM;
    c.uri = zv_cfg_strndup(f[0].s, f[0].n);
    c.alias = zv_cfg_strndup(f[1].s, f[1].n);
    if (!c.uri || !c.alias) {
        free(c.uri);
        free(c.alias);
        return -ENOMEM;
    }
    m->channels[m->n_channels++] = c;
    return 0;
}

static int on_Node(parse_ctx *p, const char *v, size_t n)
{
    uint64_t x;
    int rc = get_num(p, "", (slice){v, n}, INT64_MIN, INT64_MAX, &x);
    if (rc == 0)
        p->m->node = (int64_t)x;
    return rc;
}

static int on_Job(parse_ctx *p, const char *v, size_t n)
{
    return get_str(p, "value", (slice){v, n}, &p->m->job);
}

static int on_Etag(parse_ctx *p, const char *v, size_t n)
{
    uint64_t x;
    int rc = get_num(p, "", (slice){v, n}, 0, 1, &x);
    if (rc == 0)
        p->m->etag = (int)x;
    return rc;
}

/* Args = tok tok ...: blank-separated, each percent-decoded. */
static int on_Args(parse_ctx *p, const char *v, size_t n)
{
    zv_cfg_manifest *m = p->m;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += !zv_cfg_blank(v[i]) && (i == 0 || zv_cfg_blank(v[i - 1]));
    if (!(m->args = zv_cfg_calloc(count + 1, sizeof *m->args)))
        return -ENOMEM;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int rc;
        if (zv_cfg_blank(v[i])) {
            i++;
            continue;
        }
        while (j < n && !zv_cfg_blank(v[j]))
            j++;
        if (!(m->args[m->n_args] = zv_cfg_calloc(j - i + 1, 1)))
            return -ENOMEM;
        m->n_args++;
        if ((rc = decode(p, v + i, j - i, m->args[m->n_args - 1])))
            return rc;
        i = j;
    }
    return 0;
}

/* Env = NAME value: the value is the rest after the first run of blanks,
 * percent-decoded; kept as "NAME=value". */
/* Mount = ALIAS, PATH: the alias must name a channel (checked at the end,
 * when all are known); PATH is absolute, without "." or ".." parts. */
static int on_Mount(parse_ctx *p, const char *v, size_t n)
{
    zv_cfg_manifest *m = p->m;
    zv_cfg_mount *mt;
    slice f[2];
    size_t k = split(v, n, ',', f, 2);
    char ex[40];
    int rc;
    if (k != 2)
        return BAD(p, "%zu field%s, expected 2 (ALIAS, PATH)", k, k == 1 ? "" : "s");
    if (!f[1].n || f[1].s[0] != '/')
        return BAD(p, "path '%s' is not absolute", excerpt(ex, f[1].s, f[1].n));
    for (size_t i = 0; i < f[1].n; i++)
        if (f[1].s[i] == '.' && (i == 0 || f[1].s[i - 1] == '/') &&
            (i + 1 == f[1].n || f[1].s[i + 1] == '/' ||
             (f[1].s[i + 1] == '.' && (i + 2 == f[1].n || f[1].s[i + 2] == '/'))))
            return BAD(p, "path '%s' has a '.' or '..' part", excerpt(ex, f[1].s, f[1].n));
    if (grow((void **)&m->mounts, &p->cap_mounts, m->n_mounts + 1, sizeof *m->mounts))
        return -ENOMEM;
    mt = &m->mounts[m->n_mounts];
    memset(mt, 0, sizeof *mt);
    mt->line = p->line;
    if ((rc = get_str(p, "alias", f[0], &mt->alias)) ||
        (rc = get_str(p, "path", f[1], &mt->path))) {
        free(mt->alias);
        return rc;
    }
    while (strlen(mt->path) > 1 && mt->path[strlen(mt->path) - 1] == '/')
        mt->path[strlen(mt->path) - 1] = 0;
    m->n_mounts++;
    return 0;
}

static int on_Env(parse_ctx *p, const char *v, size_t n)
{
    zv_cfg_manifest *m = p->m;
    size_t name = 0, at;
    char *s;
    int rc;
    uint32_t cap = p->cap_env;
    if (!n)
        return BAD(p, "empty value");
    while (name < n && !zv_cfg_blank(v[name]))
        name++;
    for (at = name; at < n && zv_cfg_blank(v[at]);)
        at++;
    if (grow((void **)&m->env, &p->cap_env, m->n_env + 2, sizeof *m->env))
        return -ENOMEM;
    if (cap != p->cap_env) {
        int *q = zv_cfg_realloc(p->env_line, p->cap_env, sizeof *q);
        if (!q)
            return -ENOMEM;
        p->env_line = q;
    }
    if (!(s = zv_cfg_calloc(n + 2, 1)))
        return -ENOMEM;
    memcpy(s, v, name);
    s[name] = '=';
    if ((rc = decode(p, v + at, n - at, s + name + 1))) {
        free(s);
        return rc;
    }
    p->env_line[m->n_env] = p->line;
    m->env[m->n_env++] = s;
    m->env[m->n_env] = NULL;
    return 0;
}

static int on_Seed(parse_ctx *p, const char *v, size_t n)
{
    return get_num(p, "", (slice){v, n}, 0, UINT64_MAX, &p->m->seed);
}

static int on_Time(parse_ctx *p, const char *v, size_t n)
{
    return get_num(p, "", (slice){v, n}, 0, ZV_CFG_MAX_TIME, &p->m->time_s);
}

/* ---- lines ---- */

/* ZeroVM ignores a line with no '=' or more than one, and unknown keys. */
static int parse_line(parse_ctx *p, const char *s, size_t n)
{
    const char *eq = memchr(s, '=', n);
    slice k, v;
    int i;
    if (!eq || memchr(eq + 1, '=', n - (size_t)(eq - s) - 1))
        return 0;
    k = trim(s, (size_t)(eq - s));
    v = trim(eq + 1, n - (size_t)(eq - s) - 1);
    for (i = 0; i < N_KEYS; i++)
        if (strlen(keys[i].name) == k.n && !memcmp(keys[i].name, k.s, k.n))
            break;
    if (i == N_KEYS || (p->job && (keys[i].flags & JOB)))
        return 0;
    p->key = i;
    if ((keys[i].flags & SINGLE) && p->first[i])
        return BAD(p, "duplicated (first on line %d)", p->first[i]);
    if (!p->first[i])
        p->first[i] = p->line;
    if (memchr(v.s, 0, v.n))
        return BAD(p, "NUL byte in the value");
    return keys[i].parse(p, v.s, v.n);
}

/* Lines in the text, counting a last one without '\n'; stops past max. */
static size_t count_lines(const char *s, size_t n, size_t max)
{
    size_t lines = 0;
    const char *e;
    for (; n && lines <= max; lines++) {
        if (!(e = memchr(s, '\n', n)))
            return lines + 1;
        n -= (size_t)(e - s) + 1, s = e + 1;
    }
    return lines;
}

/* ---- whole-manifest checks ---- */

/* Guest order: stdin, stdout, stderr, then by alias; equal aliases by line. */
static int channel_cmp(const void *a, const void *b)
{
    const zv_cfg_channel *x = a, *y = b;
    int rx = 3, ry = 3, c;
    for (int i = 0; i < 3; i++) {
        rx = rx == 3 && !strcmp(x->alias, zv_cfg_std_alias[i]) ? i : rx;
        ry = ry == 3 && !strcmp(y->alias, zv_cfg_std_alias[i]) ? i : ry;
    }
    if (rx != ry)
        return rx - ry;
    if ((c = strcmp(x->alias, y->alias)))
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

typedef struct {
    const char *s; /* "NAME=value" */
    int line;
} env_ref;

static int env_cmp(const void *a, const void *b)
{
    const env_ref *x = a, *y = b;
    const char *s = x->s, *t = y->s;
    while (*s == *t && *s != '=')
        s++, t++;
    if (*s != *t) /* '=' ends a name: it sorts first */
        return *s == '=' ? -1 : *t == '=' ? 1 : (unsigned char)*s - (unsigned char)*t;
    return (x->line > y->line) - (x->line < y->line);
}

/* The first line (in line order) that repeats an alias or an Env name. */
static int check_duplicates(parse_ctx *p)
{
    zv_cfg_manifest *m = p->m;
    env_ref *e;
    int bad = 0, first = 0, is_env = 0;
    if (m->n_channels > 1) /* qsort's base must not be NULL */
        qsort(m->channels, m->n_channels, sizeof *m->channels, channel_cmp);
    for (uint32_t i = 1; i < m->n_channels; i++) {
        zv_cfg_channel *a = &m->channels[i - 1], *b = &m->channels[i];
        if (!strcmp(a->alias, b->alias) && (!bad || b->line < bad))
            bad = b->line, first = a->line;
    }
    if (m->n_env < 2)
        goto out;
    if (!(e = zv_cfg_calloc(m->n_env, sizeof *e)))
        return -ENOMEM;
    for (uint32_t i = 0; i < m->n_env; i++)
        e[i] = (env_ref){m->env[i], p->env_line[i]};
    qsort(e, m->n_env, sizeof *e, env_cmp);
    for (uint32_t i = 1; i < m->n_env; i++) {
        if (!env_cmp(&(env_ref){e[i - 1].s, 0}, &(env_ref){e[i].s, 0}) &&
            (!bad || e[i].line < bad))
            bad = e[i].line, first = e[i - 1].line, is_env = 1;
    }
    free(e);
out:
    if (!bad)
        return 0;
    if (is_env)
        return fail(p->err, ZV_CFG_EXIT_MANIFEST, bad, "Env",
                    "duplicated variable (first on line %d)", first);
    return fail(p->err, ZV_CFG_EXIT_MANIFEST, bad, "Channel",
                "duplicated alias (first on line %d)", first);
}

static int finish(parse_ctx *p)
{
    zv_cfg_manifest *m = p->m;
    int rc;
    if ((rc = check_duplicates(p)))
        return rc;
    for (int i = 0; i < N_KEYS; i++)
        if ((keys[i].flags & REQUIRED) && !p->first[i] &&
            !(p->job && (keys[i].flags & (JOB | JOB_OPTIONAL))) && !(p->template && i == K_Program))
            return fail(p->err, ZV_CFG_EXIT_MANIFEST, 0, keys[i].name, "missing");
    if (m->n_channels < 3)
        return fail(p->err, ZV_CFG_EXIT_MANIFEST, 0, "Channel",
                    "%u channel%s, expected at least 3", m->n_channels,
                    m->n_channels == 1 ? "" : "s");
    for (int i = 0; i < 3; i++) /* sorted: a standard channel is at its index */
        if (strcmp(m->channels[i].alias, zv_cfg_std_alias[i]))
            return fail(p->err, ZV_CFG_EXIT_MANIFEST, 0, "Channel", "%s missing",
                        zv_cfg_std_alias[i]);
    for (uint32_t i = 0; i < m->n_mounts; i++)
        if (zv_cfg_find_channel(m, m->mounts[i].alias) < 0)
            return fail(p->err, ZV_CFG_EXIT_MANIFEST, m->mounts[i].line, "Mount",
                        "no channel has the alias '%s'", m->mounts[i].alias);
    if (!m->etag) { /* ZeroVM: Etag = 0 turns every etag off */
        m->memory_etag = 0;
        for (uint32_t i = 0; i < m->n_channels; i++)
            m->channels[i].etag = 0;
    }
    if (!m->args && !(m->args = zv_cfg_calloc(1, sizeof *m->args)))
        return -ENOMEM;
    if (!m->env && !(m->env = zv_cfg_calloc(1, sizeof *m->env)))
        return -ENOMEM;
    return 0;
}

/* ---- the API ---- */

enum { PLAIN, JOB_MANIFEST, TEMPLATE };

static int parse(const char *text, size_t len, const char *dir, int mode, zv_cfg_manifest **out,
                 zv_cfg_err *err)
{
    parse_ctx p = {.err = err, .job = mode == JOB_MANIFEST, .template = mode == TEMPLATE};
    zv_cfg_manifest *m;
    int rc = -ENOMEM;
    *out = NULL;
    memset(err, 0, sizeof *err);
    if (!text)
        text = "", len = 0;
    if (len > ZV_CFG_MAX_BYTES)
        return fail(err, ZV_CFG_EXIT_MANIFEST, 0, "manifest", "%zu bytes, at most %u", len,
                    ZV_CFG_MAX_BYTES);
    if (count_lines(text, len, ZV_CFG_MAX_LINES) > ZV_CFG_MAX_LINES)
        return fail(err, ZV_CFG_EXIT_MANIFEST, 0, "manifest", "more than %d lines",
                    ZV_CFG_MAX_LINES);
    if (!(m = p.m = zv_cfg_calloc(1, sizeof *m)))
        goto out;
    m->etag = 1;
    if (!(m->dir = zv_cfg_strndup(dir ? dir : ".", strlen(dir ? dir : "."))))
        goto out;
    for (const char *s = text, *end = text + len; s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        p.line++;
        if ((rc = parse_line(&p, s, n)))
            goto out;
        s += n + 1;
    }
    rc = finish(&p);
out:
    free(p.env_line);
    if (rc) {
        if (rc == -ENOMEM)
            fail(err, 0, 0, "manifest", "out of memory");
        zv_cfg_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int zv_cfg_parse(const char *text, size_t len, const char *dir, zv_cfg_manifest **out,
                 zv_cfg_err *err)
{
    return parse(text, len, dir, PLAIN, out, err);
}

int zv_cfg_parse_job(const char *text, size_t len, const char *dir, zv_cfg_manifest **out,
                     zv_cfg_err *err)
{
    return parse(text, len, dir, JOB_MANIFEST, out, err);
}

static int load_fail(zv_cfg_err *err, const char *path, int e)
{
    fail(err, ZV_CFG_EXIT_MANIFEST, 0, "manifest", "%s: %s", path, strerror(e));
    return e == ENOENT ? -ENOENT : e == ENOMEM ? -ENOMEM : -EIO;
}

static int load(const char *path, int mode, zv_cfg_manifest **out, zv_cfg_err *err)
{
    /* One byte over the cap, so that zv_cfg_parse sees a too-large file. */
    size_t cap = ZV_CFG_MAX_BYTES + 1, len = 0, dir_len;
    const char *slash = strrchr(path, '/');
    char *buf = NULL, *dir = NULL;
    int fd, rc;
    *out = NULL;
    memset(err, 0, sizeof *err);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return load_fail(err, path, errno);
    if (!(buf = zv_cfg_calloc(cap, 1))) {
        rc = load_fail(err, path, ENOMEM);
        goto out;
    }
    while (len < cap) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = load_fail(err, path, errno);
            goto out;
        }
        if (!r)
            break;
        len += (size_t)r;
    }
    dir_len = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (!(dir = zv_cfg_strndup(slash ? path : ".", dir_len))) {
        rc = load_fail(err, path, ENOMEM);
        goto out;
    }
    rc = parse(buf, len, dir, mode, out, err);
out:
    close(fd);
    free(buf);
    free(dir);
    return rc;
}

int zv_cfg_load(const char *path, zv_cfg_manifest **out, zv_cfg_err *err)
{
    return load(path, PLAIN, out, err);
}

int zv_cfg_load_template(const char *path, zv_cfg_manifest **out, zv_cfg_err *err)
{
    return load(path, TEMPLATE, out, err);
}

void zv_cfg_free(zv_cfg_manifest *m)
{
    if (!m)
        return;
    free(m->program);
    free(m->job);
    free(m->dir);
    for (uint32_t i = 0; i < m->n_channels; i++) {
        free(m->channels[i].uri);
        free(m->channels[i].alias);
    }
    free(m->channels);
    for (uint32_t i = 0; i < m->n_args; i++)
        free(m->args[i]);
    free(m->args);
    for (uint32_t i = 0; i < m->n_env; i++)
        free(m->env[i]);
    free(m->env);
    for (uint32_t i = 0; i < m->n_mounts; i++) {
        free(m->mounts[i].alias);
        free(m->mounts[i].path);
    }
    free(m->mounts);
    free(m);
}

/* A path that does not fit comes back empty, never cut: a cut path could
 * name another file. */
void zv_cfg_resolve(const zv_cfg_manifest *m, const char *path, char *out, size_t n)
{
    const char *dir = m->dir;
    int w;
    if (!n)
        return;
    if (path[0] == '/' || !dir || !dir[0] || !strcmp(dir, "."))
        w = snprintf(out, n, "%s", path);
    else
        w = snprintf(out, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path);
    if (w < 0 || (size_t)w >= n)
        out[0] = 0;
}

/* Linear: called when a guest opens a channel by name, not per read. */
int zv_cfg_job_fits(const zv_cfg_manifest *daemon, const zv_cfg_manifest *job, zv_cfg_err *err)
{
    memset(err, 0, sizeof *err);
    for (uint32_t i = 0; i < daemon->n_channels; i++) {
        const zv_cfg_channel *d = &daemon->channels[i];
        int k = zv_cfg_find_channel(job, d->alias);
        const zv_cfg_channel *j = k < 0 ? NULL : &job->channels[k];
        if (!j)
            return fail(err, ZV_CFG_EXIT_MANIFEST, 0, "Channel", "%s missing (the daemon's "
                        "manifest has it on line %d)", d->alias, d->line);
        if (j->type != d->type)
            return fail(err, ZV_CFG_EXIT_MANIFEST, j->line, "Channel", "%s: type %d, the "
                        "daemon's is %d", d->alias, j->type, d->type);
        for (int l = 0; l < 4; l++)
            if (j->limits[l] != d->limits[l])
                return fail(err, ZV_CFG_EXIT_MANIFEST, j->line, "Channel", "%s: limit %d is "
                            "%lld, the daemon's is %lld", d->alias, l + 1,
                            (long long)j->limits[l], (long long)d->limits[l]);
    }
    for (uint32_t i = 0; i < job->n_channels; i++)
        if (zv_cfg_find_channel(daemon, job->channels[i].alias) < 0)
            return fail(err, ZV_CFG_EXIT_MANIFEST, job->channels[i].line, "Channel",
                        "%s: the daemon's manifest has no such channel", job->channels[i].alias);
    return 0;
}

int zv_cfg_find_channel(const zv_cfg_manifest *m, const char *alias)
{
    for (uint32_t i = 0; i < m->n_channels; i++)
        if (!strcmp(m->channels[i].alias, alias))
            return (int)i;
    return -1;
}
