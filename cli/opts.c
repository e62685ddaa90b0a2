/*
 * opts.c — the command line, GNU style, from one table per command.
 *
 * Each command describes its options once (zv_cli_cmd: name, value,
 * default and help) and from that table come the parsing, `--help` and
 * `zvm help COMMAND` (on stdout, exit 0) and the OPTIONS section of the
 * man pages (`zvm help --man-options COMMAND`, which the build splices
 * into doc/zvm-COMMAND.1.in), so the three cannot disagree.
 *
 * Parsing: `--opt value` and `--opt=value`, `-x value` for the few
 * options with a letter, flags, `--` ending the options. For a command
 * with a program operand (`zvm run PROG.wasm ARGS...`) the options end at
 * it: what follows is the guest's argv, as in `wasmtime run`. A mistake
 * is one line and exit status 2, never the usage text:
 *   zvm batch: unknown option '--bogus' (see zvm batch --help)
 *   zvm batch: --memory 1000: not a multiple of 65536
 */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zv_cli_args_init(zv_cli_args *a, const zv_cli_cmd *cmd, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->argc = argc;
    a->argv = argv;
}

int zv_cli_fail(const zv_cli_args *a, const char *fmt, ...)
{
    va_list ap;
    if (a->cmd->prog)
        fprintf(stderr, "%s: ", a->cmd->prog);
    else
        fprintf(stderr, "zvm %s: ", a->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

static const zv_cli_opt help_opt = {"help", 'h', NULL, "print this help and exit"};

/* The row for a long name (n bytes of it), or NULL. */
static const zv_cli_opt *find_long(const zv_cli_cmd *cmd, const char *name, size_t n)
{
    if (n == 4 && !memcmp(name, "help", 4))
        return &help_opt;
    for (const zv_cli_opt *o = cmd->opts; o && o->name; o++)
        if (strlen(o->name) == n && !memcmp(o->name, name, n))
            return o;
    return NULL;
}

static const zv_cli_opt *find_letter(const zv_cli_cmd *cmd, char c)
{
    if (c == 'h')
        return &help_opt;
    for (const zv_cli_opt *o = cmd->opts; o && o->name; o++)
        if (o->letter == c)
            return o;
    return NULL;
}

int zv_cli_next(zv_cli_args *a)
{
    const char *s, *eq;
    for (;;) {
        if (a->done || a->i >= a->argc)
            return 0;
        s = a->argv[a->i];
        if (!strcmp(s, "--")) {
            a->i++;
            a->done = 1;
            return 0;
        }
        if (s[0] == '-' && s[1])
            break;
        if (a->cmd->program_operand) { /* what follows is the program's */
            a->done = 1;
            return 0;
        }
        /* operands move to the front, in order, as GNU getopt permutes */
        memmove(a->argv + a->n_operands + 1, a->argv + a->n_operands,
                (size_t)(a->i - a->n_operands) * sizeof *a->argv);
        a->argv[a->n_operands++] = (char *)s;
        a->i++;
    }
    a->i++;
    a->val = NULL;
    if (s[1] == '-') {
        eq = strchr(s + 2, '=');
        a->opt = find_long(a->cmd, s + 2, eq ? (size_t)(eq - s - 2) : strlen(s + 2));
        if (!a->opt)
            return zv_cli_fail(a, "unknown option '%.*s' (see %s%s --help)",
                               (int)(eq ? (size_t)(eq - s) : strlen(s)), s,
                               a->cmd->prog ? "" : "zvm ", a->cmd->prog ? a->cmd->prog : a->cmd->name);
        if (eq && !a->opt->arg)
            return zv_cli_fail(a, "--%s takes no value (got '%s')", a->opt->name, eq + 1);
        if (eq)
            a->val = eq + 1;
    } else {
        if (!(a->opt = s[2] ? NULL : find_letter(a->cmd, s[1])))
            return zv_cli_fail(a, "unknown option '%s' (see %s%s --help)", s,
                               a->cmd->prog ? "" : "zvm ", a->cmd->prog ? a->cmd->prog : a->cmd->name);
    }
    if (a->opt == &help_opt) {
        zv_cli_help(a->cmd, stdout);
        return ZV_CLI_HELP;
    }
    if (a->opt->arg && !a->val) {
        if (a->i >= a->argc)
            return zv_cli_fail(a, "--%s needs a value (%s)", a->opt->name, a->opt->arg);
        a->val = a->argv[a->i++];
    }
    return 1;
}

int zv_cli_is(const zv_cli_args *a, const char *name) { return !strcmp(a->opt->name, name); }

int zv_cli_rest(const zv_cli_args *a) { return a->i; }

/* ---- values ------------------------------------------------------------------ */

int zv_cli_uint(const zv_cli_args *a, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(a->val, &end, 10);
    if (!*a->val || *end || errno || a->val[0] == '-')
        return zv_cli_fail(a, "--%s %s: not a number", a->opt->name, a->val);
    if (v < min || v > max)
        return zv_cli_fail(a, "--%s %s: out of range (%llu to %llu)", a->opt->name, a->val,
                           (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return 0;
}

int zv_cli_unsigned(const zv_cli_args *a, unsigned min, unsigned max, unsigned *out)
{
    uint64_t v;
    if (zv_cli_uint(a, min, max, &v))
        return -1;
    *out = (unsigned)v;
    return 0;
}

int zv_cli_seconds(const zv_cli_args *a, double *out)
{
    char *end;
    double v = strtod(a->val, &end);
    if (!*a->val || *end || !(v > 0) || v > 1e9)
        return zv_cli_fail(a, "--%s %s: not a positive number of seconds", a->opt->name, a->val);
    *out = v;
    return 0;
}

int zv_cli_memory(const zv_cli_args *a, uint64_t *out)
{
    if (zv_cli_uint(a, 0, UINT64_MAX, out))
        return -1;
    if (*out % 65536)
        return zv_cli_fail(a, "--%s %s: not a multiple of 65536", a->opt->name, a->val);
    if (*out < 65536 || *out > 65536ull * 65536)
        return zv_cli_fail(a, "--%s %s: out of range (65536 to 4294967296)", a->opt->name, a->val);
    return 0;
}

int zv_cli_choice(const zv_cli_args *a, const char *const *choices, int *out)
{
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        if (!strcmp(a->val, choices[i])) {
            *out = i;
            return 0;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 choices[i]);
    }
    return zv_cli_fail(a, "--%s %s: one of %s", a->opt->name, a->val, list);
}

/* ---- help and man pages ------------------------------------------------------- */

static const char exit_codes[] =
    "  0    success (batch, consume: every record was processed, whatever each did)\n"
    "  1    the work failed: a module that is malformed, invalid or does not compile,\n"
    "       a set-up, an input or an output that failed\n"
    "  2    usage: an unknown option, a bad value, a missing or unreadable file\n"
    "  zvm run PROG.wasm exits with the program's own status (128+N: trap N);\n"
    "  zvm run MANIFEST with ZeroVM's codes (4 trap or timeout, 14 manifest, ...)\n";

/* "--name VALUE" or "-x, --name VALUE" into buf. */
static void opt_label(const zv_cli_opt *o, char *buf, size_t n)
{
    if (o->letter)
        snprintf(buf, n, "-%c, --%s%s%s", o->letter, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    else
        snprintf(buf, n, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

void zv_cli_help(const zv_cli_cmd *cmd, FILE *f)
{
    const char *u = cmd->usage;
    fprintf(f, "usage: ");
    while (*u) { /* one synopsis per line, each after "zvm COMMAND " */
        size_t n = strcspn(u, "\n");
        fprintf(f, "%s%s%s%s %.*s\n", u == cmd->usage ? "" : "       ", cmd->prog ? cmd->prog : "zvm",
                cmd->prog ? "" : " ", cmd->prog ? "" : cmd->name, (int)n, u);
        u += n + (u[n] == '\n');
    }
    fprintf(f, "\n%s\n\nOptions:\n", cmd->summary);
    for (const zv_cli_opt *o = cmd->opts; o && o->name; o++) {
        char label[80];
        opt_label(o, label, sizeof label);
        fprintf(f, "  %-28s %s\n", label, o->help);
    }
    fprintf(f, "  %-28s %s\n", "-h, --help", help_opt.help);
    fprintf(f, "\nExit status:\n%s", exit_codes);
    if (cmd->see)
        fprintf(f, "\n%s\n", cmd->see);
}

/* roff: a backslash and a leading dot or quote would be read as markup. */
static void roff_text(FILE *f, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", f);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

/* The man page's parts (doc/zvm-CMD.1.in: @SYNOPSIS@, @OPTIONS@, @EXIT@). */
void zv_cli_man(const zv_cli_cmd *cmd, const char *part, FILE *f)
{
    if (!strcmp(part, "synopsis")) {
        for (const char *u = cmd->usage; *u;) {
            size_t n = strcspn(u, "\n");
            char line[512];
            snprintf(line, sizeof line, "%.*s", (int)n, u);
            if (u != cmd->usage)
                fputs(".br\n", f);
            fprintf(f, ".B %s%s\n", cmd->prog ? cmd->prog : "zvm ", cmd->prog ? "" : cmd->name);
            roff_text(f, line);
            fputs("\n", f);
            u += n + (u[n] == '\n');
        }
        return;
    }
    if (!strcmp(part, "options")) {
        fputs(".SH OPTIONS\n", f);
        for (const zv_cli_opt *o = cmd->opts; o && o->name; o++) {
            char label[80];
            opt_label(o, label, sizeof label);
            fputs(".TP\n.B ", f);
            roff_text(f, label);
            fputs("\n", f);
            roff_text(f, o->help);
            fputs("\n", f);
        }
        fputs(".TP\n.B \\-h, \\-\\-help\n", f);
        roff_text(f, help_opt.help);
        fputs("\n", f);
    }
    fputs(".SH EXIT STATUS\n.nf\n", f);
    roff_text(f, exit_codes);
    fputs(".fi\n", f);
}

/* ---- commands ----------------------------------------------------------------- */

/* Edit distance, for "did you mean". */
static unsigned distance(const char *a, const char *b)
{
    unsigned d[32][32];
    size_t n = strlen(a), m = strlen(b);
    if (n > 30 || m > 30)
        return 99;
    for (size_t i = 0; i <= n; i++)
        for (size_t j = 0; j <= m; j++) {
            if (!i || !j) {
                d[i][j] = (unsigned)(i + j);
                continue;
            }
            d[i][j] = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < d[i][j])
                d[i][j] = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < d[i][j])
                d[i][j] = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1; /* a swap: bacth */
        }
    return d[n][m];
}

const char *zv_cli_nearest(const char *word, const char *const *names)
{
    const char *best = NULL;
    unsigned best_d = 3; /* at most two edits away */
    for (int i = 0; names[i]; i++) {
        unsigned d = distance(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}
