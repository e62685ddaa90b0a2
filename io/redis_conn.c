/*
 * redis_conn.c — the Redis connector's connections: opened from the
 * --redis URL (TCP, a unix socket, or TLS through redis_tls.c's relay),
 * then AUTH ([USER] PASSWORD), CLIENT SETNAME and SELECT in one round
 * trip, and every command through them.
 *
 * Redis Cluster without a slot map: IN, OUT and ERR share one slot (the
 * ack script writes all three), so one node serves everything, and the
 * connector follows the server's answers instead of keeping the cluster's
 * map. MOVED moves the connection to the node named; ASK sends ASKING and
 * the command to the importing node, on a second connection kept until
 * the slot has moved; TRYAGAIN (the keys split between two nodes during a
 * migration), CLUSTERDOWN and UNBLOCKED (a blocked read whose key
 * migrated) mean "later" (-EAGAIN); NOSCRIPT loads the script on the node
 * that said it and repeats the call. On a single server this costs
 * nothing: a redirect is an error reply, looked at only when one comes.
 * Rejected: a slot map (CLUSTER SLOTS) to save the one redirect per
 * migration, for code that tracks a topology nothing else here needs and
 * one more right for the ACL user.
 */
#include "io/redis_private.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 5
#define REPLY_TIMEOUT_S 30 /* beyond any BLOCK this code asks for */
#define MAX_HOPS 8         /* redirects for one command before waiting */

/* Where a node is, for messages: the URL's form with its host and port. */
static void show(const zv_io_redis *r, const zv_io_node *x, char *out, size_t n)
{
    zv_io_redis_url u = {.tls = r->u.tls, .port = x->port, .db = r->u.db}; /* no password */
    memcpy(u.host, x->host, sizeof u.host);
    memcpy(u.user, r->u.user, sizeof u.user);
    if (!x->host[0])
        memcpy(u.path, r->u.path, sizeof u.path);
    zv_io_redis_url_show(&u, out, n);
}

static void node_close(zv_io_node *x)
{
    if (x->c)
        redisFree(x->c); /* closes the plain end: a TLS relay ends with it */
    zv_io_tls_close(x->tls);
    x->c = NULL;
    x->tls = NULL;
}

/* The connection to x is gone: why says so (with OpenSSL's word on it). */
static int lost(const zv_io_redis *r, const zv_io_node *x, char *why, size_t n)
{
    char where[600];
    const char *tls = zv_io_tls_error(x->tls);
    show(r, x, where, sizeof where);
    snprintf(why, n, "Redis connection to %s lost: %s%s%s%s", where,
             x->c ? x->c->errstr : "closed", tls[0] ? " (TLS: " : "", tls, tls[0] ? ")" : "");
    return -EPIPE;
}

/* An error reply's meaning for the caller (see io.h). */
static int classify(const char *err)
{
    static const struct {
        const char *prefix;
        int rc;
    } kinds[] = {
        {"LOADING", -EAGAIN},  {"BUSY ", -EAGAIN},     {"TRYAGAIN", -EAGAIN},
        {"MASTERDOWN", -EAGAIN}, {"CLUSTERDOWN", -EAGAIN}, {"UNBLOCKED", -EAGAIN},
        {"NOAUTH", -EACCES},   {"WRONGPASS", -EACCES}, {"NOPERM", -EPERM},
        {"NOSCRIPT", -ENOENT}, {"ASK ", -EAGAIN}, /* ASK: when ASKING is not allowed */
    };
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (!strncmp(err, kinds[i].prefix, strlen(kinds[i].prefix)))
            return kinds[i].rc;
    return -EINVAL;
}

/* A command's name for messages, with its key (never its other
 * arguments: AUTH's is the password, XADD's the data). */
static void command_name(int argc, const char **argv, int script, char *out, size_t n)
{
    static const struct {
        const char *cmd;
        int words, key; /* the name's words; the key's index (< 0: from the end), or 0 */
    } known[] = {
        {"TYPE", 1, 1},   {"XGROUP", 2, 2},      {"XINFO", 2, 2},  {"XPENDING", 1, 1},
        {"XREADGROUP", 1, -2}, {"SCRIPT", 2, 0}, {"CLIENT", 2, 0},
    };
    if (script >= 0) {
        snprintf(out, n, "EVALSHA (%s)", zv_io_redis_script_name[script]);
        return;
    }
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        int k = known[i].key < 0 ? argc + known[i].key : known[i].key;
        if (strcmp(argv[0], known[i].cmd) || argc <= k || argc < known[i].words)
            continue;
        snprintf(out, n, "%s%s%s%s%s", argv[0], known[i].words > 1 ? " " : "",
                 known[i].words > 1 ? argv[1] : "", k ? " on " : "", k ? argv[k] : "");
        return;
    }
    snprintf(out, n, "%s", argv[0]);
}

/* Redis refused the command at node x: its error's meaning, why says so. */
static int refused(zv_io_redis *r, const zv_io_node *x, int argc, const char **argv, int script,
                   const char *err, char *why, size_t n)
{
    char cmd[400], where[600];
    int rc = classify(err);
    if (!strncmp(err, "TRYAGAIN", 8))
        r->counts.tryagain++;
    command_name(argc, argv, script, cmd, sizeof cmd);
    show(r, x, where, sizeof where);
    snprintf(why, n, "Redis at %s refused %s: %s", where, cmd, err);
    return rc;
}

/* AUTH, CLIENT SETNAME and SELECT on a new connection, pipelined: 0, or
 * the first refusal. */
static int hello(zv_io_redis *r, zv_io_node *x, char *why, size_t n)
{
    const char *argv[3][3];
    int argc[3], k = 0, rc = 0;
    char db[16];
    snprintf(db, sizeof db, "%u", r->u.db);
    if (r->u.has_password) {
        int with_user = r->u.user[0] != 0;
        argv[k][0] = "AUTH", argv[k][1] = with_user ? r->u.user : r->u.password;
        argv[k][2] = r->u.password;
        argc[k++] = with_user ? 3 : 2;
    }
    if (r->name[0])
        argv[k][0] = "CLIENT", argv[k][1] = "SETNAME", argv[k][2] = r->name, argc[k++] = 3;
    if (r->u.db)
        argv[k][0] = "SELECT", argv[k][1] = db, argc[k++] = 2;
    for (int i = 0; i < k; i++)
        if (redisAppendCommandArgv(x->c, argc[i], argv[i], NULL) != REDIS_OK)
            return -ENOMEM;
    for (int i = 0; i < k; i++) {
        redisReply *rep;
        if (redisGetReply(x->c, (void **)&rep) != REDIS_OK)
            return lost(r, x, why, n);
        if (rep->type == REDIS_REPLY_ERROR && !rc) /* the first says why (a bad AUTH makes all fail) */
            rc = refused(r, x, argc[i], argv[i], -1, rep->str, why, n);
        freeReplyObject(rep);
    }
    return rc;
}

/* Open x to host:port (host "" for the URL's socket) and say hello. */
static int node_open(zv_io_redis *r, zv_io_node *x, const char *host, int port, char *why,
                     size_t n)
{
    struct timeval t = {CONNECT_TIMEOUT_S, 0}, reply = {REPLY_TIMEOUT_S, 0};
    char where[600], cause[300] = "";
    int rc = -EPIPE;
    node_close(x);
    if (host != x->host)
        snprintf(x->host, sizeof x->host, "%s", host);
    x->port = port;
    if (!x->host[0]) {
        x->c = redisConnectUnixWithTimeout(r->u.path, t);
    } else if (r->tls) {
        int fd;
        if ((rc = zv_io_tls_open(r->tls, x->host, port, CONNECT_TIMEOUT_S * 1000, &x->tls, &fd,
                                 cause, sizeof cause)) == 0 &&
            !(x->c = redisConnectFd(fd)))
            close(fd);
    } else {
        x->c = redisConnectWithTimeout(x->host, port, t);
    }
    if (!x->c || x->c->err) {
        show(r, x, where, sizeof where);
        snprintf(why, n, "cannot connect to Redis at %s: %s", where,
                     cause[0] ? cause : x->c ? x->c->errstr : "out of memory");
        node_close(x);
        /* a certificate or TLS refusal is a setting to fix, not a server to wait for */
        return rc == -EINVAL || rc == -ENOSYS ? -EINVAL : -EPIPE;
    }
    redisSetTimeout(x->c, reply);
    if ((rc = hello(r, x, why, n)) == -EPIPE && x->tls && !r->client_cert && why[0]) {
        /* TLS 1.3 checks client certificates after the handshake: the
         * server's alert may be lost to the reset that follows */
        size_t len = strlen(why);
        snprintf(why + len, n - len, " (does the server want a client certificate? "
                                     "tls-auth-clients is on by default)");
    }
    if (rc)
        node_close(x);
    return rc;
}

int zv_io_redis_connect(const zv_io_redis_opts *o, zv_io_redis **out, char *why, size_t n)
{
    zv_io_redis *r;
    int rc;
    *out = NULL;
    if (o->url->user[0] && !o->url->has_password) {
        char shown[600];
        zv_io_redis_url_show(o->url, shown, sizeof shown);
        snprintf(why, n, "%s: user %s needs a password", shown, o->url->user);
        return -EACCES;
    }
    assert(o->url->tls || !(o->ca_file || o->cert_file || o->key_file)); /* the caller's check */
    if (!(r = calloc(1, sizeof *r)))
        return -ENOMEM;
    r->u = *o->url;
    snprintf(r->name, sizeof r->name, "%s", o->client_name ? o->client_name : "");
    for (char *c = r->name; *c; c++) /* Redis takes '!' to '~' only */
        if (*c < '!' || *c > '~')
            *c = '_';
    r->client_cert = o->cert_file != NULL;
    if ((r->u.tls &&
         (rc = zv_io_tls_ctx_new(o->ca_file, o->cert_file, o->key_file, &r->tls, why, n))) ||
        (rc = node_open(r, &r->main, r->u.host, r->u.port, why, n))) {
        zv_io_redis_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int zv_io_redis_reconnect(zv_io_redis *r, char *why, size_t n)
{
    int rc;
    node_close(&r->ask);
    rc = node_open(r, &r->main, r->main.host, r->main.port, why, n);
    if (rc == -EPIPE && (strcmp(r->main.host, r->u.host) || r->main.port != r->u.port))
        rc = node_open(r, &r->main, r->u.host, r->u.port, why, n); /* e.g. a failed-over node */
    return rc;
}

void zv_io_redis_free(zv_io_redis *r)
{
    if (!r)
        return;
    node_close(&r->main);
    node_close(&r->ask);
    zv_io_tls_ctx_free(r->tls);
    explicit_bzero(r->u.password, sizeof r->u.password);
    free(r);
}

void zv_io_redis_counts_get(const zv_io_redis *r, zv_io_redis_counts *c) { *c = r->counts; }

/* "MOVED 3999 127.0.0.1:6381" or "ASK ...": 1 with the node (an empty
 * host is x's own: Redis 7's unknown endpoint), else 0. */
static int redirect(const char *err, const char *kind, const zv_io_node *x, char host[256],
                    int *port)
{
    size_t k = strlen(kind);
    const char *addr, *colon;
    char *end;
    long p;
    if (strncmp(err, kind, k) || err[k] != ' ')
        return 0;
    strtol(err + k + 1, &end, 10); /* the slot */
    if (*end != ' ' || !(colon = strrchr(addr = end + 1, ':')) || colon - addr >= 256)
        return 0;
    p = strtol(colon + 1, &end, 10);
    if (p < 1 || p > 65535 || *end)
        return 0;
    if (colon == addr)
        snprintf(host, 256, "%s", x->host);
    else
        snprintf(host, 256, "%.*s", (int)(colon - addr), addr);
    *port = (int)p;
    return host[0] && strcmp(host, "?");
}

/* One command at node x, after ASKING when asked. */
static redisReply *call(zv_io_redis *r, zv_io_node *x, int asking, int argc, const char **argv,
                        const size_t *len, int *rc, char *why, size_t n)
{
    redisReply *rep = NULL, *ok = NULL;
    if (!x->c || x->c->err) {
        *rc = lost(r, x, why, n);
        return NULL;
    }
    if (!asking)
        rep = redisCommandArgv(x->c, argc, argv, len);
    else if (redisAppendCommand(x->c, "ASKING") == REDIS_OK &&
             redisAppendCommandArgv(x->c, argc, argv, len) == REDIS_OK &&
             redisGetReply(x->c, (void **)&ok) == REDIS_OK &&
             redisGetReply(x->c, (void **)&rep) != REDIS_OK)
        rep = NULL;
    if (!rep) {
        if (ok)
            freeReplyObject(ok);
        *rc = lost(r, x, why, n);
        return NULL;
    }
    if (ok && ok->type == REDIS_REPLY_ERROR) { /* wait out the migration instead */
        r->no_asking = !strncmp(ok->str, "NOPERM", 6);
        refused(r, x, 1, (const char *[]){"ASKING"}, -1, ok->str, why, n);
        *rc = -EAGAIN;
        freeReplyObject(rep);
        rep = NULL;
    }
    if (ok)
        freeReplyObject(ok);
    return rep;
}

/* SCRIPT LOAD of script s at node x (no key: no redirect). */
static int load(zv_io_redis *r, zv_io_node *x, int s, char *why, size_t n)
{
    const char *argv[] = {"SCRIPT", "LOAD", zv_io_redis_script_text[s]};
    int rc = 0;
    redisReply *rep = call(r, x, 0, 3, argv, NULL, &rc, why, n);
    if (!rep)
        return rc;
    if (rep->type == REDIS_REPLY_ERROR)
        rc = refused(r, x, 3, argv, -1, rep->str, why, n);
    else if (rep->type != REDIS_REPLY_STRING || rep->len != 40)
        rc = -EPROTO;
    else
        memcpy(r->sha[s], rep->str, 41);
    freeReplyObject(rep);
    return rc;
}

redisReply *zv_io_redis_command(zv_io_redis *r, int script, int argc, const char **argv,
                                const size_t *len, int *rc, char *why, size_t n)
{
    zv_io_node *x = &r->main;
    int asking = 0, loaded = 0;
    if (script >= 0 && !r->sha[script][0] && (*rc = load(r, x, script, why, n)))
        return NULL;
    if (script >= 0)
        argv[1] = r->sha[script];
    for (int hops = 0; hops <= MAX_HOPS; hops++) {
        redisReply *rep = call(r, x, asking, argc, argv, len, rc, why, n);
        char host[256];
        int port;
        if (!rep) {
            if (x == &r->ask && *rc == -EPIPE)
                node_close(&r->ask); /* the main connection says where to go again */
            return NULL;
        }
        r->counts.ask += asking; /* (not when ASKING was refused: rep is NULL then) */
        if (rep->type != REDIS_REPLY_ERROR) {
            *rc = 0;
            return rep;
        }
        if (redirect(rep->str, "MOVED", x, host, &port)) {
            freeReplyObject(rep);
            r->counts.moved++;
            node_close(&r->ask);
            if ((*rc = node_open(r, &r->main, host, port, why, n)))
                return NULL; /* a lost connection: reconnecting tries this node, then the URL's */
            x = &r->main, asking = 0;
        } else if (redirect(rep->str, "ASK", x, host, &port) && !r->no_asking) {
            freeReplyObject(rep);
            if ((!r->ask.c || strcmp(r->ask.host, host) || r->ask.port != port) &&
                (*rc = node_open(r, &r->ask, host, port, why, n)))
                return NULL;
            x = &r->ask, asking = 1;
        } else if (script >= 0 && !loaded && !strncmp(rep->str, "NOSCRIPT", 8)) {
            freeReplyObject(rep); /* a new node, or a restarted one */
            r->counts.noscript++;
            loaded = 1;
            if ((*rc = load(r, x, script, why, n)))
                return NULL;
        } else {
            *rc = refused(r, x, argc, argv, script, rep->str, why, n);
            freeReplyObject(rep);
            return NULL;
        }
    }
    snprintf(why, n, "Redis Cluster redirected one command %d times: waiting", MAX_HOPS);
    *rc = -EAGAIN;
    return NULL;
}
