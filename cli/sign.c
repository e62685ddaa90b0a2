/*
 * sign.c — `zvm keygen` and `zvm sign`: the keys and signatures that let
 * an operator trust artifacts by who signed them (engine/artifact_sign.c)
 * rather than by who owns the file: `zvm keygen -o KEY` on the build host,
 * `zvm sign --key KEY FILE.zvmc` after `zvm compile -o`, and the services
 * run with `--trust-key KEY.pub`.
 */
#include "cli/cli.h"

#include <stdio.h>

static const zv_cli_opt keygen_opts[] = {
    {"output", 'o', "KEY", "the private key's file (required); the public one is KEY.pub"},
    {NULL, 0, NULL, NULL},
};

const zv_cli_cmd zv_cli_keygen_cmd = {
    "keygen",
    "-o KEY",
    "Make an Ed25519 key pair for signing artifacts: KEY (private, mode 0600: keep it on the\n"
    "build host) and KEY.pub (for --trust-key on the hosts that run them). Neither file may\n"
    "exist yet.",
    keygen_opts,
    0,
    "More: man zvm-keygen.",
    NULL,
};

int zv_cli_keygen(int argc, char **argv)
{
    const char *key = NULL;
    char pub[4200];
    zv_eng_err err = {0};
    zv_cli_args a;
    int rc;
    zv_cli_args_init(&a, &zv_cli_keygen_cmd, argc, argv);
    while ((rc = zv_cli_next(&a)) == 1)
        key = a.val;
    if (rc)
        return rc == ZV_CLI_HELP ? 0 : 2;
    if (!key || a.n_operands) {
        zv_cli_fail(&a, "%s (see zvm keygen --help)", key ? "no operands" : "-o KEY is required");
        return 2;
    }
    snprintf(pub, sizeof pub, "%s.pub", key);
    if (zv_eng_keygen(key, pub, &err)) {
        fprintf(stderr, "zvm keygen: %s\n", err.msg);
        return 1;
    }
    printf("%s: private key\n%s: public key (for --trust-key)\n", key, pub);
    return 0;
}

static const zv_cli_opt sign_opts[] = {
    {"key", 'k', "KEY", "the private key (zvm keygen) (required)"},
    {NULL, 0, NULL, NULL},
};

const zv_cli_cmd zv_cli_sign_cmd = {
    "sign",
    "--key KEY FILE.zvmc...",
    "Sign artifacts (zvm compile -o) in place with an Ed25519 key, replacing a signature\n"
    "they have; hosts that run them with --trust-key KEY.pub then accept them whoever owns\n"
    "the file, and refuse any other.",
    sign_opts,
    0,
    "More: man zvm-sign.",
    NULL,
};

int zv_cli_sign(int argc, char **argv)
{
    const char *key = NULL;
    zv_cli_args a;
    int rc, status = 0;
    zv_cli_args_init(&a, &zv_cli_sign_cmd, argc, argv);
    while ((rc = zv_cli_next(&a)) == 1)
        key = a.val;
    if (rc)
        return rc == ZV_CLI_HELP ? 0 : 2;
    if (!key || !a.n_operands) {
        zv_cli_fail(&a, "%s (see zvm sign --help)", key ? "no FILE.zvmc to sign"
                                                        : "--key KEY is required");
        return 2;
    }
    for (int k = 0; k < a.n_operands; k++) {
        zv_eng_err err = {0};
        if (zv_eng_artifact_sign(argv[k], key, &err)) {
            zv_cli_file_err("sign", argv[k], err.msg);
            status = 1;
            continue;
        }
        printf("%s: signed\n", argv[k]);
    }
    return status;
}
