/*
 * peers.h — how a grep-pipeline stage learns its peers: the entries of
 * /dev/in or /dev/out, sorted by name (strcmp) whatever order readdir gives,
 * so split and count agree on who is i-th. Header-only (static inline)
 * because each guest is one translation unit.
 */
#ifndef PEERS_H
#define PEERS_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int gp_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void gp_peers_free(char **paths, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

/*
 * Lists dir into a new array of *n paths "DIR/NAME", sorted by name; the
 * caller frees it with gp_peers_free. Returns 0 or -errno.
 */
static inline int gp_peers(const char *dir, char ***paths, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char **v = NULL;
    size_t len = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        size_t sz = strlen(dir) + 1 + strlen(de->d_name) + 1;
        char **w = realloc(v, (len + 1) * sizeof *v);
        char *p = malloc(sz);
        if (w)
            v = w;
        if (!w || !p) {
            free(p);
            rc = -ENOMEM;
            break;
        }
        snprintf(p, sz, "%s/%s", dir, de->d_name);
        v[len++] = p;
    }
    closedir(d);
    if (rc < 0) {
        gp_peers_free(v, len);
        return rc;
    }
    if (len) /* one directory: paths sort as their names do */
        qsort(v, len, sizeof *v, gp_name_cmp);
    *paths = v;
    *n = len;
    return 0;
}

#endif
