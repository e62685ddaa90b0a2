/*
 * snapshot_rules.c — a rule filter with its set-up before zvm_fork(): it
 * reads its rules (one word per line) from the "/dev/rules" channel of the
 * template manifest, says so on stdout (discarded in batch), forks, and
 * then prints each record that holds a rule word. What a copy starts from
 * is shown on every line: `calls` counts the records this copy has seen
 * and `pages` is its memory size; a record "GROW" grows memory and "TRAP"
 * traps after scribbling over the rules, neither of which the next record
 * may see; "LOOP" spins until its timeout. A first rule "TRAP" makes the
 * set-up itself trap.
 */
#include <zvm/guest.h>

#include <stdio.h>
#include <string.h>

static char rules[4096];
static int calls;
static volatile int spin;

static int channel(const char *alias)
{
    const struct UserManifest *m = MANIFEST;
    for (int i = 0; m && i < m->channels_count; i++)
        if (!strcmp(m->channels[i].name, alias))
            return i;
    return -1;
}

static int matches(const char *line)
{
    for (const char *w = rules; *w; w += strlen(w) + 1)
        if (strstr(line, w))
            return 1;
    return 0;
}

int main(void)
{
    char line[4096];
    int d = channel("/dev/rules"), n = d < 0 ? 0 : zvm_pread(d, rules, sizeof rules - 1, 0);
    int count = 0;
    if (n < 0)
        n = 0;
    for (int i = 0; i < n; i++) /* one word per line: NUL-separated */
        if (rules[i] == '\n' || rules[i] == '\r')
            rules[i] = 0, count++;
    rules[n] = 0;
    if (!strcmp(rules, "TRAP"))
        __builtin_trap();
    printf("set-up: %d rules\n", count);
    fflush(stdout);
    int forked = zvm_fork();
    calls++;
    if (!fgets(line, sizeof line, stdin))
        line[0] = 0;
    if (!strncmp(line, "GROW", 4))
        __builtin_wasm_memory_grow(0, 16);
    if (!strncmp(line, "LOOP", 4))
        for (;;) /* until the timeout */
            spin++;
    if (!strncmp(line, "TRAP", 4)) {
        memset(rules, 'x', sizeof rules);
        __builtin_trap();
    }
    if (matches(line) || !strncmp(line, "GROW", 4))
        printf("forked=%d calls=%d pages=%zu %s", forked, calls, __builtin_wasm_memory_size(0), line);
    return 0;
}
