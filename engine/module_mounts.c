/*
 * module_mounts.c — the images a module asks for in its `zvm.mount`
 * custom section (engine.h zv_eng_module_mounts). The section is
 * untrusted: every line is checked here, once, before any file is named.
 */
#include "engine/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MOUNTS 16
#define MAX_GUEST 1024

/* A guest directory: absolute, no empty, "." or ".." component, no
 * trailing '/' (but "/" itself), printable. */
static const char *guest_dir_bad(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/')
        return "the guest directory must be absolute";
    if (n > MAX_GUEST)
        return "the guest directory is longer than 1024 bytes";
    for (size_t i = 1; i <= n; i++) {
        size_t c = i;
        while (c < n && p[c] != '/')
            c++;
        if (n > 1 && (c == i || (c - i == 1 && p[i] == '.') ||
                      (c - i == 2 && p[i] == '.' && p[i + 1] == '.')))
            return "the guest directory must be normalised (no empty, '.' or '..' component)";
        i = c;
    }
    return NULL;
}

static const char *line_bad(const char *s, size_t n, size_t *image_len)
{
    const char *sp = memchr(s, ' ', n);
    size_t k;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "a control character";
    if (!sp || sp == s)
        return "expected 'IMAGE GUESTDIR'";
    k = (size_t)(sp - s);
    if (memchr(s, '/', k) || (k == 1 && s[0] == '.') || (k == 2 && s[0] == '.' && s[1] == '.'))
        return "the image must be a file name beside the module (no '/')";
    if (k > 255)
        return "the image's name is longer than 255 bytes";
    *image_len = k;
    return guest_dir_bad(sp + 1, n - k - 1);
}

void zv_eng_mounts_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

int zv_eng_module_mounts(const zv_eng_module *m, char ***out, zv_eng_err *err)
{
    const zv_val_module *info = m->info;
    const char *s = (const char *)info->zvm_mount, *end = s + info->zvm_mount_len;
    char **v = NULL;
    uint32_t n = 0, line = 0;
    *out = NULL;
    if (!info->n_zvm_mount)
        return 0;
    if (info->n_zvm_mount > 1) {
        snprintf(err->msg, sizeof err->msg, "its custom section zvm.mount appears %u times "
                 "(one is allowed)", info->n_zvm_mount);
        return -ENOEXEC;
    }
    if (!m->dir) {
        snprintf(err->msg, sizeof err->msg, "its custom section zvm.mount names images beside "
                 "the module's file, but it was loaded from memory");
        return -ENOEXEC;
    }
    if (!(v = calloc(MAX_MOUNTS + 1, sizeof *v)))
        goto nomem;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s)), *why;
        size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s), image_len = 0;
        line++;
        if (n == MAX_MOUNTS)
            why = "more than 16 images";
        else
            why = line_bad(s, len, &image_len);
        if (why) {
            snprintf(err->msg, sizeof err->msg, "its custom section zvm.mount, line %u: %s",
                     line, why);
            zv_eng_mounts_free(v);
            return -ENOEXEC;
        }
        size_t need = strlen(m->dir) + len + 4;
        if (!(v[n] = malloc(need)))
            goto nomem;
        snprintf(v[n++], need, "%s/%.*s::%.*s", m->dir, (int)image_len, s,
                 (int)(len - image_len - 1), s + image_len + 1);
        s += len + (nl ? 1 : 0);
    }
    *out = v;
    return 0;
nomem:
    zv_eng_mounts_free(v);
    snprintf(err->msg, sizeof err->msg, "out of memory");
    return -ENOMEM;
}
