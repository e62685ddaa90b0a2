/*
 * logfilter.c — the bundled example guest: a log filter. Reads log lines
 * on stdin and writes those that contain PATTERN (argv[1], default
 * "ERROR") to stdout. Built with stock clang: --target=wasm32-wasi.
 * A line it drops is not a failure, so it exits 0 either way: zvm batch
 * and zvm consume count a non-zero exit as the record's error (unless
 * --allow-exit-codes says otherwise), where grep would exit 1.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *pattern = argc > 1 ? argv[1] : "ERROR";
    char line[4096];
    while (fgets(line, sizeof line, stdin))
        if (strstr(line, pattern))
            fputs(line, stdout);
    return 0;
}
