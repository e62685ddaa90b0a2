/*
 * cmd.h — private to the `zvm` command's files: reading input files and
 * the subcommands. Commands print and choose exit codes; libzvm never does.
 */
#ifndef ZV_CMD_H
#define ZV_CMD_H

#include "engine/engine.h"

typedef struct {
    const uint8_t *data;
    size_t size;
} zv_cmd_file;

/* Map a whole regular file read-only. Returns 0, or prints why and
 * returns 2 (the exit status for an unreadable file). */
int zv_cmd_read(const char *path, zv_cmd_file *f);
void zv_cmd_release(zv_cmd_file *f);

int zv_cmd_run(int argc, char **argv);
int zv_cmd_compile(int argc, char **argv);
int zv_cmd_batch(int argc, char **argv);

#endif
