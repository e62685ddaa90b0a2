/*
 * fuzz_validator.c — libFuzzer target for the security gate: every input
 * goes through zv_val_module_new and, when it validates, through the
 * default policy, then everything is freed. ASan and UBSan (the ZVM_FUZZ
 * build) turn any out-of-bounds read, leak or undefined behaviour in
 * validator/ into a crash; the return codes are not judged here (the
 * differential check against wabt, diff_wabt.sh, does that).
 */
#include "validator/validator.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zv_val_module *m = NULL;
    zv_val_err err = {0};
    int rc = zv_val_module_new(data, size, &m, &err);
    if (rc == 0) {
        rc = zv_val_check_policy(m, &zv_val_default_policy, &err);
        if (rc != 0 && rc != -EPERM)
            __builtin_trap(); /* the policy's contract: 0 or -EPERM */
    } else if (rc != -EINVAL && rc != -ENOMEM) {
        __builtin_trap(); /* the validator's contract: 0, -EINVAL or -ENOMEM */
    } else if (m) {
        __builtin_trap(); /* a failed validation must not hand out a module */
    }
    zv_val_module_free(m);
    return 0;
}
