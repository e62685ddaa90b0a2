/*
 * json.h — private to config/: a small JSON reader for job descriptions
 * (RFC 8259: objects, arrays, strings with every escape, numbers, true,
 * false, null). The whole text becomes one tree; a syntax error names
 * its line and column. Depth is capped, so hostile nesting cannot run the
 * stack out.
 */
#ifndef ZV_CFG_JSON_H
#define ZV_CFG_JSON_H

#include <stddef.h>
#include <stdint.h>

enum { ZV_JSON_NULL, ZV_JSON_BOOL, ZV_JSON_NUM, ZV_JSON_STR, ZV_JSON_ARR, ZV_JSON_OBJ };

typedef struct zv_json {
    int type;
    int line;               /* where it starts, for messages */
    double num;             /* ZV_JSON_NUM, ZV_JSON_BOOL (0 or 1) */
    int integer;            /* ZV_JSON_NUM: written without fraction or exponent */
    char *str;              /* ZV_JSON_STR (NUL-terminated; an inner NUL is refused) */
    struct zv_json *items;  /* ZV_JSON_ARR: elements; ZV_JSON_OBJ: values */
    char **keys;            /* ZV_JSON_OBJ: keys, in order */
    uint32_t n;
} zv_json;

/* Parse text into *out (free with zv_json_free). Returns 0, -EINVAL with
 * why = "line L, column C: cause", or -ENOMEM. */
int zv_json_parse(const char *text, size_t len, zv_json *out, char *why, size_t wn);
void zv_json_free(zv_json *v);
/* The member `key` of an object, or NULL. */
const zv_json *zv_json_get(const zv_json *obj, const char *key);
const char *zv_json_type_name(int type);

#endif
