/*
 * redis_url.c — where a Redis server is and who we are to it: the
 * --redis URL of `zvm consume` (the forms of redis-cli -u and the
 * mainstream clients: redis://, rediss:// for TLS, unix:// for a socket,
 * and zvm's old HOST:PORT), shown back without its password, and the
 * Redis Cluster slot of a key.
 *
 * The password is kept only in the parsed form: every message names the
 * server by zv_io_redis_url_show, and a URL that does not parse is quoted
 * with its password cut out (a user who mistypes the port must not find
 * the password in a log).
 */
#include "io/io.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PORT 6379
#define MAX_DB 1000000 /* Redis's `databases` is an int; any sane setting is far below */

size_t zv_io_redis_url_secret(const char *url, size_t *len)
{
    const char *scheme = strstr(url, "://"), *from = scheme ? scheme + 3 : url, *at, *colon;
    int unix_url = scheme && scheme - url == 4 && !strncmp(url, "unix", 4);
    *len = 0;
    /* where USER:PASSWORD ends, as zv_io_redis_url_parse finds it */
    at = unix_url ? (*from == '/' ? NULL : strstr(from, "@/")) : strrchr(from, '@');
    if (!at || !(colon = memchr(from, ':', (size_t)(at - from))))
        return 0;
    *len = (size_t)(at - colon - 1);
    return (size_t)(colon + 1 - url);
}

/* The URL for a message: as given, its password replaced by "***". */
static void redacted(const char *s, char *out, size_t n)
{
    size_t len, off = zv_io_redis_url_secret(s, &len);
    if (!len)
        snprintf(out, n, "%s", s);
    else
        snprintf(out, n, "%.*s***%s", (int)off, s, s + off + len);
}

static int bad(const char *url, const char *cause, char *why, size_t n)
{
    char shown[300];
    redacted(url, shown, sizeof shown);
    if (why)
        snprintf(why, n, "--redis %s: %s", shown, cause);
    return -EINVAL;
}

/* Percent-decode s[0..len) into out (cap bytes with its NUL): 0, or -1
 * when it does not fit or a %XX is malformed. */
static int decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            char hex[3] = {0};
            if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2]))
                return -1;
            memcpy(hex, s + i + 1, 2);
            c = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = 0;
    return 0;
}

/* A decimal number in [min, max] spanning s[0..len). */
static int number(const char *s, size_t len, long min, long max, long *out)
{
    long v = 0;
    if (!len || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* USER:PASSWORD, :PASSWORD or USER (then the password comes from elsewhere). */
static int userinfo(const char *url, const char *s, size_t len, zv_io_redis_url *u, char *why,
                    size_t n)
{
    const char *colon = memchr(s, ':', len);
    size_t ulen = colon ? (size_t)(colon - s) : len;
    if (decode(s, ulen, u->user, sizeof u->user))
        return bad(url, "the user name is malformed (%XX) or longer than 255 bytes", why, n);
    if (colon) {
        if (decode(colon + 1, len - ulen - 1, u->password, sizeof u->password))
            return bad(url, "the password is malformed (%XX) or longer than 1023 bytes", why, n);
        u->has_password = 1;
    }
    return 0;
}

/* ?db=N, the only parameter. */
static int query(const char *url, const char *q, zv_io_redis_url *u, int have_db, char *why,
                 size_t n)
{
    long db;
    if (!*q)
        return 0;
    if (strncmp(q, "db=", 3))
        return bad(url, "unknown parameter (the only one is ?db=N)", why, n);
    if (have_db)
        return bad(url, "the database is given twice (/DB and ?db=)", why, n);
    if (number(q + 3, strlen(q + 3), 0, MAX_DB, &db))
        return bad(url, "bad database number", why, n);
    u->db = (unsigned)db;
    return 0;
}

/* HOST[:PORT][/DB][?db=N] or [V6][:PORT]... of redis:// (and of the old
 * form without a scheme). */
static int tcp(const char *url, const char *s, zv_io_redis_url *u, char *why, size_t n)
{
    const char *end = s + strcspn(s, "/?"), *host = s, *port = NULL;
    size_t hlen;
    long v;
    int have_db = 0;
    if (*s == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (!close)
            return bad(url, "an IPv6 address needs its closing ']'", why, n);
        host = s + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < end && close[1] != ':')
            return bad(url, "expected :PORT after the IPv6 address", why, n);
        port = close + 1 < end ? close + 2 : NULL;
    } else {
        const char *colon = memchr(s, ':', (size_t)(end - s));
        if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
            return bad(url, "an IPv6 address goes in brackets: [::1]:6379", why, n);
        hlen = colon ? (size_t)(colon - s) : (size_t)(end - s);
        port = colon ? colon + 1 : NULL;
    }
    if (!hlen)
        return bad(url, "no host (expected HOST, HOST:PORT or a redis:// URL)", why, n);
    if (hlen >= sizeof u->host)
        return bad(url, "the host name is longer than 255 bytes", why, n);
    memcpy(u->host, host, hlen);
    u->host[hlen] = 0;
    u->port = DEFAULT_PORT;
    if (port) {
        if (number(port, (size_t)(end - port), 1, 65535, &v))
            return bad(url, "bad port (1 to 65535)", why, n);
        u->port = (int)v;
    }
    if (*end == '/') {
        const char *db = end + 1;
        size_t dlen = strcspn(db, "?");
        if (dlen && number(db, dlen, 0, MAX_DB, &v))
            return bad(url, "bad database number after the host (/DB)", why, n);
        u->db = dlen ? (unsigned)v : 0;
        have_db = dlen > 0;
        end = db + dlen;
    }
    return query(url, *end == '?' ? end + 1 : end, u, have_db, why, n);
}

/* [[USER]:PASSWORD@]/PATH[?db=N] of unix:// */
static int unix_socket(const char *url, const char *s, zv_io_redis_url *u, char *why, size_t n)
{
    size_t plen;
    int rc;
    if (*s != '/') {
        const char *at = strstr(s, "@/");
        if (!at)
            return bad(url, "expected unix:///PATH or unix://USER:PASSWORD@/PATH", why, n);
        if ((rc = userinfo(url, s, (size_t)(at - s), u, why, n)))
            return rc;
        s = at + 1;
    }
    plen = strcspn(s, "?");
    if (decode(s, plen, u->path, sizeof u->path))
        return bad(url, "the socket path is malformed (%XX) or longer than 107 bytes", why, n);
    if (!strcmp(u->path, "/"))
        return bad(url, "no socket path", why, n);
    return query(url, s[plen] == '?' ? s + plen + 1 : s + plen, u, 0, why, n);
}

int zv_io_redis_url_parse(const char *url, zv_io_redis_url *u, char *why, size_t n)
{
    const char *scheme = strstr(url, "://"), *rest = url, *at;
    int rc;
    memset(u, 0, sizeof *u);
    if (scheme) {
        size_t slen = (size_t)(scheme - url);
        rest = scheme + 3;
        if (slen == 4 && !strncmp(url, "unix", 4))
            return unix_socket(url, rest, u, why, n);
        if (slen == 6 && !strncmp(url, "rediss", 6))
            u->tls = 1;
        else if (!(slen == 5 && !strncmp(url, "redis", 5)))
            return bad(url, "unknown scheme (expected redis://, rediss:// or unix://)", why, n);
    }
    /* hosts, ports and databases hold no '@': the last one ends USER:PASSWORD */
    if ((at = strrchr(rest, '@'))) {
        if ((rc = userinfo(url, rest, (size_t)(at - rest), u, why, n)))
            return rc;
        rest = at + 1;
    }
    return tcp(url, rest, u, why, n);
}

void zv_io_redis_url_show(const zv_io_redis_url *u, char *out, size_t n)
{
    char user[300] = "", db[24] = "";
    if (u->user[0])
        snprintf(user, sizeof user, "%s@", u->user);
    if (u->path[0]) {
        if (u->db)
            snprintf(db, sizeof db, "?db=%u", u->db);
        snprintf(out, n, "unix://%s%s%s", user, u->path, db);
        return;
    }
    if (u->db)
        snprintf(db, sizeof db, "/%u", u->db);
    snprintf(out, n, "%s://%s%s%s%s:%d%s", u->tls ? "rediss" : "redis", user,
             strchr(u->host, ':') ? "[" : "", u->host, strchr(u->host, ':') ? "]" : "", u->port,
             db);
}

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), the function of
 * the Redis Cluster specification ("Keys distribution model"). */
static unsigned crc16(const char *s, size_t len)
{
    unsigned crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned)(unsigned char)s[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = crc & 0x8000 ? (crc << 1 ^ 0x1021) & 0xffff : crc << 1 & 0xffff;
    }
    return crc;
}

unsigned zv_io_redis_slot(const char *key)
{
    size_t len = strlen(key);
    const char *open = memchr(key, '{', len), *close;
    /* a hash tag: what lies between the first '{' and the next '}', if not empty */
    if (open && (close = memchr(open + 1, '}', len - (size_t)(open + 1 - key))) &&
        close > open + 1)
        return crc16(open + 1, (size_t)(close - open - 1)) & 16383;
    return crc16(key, len) & 16383;
}
