/*
 * consume_private.h — private to `zvm consume`: consume.c (the loop) and
 * consume_opts.c (its options, help and the Redis URL and password).
 */
#ifndef ZV_CLI_CONSUME_PRIVATE_H
#define ZV_CLI_CONSUME_PRIVATE_H

#include "cli/cli.h"
#include "io/io.h"

#define MAX_PIPELINE 64 /* reads in the pool at once */

typedef struct {
    const char *redis, *module_path, *stream, *group, *consumer, *out, *err;
    const char *password_file, *cacert, *cert, *key;
    zv_io_redis_url url;
    zv_cli_pool_flags p;
    long long claim_idle_ms, max_deliveries;
    unsigned count, pipeline;
    int skip_empty, drain;
} consume_flags;

/* The command line into f, the password read and hidden from `ps`: 0,
 * or the exit status (a message printed). */
int zv_cli_consume_parse(int argc, char **argv, consume_flags *f);

#endif
