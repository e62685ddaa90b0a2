/*
 * redis.c — the Redis Streams connector of `zvm consume` (hiredis, one
 * blocking connection per consumer).
 *
 * Every call returns 0 or a count, or: -EPIPE when the connection is gone
 * (the caller reconnects with zv_io_redis_reconnect and repeats the call),
 * -EAGAIN when the server is not ready (loading its data: wait, repeat),
 * -EPROTO when Redis answered something this code does not expect, and
 * -EINVAL when Redis refused the command (the reply's text is in `why`).
 *
 * The ack step is one Lua script per commit: for each result it XACKs the
 * input entry and XADDs the output (or the error) only when the XACK took
 * an entry off the pending list, so a record processed twice (after a
 * stall or a crash) still appears once in OUT and ERR together. The
 * script is loaded once (SCRIPT LOAD) and called by its SHA; after a
 * Redis restart empties the script cache, NOSCRIPT makes it load again.
 */
#include "io/io.h"

#include <errno.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define REPLY_TIMEOUT_S 30 /* beyond any BLOCK this code asks for */

/* KEYS: IN, OUT, ERR; ARGV: group, then per result: id, kind ('o' output:
 * data; 'e' error: cause, detail, data; 's' ack only). Returns the
 * entries it wrote. */
static const char ACK_SCRIPT[] =
    "local n, i = 0, 2\n"
    "while i <= #ARGV do\n"
    "  local id, kind = ARGV[i], ARGV[i + 1]\n"
    "  local acked = redis.call('XACK', KEYS[1], ARGV[1], id) == 1\n"
    "  if kind == 'o' then\n"
    "    if acked then redis.call('XADD', KEYS[2], '*', 'src', id, 'data', ARGV[i + 2]); n = n + 1 end\n"
    "    i = i + 3\n"
    "  elseif kind == 'e' then\n"
    "    if acked then\n"
    "      redis.call('XADD', KEYS[3], '*', 'src', id, 'cause', ARGV[i + 2], 'detail', ARGV[i + 3],\n"
    "                 'data', ARGV[i + 4])\n"
    "      n = n + 1\n"
    "    end\n"
    "    i = i + 5\n"
    "  else\n"
    "    i = i + 2\n"
    "  end\n"
    "end\n"
    "return n\n";

struct zv_io_redis {
    redisContext *c;
    char host[256];
    int port;
    char sha[41]; /* the ack script's, once loaded */
};

struct zv_io_entries {
    redisReply *reply;
    zv_io_entry *e;
    size_t n;
};

static int fail(char *why, size_t n, const char *fmt, const char *a, const char *b)
{
    if (why)
        snprintf(why, n, fmt, a, b);
    return -EINVAL;
}

static int connect_now(zv_io_redis *r, char *why, size_t n)
{
    struct timeval t = {5, 0}, reply = {REPLY_TIMEOUT_S, 0};
    if (r->c)
        redisFree(r->c);
    r->sha[0] = 0; /* a new server may not have the script */
    r->c = redisConnectWithTimeout(r->host, r->port, t);
    if (!r->c || r->c->err) {
        char port[16];
        snprintf(port, sizeof port, "%d", r->port);
        if (why)
            snprintf(why, n, "cannot connect to Redis at %s:%s: %s", r->host, port,
                     r->c ? r->c->errstr : "out of memory");
        return -EPIPE;
    }
    redisSetTimeout(r->c, reply);
    return 0;
}

int zv_io_redis_connect(const char *addr, zv_io_redis **out, char *why, size_t n)
{
    zv_io_redis *r;
    const char *colon = strrchr(addr, ':');
    char *end;
    long port;
    int rc;
    *out = NULL;
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof r->host)
        return fail(why, n, "--redis %s: expected HOST:PORT%s", addr, "");
    port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return fail(why, n, "--redis %s: bad port%s", addr, "");
    if (!(r = calloc(1, sizeof *r)))
        return -ENOMEM;
    memcpy(r->host, addr, (size_t)(colon - addr));
    r->port = (int)port;
    if ((rc = connect_now(r, why, n))) {
        zv_io_redis_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int zv_io_redis_reconnect(zv_io_redis *r, char *why, size_t n) { return connect_now(r, why, n); }

void zv_io_redis_free(zv_io_redis *r)
{
    if (!r)
        return;
    if (r->c)
        redisFree(r->c);
    free(r);
}

/* One command; its reply or NULL with rc set. */
static redisReply *command(zv_io_redis *r, int argc, const char **argv, const size_t *len, int *rc,
                           char *why, size_t n)
{
    redisReply *rep;
    if (!r->c || r->c->err) {
        *rc = -EPIPE;
        return NULL;
    }
    rep = redisCommandArgv(r->c, argc, argv, len);
    if (!rep) {
        if (why)
            snprintf(why, n, "Redis connection lost: %s", r->c->errstr);
        *rc = -EPIPE;
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        if (why)
            snprintf(why, n, "Redis: %s", rep->str);
        /* a server still loading its data, or busy: later, not never */
        *rc = !strncmp(rep->str, "NOSCRIPT", 8)                                   ? -ENOENT
              : !strncmp(rep->str, "LOADING", 7) || !strncmp(rep->str, "BUSY ", 5) ||
                        !strncmp(rep->str, "TRYAGAIN", 8) || !strncmp(rep->str, "MASTERDOWN", 10)
                  ? -EAGAIN
                  : -EINVAL;
        freeReplyObject(rep);
        return NULL;
    }
    *rc = 0;
    return rep;
}

int zv_io_redis_expect_stream(zv_io_redis *r, const char *key, char *why, size_t n)
{
    const char *argv[] = {"TYPE", key};
    int rc;
    redisReply *rep = command(r, 2, argv, NULL, &rc, why, n);
    if (!rep)
        return rc;
    if (rep->type != REDIS_REPLY_STATUS)
        rc = -EPROTO;
    else if (strcmp(rep->str, "none") && strcmp(rep->str, "stream"))
        rc = fail(why, n, "key %s holds a %s, not a stream", key, rep->str);
    freeReplyObject(rep);
    return rc;
}

int zv_io_redis_create_group(zv_io_redis *r, const char *stream, const char *group, char *why,
                             size_t n)
{
    /* from the stream's start: entries pushed before the first consumer count */
    const char *argv[] = {"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"};
    int rc;
    redisReply *rep = command(r, 6, argv, NULL, &rc, why, n);
    if (rep)
        freeReplyObject(rep);
    if (rc == -EINVAL && why && strstr(why, "BUSYGROUP"))
        return 0; /* it exists */
    return rc;
}

/* The entries of one stream's array: [[id, [field, value, ...] or nil], ...]. */
static int take_entries(redisReply *arr, zv_io_entries **out)
{
    zv_io_entries *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    if (arr->elements && !(e->e = calloc(arr->elements, sizeof *e->e))) {
        free(e);
        return -ENOMEM;
    }
    for (size_t i = 0; i < arr->elements; i++) {
        redisReply *it = arr->element[i], *fields;
        zv_io_entry *x = &e->e[e->n];
        if (it->type != REDIS_REPLY_ARRAY || it->elements != 2 ||
            it->element[0]->type != REDIS_REPLY_STRING) {
            free(e->e);
            free(e);
            return -EPROTO;
        }
        x->id = it->element[0]->str;
        x->deliveries = 1;
        fields = it->element[1];
        for (size_t f = 0; fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements; f += 2)
            if (fields->element[f]->type == REDIS_REPLY_STRING && fields->element[f]->len == 4 &&
                !memcmp(fields->element[f]->str, "data", 4) &&
                fields->element[f + 1]->type == REDIS_REPLY_STRING) {
                x->data = (const uint8_t *)fields->element[f + 1]->str;
                x->len = fields->element[f + 1]->len;
                x->has_data = 1;
            }
        e->n++;
    }
    *out = e;
    return 0;
}

int zv_io_redis_read(zv_io_redis *r, const zv_io_group *g, int pending, unsigned count,
                     int block_ms, zv_io_entries **out, char *why, size_t n)
{
    char cnt[16], block[16];
    const char *argv[] = {"XREADGROUP", "GROUP", g->group, g->consumer, "COUNT", cnt,
                          "BLOCK", block, "STREAMS", g->in, pending ? "0" : ">"};
    redisReply *rep, *arr;
    int rc, argc = 11;
    *out = NULL;
    snprintf(cnt, sizeof cnt, "%u", count);
    snprintf(block, sizeof block, "%d", block_ms);
    if (pending || block_ms < 0) { /* no BLOCK */
        argv[6] = "STREAMS", argv[7] = g->in, argv[8] = pending ? "0" : ">";
        argc = 9;
    }
    if (!(rep = command(r, argc, argv, NULL, &rc, why, n)))
        return rc;
    if (rep->type == REDIS_REPLY_NIL) { /* nothing within BLOCK */
        freeReplyObject(rep);
        return 0;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
        rep->element[0]->type != REDIS_REPLY_ARRAY || rep->element[0]->elements != 2 ||
        (arr = rep->element[0]->element[1])->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        return -EPROTO;
    }
    if ((rc = take_entries(arr, out))) {
        freeReplyObject(rep);
        return rc;
    }
    (*out)->reply = rep;
    return (int)(*out)->n;
}

int zv_io_redis_claim(zv_io_redis *r, const zv_io_group *g, int64_t min_idle_ms, unsigned count,
                      char cursor[64], zv_io_entries **out, char *why, size_t n)
{
    char idle[24], cnt[16];
    const char *argv[] = {"XAUTOCLAIM", g->in, g->group, g->consumer, idle, cursor, "COUNT", cnt};
    redisReply *rep;
    int rc;
    *out = NULL;
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    snprintf(cnt, sizeof cnt, "%u", count);
    if (!(rep = command(r, 8, argv, NULL, &rc, why, n)))
        return rc;
    /* [next cursor, [entries], [deleted ids] (7.0)] */
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING || rep->element[0]->len >= 64 ||
        rep->element[1]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        return -EPROTO;
    }
    memcpy(cursor, rep->element[0]->str, rep->element[0]->len + 1);
    if ((rc = take_entries(rep->element[1], out))) {
        freeReplyObject(rep);
        return rc;
    }
    (*out)->reply = rep;
    return (int)(*out)->n;
}

int zv_io_redis_deliveries(zv_io_redis *r, const zv_io_group *g, zv_io_entries *e, char *why,
                           size_t n)
{
    char cnt[16];
    const char *argv[] = {"XPENDING", g->in, g->group, NULL, NULL, cnt, g->consumer};
    redisReply *rep;
    int rc;
    size_t k = 0;
    if (!e->n)
        return 0;
    argv[3] = e->e[0].id;
    argv[4] = e->e[e->n - 1].id;
    snprintf(cnt, sizeof cnt, "%zu", e->n);
    if (!(rep = command(r, 7, argv, NULL, &rc, why, n)))
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        return -EPROTO;
    }
    /* [[id, consumer, idle, deliveries], ...] of this consumer, in id
     * order as the entries are (an entry deleted since has none) */
    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *it = rep->element[i];
        if (it->type != REDIS_REPLY_ARRAY || it->elements != 4 ||
            it->element[0]->type != REDIS_REPLY_STRING ||
            it->element[3]->type != REDIS_REPLY_INTEGER)
            continue;
        for (size_t j = k; j < e->n; j++)
            if (!strcmp(e->e[j].id, it->element[0]->str)) {
                e->e[j].deliveries = it->element[3]->integer;
                k = j + 1;
                break;
            }
    }
    freeReplyObject(rep);
    return 0;
}

size_t zv_io_entries_count(const zv_io_entries *e) { return e ? e->n : 0; }
const zv_io_entry *zv_io_entries_at(const zv_io_entries *e, size_t i) { return &e->e[i]; }

void zv_io_entries_free(zv_io_entries *e)
{
    if (!e)
        return;
    if (e->reply)
        freeReplyObject(e->reply);
    free(e->e);
    free(e);
}

static int load_script(zv_io_redis *r, char *why, size_t n)
{
    const char *argv[] = {"SCRIPT", "LOAD", ACK_SCRIPT};
    int rc;
    redisReply *rep = command(r, 3, argv, NULL, &rc, why, n);
    if (!rep)
        return rc;
    if (rep->type != REDIS_REPLY_STRING || rep->len != 40)
        rc = -EPROTO;
    else
        memcpy(r->sha, rep->str, 41);
    freeReplyObject(rep);
    return rc;
}

int zv_io_redis_commit(zv_io_redis *r, const zv_io_group *g, const zv_io_result *res, size_t n_res,
                       long long *written, char *why, size_t n)
{
    size_t argc = 7, at = 0;
    const char **argv;
    size_t *len;
    redisReply *rep = NULL;
    int rc;
    for (size_t i = 0; i < n_res; i++)
        argc += res[i].kind == 'o' ? 3 : res[i].kind == 'e' ? 5 : 2;
    argv = calloc(argc, sizeof *argv);
    len = calloc(argc, sizeof *len);
    if (!argv || !len) {
        free(argv);
        free(len);
        return -ENOMEM;
    }
#define ARG(s, l) (argv[at] = (s), len[at++] = (l))
    ARG("EVALSHA", 7);
    ARG(r->sha, 40);
    ARG("3", 1);
    ARG(g->in, strlen(g->in));
    ARG(g->out, strlen(g->out));
    ARG(g->err, strlen(g->err));
    ARG(g->group, strlen(g->group));
    for (size_t i = 0; i < n_res; i++) {
        const zv_io_result *x = &res[i];
        ARG(x->id, strlen(x->id));
        ARG(x->kind == 'o' ? "o" : x->kind == 'e' ? "e" : "s", 1);
        if (x->kind == 'e') {
            ARG(x->cause, strlen(x->cause));
            ARG(x->detail, strlen(x->detail));
        }
        if (x->kind != 's')
            ARG(x->data ? (const char *)x->data : "", x->len);
    }
#undef ARG
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!r->sha[0] && (rc = load_script(r, why, n)))
            break;
        argv[1] = r->sha;
        if ((rep = command(r, (int)at, argv, len, &rc, why, n)) || rc != -ENOENT)
            break;
        r->sha[0] = 0; /* NOSCRIPT: Redis restarted; load it again */
    }
    free(argv);
    free(len);
    if (!rep)
        return rc;
    rc = rep->type == REDIS_REPLY_INTEGER ? 0 : -EPROTO;
    if (written && rc == 0)
        *written = rep->integer;
    freeReplyObject(rep);
    return rc;
}
