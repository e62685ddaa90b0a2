/*
 * reduce.c — word count, stage 2 of 3. Reads every entry of /dev/in (one per map
 * instance) to the end, in name order, summing the "COUNT WORD\n" records
 * per word; then sorts its words bytewise (`LC_ALL=C sort`) and writes them
 * as records to the single entry of /dev/out (the merge node).
 *
 * Cannot deadlock. While reading, a reducer waits only on the map it reads,
 * and all reducers read the maps in the same name order, so the maps finish
 * one after another (the induction in map.c). Writing starts only once every
 * input has ended; then the reducer waits only on merge, which reads all
 * reducers at once and never waits on one whose pipe holds a record.
 */
#include <assert.h>

#include "wordcount.h"

static int wc_entry_cmp(const void *a, const void *b)
{
    const wc_entry *x = *(const wc_entry *const *)a, *y = *(const wc_entry *const *)b;
    return wc_word_cmp(x->word, x->len, y->word, y->len);
}

/* Adds every record of the file at path to t. Returns 0, or -1 after saying why. */
static int reduce_read(const char *self, const char *path, wc_table *t)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", self, path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long line_no = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        unsigned long long count;
        const char *word;
        size_t len;
        line_no++;
        if (wc_record_parse(line, (size_t)n, &count, &word, &len) < 0) {
            fprintf(stderr, "%s: %s:%lu: not a \"COUNT WORD\" record\n", self, path, line_no);
            rc = -1;
            break;
        }
        wc_table_add(t, word, len, count);
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "%s: %s: read error\n", self, path);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Writes the n sorted records to path, 64 KiB at a time. Returns 0, or -1 after saying why. */
static int reduce_write(const char *self, const char *path, wc_entry *const *sorted, size_t n)
{
    FILE *f = fopen(path, "w");
    wc_buf b = {0};
    int ok = f != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        wc_record_put(&b, sorted[i]->count, sorted[i]->word, sorted[i]->len);
        if (b.len >= 65536 || i + 1 == n) {
            ok = fwrite(b.data, 1, b.len, f) == b.len;
            b.len = 0;
        }
    }
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "%s: %s: %s\n", self, path, strerror(errno));
    wc_buf_free(&b);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *self = argc > 0 ? argv[0] : "reduce";
    char **ins = NULL, **outs = NULL;
    size_t n_ins = 0, n_outs = 0, n = 0;
    wc_table words = {0};
    wc_entry **sorted = NULL;
    char *path = NULL;
    int status = 1, rc;

    if ((rc = wc_names("/dev/in", &ins, &n_ins)) < 0) {
        fprintf(stderr, "%s: /dev/in: %s\n", self, strerror(-rc));
        goto out;
    }
    if ((rc = wc_names("/dev/out", &outs, &n_outs)) < 0 || n_outs != 1) {
        fprintf(stderr, "%s: /dev/out: %s\n", self,
                rc < 0 ? strerror(-rc) : "want exactly one output (the merge node)");
        goto out;
    }
    for (size_t i = 0; i < n_ins; i++) {
        path = wc_path("/dev/in", ins[i]);
        rc = reduce_read(self, path, &words);
        free(path);
        path = NULL;
        if (rc < 0)
            goto out;
    }

    sorted = wc_realloc(NULL, words.n_words * sizeof *sorted);
    for (size_t i = 0; i < words.cap; i++)
        if (words.slots[i].word)
            sorted[n++] = &words.slots[i];
    assert(n == words.n_words);
    qsort(sorted, n, sizeof *sorted, wc_entry_cmp);

    path = wc_path("/dev/out", outs[0]);
    if (reduce_write(self, path, sorted, n) == 0)
        status = 0;
out:
    free(path);
    free(sorted);
    wc_table_free(&words);
    wc_names_free(ins, n_ins);
    wc_names_free(outs, n_outs);
    return status;
}
