/*
 * stdio.c — tmpnam and tmpfile, which wasi-libc leaves out (WASI has no
 * temporary directory), on the instance's own file system: zvm gives
 * every instance a POSIX tree in memory at / (README "The file system"),
 * which vanishes with it, so a temporary file is just a file there.
 *
 * Names are P_tmpdir "/tmp.NNNNNN", numbered from 0 in every instance and
 * the first not in use taken, so that a run is deterministic as zvm's
 * runs are. tmpfile unlinks its file at once; it lives while open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned next_number;

/* The next free name into buf (L_tmpnam bytes), or NULL with errno. */
static char *free_name(char *buf)
{
    static const char dir[] = P_tmpdir "/tmp.";
    struct stat st;
    if (mkdir(P_tmpdir, 0700) < 0 && errno != EEXIST)
        return NULL;
    for (unsigned tries = 0; tries < TMP_MAX; tries++) {
        unsigned n = next_number++ % 1000000;
        char *p = buf + sizeof dir - 1 + 6;
        _Static_assert(sizeof dir - 1 + 6 < L_tmpnam, "a name fits in L_tmpnam");
        for (unsigned i = 0; i < sizeof dir - 1; i++)
            buf[i] = dir[i];
        *p = 0;
        for (int d = 0; d < 6; d++, n /= 10)
            *--p = (char)('0' + n % 10);
        if (stat(buf, &st) < 0 && errno == ENOENT)
            return buf;
    }
    errno = EEXIST;
    return NULL;
}

char *tmpnam(char *s)
{
    static char buf[L_tmpnam];
    return free_name(s ? s : buf);
}

FILE *tmpfile(void)
{
    char name[L_tmpnam];
    for (unsigned tries = 0; tries < TMP_MAX; tries++) {
        int fd;
        FILE *f;
        if (!free_name(name))
            return NULL;
        if ((fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0600)) < 0) {
            if (errno == EEXIST)
                continue;
            return NULL;
        }
        unlink(name);
        if (!(f = fdopen(fd, "w+")))
            close(fd);
        return f;
    }
    errno = EEXIST;
    return NULL;
}
