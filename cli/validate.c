/*
 * validate.c — `zvm validate FILE...`: check WebAssembly modules (core
 * 2.0) and zvm's import policy with the validator alone (nothing is
 * compiled). Exit 0 when all are valid, 1 when one is malformed or
 * invalid, 2 when one cannot be read.
 */
#include "cli/cli.h"
#include "validator/validator.h"

#include <errno.h>
#include <stdio.h>

static const zv_cli_opt validate_opts[] = {
    {"hash", 0, NULL, "print each valid module's SHA-256"},
    {"no-policy", 0, NULL, "check the spec's rules only and allow any import"},
    {NULL, 0, NULL, NULL},
};

const zv_cli_cmd zv_cli_validate_cmd = {
    "validate",
    "[--hash] [--no-policy] FILE...",
    "Check WebAssembly modules (core 2.0) and zvm's import policy: each error names the file,\n"
    "the byte offset and the cause.",
    validate_opts,
    0,
    "More: man zvm-validate.",
    NULL,
};

static int validate_one(const char *path, int hash, int policy)
{
    zv_val_module *m = NULL;
    zv_val_err err = {0};
    zv_cli_file f;
    int rc, status = 0;
    if (zv_cli_read(path, &f))
        return 2;
    rc = zv_val_module_new(f.data, f.size, &m, &err);
    if (rc == 0 && policy)
        rc = zv_val_check_policy(m, &zv_val_default_policy, &err);
    if (rc == -ENOMEM) {
        fprintf(stderr, "zvm validate: %s: out of memory\n", path);
        status = 2;
    } else if (rc) {
        fprintf(stderr, "zvm validate: %s: offset 0x%04zx: %s: %s\n", path, err.offset,
                err.malformed ? "malformed" : "invalid", err.msg);
        status = 1;
    } else if (hash) {
        for (int i = 0; i < 32; i++)
            printf("%02x", m->sha256[i]);
        printf("  %s\n", path);
    }
    zv_val_module_free(m);
    zv_cli_release(&f);
    return status;
}

int zv_cli_validate(int argc, char **argv)
{
    zv_cli_args a;
    int hash = 0, policy = 1, status = 0, rc;
    zv_cli_args_init(&a, &zv_cli_validate_cmd, argc, argv);
    while ((rc = zv_cli_next(&a)) == 1) {
        if (zv_cli_is(&a, "hash"))
            hash = 1;
        else
            policy = 0;
    }
    if (rc)
        return rc == ZV_CLI_HELP ? 0 : 2;
    if (!a.n_operands) {
        zv_cli_fail(&a, "no FILE to check (see zvm validate --help)");
        return 2;
    }
    for (int i = 0; i < a.n_operands; i++) {
        int s = validate_one(argv[i], hash, policy);
        status = s > status ? s : status;
    }
    return status;
}
