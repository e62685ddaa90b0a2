/*
 * spec_validate.c — validation conformance against the official core 2.0
 * test suite. Each .wast file is converted with wast2json into a scratch
 * folder at test time (the suite is never copied into the project), then
 * every binary command is checked through the validator:
 *   module, assert_unlinkable, assert_uninstantiable  -> must validate;
 *   assert_invalid, binary assert_malformed           -> must be rejected.
 * Text-format assert_malformed tests a text parser we do not have: skipped.
 *
 * Usage: spec_validate [SPEC_DIR]   (default: $ZVM_SPEC_DIR, else the
 * build's default). Prints each failure as FILE:LINE, then the totals.
 */
#include "json.h"
#include "wast.h"
#include "validator/validator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long passed, failed, skipped;
} totals;

/* Validate one .wasm file: 1 valid, 0 rejected, -1 unreadable. */
static int validates(const char *path, zv_val_err *err)
{
    size_t size = 0;
    char *bytes = spec_slurp(path, &size);
    zv_val_module *m = NULL;
    int rc;
    if (!bytes)
        return -1;
    rc = zv_val_module_new((const uint8_t *)bytes, size, &m, err);
    zv_val_module_free(m);
    free(bytes);
    return rc == 0;
}

static void check_command(const char *wast, const char *dir, const spec_json *cmd, totals *t)
{
    const char *type = spec_json_str(cmd, "type"), *file = spec_json_str(cmd, "filename");
    const char *mtype = spec_json_str(cmd, "module_type");
    const spec_json *line = spec_json_get(cmd, "line");
    int want_valid;
    char path[4096];
    zv_val_err err = {0};
    int got;

    if (!type || !file)
        return;
    if (!strcmp(type, "module") || !strcmp(type, "assert_unlinkable") ||
        !strcmp(type, "assert_uninstantiable"))
        want_valid = 1;
    else if (!strcmp(type, "assert_invalid") || !strcmp(type, "assert_malformed"))
        want_valid = 0;
    else
        return;
    if (mtype && strcmp(mtype, "binary")) {
        t->skipped++;
        return;
    }
    snprintf(path, sizeof path, "%s/%s", dir, file);
    got = validates(path, &err);
    if (got == want_valid) {
        t->passed++;
        return;
    }
    t->failed++;
    printf("FAIL %s:%s: %s: %s", wast, line ? line->str : "?", type,
           got < 0 ? "cannot read the converted module\n" : "");
    if (got == 1)
        printf("accepted, expected rejection (%s)\n", spec_json_str(cmd, "text"));
    else if (got == 0)
        printf("rejected at 0x%zx: %s: %s\n", err.offset, err.malformed ? "malformed" : "invalid",
               err.msg);
}

int main(int argc, char **argv)
{
    const char *dir = spec_dir("spec_validate", argc, argv);
    char tmp[64], **names;
    totals t = {0, 0, 0};
    int n = spec_list(dir, &names);

    if (n <= 0) {
        fprintf(stderr, "spec_validate: no .wast files in %s\n", dir);
        return 2;
    }
    if (spec_scratch(tmp, sizeof tmp)) {
        perror("spec_validate: scratch folder");
        return 2;
    }
    for (int i = 0; i < n; i++) {
        char wast[4096], json[4096];
        size_t size;
        char *text;
        spec_json *doc;
        snprintf(wast, sizeof wast, "%s/%s", dir, names[i]);
        snprintf(json, sizeof json, "%s/%.*s.json", tmp, (int)strlen(names[i]) - 5, names[i]);
        if (spec_convert(wast, json) || !(text = spec_slurp(json, &size))) {
            printf("FAIL %s: wast2json could not convert it\n", names[i]);
            t.failed++;
            continue;
        }
        if (!(doc = spec_json_parse(text))) {
            printf("FAIL %s: cannot parse wast2json output\n", names[i]);
            t.failed++;
        } else {
            const spec_json *cmds = spec_json_get(doc, "commands");
            for (const spec_json *c = cmds ? cmds->child : NULL; c; c = c->next)
                check_command(names[i], tmp, c, &t);
        }
        spec_json_free(doc);
        free(text);
    }
    spec_free_names(names, n);
    spec_scratch_remove(tmp);
    printf("%ld passed, %ld failed, %ld skipped\n", t.passed, t.failed, t.skipped);
    return t.failed ? 1 : 0;
}
