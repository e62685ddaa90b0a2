/*
 * logfilter.c — the bundled example guest: a log filter. Reads log lines
 * on stdin and writes those that contain PATTERN (argv[1], default
 * "ERROR") to stdout. Built with stock clang: --target=wasm32-wasi.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *pattern = argc > 1 ? argv[1] : "ERROR";
    char line[4096];
    unsigned long kept = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (strstr(line, pattern)) {
            fputs(line, stdout);
            kept++;
        }
    }
    return kept ? 0 : 1;
}
