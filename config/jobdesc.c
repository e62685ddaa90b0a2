/*
 * jobdesc.c — job descriptions for `zvm job JOB.json`: ZeroCloud's
 * servlet format (a list of nodes), local subset. Each node becomes one
 * or more instances, each with a manifest of its own: devices as the
 * standard channels (/dev/stdin ... /dev/image), and every connection as
 * a channel /dev/out/<to> or /dev/in/<from>. The manifests are written as
 * text and read back by the manifest parser, so an instance is checked by
 * the same rules as any session. Nothing here opens a device: the runner
 * does, after the whole description has been accepted.
 */
#include "config/internal.h"
#include "config/json.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_INSTANCES 100000
#define BIG_CALLS     4294967296ll
#define BIG_BYTES     1099511627776ll /* 1 TiB: devices and pipes are not what limits a job */

enum { DEV_STDIN, DEV_STDOUT, DEV_STDERR, DEV_INPUT, DEV_OUTPUT, DEV_IMAGE, N_DEVS };
static const char *const dev_names[N_DEVS] = {"stdin", "stdout", "stderr",
                                              "input", "output", "image"};
static const int dev_writable[N_DEVS] = {0, 1, 1, 0, 1, 0};
static const int dev_type[N_DEVS] = {ZV_CFG_SEQ_SEQ, ZV_CFG_SEQ_SEQ, ZV_CFG_SEQ_SEQ,
                                     ZV_CFG_RND_SEQ, ZV_CFG_SEQ_RND, ZV_CFG_RND_SEQ};

typedef struct {
    const zv_json *v; /* the node's object */
    uint32_t index;
    const char *name;
    const zv_json *exec, *devices, *connect;
    const char *dev_path[N_DEVS]; /* NULL: no path; "" : device absent */
    int dev_present[N_DEVS];
    uint64_t memory;
    uint32_t timeout;
    char **matches;         /* wildcard texts, sorted; NULL without a readable wildcard */
    uint32_t *targets;      /* connect: the nodes' indexes, in order */
    uint32_t n_inst, first; /* its instances: [first, first + n_inst) */
} node;

typedef struct {
    const char *file; /* the JSON's path, for messages */
    char *dir;        /* its folder */
    zv_cfg_err *err;
    node *nodes;
    uint32_t n_nodes;
    int nomem;
} ctx;

static int bad(ctx *c, const zv_json *at, const char *fmt, ...)
{
    va_list ap;
    char msg[200];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->err->exit_code = ZV_CFG_EXIT_MANIFEST;
    c->err->line = at ? at->line : 0;
    snprintf(c->err->msg, sizeof c->err->msg, "%s", msg);
    return -EINVAL;
}

static int oom(ctx *c)
{
    bad(c, NULL, "out of memory");
    c->nomem = 1;
    return -ENOMEM;
}

/* Node names, env keys: letters, digits and '_', at most MAX_NAME bytes
 * (so "name-100000" fits an instance name). */
#define MAX_NAME 48

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > MAX_NAME) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

#define MAX_PATH 2048

/* Can the manifest hold s as a channel's path? Not with ',', '=', a line
 * break or surrounding blanks. */
static int manifest_safe(const char *s)
{
    size_t n = strlen(s);
    return !strpbrk(s, ",=\n\r") &&
           !(n && (zv_cfg_blank((unsigned char)s[0]) || zv_cfg_blank((unsigned char)s[n - 1])));
}

/* Does a relative path climb out of the job's folder through ".."? */
static int climbs(const char *p)
{
    int depth = 0;
    if (p[0] == '/') return 0;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && !memcmp(s, "..", 2) && --depth < 0) return 1;
        if (n && !(n == 1 && s[0] == '.') && !(n == 2 && !memcmp(s, "..", 2))) depth++;
        s += n + (s[n] == '/');
    }
    return 0;
}

/* A path as the manifest will hold it: no ',', '=', newline or
 * surrounding blanks (the manifest format cannot spell them), no more than
 * one '*', and a relative one must not climb out of the job's folder
 * (checked here on the pattern, before a folder is listed, and again in
 * build() on every path a '*' was replaced in). */
static int check_path(ctx *c, const zv_json *at, const char *what, const char *p)
{
    const char *star = strchr(p, '*');
    if (strlen(p) > MAX_PATH) return bad(c, at, "%s: a path longer than %d bytes", what, MAX_PATH);
    if (!*p || !manifest_safe(p))
        return bad(c, at,
                   "%s: the path \"%.80s\" is empty, holds ',', '=' or a newline, or starts "
                   "or ends blank",
                   what, p);
    if (star && strchr(star + 1, '*'))
        return bad(c, at, "%s: more than one '*' in \"%.80s\"", what, p);
    if (climbs(p))
        return bad(c, at, "%s: the path \"%.80s\" climbs out of the job's folder", what, p);
    return 0;
}

static char *resolve(const ctx *c, const char *p)
{
    char buf[8192];
    if (p[0] == '/')
        snprintf(buf, sizeof buf, "%s", p);
    else if ((size_t)snprintf(buf, sizeof buf, "%s/%s", c->dir, p) >= sizeof buf)
        return NULL;
    return zv_cfg_strndup(buf, strlen(buf));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

/* The texts `*` matches in a readable path: sorted bytewise, each naming
 * an existing file. Returns a NULL-terminated list or NULL (error set). */
static char **expand(ctx *c, const zv_json *at, const char *what, const char *pattern)
{
    const char *star = strchr(pattern, '*');
    const char *comp = star, *comp_end = star + strcspn(star, "/");
    char dir[4096], *full;
    size_t pre, suf, n = 0, cap = 8;
    char **out = zv_cfg_calloc(cap, sizeof *out);
    DIR *d;
    struct dirent *e;
    while (comp > pattern && comp[-1] != '/')
        comp--;
    pre = (size_t)(star - comp);
    suf = (size_t)(comp_end - star - 1);
    snprintf(dir, sizeof dir, "%.*s", (int)(comp - pattern), pattern);
    full = resolve(c, dir[0] ? dir : ".");
    if (!out || !full || !(d = opendir(full))) {
        int e2 = errno;
        free(out);
        free(full);
        bad(c, at, "%s: cannot list the folder of \"%.80s\": %s", what, pattern, strerror(e2));
        return NULL;
    }
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), text_len;
        char path[8192], *text;
        int dots;
        struct stat st;
        if (len < pre + suf || memcmp(e->d_name, comp, pre) ||
            memcmp(e->d_name + len - suf, star + 1, suf) || (e->d_name[0] == '.' && !pre) ||
            !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) /* "..*" must not climb */
            continue;
        /* the text replaces '*' in writable paths too: "." or ".." there
         * would name a folder, or climb out of the job's folder ("*" then
         * "/count.txt"); a name from readdir never holds a '/' */
        text_len = len - pre - suf;
        dots = (text_len == 1 || text_len == 2) && !memcmp(e->d_name + pre, "..", text_len);
        if (dots || !manifest_safe(e->d_name)) {
            if (dots)
                bad(c, at,
                    "%s: \"%.60s\" matches \"%.60s\" with \"%.*s\", which cannot name an "
                    "instance's files",
                    what, e->d_name, pattern, (int)text_len, e->d_name + pre);
            else
                bad(c, at,
                    "%s: \"%.60s\" matches \"%.60s\", but a name with ',', '=', a line "
                    "break or surrounding blanks cannot be a channel's path",
                    what, e->d_name, pattern);
            closedir(d); /* e goes with it: the message is made first */
            free(full);
            free_list(out);
            return NULL;
        }
        snprintf(path, sizeof path, "%s/%s%s", full, e->d_name, comp_end);
        if (stat(path, &st) || S_ISDIR(st.st_mode)) continue;
        if (n + 2 > cap) {
            char **bigger = zv_cfg_realloc(out, cap *= 2, sizeof *out);
            if (!bigger) break;
            out = bigger;
        }
        if (!(text = zv_cfg_strndup(e->d_name + pre, text_len))) break;
        out[n++] = text;
        out[n] = NULL;
    }
    closedir(d);
    free(full);
    if (e) { /* stopped early: out of memory */
        free_list(out);
        oom(c);
        return NULL;
    }
    if (!n) {
        free(out);
        bad(c, at, "%s: no file matches \"%.80s\"", what, pattern);
        return NULL;
    }
    qsort(out, n, sizeof *out, cmp_str);
    return out;
}

static const zv_json *want(ctx *c, const zv_json *obj, const char *key, int type, int required,
                           const char *where, int *rc)
{
    const zv_json *v = zv_json_get(obj, key);
    if (*rc) return NULL;
    if (!v && required)
        *rc = bad(c, obj, "%s: \"%s\" is missing", where, key);
    else if (v && v->type != type)
        *rc = bad(c, v, "%s.%s: %s, expected %s", where, key, zv_json_type_name(v->type),
                  zv_json_type_name(type));
    return *rc ? NULL : v;
}

static int known_keys(ctx *c, const zv_json *obj, const char *where, const char *const *keys)
{
    for (uint32_t i = 0; i < obj->n; i++) {
        int ok = 0;
        for (const char *const *k = keys; *k && !ok; k++)
            ok = !strcmp(*k, obj->keys[i]);
        if (!ok) return bad(c, &obj->items[i], "%s: unknown key \"%.60s\"", where, obj->keys[i]);
    }
    return 0;
}

static int uint_key(ctx *c, const zv_json *obj, const char *key, const char *where, uint64_t max,
                    uint64_t *out)
{
    int rc = 0;
    const zv_json *v = want(c, obj, key, ZV_JSON_NUM, 0, where, &rc);
    if (rc || !v) return rc;
    if (!v->integer || v->num < 1 || v->num > (double)max)
        return bad(c, v, "%s.%s: expected a whole number from 1 to %llu", where, key,
                   (unsigned long long)max);
    *out = (uint64_t)v->num;
    return 0;
}

/* One node's keys, devices and instance count. */
static int read_node(ctx *c, node *n, const zv_cfg_job_opts *o)
{
    static const char *const node_keys[] = {
        "name",    "exec", "devices",   "file_list", "count",    "connect", "memory",
        "timeout", "args", "replicate", "attach",    "location", NULL};
    static const char *const exec_keys[] = {"path", "name", "args", "env", NULL};
    static const char *const dev_keys[] = {"name", "device", "path",     "content_type",
                                           "meta", "mode",   "min_size", NULL};
    char where[64], dw[96];
    const zv_json *v = n->v, *name;
    int rc = 0;
    uint64_t count = 1, mem = o->memory_bytes, timeout = o->timeout_s;
    snprintf(where, sizeof where, "$[%u]", n->index);
    if (v->type != ZV_JSON_OBJ)
        return bad(c, v, "%s: %s, expected a node (an object)", where, zv_json_type_name(v->type));
    if ((rc = known_keys(c, v, where, node_keys))) return rc;
    if (!(name = want(c, v, "name", ZV_JSON_STR, 1, where, &rc))) return rc;
    if (!valid_name(name->str))
        return bad(c, name, "%s.name: \"%.60s\": letters, digits and '_' only, at most 48", where,
                   name->str);
    n->name = name->str;
    snprintf(where, sizeof where, "$[%u] (%.40s)", n->index, n->name);
    if (!(n->exec = want(c, v, "exec", ZV_JSON_OBJ, 1, where, &rc))) return rc;
    snprintf(dw, sizeof dw, "%s.exec", where);
    if ((rc = known_keys(c, n->exec, dw, exec_keys)) ||
        !want(c, n->exec, "path", ZV_JSON_STR, 1, dw, &rc))
        return rc;
    if ((rc = check_path(c, zv_json_get(n->exec, "path"), dw, zv_json_get(n->exec, "path")->str)))
        return rc;
    want(c, n->exec, "name", ZV_JSON_STR, 0, dw, &rc);
    want(c, n->exec, "args", ZV_JSON_STR, 0, dw, &rc);
    want(c, v, "args", ZV_JSON_STR, 0, where, &rc);
    const zv_json *env = want(c, n->exec, "env", ZV_JSON_OBJ, 0, dw, &rc);
    for (uint32_t i = 0; !rc && env && i < env->n; i++) {
        if (!valid_name(env->keys[i]))
            return bad(c, &env->items[i],
                       "%s.env: \"%.60s\": letters, digits and '_' only, at most 48", dw,
                       env->keys[i]);
        if (env->items[i].type != ZV_JSON_STR)
            return bad(c, &env->items[i], "%s.env.%s: %s, expected a string", dw, env->keys[i],
                       zv_json_type_name(env->items[i].type));
    }
    if (rc || (rc = uint_key(c, v, "count", where, MAX_INSTANCES, &count)) ||
        (rc = uint_key(c, v, "memory", where, ZV_CFG_MAX_MEM, &mem)) ||
        (rc = uint_key(c, v, "timeout", where, 86400 * 365, &timeout)))
        return rc;
    n->memory = mem;
    n->timeout = (uint32_t)timeout;
    n->devices = want(c, v, "devices", ZV_JSON_ARR, 0, where, &rc);
    if (!n->devices && !rc) n->devices = want(c, v, "file_list", ZV_JSON_ARR, 0, where, &rc);
    n->connect = want(c, v, "connect", ZV_JSON_ARR, 0, where, &rc);
    for (uint32_t i = 0; !rc && n->devices && i < n->devices->n; i++) {
        const zv_json *d = &n->devices->items[i], *dn, *dp;
        int k;
        snprintf(dw, sizeof dw, "%s.devices[%u]", where, i);
        if (d->type != ZV_JSON_OBJ)
            return bad(c, d, "%s: %s, expected an object", dw, zv_json_type_name(d->type));
        if ((rc = known_keys(c, d, dw, dev_keys))) return rc;
        if (!(dn = want(c, d, zv_json_get(d, "name") ? "name" : "device", ZV_JSON_STR, 1, dw, &rc)))
            return rc;
        for (k = 0; k < N_DEVS && strcmp(dn->str, dev_names[k]); k++)
            ;
        if (k == N_DEVS)
            return bad(c, dn,
                       "%s.name: unknown device \"%.40s\" (stdin, stdout, stderr, input, "
                       "output or image)",
                       dw, dn->str);
        if (n->dev_present[k])
            return bad(c, dn, "%s.name: the device %s is given twice", dw, dn->str);
        n->dev_present[k] = 1;
        if ((dp = want(c, d, "path", ZV_JSON_STR, 0, dw, &rc)) &&
            (rc = check_path(c, dp, dw, dp->str)))
            return rc;
        if (rc) return rc;
        if (!dp && !dev_writable[k])
            return bad(c, d, "%s: the readable device %s needs a path", dw, dn->str);
        n->dev_path[k] = dp ? dp->str : NULL;
    }
    if (rc) return rc;
    /* readable wildcards: one instance per match; all of them must agree */
    for (int k = 0; k < N_DEVS; k++) {
        char **m;
        if (dev_writable[k] || !n->dev_path[k] || !strchr(n->dev_path[k], '*')) continue;
        snprintf(dw, sizeof dw, "%s.devices (%s)", where, dev_names[k]);
        if (!(m = expand(c, n->v, dw, n->dev_path[k]))) return c->nomem ? -ENOMEM : -EINVAL;
        if (n->matches) {
            size_t a = 0, b = 0;
            while (n->matches[a] && m[a] && !strcmp(n->matches[a], m[a]))
                a++;
            b = a;
            if (n->matches[a] || m[b]) {
                const char *which = n->matches[a] ? n->matches[a] : m[b];
                free_list(m);
                return bad(c, n->v,
                           "%s: wildcard mismatch: \"%.40s\" matches one readable "
                           "device's '*' but not another's",
                           where, which);
            }
            free_list(m);
        } else {
            n->matches = m;
        }
    }
    if (n->matches) {
        for (count = 0; n->matches[count]; count++)
            ;
        if (count > MAX_INSTANCES)
            return bad(c, n->v, "%s: %llu matches, more than %d instances", where,
                       (unsigned long long)count, MAX_INSTANCES);
    }
    n->n_inst = (uint32_t)count;
    for (int k = 0; k < N_DEVS; k++) {
        const char *p = n->dev_path[k];
        if (!dev_writable[k] || !p || strchr(p, '*') || n->n_inst == 1) continue;
        return bad(c, n->v,
                   "%s: the writable device %s has the path \"%.60s\" without '*', but "
                   "the node has %u instances",
                   where, dev_names[k], p, n->n_inst);
    }
    return 0;
}

/* connect: each target resolved to its node's index (n->targets). */
static int read_connect(ctx *c, node *n)
{
    if (n->connect && n->connect->n &&
        !(n->targets = zv_cfg_calloc(n->connect->n, sizeof *n->targets)))
        return oom(c);
    for (uint32_t i = 0; n->connect && i < n->connect->n; i++) {
        const zv_json *t = &n->connect->items[i];
        uint32_t k;
        if (t->type != ZV_JSON_STR)
            return bad(c, t, "$[%u] (%s).connect[%u]: %s, expected a node's name", n->index,
                       n->name, i, zv_json_type_name(t->type));
        for (k = 0; k < c->n_nodes && strcmp(c->nodes[k].name, t->str); k++)
            ;
        if (k == c->n_nodes)
            return bad(c, t, "$[%u] (%s).connect[%u]: no node is named \"%.40s\"", n->index,
                       n->name, i, t->str);
        if (k == n->index && n->n_inst == 1)
            return bad(c, t,
                       "$[%u] (%s).connect[%u]: the node connects to itself but has one "
                       "instance (a cycle with count 1)",
                       n->index, n->name, i);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(n->connect->items[j].str, t->str))
                return bad(c, t, "$[%u] (%s).connect[%u]: \"%s\" is listed twice", n->index,
                           n->name, i, t->str);
        n->targets[i] = k;
    }
    return 0;
}

/* ---- the manifests ---- */

typedef struct {
    char *s;
    size_t n, cap;
    int nomem;
} text;

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    int k;
    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0 || t->nomem) {
            t->nomem = 1;
            return;
        }
        if (t->s && t->n + (size_t)k < t->cap) {
            t->n += (size_t)k;
            return;
        }
        size_t cap = (t->cap + (size_t)k + 1) * 2;
        char *s = zv_cfg_realloc(t->s, cap, 1);
        if (!s) {
            t->nomem = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

/* An Args or Env token: percent-encoded where the manifest would split or
 * misread it. */
static void put_token(text *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch == '%' || ch == ',' || ch == '=' || ch == 0x7f)
            put(t, "%%%02X", ch);
        else
            put(t, "%c", ch);
    }
}

static void channel(text *t, const char *uri, const char *alias, int type, int writable)
{
    put(t, "Channel = %s, %s, %d, 0, %lld, %lld, %lld, %lld\n", uri, alias, type,
        writable ? 0 : BIG_CALLS, writable ? 0 : BIG_BYTES, writable ? BIG_CALLS : 0,
        writable ? BIG_BYTES : 0);
}

/* The device's host path for instance `i` of node `n`. A device not
 * listed is /dev/null, but for stderr: what an instance says on it is
 * kept (INSTANCE.stderr beside the devices without a path), so a job that
 * fails says why. */
static void device_path(const zv_cfg_job_opts *o, const node *n, int k, const char *inst,
                        uint32_t i, char *out, size_t cap)
{
    const char *p = n->dev_path[k], *star;
    if (!n->dev_present[k] && k != DEV_STDERR) {
        snprintf(out, cap, "/dev/null");
    } else if (!p) { /* a writable device without a path, or stderr unlisted: the outdir
                      * (relative: to the JSON's folder, as the manifest resolves it) */
        snprintf(out, cap, "%s/%s.%s", o->outdir ? o->outdir : "out", inst, dev_names[k]);
    } else if ((star = strchr(p, '*'))) {
        const char *fill = dev_writable[k] && !n->matches ? inst : n->matches[i];
        snprintf(out, cap, "%.*s%s%s", (int)(star - p), p, fill, star + 1);
    } else {
        snprintf(out, cap, "%s", p);
    }
}

static int build(ctx *c, const zv_cfg_job_opts *o, zv_cfg_jobdesc *j)
{
    char path[8192], alias[256];
    for (uint32_t ni = 0; ni < c->n_nodes; ni++) {
        node *n = &c->nodes[ni];
        const zv_json *args = zv_json_get(n->exec, "args"), *argv0 = zv_json_get(n->exec, "name");
        const zv_json *env = zv_json_get(n->exec, "env");
        if (!args) args = zv_json_get(n->v, "args");
        for (uint32_t i = 0; i < n->n_inst; i++) {
            zv_cfg_job_instance *in = &j->inst[n->first + i];
            text t = {0};
            int rc;
            zv_cfg_err perr = {0};
            uint64_t outs = 0, memory;
            for (uint32_t p = 0; p < j->n_pipes; p++)
                outs += j->pipes[p].from == n->first + i;
            /* the buffers of the pipes it writes are part of its Memory */
            if (n->memory < outs * ZV_CFG_JOB_PIPE_BYTES + ZV_CFG_PAGE)
                return bad(c, n->v,
                           "$[%u] (%s): memory %llu is too small for %llu pipes of %d "
                           "KiB and the guest",
                           n->index, n->name, (unsigned long long)n->memory,
                           (unsigned long long)outs, ZV_CFG_JOB_PIPE_BYTES / 1024);
            memory = n->memory - outs * ZV_CFG_JOB_PIPE_BYTES;
            put(&t, "Version = %d\nProgram = %s\nMemory = %llu, 0\nTimeout = %u\nArgs = ",
                ZV_CFG_VERSION, zv_json_get(n->exec, "path")->str, (unsigned long long)memory,
                n->timeout);
            put_token(&t, argv0 ? argv0->str : in->name, strlen(argv0 ? argv0->str : in->name));
            for (const char *a = args ? args->str : ""; *a;) {
                size_t len = strcspn(a, " \t\n\r\f\v");
                if (len) {
                    put(&t, " ");
                    put_token(&t, a, len);
                }
                a += len + (a[len] != 0);
            }
            put(&t, "\n");
            for (uint32_t e = 0; env && e < env->n; e++) {
                put(&t, "Env = %s ", env->keys[e]);
                put_token(&t, env->items[e].str, strlen(env->items[e].str));
                put(&t, "\n");
            }
            for (int k = 0; k < N_DEVS; k++) {
                device_path(o, n, k, in->name, i, path, sizeof path);
                if (n->dev_path[k] && climbs(path)) /* '*' replaced: checked again */
                    return bad(c, n->v,
                               "$[%u] (%s): instance %s: the device %s's path \"%.80s\" "
                               "climbs out of the job's folder",
                               n->index, n->name, in->name, dev_names[k], path);
                snprintf(alias, sizeof alias, "/dev/%s", dev_names[k]);
                if (k < 3 || n->dev_present[k])
                    channel(&t, path, alias, dev_type[k], dev_writable[k]);
            }
            for (uint32_t p = 0; p < j->n_pipes; p++) {
                const zv_cfg_job_pipe *pp = &j->pipes[p];
                if (pp->to == n->first + i) {
                    snprintf(alias, sizeof alias, "/dev/in/%s", j->inst[pp->from].name);
                    channel(&t, ZV_CFG_PIPE_URI, alias, ZV_CFG_SEQ_SEQ, 0);
                }
                if (pp->from == n->first + i) {
                    snprintf(alias, sizeof alias, "/dev/out/%s", j->inst[pp->to].name);
                    channel(&t, ZV_CFG_PIPE_URI, alias, ZV_CFG_SEQ_SEQ, 1);
                }
            }
            if (t.nomem) {
                free(t.s);
                return oom(c);
            }
            rc = zv_cfg_parse(t.s, t.n, c->dir, &in->man, &perr);
            free(t.s);
            if (rc == -ENOMEM) return oom(c);
            if (rc)
                return bad(c, n->v, "$[%u] (%s): instance %s: %s", n->index, n->name, in->name,
                           perr.msg);
        }
    }
    return 0;
}

static int expand_job(ctx *c, const zv_json *root, const zv_cfg_job_opts *o, zv_cfg_jobdesc *j)
{
    uint64_t total = 0, pipes = 0;
    int rc;
    if (root->type != ZV_JSON_ARR)
        return bad(c, root, "$: %s, expected a list of nodes", zv_json_type_name(root->type));
    if (!root->n) return bad(c, root, "$: the job has no nodes");
    if (!(c->nodes = zv_cfg_calloc(root->n, sizeof *c->nodes))) return oom(c);
    c->n_nodes = root->n;
    for (uint32_t i = 0; i < root->n; i++) {
        c->nodes[i].v = &root->items[i];
        c->nodes[i].index = i;
        if ((rc = read_node(c, &c->nodes[i], o))) return rc;
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(c->nodes[k].name, c->nodes[i].name))
                return bad(c, zv_json_get(c->nodes[i].v, "name"),
                           "$[%u].name: \"%s\" is also "
                           "the name of $[%u]",
                           i, c->nodes[i].name, k);
        c->nodes[i].first = (uint32_t)total;
        total += c->nodes[i].n_inst;
        if (total > MAX_INSTANCES)
            return bad(c, c->nodes[i].v, "the job has more than %d instances", MAX_INSTANCES);
    }
    for (uint32_t i = 0; i < c->n_nodes; i++) {
        if ((rc = read_connect(c, &c->nodes[i]))) return rc;
        for (uint32_t t = 0; c->nodes[i].connect && t < c->nodes[i].connect->n; t++) {
            const node *to = &c->nodes[c->nodes[i].targets[t]];
            pipes +=
                (uint64_t)c->nodes[i].n_inst * to->n_inst - (to == &c->nodes[i] ? to->n_inst : 0);
        }
    }
    if (pipes > ZV_CFG_JOB_MAX_PIPES)
        return bad(c, root, "the job's connections need %llu pipes, more than %d",
                   (unsigned long long)pipes, ZV_CFG_JOB_MAX_PIPES);
    j->inst = zv_cfg_calloc(total, sizeof *j->inst);
    j->pipes = zv_cfg_calloc(pipes ? pipes : 1, sizeof *j->pipes);
    if (!j->inst || !j->pipes) return oom(c);
    for (uint32_t i = 0; i < c->n_nodes; i++) {
        const node *n = &c->nodes[i];
        for (uint32_t k = 0; k < n->n_inst; k++) {
            char name[64];
            zv_cfg_job_instance *in = &j->inst[n->first + k];
            if (n->n_inst == 1)
                snprintf(name, sizeof name, "%s", n->name);
            else
                snprintf(name, sizeof name, "%s-%u", n->name, k + 1);
            if (!(in->name = zv_cfg_strndup(name, strlen(name)))) return oom(c);
            in->node = i;
            j->n_inst++;
        }
    }
    for (uint32_t i = 0; i < c->n_nodes; i++) {
        const node *a = &c->nodes[i];
        for (uint32_t t = 0; a->connect && t < a->connect->n; t++) {
            const node *b = &c->nodes[a->targets[t]];
            for (uint32_t x = 0; x < a->n_inst; x++)
                for (uint32_t y = 0; y < b->n_inst; y++)
                    if (a->first + x != b->first + y)
                        j->pipes[j->n_pipes++] = (zv_cfg_job_pipe){a->first + x, b->first + y};
        }
    }
    return build(c, o, j);
}

int zv_cfg_jobdesc_load(const char *path, const zv_cfg_job_opts *o, zv_cfg_jobdesc **out,
                        zv_cfg_err *err)
{
    ctx c = {path, NULL, err, NULL, 0, 0};
    zv_json root;
    zv_cfg_jobdesc *j = NULL;
    FILE *f = fopen(path, "rb");
    char *buf = NULL, why[200];
    size_t len = 0;
    const char *slash = strrchr(path, '/');
    int rc;
    memset(err, 0, sizeof *err);
    *out = NULL;
    if (!f) return bad(&c, NULL, "%s", strerror(errno)), -ENOENT;
    buf = zv_cfg_calloc(ZV_CFG_JOB_MAX_BYTES + 1, 1);
    if (buf) len = fread(buf, 1, ZV_CFG_JOB_MAX_BYTES + 1, f);
    fclose(f);
    if (!buf) return oom(&c);
    if (len > ZV_CFG_JOB_MAX_BYTES) {
        free(buf);
        return bad(&c, NULL, "larger than %d bytes", ZV_CFG_JOB_MAX_BYTES);
    }
    rc = zv_json_parse(buf, len, &root, why, sizeof why);
    free(buf);
    if (rc) return bad(&c, NULL, "%s", why), rc;
    c.dir = slash ? zv_cfg_strndup(path, slash == path ? 1 : (size_t)(slash - path))
                  : zv_cfg_strndup(".", 1);
    if (!c.dir || !(j = zv_cfg_calloc(1, sizeof *j)))
        rc = oom(&c);
    else
        rc = expand_job(&c, &root, o, j);
    for (uint32_t i = 0; i < c.n_nodes; i++) {
        free_list(c.nodes[i].matches);
        free(c.nodes[i].targets);
    }
    if (!rc) {
        if (!(j->nodes = zv_cfg_calloc(c.n_nodes, sizeof *j->nodes))) rc = oom(&c);
        for (uint32_t i = 0; !rc && i < c.n_nodes; i++, j->n_nodes++)
            if (!(j->nodes[i] = zv_cfg_strndup(c.nodes[i].name, strlen(c.nodes[i].name))))
                rc = oom(&c);
    }
    free(c.nodes);
    free(c.dir);
    zv_json_free(&root);
    if (rc) {
        zv_cfg_jobdesc_free(j);
        return rc;
    }
    *out = j;
    return 0;
}

void zv_cfg_jobdesc_free(zv_cfg_jobdesc *j)
{
    if (!j) return;
    for (uint32_t i = 0; i < j->n_inst; i++) {
        free(j->inst[i].name);
        zv_cfg_free(j->inst[i].man);
    }
    for (uint32_t i = 0; i < j->n_nodes; i++)
        free(j->nodes[i]);
    free(j->nodes);
    free(j->inst);
    free(j->pipes);
    free(j);
}
