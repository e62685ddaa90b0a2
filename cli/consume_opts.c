/*
 * consume_opts.c — `zvm consume`'s options and help, and the Redis URL
 * with its password from the URL, --redis-password-file or
 * ZVM_REDIS_PASSWORD (consume.c has the loop).
 */
#include "cli/consume_private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const zv_cli_opt consume_opts[] = {
    {"redis", 0, "URL", "the Redis server (required): redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], "
                        "rediss://... (TLS), unix:///PATH[?db=N], or HOST[:PORT]"},
    {"redis-password-file", 0, "FILE", "the password: the file's first line (instead of one in the "
                                       "URL; without either, $ZVM_REDIS_PASSWORD)"},
    {"redis-cacert", 0, "FILE", "rediss://: the CA certificates that sign the server's (default: "
                                "the system's)"},
    {"redis-cert", 0, "FILE", "rediss://: a client certificate, for tls-auth-clients"},
    {"redis-key", 0, "FILE", "rediss://: the client certificate's private key"},
    {"stream", 0, "IN", "the input stream: one record per entry, in its field data (required)"},
    {"group", 0, "G", "the consumer group (made from the stream's start if missing) (required)"},
    {"consumer", 0, "NAME", "this consumer's name in the group (default HOSTNAME-PID; give a "
                            "stable one)"},
    {"module", 'm', "M.wasm", "the module each record runs (required)"},
    {"output-stream", 0, "OUT", "where outputs go: fields src, data (required)"},
    {"errors-stream", 0, "ERR", "where failed records go: src, cause, detail, data, stderr "
                                "(default IN.errors)"},
    {"workers", 0, "N", "worker threads (default: one fewer than the cores, at least 1)"},
    {"claim-idle", 0, "MS", "claim entries idle this long in other consumers' lists (default "
                            "30000; above the timeout)"},
    {"max-deliveries", 0, "N", "deliveries before an entry goes to ERR as poison (default 5)"},
    {"count", 0, "N", "entries per read (default 256)"},
    {"pipeline", 0, "N", "reads in the pool at once (default 4, at most 64)"},
    {"skip-empty", 0, NULL, "ack an empty output without an OUT entry"},
    {"drain", 0, NULL, "exit 0 once the stream has nothing more for this consumer"},
    ZV_CLI_RECORD_OPTS,
    {NULL, 0, NULL, NULL},
};

const zv_cli_cmd zv_cli_consume_cmd = {
    "consume",
    "--redis URL --stream IN --group G --module M.wasm --output-stream OUT [OPTIONS]",
    "Run one fresh instance of the module per entry of a Redis stream, as one consumer of a\n"
    "group: outputs go to OUT and failed records to ERR, each input acked in the same step,\n"
    "so every entry appears once in OUT and ERR together.",
    consume_opts,
    0,
    "More: man zvm-consume.",
    NULL,
};

/* --redis-password-file's first line into f->url (exit status 2 if it
 * cannot be read or is empty). */
static int password_file(const zv_cli_args *a, consume_flags *f)
{
    char *pw = f->url.password;
    size_t got, cap = sizeof f->url.password;
    if (zv_cli_peek(f->password_file, (uint8_t *)pw, cap, &got))
        return -1;
    if (got == cap)
        return zv_cli_fail(a, "--redis-password-file %s: longer than %zu bytes", f->password_file,
                           cap - 1);
    pw[got] = 0;
    pw[strcspn(pw, "\r\n")] = 0; /* the first line */
    if (!pw[0])
        return zv_cli_fail(a, "--redis-password-file %s: empty", f->password_file);
    f->url.has_password = 1;
    return 0;
}

/* --redis into f->url with its password from wherever it comes; then the
 * password in argv is overwritten, so `ps` shows stars. */
static int redis_url(const zv_cli_args *a, consume_flags *f)
{
    char why[600];
    const char *env = getenv("ZVM_REDIS_PASSWORD");
    size_t len, off;
    if (zv_io_redis_url_parse(f->redis, &f->url, why, sizeof why))
        return zv_cli_fail(a, "%s", why);
    off = zv_io_redis_url_secret(f->redis, &len);
    memset((char *)f->redis + off, '*', len);
    if (!f->url.tls && (f->cacert || f->cert || f->key))
        return zv_cli_fail(a, "--redis-cacert, --redis-cert and --redis-key need a rediss:// URL");
    if (!!f->cert != !!f->key)
        return zv_cli_fail(a, "--redis-cert and --redis-key go together");
    if (f->password_file && f->url.has_password)
        return zv_cli_fail(a, "--redis-password-file and a password in --redis: give one");
    if (f->password_file)
        return password_file(a, f);
    if (!f->url.has_password && env && *env) {
        if (strlen(env) >= sizeof f->url.password)
            return zv_cli_fail(a, "ZVM_REDIS_PASSWORD: longer than %zu bytes",
                               sizeof f->url.password - 1);
        strcpy(f->url.password, env);
        f->url.has_password = 1;
    }
    return 0;
}

int zv_cli_consume_parse(int argc, char **argv, consume_flags *f)
{
    zv_cli_args a;
    uint64_t v;
    int rc;
    zv_cli_args_init(&a, &zv_cli_consume_cmd, argc, argv);
    while ((rc = zv_cli_next(&a)) == 1) {
        const char **str = zv_cli_is(&a, "redis") ? &f->redis
                           : zv_cli_is(&a, "stream") ? &f->stream
                           : zv_cli_is(&a, "group") ? &f->group
                           : zv_cli_is(&a, "consumer") ? &f->consumer
                           : zv_cli_is(&a, "module") ? &f->module_path
                           : zv_cli_is(&a, "output-stream") ? &f->out
                           : zv_cli_is(&a, "errors-stream") ? &f->err
                           : zv_cli_is(&a, "redis-password-file") ? &f->password_file
                           : zv_cli_is(&a, "redis-cacert") ? &f->cacert
                           : zv_cli_is(&a, "redis-cert") ? &f->cert
                           : zv_cli_is(&a, "redis-key") ? &f->key : NULL;
        if (str)
            *str = a.val;
        else if ((rc = zv_cli_pool_opt(&a, &f->p)))
            ;
        else if (zv_cli_is(&a, "skip-empty"))
            f->skip_empty = 1;
        else if (zv_cli_is(&a, "drain"))
            f->drain = 1;
        else if (zv_cli_is(&a, "workers"))
            rc = zv_cli_unsigned(&a, 1, 64, &f->p.cfg.workers);
        else if (zv_cli_is(&a, "count"))
            rc = zv_cli_unsigned(&a, 1, 100000, &f->count);
        else if (zv_cli_is(&a, "pipeline"))
            rc = zv_cli_unsigned(&a, 1, MAX_PIPELINE, &f->pipeline);
        else if (zv_cli_is(&a, "claim-idle") && !(rc = zv_cli_uint(&a, 0, INT64_MAX, &v)))
            f->claim_idle_ms = (long long)v;
        else if (zv_cli_is(&a, "max-deliveries") && !(rc = zv_cli_uint(&a, 1, INT64_MAX, &v)))
            f->max_deliveries = (long long)v;
        if (rc < 0)
            return -1;
    }
    if (rc)
        return rc;
    if (a.n_operands)
        return zv_cli_fail(&a, "unexpected operand '%s' (see zvm consume --help)", argv[0]);
    if (!f->redis || !f->stream || !f->group || !f->module_path || !f->out)
        return zv_cli_fail(&a, "--redis, --stream, --group, --module and --output-stream are "
                           "required (see zvm consume --help)");
    zv_cli_pool_flags_end(&f->p, f->module_path);
    return redis_url(&a, f);
}
