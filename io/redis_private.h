/*
 * redis_private.h — shared by the Redis connector's files, private to
 * io/: redis_conn.c (connections, redirects, the command path),
 * redis_tls.c (TLS through a relay), redis.c (the streams, the scripts).
 */
#ifndef ZV_IO_REDIS_PRIVATE_H
#define ZV_IO_REDIS_PRIVATE_H

#include "io/io.h"

#include <hiredis.h>

/* ---- TLS (redis_tls.c) ---- */
typedef struct zv_io_tls_ctx zv_io_tls_ctx; /* the CAs and client certificate, for every node */
typedef struct zv_io_tls zv_io_tls;         /* one connection's relay */
/* Load OpenSSL (dlopen) and the certificates (a client certificate
 * comes with its key): 0, or -errno with why (-ENOSYS: no libssl here). */
int zv_io_tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                      zv_io_tls_ctx **out, char *why, size_t n);
void zv_io_tls_ctx_free(zv_io_tls_ctx *t); /* accepts NULL */
/* Connect to host:port, verify the server for `host`, start the relay:
 * *fd is the plain end for hiredis (redisConnectFd; whoever closes it
 * ends the relay). 0, or -errno with why. */
int zv_io_tls_open(zv_io_tls_ctx *ctx, const char *host, int port, int timeout_ms,
                   zv_io_tls **out, int *fd, char *why, size_t n);
/* Why the relay ended, when OpenSSL said ("" if it has not, or did not). */
const char *zv_io_tls_error(const zv_io_tls *t);
/* After the plain end was closed (redisFree): wait for the relay, free. */
void zv_io_tls_close(zv_io_tls *t); /* accepts NULL */

/* ---- connections (redis_conn.c) ---- */
enum { ZV_REDIS_ACK, ZV_REDIS_CLAIM, ZV_REDIS_CHECK, ZV_REDIS_N_SCRIPTS };
/* Each script's text and its name in messages (redis.c). */
extern const char *const zv_io_redis_script_text[ZV_REDIS_N_SCRIPTS];
extern const char *const zv_io_redis_script_name[ZV_REDIS_N_SCRIPTS];

typedef struct {
    redisContext *c;  /* NULL: closed */
    zv_io_tls *tls;   /* rediss://: the relay carrying c's bytes */
    char host[256];   /* "" for the URL's unix socket */
    int port;
} zv_io_node;

struct zv_io_redis {
    zv_io_redis_url u;       /* the URL, with the password in use */
    char name[256];          /* CLIENT SETNAME, or "" */
    zv_io_tls_ctx *tls;      /* rediss:// */
    int client_cert;         /* rediss:// with a client certificate */
    zv_io_node main;         /* the node serving the slot: the URL's until MOVED */
    zv_io_node ask;          /* the node importing it, after an ASK, until MOVED */
    int no_asking;           /* the user may not send ASKING: ASK waits instead */
    char sha[ZV_REDIS_N_SCRIPTS][41]; /* each script's SHA1, once loaded somewhere */
    zv_io_redis_counts counts;
};

/* One command at the node serving the slot, following MOVED and ASK;
 * `script` >= 0: an EVALSHA of that script (argv[1] its SHA), loaded
 * again where Redis answers NOSCRIPT. Its reply, or NULL with *rc. */
redisReply *zv_io_redis_command(zv_io_redis *r, int script, int argc, const char **argv,
                                const size_t *len, int *rc, char *why, size_t n);

#endif
