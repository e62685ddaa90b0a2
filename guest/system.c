/*
 * system.c — system(), which wasi-libc declares but does not define: an
 * instance cannot start a process. system(NULL) says there is no command
 * processor (0, as C11 7.22.4.8 allows); a command fails with -1 and
 * errno ENOSYS, which callers such as Lua's os.execute report.
 */
#include <errno.h>
#include <stdlib.h>

int system(const char *command)
{
    if (!command)
        return 0;
    errno = ENOSYS;
    return -1;
}
