/*
 * embed_filter.c — the log filter behind a queue, in miniature: how a
 * program embeds zvm (include/zvm/zvm.h, `pkg-config --cflags --libs zvm`).
 *
 *   embed_filter LOGFILTER.wasm < app.log > errors.log
 *
 * One thread reads lines from stdin and submits each as a record to a pool
 * of the sandboxed filter (the queue's consumer loop); the main thread
 * takes the results in order and prints the kept lines (the producer loop
 * of the next stage). A record whose instance traps, times out or hits a
 * limit is reported on stderr with its line number. Exit 0 when every
 * line was processed, 1 when setup failed, 2 for bad usage.
 */
#include <zvm/zvm.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    zvm_pool *pool;
    int failed;
} reader;

/* The submitting loop: one record per line; when the pool is full, wait
 * a little for the other loop to take results. */
static void *read_lines(void *arg)
{
    reader *rd = arg;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t line_no = 1;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        int rc;
        while ((rc = zvm_pool_submit(rd->pool, line, (size_t)n, line_no)) == -EAGAIN)
            nanosleep(&(struct timespec){0, 100000}, NULL);
        if (rc) {
            fprintf(stderr, "embed_filter: line %llu: %s\n", (unsigned long long)line_no,
                    strerror(-rc));
            rd->failed = 1;
        }
        line_no++;
    }
    free(line);
    zvm_pool_close(rd->pool); /* the consumer ends once every result is out */
    return NULL;
}

int main(int argc, char **argv)
{
    zvm_module *mod = NULL;
    zvm_pool_config cfg;
    reader rd = {NULL, 0};
    zvm_result r;
    pthread_t th;
    char err[1024];
    int rc;
    if (argc != 2) {
        fprintf(stderr, "usage: embed_filter LOGFILTER.wasm < LOG\n");
        return 2;
    }
    if ((rc = zvm_module_load(argv[1], NULL, &mod, err, sizeof err))) {
        fprintf(stderr, "embed_filter: %s\n", err);
        return 1;
    }
    memset(&cfg, 0, sizeof cfg); /* defaults: a worker per core, 10 s, 64 MiB */
    cfg.timeout_s = 2;
    if ((rc = zvm_pool_new(mod, &cfg, &rd.pool, err, sizeof err))) {
        fprintf(stderr, "embed_filter: %s\n", err);
        zvm_module_free(mod);
        return 1;
    }
    pthread_create(&th, NULL, read_lines, &rd);
    while ((rc = zvm_pool_next(rd.pool, &r, -1)) == 1) {
        if (r.status == ZVM_OK)
            fwrite(r.data, 1, r.len, stdout);
        else
            fprintf(stderr, "embed_filter: line %llu: %s\n", (unsigned long long)r.tag, r.detail);
    }
    pthread_join(th, NULL);
    zvm_pool_free(rd.pool);
    zvm_module_free(mod);
    return rc == -ENODATA && !rd.failed ? 0 : 1;
}
