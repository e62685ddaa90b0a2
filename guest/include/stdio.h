/*
 * stdio.h — wasi-libc's, with what it leaves out because WASI has no
 * temporary directory: L_tmpnam, TMP_MAX, tmpnam and tmpfile (declared
 * there only as deprecated). zvm's support library (guest/stdio.c) gives
 * them on the instance's in-memory file system, so stock C such as Lua's
 * os.tmpname and io.tmpfile builds and runs unchanged.
 */
#ifndef __ZVM_STDIO_H
#define __ZVM_STDIO_H

/* wasi-libc's declarations of these two carry a deprecation that no
 * later declaration can take back: they go under other names */
#define tmpnam __wasilibc_deprecated_tmpnam
#define tmpfile __wasilibc_deprecated_tmpfile
#include_next <stdio.h>
#undef tmpnam
#undef tmpfile

#ifndef L_tmpnam
#define L_tmpnam 20
#endif
#ifndef TMP_MAX
#define TMP_MAX 10000
#endif
#ifndef P_tmpdir
#define P_tmpdir "/tmp"
#endif

#ifdef __cplusplus
extern "C" {
#endif
char *tmpnam(char *__s);
FILE *tmpfile(void);
#ifdef __cplusplus
}
#endif

#endif
