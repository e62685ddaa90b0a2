/*
 * cli.h — private to the `zvm` command's files: reading input files and
 * the subcommands. Commands parse flags, call the library through its
 * public headers, print, and choose exit codes; libzvm never does.
 */
#ifndef ZV_CLI_H
#define ZV_CLI_H

#include "engine/engine.h"
#include "prefork/prefork.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *data;
    size_t size;
} zv_cli_file;

/* Map a whole regular file read-only. Returns 0, or prints why and
 * returns 2 (the exit status for an unreadable file). */
int zv_cli_read(const char *path, zv_cli_file *f);
void zv_cli_release(zv_cli_file *f);
/* The first n bytes of a regular file (*got fewer if it is shorter), with
 * zv_cli_read's errors. */
int zv_cli_peek(const char *path, uint8_t *buf, size_t n, size_t *got);

/* Does this program run pools (batch, consume, daemon mode) itself? Not
 * the lean zvm (ZV_CLI_LEAN: main.c), which has no jemalloc for their
 * workers: it calls zv_cli_pool_exec, which execs zvm-pool, beside this
 * program, with main's arguments, and returns only on failure, with the
 * exit status (2) after printing why. */
#ifdef ZV_CLI_LEAN
#define ZV_CLI_POOLS_HERE 0
#else
#define ZV_CLI_POOLS_HERE 1
#endif
int zv_cli_pool_exec(void);
int zv_cli_run(int argc, char **argv);
int zv_cli_compile(int argc, char **argv);
/* Tiering for a new module (engine.h): tcc now (when it is installed: the
 * engine falls back to gcc without it), gcc -O2 in the background (this
 * binary's `compile`), unless ZVM_CC picks a compiler or ZVM_TIER is 0.
 * A background build that failed before is said once, on stderr.
 * Nothing here looks at the disk: a warm start pays nothing for it. */
void zv_cli_tiering(zv_eng_opts *eng);
/* A pool's summary line on the tiers, when some records ran on the
 * baseline build. */
void zv_cli_tiers_line(const zv_pf_pool *p);
int zv_cli_batch(int argc, char **argv);
int zv_cli_job(int argc, char **argv);
int zv_cli_pipeline(int argc, char **argv); /* zvm job JOB.json */
int zv_cli_consume(int argc, char **argv);

#endif
