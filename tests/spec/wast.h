/*
 * wast.h — shared by the spec runners: find the suite's .wast files,
 * convert one with wast2json (at test time; the suite is never copied into
 * the project), read files whole.
 */
#ifndef ZV_SPEC_WAST_H
#define ZV_SPEC_WAST_H

#include <stddef.h>

/* What a test that cannot run exits with: CTest's SKIP_RETURN_CODE. */
#define SPEC_SKIPPED 77
/* Where the suite comes from (../shared/wasm-testsuite/ORIGIN.md; tests/fuzz/diff_wabt.sh
 * says the same). */
#define SPEC_WHERE                                                                                 \
    "clone github.com/WebAssembly/testsuite there (commit 3a04b2c, core 2.0) or set ZVM_SPEC_DIR"

/* The suite folder: argv override, else $ZVM_SPEC_DIR, else the build's.
 * When it is not given in argv and holds no .wast file (a fresh clone),
 * the test cannot run: prints one line saying where to put the suite and
 * exits SPEC_SKIPPED, or 2 (failed) when ZVM_REQUIRE_SPEC=1, as CI sets.
 * `prog` names the test in that line. */
const char *spec_dir(const char *prog, int argc, char **argv);
/* Sorted .wast file names in dir; returns the count (< 0 on error). Free
 * with spec_free_names. */
int spec_list(const char *dir, char ***names);
void spec_free_names(char **names, int n);
/* wast2json WAST -o JSON. Returns 0 on success. */
int spec_convert(const char *wast, const char *json);
/* The whole file, NUL-terminated; NULL on error. */
char *spec_slurp(const char *path, size_t *size);
/* A fresh scratch folder under /tmp, and its removal. */
int spec_scratch(char *out, size_t n);
void spec_scratch_remove(const char *dir);

#endif
