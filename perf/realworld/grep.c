/*
 * grep.c — the PCRE2 workload of perf/realworld/run.sh: the lines of
 * stdin that match argv[1] (a PCRE2 pattern, JIT off as in wasm), each
 * printed with the first capture group when the pattern has one, then a
 * count. A small driver over the library rather than pcre2grep: pcre2grep
 * needs a configured build (popen, directories) that wasi-libc lacks,
 * and the matching is the library's either way.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    static char line[65536];
    int err;
    PCRE2_SIZE off;
    unsigned long lines = 0, hits = 0;
    pcre2_code *re;
    pcre2_match_data *md;
    if (argc != 2) {
        fputs("usage: grep PATTERN < INPUT\n", stderr);
        return 2;
    }
    re = pcre2_compile((PCRE2_SPTR)argv[1], PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        fprintf(stderr, "grep: pattern offset %zu: %s\n", (size_t)off, (char *)msg);
        return 2;
    }
    md = pcre2_match_data_create_from_pattern(re, NULL);
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        lines++;
        int rc = pcre2_match(re, (PCRE2_SPTR)line, n, 0, 0, md, NULL);
        if (rc < 0)
            continue;
        hits++;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (rc > 1)
            printf("%.*s\n", (int)(ov[3] - ov[2]), line + ov[2]);
        else
            fputs(line, stdout);
    }
    printf("%lu of %lu lines\n", hits, lines);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return 0;
}
