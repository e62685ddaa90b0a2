/*
 * redis.c — the Redis Streams connector of `zvm consume`: the streams'
 * commands and scripts (redis_conn.c has the connections and Redis
 * Cluster's redirects, redis_url.c the --redis URL, redis_tls.c TLS).
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
 * and called by their SHA; where a node answers NOSCRIPT (a Redis
 * restart emptied its script cache, or the slot moved to a node that
 * never saw them) they are loaded there again.
 *
 * Rights are checked before the first read: a third script tries each
 * command the other two send, in a form that changes nothing (XADD of id
 * 0-0, which Redis refuses after the ACL check; XACK, XDEL and XCLAIM of
 * id 0-0, which is never an entry), so an ACL user missing one right is a
 * setup error that names it rather than a refusal in the middle of a
 * commit (XDEL, for one, runs only when a record was processed twice).
 */
#include "io/redis_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* KEYS: IN, OUT, ERR; ARGV: group, consumer. Each command of the other
 * scripts and of zv_io_redis_deliveries, in a form that changes nothing;
 * returns 0, or {the right missing, the command, its key, Redis' error} for the first
 * refused. Without ARGV it returns at once: Redis Cluster has checked
 * that the keys share a slot before running it. */
static const char CHECK_SCRIPT[] =
    "if #ARGV == 0 then return 0 end\n"
    "local function try(right, expected, cmd, key, ...)\n"
    "  local r = redis.pcall(cmd, key, ...)\n"
    "  if type(r) == 'table' and r.err and not (expected and string.find(r.err, expected, 1, true)) then\n"
    "    return {right, cmd, key, r.err}\n"
    "  end\n"
    "end\n"
    "local g, c = ARGV[1], ARGV[2]\n"
    "return try('+xadd', '0-0', 'XADD', KEYS[2], '0-0', 'f', 'v')\n"
    "  or try('+xadd', '0-0', 'XADD', KEYS[3], '0-0', 'f', 'v')\n"
    "  or try('+xack', nil, 'XACK', KEYS[1], g, '0-0')\n"
    "  or try('+xdel', nil, 'XDEL', KEYS[2], '0-0')\n"
    "  or try('+xdel', nil, 'XDEL', KEYS[3], '0-0')\n"
    "  or try('+xpending', nil, 'XPENDING', KEYS[1], g, 'IDLE', '0', '-', '+', '1')\n"
    "  or try('+xrange', nil, 'XRANGE', KEYS[1], '0-0', '0-0')\n"
    "  or try('+xclaim', nil, 'XCLAIM', KEYS[1], g, c, '0', '0-0')\n"
    "  or 0\n";

const char *const zv_io_redis_script_text[ZV_REDIS_N_SCRIPTS] = {ACK_SCRIPT, CLAIM_SCRIPT,
                                                                 CHECK_SCRIPT};
const char *const zv_io_redis_script_name[ZV_REDIS_N_SCRIPTS] = {
    "the ack script", "the claim script", "the rights check script"};

struct zv_io_entries {
    redisReply *reply;
    zv_io_entry *e;
    size_t n;
};

static int fail(char *why, size_t n, const char *fmt, const char *a, const char *b)
{
    snprintf(why, n, fmt, a, b);
    return -EINVAL;
}

/* One command (not a script): its reply, or NULL with rc set. */
static redisReply *command(zv_io_redis *r, int argc, const char **argv, const size_t *len, int *rc,
                           char *why, size_t n)
{
    return zv_io_redis_command(r, -1, argc, argv, len, rc, why, n);
}

/* A key that exists must be a stream: -EINVAL names what it holds. */
static int expect_stream(zv_io_redis *r, const char *key, char *why, size_t n)
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

/* XGROUP CREATE ... 0 MKSTREAM; an existing group is fine. */
static int create_group(zv_io_redis *r, const char *stream, const char *group, char *why, size_t n)
{
    /* from the stream's start: entries pushed before the first consumer count */
    const char *argv[] = {"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"};
    int rc;
    redisReply *rep = command(r, 6, argv, NULL, &rc, why, n);
    if (rep)
        freeReplyObject(rep);
    if (rc == -EINVAL && strstr(why, "BUSYGROUP"))
        return 0; /* it exists */
    return rc;
}

/* The check script: with the group and consumer, the rights; without,
 * only that Redis Cluster finds the keys in one slot. */
static int check(zv_io_redis *r, const zv_io_group *g, int rights, char *why, size_t n)
{
    const char *argv[] = {"EVALSHA", NULL, "3", g->in, g->out, g->err, g->group, g->consumer};
    int rc;
    redisReply *rep = zv_io_redis_command(r, ZV_REDIS_CHECK, rights ? 8 : 6, argv, NULL, &rc, why,
                                          n);
    if (!rep)
        return rc;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4 &&
        rep->element[0]->type == REDIS_REPLY_STRING && rep->element[1]->type == REDIS_REPLY_STRING &&
        rep->element[2]->type == REDIS_REPLY_STRING && rep->element[3]->type == REDIS_REPLY_STRING) {
        char where[600];
        zv_io_redis_url_show(&r->u, where, sizeof where);
        snprintf(why, n, "Redis at %s refused %s on %s in a script (%s): user %s needs %s", where,
                 rep->element[1]->str, rep->element[2]->str, rep->element[3]->str,
                 r->u.user[0] ? r->u.user : "default", rep->element[0]->str);
        rc = -EPERM;
    } else if (rep->type != REDIS_REPLY_INTEGER) {
        rc = -EPROTO;
    }
    freeReplyObject(rep);
    return rc;
}

/* XREADGROUP of this consumer's history after the next to last id there
 * can be: its right, without delivering an entry or touching a delivery
 * count. (Not the last id: Redis reads that as '>', new entries.) */
static int read_nothing(zv_io_redis *r, const zv_io_group *g, char *why, size_t n)
{
    const char *argv[] = {"XREADGROUP", "GROUP", g->group,  g->consumer, "COUNT", "1", "STREAMS",
                          g->in,        "18446744073709551615-18446744073709551614"};
    int rc;
    redisReply *rep = command(r, 9, argv, NULL, &rc, why, n);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

int zv_io_redis_prepare(zv_io_redis *r, const zv_io_group *g, char *why, size_t n)
{
    unsigned in = zv_io_redis_slot(g->in), out = zv_io_redis_slot(g->out),
             err = zv_io_redis_slot(g->err);
    const char *keys[] = {g->in, g->out, g->err};
    long long lag;
    int rc;
    if ((in != out || in != err) && (rc = check(r, g, 0, why, n))) {
        if (rc == -EINVAL && strstr(why, "CROSSSLOT"))
            snprintf(why, n,
                     "on Redis Cluster the streams must share a slot (the ack step writes all "
                     "three in one script), but %s is in slot %u, %s in slot %u and %s in slot %u: "
                     "give them one hash tag, e.g. {logs}:in, {logs}:out, {logs}:errors",
                     g->in, in, g->out, out, g->err, err);
        return rc;
    }
    for (int k = 0; k < 3; k++)
        if ((rc = expect_stream(r, keys[k], why, n)))
            return rc;
    if ((rc = create_group(r, g->in, g->group, why, n)) || (rc = check(r, g, 1, why, n)) ||
        (rc = read_nothing(r, g, why, n)))
        return rc;
    rc = zv_io_redis_lag(r, g, &lag, why, n);
    return rc == -EPERM ? rc : 0; /* XINFO GROUPS: the summary's lag */
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

int zv_io_redis_claim(zv_io_redis *r, const zv_io_group *g, int64_t min_idle_ms, unsigned count,
                      char cursor[64], zv_io_entries **out, char *why, size_t n)
{
    char idle[24], cnt[16];
    const char *argv[] = {"EVALSHA", NULL, "1", g->in, g->group, g->consumer, idle, cursor, cnt};
    redisReply *rep;
    int rc;
    *out = NULL;
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    snprintf(cnt, sizeof cnt, "%u", count);
    if (!(rep = zv_io_redis_command(r, ZV_REDIS_CLAIM, 9, argv, NULL, &rc, why, n)))
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
    argv[0] = "EVALSHA", len[0] = 7, len[1] = 40; /* argv[1]: the SHA, filled in later */
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
    rep = zv_io_redis_command(r, ZV_REDIS_ACK, (int)at, argv, len, &rc, why, n);
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
