/*
 * wordcount.h — what the three word-count stages share, so each fact is
 * written once: the record format on the pipes, the word hash (it also picks
 * the reducer), a word -> count table, and the sorted peer listing.
 *
 * Record: "COUNT WORD\n" — decimal count, one space, the word up to the
 * newline. A word is any run of bytes other than ' ' and '\n' (what
 * `tr -s ' ' '\n'` makes a line), so it can never contain the separators.
 * No length limit: words and lines live in buffers that grow with realloc.
 *
 * Header-only (static inline) because each guest is one translation unit.
 * Out of memory ends the guest: these are programs, not a library, and a
 * half-counted result is worse than none.
 */
#ifndef WORDCOUNT_H
#define WORDCOUNT_H

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* realloc or die: the one allocator of the three guests. */
static inline void *wc_realloc(void *p, size_t size_bytes)
{
    void *q = realloc(p, size_bytes ? size_bytes : 1);
    if (!q) {
        fprintf(stderr, "wordcount: out of memory (%zu bytes)\n", size_bytes);
        exit(1);
    }
    return q;
}

/* A growable byte buffer; zero-initialised is empty. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} wc_buf;

static inline void wc_buf_put(wc_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return; /* b->data may still be NULL, and memcpy(NULL, p, 0) is undefined */
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n)
            cap *= 2;
        b->data = wc_realloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void wc_buf_free(wc_buf *b)
{
    free(b->data);
    *b = (wc_buf){0};
}

/* FNV-1a, 32 bits: the table's hash and the map's reducer choice. */
static inline uint32_t wc_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Bytewise order, shorter first on a common prefix: `LC_ALL=C sort`. */
static inline int wc_word_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

/* Appends the record "COUNT WORD\n" to b. */
static inline void wc_record_put(wc_buf *b, unsigned long long count, const char *word, size_t len)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%llu ", count);
    wc_buf_put(b, num, (size_t)n);
    wc_buf_put(b, word, len);
    wc_buf_put(b, "\n", 1);
}

/*
 * Parses one record line of n bytes (as getline returns it, newline
 * included). On success points *word into line (borrowed) and returns 0;
 * a malformed line returns -EINVAL.
 */
static inline int wc_record_parse(const char *line, size_t n, unsigned long long *count,
                                  const char **word, size_t *len)
{
    size_t i = 0;
    unsigned long long c = 0;
    if (n == 0 || line[n - 1] != '\n')
        return -EINVAL;
    while (i < n && line[i] >= '0' && line[i] <= '9') {
        unsigned d = (unsigned)(line[i] - '0');
        if (c > (~0ull - d) / 10)
            return -EINVAL;
        c = c * 10 + d;
        i++;
    }
    if (i == 0 || i + 2 > n - 1 || line[i] != ' ')
        return -EINVAL; /* no digits, no space, or an empty word */
    *count = c;
    *word = line + i + 1;
    *len = n - 1 - (i + 1);
    return 0;
}

/*
 * Word -> count table: open addressing, linear probing, at most half full.
 * The slot comes from the top bits of hash * 2^32/phi (Fibonacci hashing),
 * not from hash % cap: the map sends a reducer only the words with one
 * value of hash % R, so for R a power of two the reducer's low hash bits
 * are all equal and would pile every word into 1/R of the slots.
 */
typedef struct {
    char *word;               /* owned copy, not NUL-terminated */
    size_t len;
    uint32_t hash;            /* wc_hash(word, len) */
    unsigned long long count;
} wc_entry;

typedef struct {
    wc_entry *slots;          /* cap slots; word == NULL is free */
    size_t cap;               /* a power of two, or 0 before the first add */
    unsigned shift;           /* 32 - log2(cap) */
    size_t n_words;
} wc_table;

static inline size_t wc_slot(const wc_table *t, uint32_t hash)
{
    return (size_t)((uint32_t)(hash * 2654435769u) >> t->shift) & (t->cap - 1);
}

static inline void wc_table_grow(wc_table *t)
{
    wc_table old = *t;
    t->cap = old.cap ? old.cap * 2 : 1024;
    t->shift = 32;
    for (size_t c = t->cap; c > 1; c >>= 1)
        t->shift--;
    t->slots = wc_realloc(NULL, t->cap * sizeof *t->slots);
    memset(t->slots, 0, t->cap * sizeof *t->slots);
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].word)
            continue;
        size_t j = wc_slot(t, old.slots[i].hash);
        while (t->slots[j].word)
            j = (j + 1) & (t->cap - 1);
        t->slots[j] = old.slots[i];
    }
    free(old.slots);
}

/* Adds count to word (borrowed; the table copies it on first sight). */
static inline void wc_table_add(wc_table *t, const char *word, size_t len, unsigned long long count)
{
    if (2 * (t->n_words + 1) > t->cap)
        wc_table_grow(t);
    uint32_t h = wc_hash(word, len);
    size_t j = wc_slot(t, h);
    for (;; j = (j + 1) & (t->cap - 1)) {
        wc_entry *e = &t->slots[j];
        if (!e->word) {
            e->word = wc_realloc(NULL, len);
            memcpy(e->word, word, len);
            e->len = len;
            e->hash = h;
            e->count = count;
            t->n_words++;
            return;
        }
        if (e->hash == h && e->len == len && memcmp(e->word, word, len) == 0) {
            e->count += count;
            return;
        }
    }
}

static inline void wc_table_free(wc_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].word);
    free(t->slots);
    *t = (wc_table){0};
}

static inline int wc_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Lists dir (e.g. "/dev/out") into a new array of *n names, sorted by name
 * (strcmp) whatever order readdir gives, so every instance agrees on who is
 * i-th. The caller frees with wc_names_free. Returns 0 or -errno.
 */
static inline int wc_names(const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char **v = NULL;
    size_t len = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        v = wc_realloc(v, (len + 1) * sizeof *v);
        size_t sz = strlen(de->d_name) + 1;
        v[len] = wc_realloc(NULL, sz);
        memcpy(v[len++], de->d_name, sz);
    }
    closedir(d);
    if (len)
        qsort(v, len, sizeof *v, wc_name_cmp);
    *names = v;
    *n = len;
    return 0;
}

/* Returns "DIR/NAME" in a new string the caller frees. */
static inline char *wc_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = wc_realloc(NULL, n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static inline void wc_names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

#endif
