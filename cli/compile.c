/*
 * compile.c — `zvm compile FILE.wasm...`: validate, translate and compile
 * modules into the code cache (engine.h: zv_eng_compile), with a progress
 * line on a terminal, or with -o into an artifact (engine/artifact.c). It
 * is also what a new module's background build runs (the tier-up:
 * zv_cli_tiering).
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* zvm compile's view of a build: a progress line on a terminal, and with
 * --stats the figures at the end. */
typedef struct {
    const char *file;
    int tty, built;
    zv_eng_build last;
} compile_ui;

static void compile_progress(void *arg, const zv_eng_build *b)
{
    compile_ui *ui = arg;
    ui->last = *b;
    ui->built = 1;
    if (ui->tty)
        fprintf(stderr, "\r\033[K%s: %u of %u units compiled (%.1f s)", ui->file, b->compiled,
                b->units, b->translate_s + b->compile_s);
}

static void compile_stats(const compile_ui *ui)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("%s: %u unit%s, %.1f MB of C, translated in %.2f s, compiled in %.2f s, largest "
           "compiler process %.0f MB\n", ui->file, ui->last.units, ui->last.units == 1 ? "" : "s",
           (double)ui->last.c_bytes / 1e6, ui->last.translate_s, ui->last.compile_s,
           (double)ru.ru_maxrss / 1024);
}

static const zv_cli_opt compile_opts[] = {
    {"output", 'o', "FILE.zvmc", "write one artifact: the module and its native code, for hosts "
                                 "without a compiler (one FILE.wasm)"},
    {"cache", 0, "DIR", "the code cache (default $ZVM_CACHE, else ~/.cache/zvm)"},
    {"stats", 0, NULL, "say how long translating and compiling took, and the compiler's memory"},
    {NULL, 0, NULL, NULL},
};

const zv_cli_cmd zv_cli_compile_cmd = {
    "compile",
    "[--cache DIR] [--stats] FILE.wasm... | -o FILE.zvmc FILE.wasm",
    "Validate, translate and compile modules into the code cache with gcc -O2 (or $ZVM_CC), so\n"
    "that their first run needs no compiler; with -o, into an artifact that zvm run, batch and\n"
    "consume take in place of the .wasm on hosts without a compiler.",
    compile_opts,
    0,
    "More: man zvm-compile.",
    NULL,
};

int zv_cli_compile(int argc, char **argv)
{
    zv_eng_opts opts = {0};
    compile_ui ui = {NULL, isatty(2), 0, {0}};
    zv_cli_args a;
    int status = 0, stats = 0, rc;
    const char *artifact = NULL;
    opts.policy = &zv_val_default_policy;
    opts.progress = compile_progress;
    opts.progress_arg = &ui;
    zv_cli_args_init(&a, &zv_cli_compile_cmd, argc, argv);
    while ((rc = zv_cli_next(&a)) == 1) {
        if (zv_cli_is(&a, "cache"))
            opts.cache_dir = a.val;
        else if (zv_cli_is(&a, "output"))
            artifact = a.val;
        else
            stats = 1;
    }
    if (rc)
        return rc == ZV_CLI_HELP ? 0 : 2;
    if (!a.n_operands) {
        zv_cli_fail(&a, "no FILE.wasm to compile (see zvm compile --help)");
        return 2;
    }
    if (artifact && a.n_operands != 1) {
        zv_cli_fail(&a, "-o %s takes one FILE.wasm, not %d", artifact, a.n_operands);
        return 2;
    }
    if (zv_cli_env_check("compile"))
        return 2;
    for (int k = 0; k < a.n_operands; k++) {
        const char *file = argv[k];
        zv_cli_file f;
        zv_eng_err err = {0};
        char path[4200];
        int cached = 0;
        if ((rc = zv_cli_read(file, &f))) {
            status = rc > status ? rc : status;
            continue;
        }
        ui.file = file;
        ui.built = 0;
        if (artifact)
            rc = zv_eng_artifact_write(f.data, f.size, &opts, artifact, &cached, &err);
        else
            rc = zv_eng_compile(f.data, f.size, &opts, &cached, path, sizeof path, &err);
        zv_cli_release(&f);
        if (ui.tty && ui.built)
            fprintf(stderr, "\r\033[K");
        if (rc) {
            zv_cli_file_err("compile", file, err.msg);
            status = status > 1 ? status : 1;
            continue;
        }
        if (artifact)
            printf("%s: %s, artifact %s\n", file, cached ? "cached" : "compiled", artifact);
        else
            printf("%s: %s %s\n", file, cached ? "cached" : "compiled", path);
        if (stats && ui.built)
            compile_stats(&ui);
    }
    return status;
}
