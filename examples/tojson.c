/*
 * tojson.c — a bundled example guest: turns log lines "TIMESTAMP LEVEL
 * SERVICE MESSAGE" into JSON objects, one per line. A line it cannot read
 * is an error: it says why on stderr and exits 2, so zvm batch and zvm
 * consume report that record (its index, "exit 2" and this stderr) and go
 * on with the others. Built with stock clang: --target=wasm32-wasi.
 */
#include <stdio.h>
#include <string.h>

static void json_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int main(void)
{
    static const char *const levels[] = {"DEBUG", "INFO", "WARN", "ERROR", NULL};
    char line[65536];
    int status = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *f[3], *rest = line;
        size_t n = strcspn(line, "\n");
        int k = 0, known = 0;
        line[n] = 0;
        for (; k < 3; k++) { /* three fields, then the message */
            rest += strspn(rest, " ");
            f[k] = rest;
            rest += strcspn(rest, " ");
            if (!*rest)
                break;
            *rest++ = 0;
        }
        for (int i = 0; k == 3 && levels[i]; i++)
            known |= !strcmp(f[1], levels[i]);
        if (k < 3 || !known) {
            fprintf(stderr, "not a log line (TIMESTAMP LEVEL SERVICE MESSAGE): %s\n",
                    k < 3 ? "too few fields" : "unknown level");
            status = 2;
            continue;
        }
        rest += strspn(rest, " ");
        printf("{\"ts\": ");
        json_string(f[0], strlen(f[0]));
        printf(", \"level\": ");
        json_string(f[1], strlen(f[1]));
        printf(", \"service\": ");
        json_string(f[2], strlen(f[2]));
        printf(", \"msg\": ");
        json_string(rest, strlen(rest));
        printf("}\n");
    }
    return status;
}
