/*
 * json.h — a small JSON reader for wast2json's output, test-only.
 * Parses a whole document into a tree of nodes; strings keep their escapes
 * decoded. The tree owns its memory: free it with spec_json_free().
 */
#ifndef ZV_SPEC_JSON_H
#define ZV_SPEC_JSON_H

#include <stddef.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } spec_json_kind;

typedef struct spec_json {
    spec_json_kind kind;
    char *str;               /* J_STR; J_NUM keeps its text too */
    size_t len;              /* string length */
    int boolean;             /* J_BOOL */
    struct spec_json *child; /* first element or member (J_ARR, J_OBJ) */
    struct spec_json *next;  /* next sibling */
    char *key;               /* member name inside an object */
} spec_json;

/* Parse `text` (NUL-terminated). Returns NULL on a syntax error. */
spec_json *spec_json_parse(const char *text);
void spec_json_free(spec_json *j);
/* Member `key` of an object, or NULL. */
const spec_json *spec_json_get(const spec_json *obj, const char *key);
/* String member, or NULL if absent or not a string. */
const char *spec_json_str(const spec_json *obj, const char *key);

#endif
