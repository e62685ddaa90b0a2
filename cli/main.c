/*
 * main.c — the `zvm` command: it only dispatches to the commands (each in
 * its own file, with its table of options: opts.c) and answers `zvm
 * help`, `--help` and `--version`.
 *
 * Built twice (CMakeLists.txt): zvm-pool with jemalloc, each worker in its
 * own arena, and zvm (ZV_CLI_LEAN) with glibc's malloc and no workers,
 * which runs the pool commands (batch, consume, daemon mode) by exec'ing
 * zvm-pool from its own folder with the same arguments.
 */
#include "cli/cli.h"
#include "include/zvm/zvm.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const zv_cli_cmd *cmd;
    int (*run)(int argc, char **argv);
    int pool; /* runs workers: in zvm-pool */
} command;

static const command commands[] = {
    {&zv_cli_run_cmd, zv_cli_run, 0},       {&zv_cli_batch_cmd, zv_cli_batch, 1},
    {&zv_cli_consume_cmd, zv_cli_consume, 1}, {&zv_cli_job_cmd, zv_cli_job, 0},
    {&zv_cli_compile_cmd, zv_cli_compile, 0}, {&zv_cli_validate_cmd, zv_cli_validate, 0},
    {&zv_cli_keygen_cmd, zv_cli_keygen, 0},   {&zv_cli_sign_cmd, zv_cli_sign, 0},
};
#define N_COMMANDS (sizeof commands / sizeof *commands)

static const command *find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].cmd->name, name))
            return &commands[i];
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: zvm COMMAND [OPTIONS] ...\n\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *s = commands[i].cmd->summary;
        fprintf(f, "  %-9s %.*s\n", commands[i].cmd->name, (int)strcspn(s, ".\n"), s);
    }
    fprintf(f, "  %-9s this text, a command's options (zvm help COMMAND), or zvm's variables\n"
               "            (zvm help environment)\n\n"
               "zvm COMMAND --help lists a command's options; man zvm says more. --version: "
               "zvm's and the\ntranslator's versions.\n", "help");
}

static int unknown(const char *what)
{
    const char *names[N_COMMANDS + 2], *near;
    for (size_t i = 0; i < N_COMMANDS; i++)
        names[i] = commands[i].cmd->name;
    names[N_COMMANDS] = "help";
    names[N_COMMANDS + 1] = NULL;
    near = zv_cli_nearest(what, names);
    if (near)
        fprintf(stderr, "zvm: unknown command '%s': did you mean '%s'? (see zvm --help)\n", what,
                near);
    else
        fprintf(stderr, "zvm: unknown command '%s' (see zvm --help)\n", what);
    return 2;
}

/* zvm help [COMMAND | environment | --man PART [COMMAND]]: --man prints a
 * part of a man page for the build (cmake/man.cmake). */
static int help(int argc, char **argv)
{
    const command *c;
    if (argc == 0) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[0], "environment")) {
        zv_cli_help_environment(stdout);
        return 0;
    }
    if (!strcmp(argv[0], "--man") && argc == 2 && !strcmp(argv[1], "environment")) {
        zv_cli_man_environment(stdout);
        return 0;
    }
    if (!strcmp(argv[0], "--man") && argc == 2 && !strcmp(argv[1], "exit")) {
        zv_cli_man(&zv_cli_run_cmd, "exit", stdout); /* one table for every command */
        return 0;
    }
    if (!strcmp(argv[0], "--man") && argc == 3 && (c = find(argv[2]))) {
        zv_cli_man(c->cmd, argv[1], stdout);
        return 0;
    }
    if (!(c = find(argv[0])))
        return unknown(argv[0]);
    zv_cli_help(c->cmd, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const command *c;
    zv_cli_command_line = argv;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return help(0, NULL);
    if (!strcmp(argv[1], "help"))
        return help(argc - 2, argv + 2);
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("zvm %s (translator ABI %d)\n", zvm_version(), zv_eng_translator_version());
        return 0;
    }
    if (!(c = find(argv[1])))
        return unknown(argv[1]);
    zv_cli_current = c->cmd->name;
    if (c->pool && !ZV_CLI_POOLS_HERE)
        return zv_cli_pool_exec();
    return c->run(argc - 2, argv + 2);
}
