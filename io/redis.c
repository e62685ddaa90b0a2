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
 * The ack step is one Lua script per commit. A script is atomic but not
 * transactional: an error after a write keeps the write. So each result
 * is written first (XADD to OUT or ERR) and its input XACKed only once
 * the write succeeded; a write Redis refuses (a key retyped, a stream
 * whose ids are exhausted, an ACL, maxmemory) stops the script with that
 * result and every later one still pending, the earlier ones committed
 * whole. An XACK that removes nothing means the result was committed
 * before (a record processed twice after a stall or a crash): the entry
 * just written is deleted again (XDEL), so OUT and ERR hold it once.
 * Rejected: checking first that the input is pending (XPENDING per entry,
 * 2-3 us each in Redis against 0.7-1.5 us for XACK: the hot path's Redis
 * time would double) and acking first after checking what could make the
 * XADD fail (TYPE, the last id), which cannot foresee an ACL or a future
 * error; the price of the choice is that a duplicate, rare, leaves OUT's
 * last id and its entries-added count moved on.
 *
 * Claims are a script too: Redis 7's XAUTOCLAIM (and XCLAIM) drop from
 * the pending list the entries deleted since they were read, returning
 * only their ids, so a crash before their ERR entries are written loses
 * them and a lost reply doubles them. The claim script takes the idle
 * entries (XPENDING IDLE), claims those that still exist (XCLAIM; an
 * XRANGE each tells, affordable since claims are rare) and returns the
 * deleted ones as entries without fields, still pending to their old
 * consumer: the ack step writes them to ERR and acks them like any other.
 * The same code runs on 6.2 and 7. Scripts are loaded once (SCRIPT LOAD)
 * and called by their SHA; after a Redis restart empties the script
 * cache, NOSCRIPT makes them load again.
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
 * data, exit code, stderr; 'e' error: cause, detail, data, exit code,
 * stderr; 's' ack only). An exit code of "" (0) and an empty stderr are
 * left out of the entry. Returns the entries it wrote, or on a refused
 * command {written, results committed, key, command, Redis' error}. */
static const char ACK_SCRIPT[] =
    "local n, done, i = 0, 0, 2\n"
    "local function add(key, f, code, err)\n"
    "  if code ~= '' then f[#f + 1] = 'exit_code'; f[#f + 1] = code end\n"
    "  if err ~= '' then f[#f + 1] = 'stderr'; f[#f + 1] = err end\n"
    "  return redis.pcall('XADD', key, '*', unpack(f))\n"
    "end\n"
    "while i <= #ARGV do\n"
    "  local id, kind, key, w = ARGV[i], ARGV[i + 1], nil, nil\n"
    "  if kind == 'o' then\n"
    "    key = KEYS[2]\n"
    "    w = add(key, {'src', id, 'data', ARGV[i + 2]}, ARGV[i + 3], ARGV[i + 4])\n"
    "    i = i + 5\n"
    "  elseif kind == 'e' then\n"
    "    key = KEYS[3]\n"
    "    w = add(key, {'src', id, 'cause', ARGV[i + 2], 'detail', ARGV[i + 3], 'data', ARGV[i + 4]},\n"
    "            ARGV[i + 5], ARGV[i + 6])\n"
    "    i = i + 7\n"
    "  else\n"
    "    i = i + 2\n"
    "  end\n"
    "  if type(w) == 'table' then return {n, done, key, 'XADD', w.err} end\n"
    "  local a = redis.pcall('XACK', KEYS[1], ARGV[1], id)\n"
    "  if type(a) == 'table' then\n"
    "    if w then redis.pcall('XDEL', key, w) end\n"
    "    return {n, done, KEYS[1], 'XACK', a.err}\n"
    "  end\n"
    "  if w and a == 1 then\n"
    "    n = n + 1\n"
    "  elseif w then\n"
    "    local d = redis.pcall('XDEL', key, w)\n"
    "    if type(d) == 'table' then return {n, done, key, 'XDEL', d.err} end\n"
    "  end\n"
    "  done = done + 1\n"
    "end\n"
    "return n\n";

/* KEYS: IN; ARGV: group, consumer, min idle ms, cursor, count. Returns
 * {next cursor ('0-0': the round is over), entries in id order}, a
 * deleted entry as {id, nil} (left pending: see the opening comment). */
static const char CLAIM_SCRIPT[] =
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], ARGV[4], '+', ARGV[5])\n"
    "local live, got, res = {}, {}, {}\n"
    "for _, e in ipairs(p) do\n"
    "  if #redis.call('XRANGE', KEYS[1], e[1], e[1]) > 0 then live[#live + 1] = e[1]\n"
    "  else got[e[1]] = {e[1], false} end\n"
    "end\n"
    "for from = 1, #live, 1000 do -- unpack's limit is about 8000\n"
    "  local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3],\n"
    "                       unpack(live, from, math.min(from + 999, #live)))\n"
    "  for _, x in ipairs(c) do got[x[1]] = x end\n"
    "end\n"
    "for _, e in ipairs(p) do res[#res + 1] = got[e[1]] end\n"
    "local last = p[#p] and p[#p][1]\n"
    "if #p < tonumber(ARGV[5]) or last == '18446744073709551615-18446744073709551615' then\n"
    "  return {'0-0', res}\n"
    "end\n"
    "return {'(' .. last, res}\n";

enum { ACK, CLAIM, N_SCRIPTS };
static const char *const SCRIPTS[N_SCRIPTS] = {ACK_SCRIPT, CLAIM_SCRIPT};

struct zv_io_redis {
    redisContext *c;
    char host[256];
    int port;
    char sha[N_SCRIPTS][41]; /* each script's, once loaded */
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
    memset(r->sha, 0, sizeof r->sha); /* a new server may not have the scripts */
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

int zv_io_redis_lag(zv_io_redis *r, const zv_io_group *g, long long *lag, char *why, size_t n)
{
    const char *argv[] = {"XINFO", "GROUPS", g->in};
    int rc;
    redisReply *rep = command(r, 3, argv, NULL, &rc, why, n);
    *lag = -1;
    if (!rep)
        return rc;
    for (size_t k = 0; rep->type == REDIS_REPLY_ARRAY && k < rep->elements; k++) {
        const redisReply *grp = rep->element[k];
        long long pending = -1, behind = -1;
        int ours = 0;
        for (size_t f = 0; grp->type == REDIS_REPLY_ARRAY && f + 1 < grp->elements; f += 2) {
            const redisReply *key = grp->element[f], *val = grp->element[f + 1];
            if (key->type != REDIS_REPLY_STRING)
                continue;
            if (!strcmp(key->str, "name") && val->type == REDIS_REPLY_STRING)
                ours = !strcmp(val->str, g->group);
            else if (!strcmp(key->str, "pending") && val->type == REDIS_REPLY_INTEGER)
                pending = val->integer;
            else if (!strcmp(key->str, "lag") && val->type == REDIS_REPLY_INTEGER)
                behind = val->integer; /* Redis 7: entries not yet delivered (nil: unknown) */
        }
        if (ours) /* not yet read, and read but not acked */
            *lag = behind >= 0 && pending >= 0 ? behind + pending : pending;
    }
    freeReplyObject(rep);
    return 0;
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

/* The entries of one stream's array: [[id, [field, value, ...] or nil], ...]
 * (nil: deleted since it was read). */
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
        x->deleted = fields->type == REDIS_REPLY_NIL;
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

static int load_script(zv_io_redis *r, int s, char *why, size_t n)
{
    const char *argv[] = {"SCRIPT", "LOAD", SCRIPTS[s]};
    int rc;
    redisReply *rep = command(r, 3, argv, NULL, &rc, why, n);
    if (!rep)
        return rc;
    if (rep->type != REDIS_REPLY_STRING || rep->len != 40)
        rc = -EPROTO;
    else
        memcpy(r->sha[s], rep->str, 41);
    freeReplyObject(rep);
    return rc;
}

/* EVALSHA of script `s`: argv[0] and argv[1] (and their lengths, when
 * `len` is given) are filled here. Its reply, or NULL with rc set. */
static redisReply *eval(zv_io_redis *r, int s, int argc, const char **argv, size_t *len, int *rc,
                        char *why, size_t n)
{
    redisReply *rep = NULL;
    argv[0] = "EVALSHA";
    if (len)
        len[0] = 7, len[1] = 40;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!r->sha[s][0] && (*rc = load_script(r, s, why, n)))
            return NULL;
        argv[1] = r->sha[s];
        if ((rep = command(r, argc, argv, len, rc, why, n)) || *rc != -ENOENT)
            break;
        r->sha[s][0] = 0; /* NOSCRIPT: Redis restarted; load it again */
    }
    return rep;
}

int zv_io_redis_claim(zv_io_redis *r, const zv_io_group *g, int64_t min_idle_ms, unsigned count,
                      char cursor[64], zv_io_entries **out, char *why, size_t n)
{
    char idle[24], cnt[16];
    const char *argv[] = {NULL, NULL, "1", g->in, g->group, g->consumer, idle, cursor, cnt};
    redisReply *rep;
    int rc;
    *out = NULL;
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    snprintf(cnt, sizeof cnt, "%u", count);
    if (!(rep = eval(r, CLAIM, 9, argv, NULL, &rc, why, n)))
        return rc;
    /* [next cursor, [entries]] */
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
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

/* The ack script's answer to a refused command: {written, results
 * committed, key, command, Redis' error}. -EINVAL with `why` naming them. */
static int refused(const redisReply *rep, const zv_io_result *res, size_t n_res,
                   long long *written, size_t *done, char *why, size_t n)
{
    redisReply *const *x = rep->element;
    if (rep->elements != 5 || x[0]->type != REDIS_REPLY_INTEGER ||
        x[1]->type != REDIS_REPLY_INTEGER || x[1]->integer < 0 ||
        (size_t)x[1]->integer >= n_res || x[2]->type != REDIS_REPLY_STRING ||
        x[3]->type != REDIS_REPLY_STRING || x[4]->type != REDIS_REPLY_STRING)
        return -EPROTO;
    *written = x[0]->integer;
    *done = (size_t)x[1]->integer;
    if (why)
        snprintf(why, n,
                 "Redis refused %s on stream %s: %s; input %s and %zu later results of this "
                 "commit stay pending (not acked)",
                 x[3]->str, x[2]->str, x[4]->str, res[*done].id, n_res - 1 - *done);
    return -EINVAL;
}

int zv_io_redis_commit(zv_io_redis *r, const zv_io_group *g, const zv_io_result *res, size_t n_res,
                       long long *written, size_t *done, char *why, size_t n)
{
    size_t argc = 7, at = 2;
    const char **argv;
    size_t *len;
    redisReply *rep;
    int rc;
    *written = 0;
    *done = 0;
    for (size_t i = 0; i < n_res; i++)
        argc += res[i].kind == 'o' ? 5 : res[i].kind == 'e' ? 7 : 2;
    argv = calloc(argc, sizeof *argv);
    len = calloc(argc, sizeof *len);
    if (!argv || !len) {
        free(argv);
        free(len);
        return -ENOMEM;
    }
#define ARG(s, l) (argv[at] = (s), len[at++] = (l))
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
        if (x->kind != 's') {
            ARG(x->data ? (const char *)x->data : "", x->len);
            ARG(x->exit_code, strlen(x->exit_code));
            ARG(x->stderr_data ? (const char *)x->stderr_data : "", x->stderr_len);
        }
    }
#undef ARG
    rep = eval(r, ACK, (int)at, argv, len, &rc, why, n);
    free(argv);
    free(len);
    if (!rep)
        return rc;
    if (rep->type == REDIS_REPLY_INTEGER) {
        *written = rep->integer;
        *done = n_res;
        rc = 0;
    } else if (rep->type == REDIS_REPLY_ARRAY)
        rc = refused(rep, res, n_res, written, done, why, n);
    else
        rc = -EPROTO;
    freeReplyObject(rep);
    return rc;
}
