/* records_bigmem.c — records.c with 2 MiB more initial memory, so that
 * `zvm batch` resets its instances with madvise instead of memset (see
 * ZV_ENG_RESET_AUTO): the same answers are expected. */
#define RECORDS_BIGMEM 1
#include "records.c"
