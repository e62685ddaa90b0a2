/*
 * redis_tls.c — rediss://: TLS for a hiredis that has none. Debian 12's
 * hiredis 0.14 has no TLS and no I/O hooks, but it takes a connected
 * descriptor (redisConnectFd). So each TLS connection is a socketpair:
 * hiredis talks plain Redis protocol on one end, and a relay thread moves
 * the bytes between the other end and an OpenSSL connection to the
 * server. No Redis protocol is written here: the relay moves bytes, and
 * hiredis formats and parses as on any socket.
 *
 * The handshake happens before the relay starts, in the caller's thread,
 * under the connect timeout, so a bad certificate or a refused client
 * certificate is an error that says so, not a lost connection later. The
 * server's certificate is verified against the system's CAs (or a given
 * CA file) and its name or IP address against the host connected to; a
 * client certificate is sent when given (redis-server's default,
 * tls-auth-clients yes, asks for one).
 *
 * OpenSSL is opened with dlopen on the first rediss:// connection (as
 * hwloc is, cpuset/hwloc_dl.c): a `zvm run` never maps libssl and
 * libcrypto, and libzvm gains no library to link. The calls go through a
 * private table, so an embedder's own OpenSSL keeps its symbols.
 *
 * Rejected: stunnel or spiped beside each consumer (one more daemon to
 * deploy, configure and watch per host, and a plaintext port on it), and
 * a second Redis client with TLS built in (a second protocol stack). The
 * relay costs one thread per TLS connection and a copy through the
 * socketpair each way: perf/README.md ("Redis Streams") has the number.
 */
#include "io/redis_private.h"

#include <arpa/inet.h>
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define SSL_SONAME "libssl.so." STR(OPENSSL_VERSION_MAJOR) /* the ABI the headers describe */
#define RELAY_BYTES (64u << 10)                             /* each way */

/* The OpenSSL calls made here (libssl's, and libcrypto's found through it). */
#define SSL_CALLS(X)                                                                               \
    X(const SSL_METHOD *, TLS_client_method, (void))                                               \
    X(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *m))                                               \
    X(void, SSL_CTX_free, (SSL_CTX * c))                                                           \
    X(long, SSL_CTX_ctrl, (SSL_CTX * c, int cmd, long larg, void *parg))                           \
    X(int, SSL_CTX_set_default_verify_paths, (SSL_CTX * c))                                        \
    X(int, SSL_CTX_load_verify_locations, (SSL_CTX * c, const char *file, const char *dir))        \
    X(int, SSL_CTX_use_certificate_chain_file, (SSL_CTX * c, const char *file))                    \
    X(int, SSL_CTX_use_PrivateKey_file, (SSL_CTX * c, const char *file, int type))                 \
    X(int, SSL_CTX_check_private_key, (const SSL_CTX *c))                                          \
    X(void, SSL_CTX_set_verify, (SSL_CTX * c, int mode, SSL_verify_cb cb))                         \
    X(SSL *, SSL_new, (SSL_CTX * c))                                                               \
    X(void, SSL_free, (SSL * s))                                                                   \
    X(int, SSL_set_fd, (SSL * s, int fd))                                                          \
    X(long, SSL_ctrl, (SSL * s, int cmd, long larg, void *parg))                                   \
    X(int, SSL_set1_host, (SSL * s, const char *host))                                             \
    X(X509_VERIFY_PARAM *, SSL_get0_param, (SSL * s))                                              \
    X(int, X509_VERIFY_PARAM_set1_ip_asc, (X509_VERIFY_PARAM * p, const char *ip))                 \
    X(int, SSL_connect, (SSL * s))                                                                 \
    X(int, SSL_read, (SSL * s, void *buf, int n))                                                  \
    X(int, SSL_write, (SSL * s, const void *buf, int n))                                           \
    X(int, SSL_get_error, (const SSL *s, int ret))                                                 \
    X(int, SSL_shutdown, (SSL * s))                                                                \
    X(long, SSL_get_verify_result, (const SSL *s))                                                 \
    X(const char *, X509_verify_cert_error_string, (long n))                                       \
    X(unsigned long, ERR_get_error, (void))                                                        \
    X(void, ERR_error_string_n, (unsigned long e, char *buf, size_t len))                          \
    X(void, ERR_clear_error, (void))

static struct {
#define FIELD(ret, name, params) ret(*name) params;
    SSL_CALLS(FIELD)
#undef FIELD
} ossl;
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;
static char ossl_error[256]; /* why it did not load; "" once loaded (written once, under ossl_once) */

static void ossl_load(void)
{
    void *lib = dlopen(SSL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(ossl_error, sizeof ossl_error, "rediss:// needs OpenSSL's %s: %s", SSL_SONAME,
                 dlerror());
        return;
    }
#define RESOLVE(ret, name, params)                                                                 \
    if (!(*(void **)&ossl.name = dlsym(lib, #name))) {                                             \
        snprintf(ossl_error, sizeof ossl_error, "rediss://: %s has no %s", SSL_SONAME, #name);     \
        return;                                                                                    \
    }
    SSL_CALLS(RESOLVE)
#undef RESOLVE
}

struct zv_io_tls_ctx {
    SSL_CTX *ctx;
};

/* OpenSSL's last error (and the certificate's, after a failed
 * verification) into why, after `what`. */
static void ossl_why(const char *what, SSL *s, char *why, size_t n)
{
    char err[256] = "";
    unsigned long e = ossl.ERR_get_error();
    long v = s ? ossl.SSL_get_verify_result(s) : X509_V_OK;
    if (e)
        ossl.ERR_error_string_n(e, err, sizeof err);
    if (v != X509_V_OK)
        snprintf(why, n, "%s: %s (the server's certificate: %s)", what, err[0] ? err : "failed",
                 ossl.X509_verify_cert_error_string(v));
    else
        snprintf(why, n, "%s: %s", what, err[0] ? err : "failed");
    ossl.ERR_clear_error();
}

int zv_io_tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                      zv_io_tls_ctx **out, char *why, size_t n)
{
    zv_io_tls_ctx *t;
    char what[300];
    *out = NULL;
    pthread_once(&ossl_once, ossl_load);
    if (ossl_error[0]) {
        snprintf(why, n, "%s", ossl_error);
        return -ENOSYS;
    }
    assert(!!cert_file == !!key_file); /* the caller's check */
    if (!(t = calloc(1, sizeof *t)))
        return -ENOMEM;
    if (!(t->ctx = ossl.SSL_CTX_new(ossl.TLS_client_method()))) {
        ossl_why("TLS", NULL, why, n);
        goto err;
    }
    ossl.SSL_CTX_ctrl(t->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
    /* SSL_write may take part of a buffer and be called again with the rest */
    ossl.SSL_CTX_ctrl(t->ctx, SSL_CTRL_MODE,
                      SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, NULL);
    ossl.SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (ca_file ? ossl.SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1
                : ossl.SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        snprintf(what, sizeof what, "TLS: cannot load the CA certificates %s",
                 ca_file ? ca_file : "of the system");
        ossl_why(what, NULL, why, n);
        goto err;
    }
    if (cert_file && (ossl.SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1 ||
                      ossl.SSL_CTX_use_PrivateKey_file(t->ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
                      ossl.SSL_CTX_check_private_key(t->ctx) != 1)) {
        snprintf(what, sizeof what, "TLS: the client certificate %s with key %s", cert_file,
                 key_file);
        ossl_why(what, NULL, why, n);
        goto err;
    }
    *out = t;
    return 0;
err:
    zv_io_tls_ctx_free(t);
    return -EINVAL;
}

void zv_io_tls_ctx_free(zv_io_tls_ctx *t)
{
    if (!t)
        return;
    if (t->ctx)
        ossl.SSL_CTX_free(t->ctx);
    free(t);
}

/* ---- one connection --------------------------------------------------------------- */

struct zv_io_tls {
    pthread_t thread;
    SSL *ssl;
    int net, plain;                 /* the server's socket; the relay's end of the pair */
    uint8_t up[RELAY_BYTES];        /* hiredis -> server, not yet written */
    uint8_t down[RELAY_BYTES];      /* server -> hiredis, not yet written */
    size_t up_len, up_off, down_len, down_off;
    char error[256];                /* why the relay ended, if OpenSSL said */
    _Atomic int ended;              /* error is written (release; read after acquire) */
};

static int64_t ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
           (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* A non-blocking TCP connection to host:port within the deadline: its
 * descriptor, or -errno with why. */
static int dial(const char *host, int port, const struct timespec *deadline, char *why, size_t n)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *a;
    char ports[8];
    int fd = -1, err = ECONNREFUSED, rc, one = 1;
    snprintf(ports, sizeof ports, "%d", port);
    if ((rc = getaddrinfo(host, ports, &hints, &res))) {
        snprintf(why, n, "%s", gai_strerror(rc));
        return -EHOSTUNREACH;
    }
    for (a = res; a; a = a->ai_next) { /* each address in turn, as hiredis does */
        struct pollfd p;
        socklen_t len = sizeof err;
        int64_t ms = ms_left(deadline), ready;
        if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         a->ai_protocol)) < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        if (errno != EINPROGRESS) {
            err = errno;
        } else {
            p = (struct pollfd){fd, POLLOUT, 0};
            ready = poll(&p, 1, ms > 0 ? (int)ms : 0);
            if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                break;
            err = ready == 1 ? err : ready == 0 ? ETIMEDOUT : errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(why, n, "%s", strerror(err));
        return -err;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* requests are small */
    return fd;
}

/* SSL_connect on the non-blocking socket within the deadline. */
static int handshake(zv_io_tls *t, const char *host, const struct timespec *deadline, char *why,
                     size_t n)
{
    struct in6_addr ip;
    int literal = inet_pton(AF_INET, host, &ip) == 1 || inet_pton(AF_INET6, host, &ip) == 1;
    if (!(literal ? ossl.X509_VERIFY_PARAM_set1_ip_asc(ossl.SSL_get0_param(t->ssl), host)
                  : ossl.SSL_set1_host(t->ssl, host) &&
                        ossl.SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                      TLSEXT_NAMETYPE_host_name, (void *)host)) ||
        !ossl.SSL_set_fd(t->ssl, t->net)) {
        ossl_why("TLS", NULL, why, n);
        return -EINVAL;
    }
    for (;;) {
        int rc = ossl.SSL_connect(t->ssl), e;
        struct pollfd p = {t->net, 0, 0};
        if (rc == 1)
            return 0;
        e = ossl.SSL_get_error(t->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            /* a certificate that does not verify is a setting; anything else may pass */
            int setting = ossl.SSL_get_verify_result(t->ssl) != X509_V_OK;
            ossl_why("TLS handshake", t->ssl, why, n);
            return setting ? -EINVAL : -ECONNRESET;
        }
        p.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        if (ms_left(deadline) <= 0 || poll(&p, 1, (int)ms_left(deadline)) != 1) {
            snprintf(why, n, "TLS handshake: timed out");
            return -ETIMEDOUT;
        }
    }
}

/* One pass of the relay: move what can move without waiting. Returns 1
 * if something moved, 0 if not (then *ev says what to wait for), -1 when
 * either side has ended. */
static int relay_step(zv_io_tls *t, short ev[2])
{
    int moved = 0, rc, e;
    ssize_t k;
    ev[0] = ev[1] = 0;
    if (t->up_off == t->up_len) { /* hiredis -> up */
        k = recv(t->plain, t->up, sizeof t->up, MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
            return -1; /* hiredis closed its end (redisFree) */
        if (k > 0)
            t->up_off = 0, t->up_len = (size_t)k, moved = 1;
        else
            ev[0] |= POLLIN;
    }
    if (t->up_off < t->up_len) { /* up -> server */
        rc = ossl.SSL_write(t->ssl, t->up + t->up_off, (int)(t->up_len - t->up_off));
        if (rc > 0)
            t->up_off += (size_t)rc, moved = 1;
        else if ((e = ossl.SSL_get_error(t->ssl, rc)) == SSL_ERROR_WANT_READ)
            ev[1] |= POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE)
            ev[1] |= POLLOUT;
        else
            return -1;
    }
    if (t->down_off == t->down_len) { /* server -> down */
        rc = ossl.SSL_read(t->ssl, t->down, sizeof t->down);
        if (rc > 0)
            t->down_off = 0, t->down_len = (size_t)rc, moved = 1;
        else if ((e = ossl.SSL_get_error(t->ssl, rc)) == SSL_ERROR_WANT_READ)
            ev[1] |= POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE)
            ev[1] |= POLLOUT;
        else
            return -1; /* the server closed, or the connection broke */
    }
    if (t->down_off < t->down_len) { /* down -> hiredis */
        k = send(t->plain, t->down + t->down_off, t->down_len - t->down_off,
                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0)
            t->down_off += (size_t)k, moved = 1;
        else if (k < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        else
            ev[0] |= POLLOUT;
    }
    return moved;
}

static void *relay(void *arg)
{
    zv_io_tls *t = arg;
    short ev[2];
    unsigned long e;
    int rc;
    while ((rc = relay_step(t, ev)) >= 0) {
        struct pollfd p[2] = {{t->plain, ev[0], 0}, {t->net, ev[1], 0}};
        /* nothing moved: each side that could not move is waiting on its
         * descriptor (a record OpenSSL holds would have been read) */
        if (rc == 0 && poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents & (POLLHUP | POLLERR) && !(p[0].revents & POLLIN))
            break; /* hiredis is gone, with nothing more to send */
    }
    if ((e = ossl.ERR_get_error())) /* e.g. the server refused our certificate */
        ossl.ERR_error_string_n(e, t->error, sizeof t->error);
    atomic_store_explicit(&t->ended, 1, memory_order_release);
    ossl.SSL_shutdown(t->ssl); /* a close_notify if it fits; no waiting for the server's */
    ossl.ERR_clear_error();   /* this thread's error queue goes with it */
    shutdown(t->plain, SHUT_RDWR); /* hiredis sees the end of the connection */
    return NULL;
}

int zv_io_tls_open(zv_io_tls_ctx *ctx, const char *host, int port, int timeout_ms,
                   zv_io_tls **out, int *fd, char *why, size_t n)
{
    struct timespec deadline;
    int pair[2] = {-1, -1}, rc;
    sigset_t all, old;
    zv_io_tls *t;
    *out = NULL;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000)
        deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
    if (!(t = calloc(1, sizeof *t)))
        return -ENOMEM;
    t->net = t->plain = -1;
    if ((t->net = dial(host, port, &deadline, why, n)) < 0) {
        rc = t->net;
        goto err;
    }
    if (!(t->ssl = ossl.SSL_new(ctx->ctx))) {
        ossl_why("TLS", NULL, why, n);
        rc = -ENOMEM;
        goto err;
    }
    if ((rc = handshake(t, host, &deadline, why, n)))
        goto err;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair)) {
        rc = -errno;
        snprintf(why, n, "socketpair: %s", strerror(errno));
        goto err;
    }
    t->plain = pair[1];
    /* the relay takes no signals: a SIGPIPE or the caller's SIGTERM is not its business */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&t->thread, NULL, relay, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        snprintf(why, n, "cannot start the TLS relay: %s", strerror(-rc));
        close(pair[0]);
        goto err;
    }
    *fd = pair[0];
    *out = t;
    return 0;
err:
    if (t->ssl)
        ossl.SSL_free(t->ssl);
    if (t->net >= 0)
        close(t->net);
    if (t->plain >= 0)
        close(t->plain);
    free(t);
    return rc;
}

const char *zv_io_tls_error(const zv_io_tls *t)
{
    return t && atomic_load_explicit(&t->ended, memory_order_acquire) ? t->error : "";
}

void zv_io_tls_close(zv_io_tls *t)
{
    if (!t)
        return;
    pthread_join(t->thread, NULL); /* it ends once hiredis's end is closed */
    ossl.SSL_free(t->ssl);
    close(t->net);
    close(t->plain);
    free(t);
}
