/*
 * merge.c — word count, stage 3 of 3. Reads all of /dev/in (one per reducer,
 * each sorted bytewise, the words of different reducers disjoint) together,
 * as a streaming k-way merge, and writes /dev/stdout in `uniq -c` format:
 * "%7d WORD\n", as GNU uniq -c does. So the result equals, for the files F1..Fn given to the maps,
 *   cat F1..Fn | tr -s ' ' '\n' | grep -v '^$' | LC_ALL=C sort | uniq -c
 * (when no file but the last lacks its final newline: cat would glue its
 * last word to the next file's first). Only the k head records are held;
 * the head is picked by a linear scan, fine for k = a few reducers.
 * A word on two inputs is summed; an input out of order is an error.
 *
 * Cannot deadlock: merge waits only on a reducer whose head record it needs,
 * and that reducer's pipe is empty, so it is not waiting on merge: it is
 * still reading the maps, which always finish (see map.c), or sorting.
 */
#include "wordcount.h"

typedef struct {
    FILE *f;
    char *path;
    char *line;                /* getline's buffer; word points into it */
    size_t cap;
    unsigned long line_no;
    int live;                  /* 0 once the input has ended */
    unsigned long long count;  /* the head record */
    const char *word;
    size_t len;
} merge_input;

/* Reads the next head record of in. Returns 0, or -1 after saying why. */
static int merge_next(const char *self, merge_input *in)
{
    ssize_t n = getline(&in->line, &in->cap, in->f);
    if (n <= 0) {
        in->live = 0;
        if (!ferror(in->f))
            return 0;
        fprintf(stderr, "%s: %s: read error\n", self, in->path);
        return -1;
    }
    in->line_no++;
    if (wc_record_parse(in->line, (size_t)n, &in->count, &in->word, &in->len) < 0) {
        fprintf(stderr, "%s: %s:%lu: not a \"COUNT WORD\" record\n", self, in->path, in->line_no);
        return -1;
    }
    return 0;
}

/* Merges the k open inputs to stdout. Returns 0, or -1 after saying why. */
static int merge_run(const char *self, merge_input *in, size_t k)
{
    wc_buf last = {0}; /* the word printed last: every head must sort after it */
    int rc = 0;
    for (size_t i = 0; i < k && rc == 0; i++)
        rc = merge_next(self, &in[i]);
    while (rc == 0) {
        merge_input *min = NULL;
        for (size_t i = 0; i < k; i++)
            if (in[i].live && (!min || wc_word_cmp(in[i].word, in[i].len, min->word, min->len) < 0))
                min = &in[i];
        if (!min)
            break;
        if (last.data && wc_word_cmp(min->word, min->len, last.data, last.len) <= 0) {
            fprintf(stderr, "%s: %s:%lu: input not sorted\n", self, min->path, min->line_no);
            rc = -1;
            break;
        }
        last.len = 0;
        wc_buf_put(&last, min->word, min->len);
        unsigned long long count = 0;
        for (size_t i = 0; i < k; i++)
            if (in[i].live && wc_word_cmp(in[i].word, in[i].len, last.data, last.len) == 0)
                count += in[i].count;
        printf("%7llu ", count);
        fwrite(last.data, 1, last.len, stdout);
        putchar('\n');
        for (size_t i = 0; i < k && rc == 0; i++)
            if (in[i].live && wc_word_cmp(in[i].word, in[i].len, last.data, last.len) == 0)
                rc = merge_next(self, &in[i]);
    }
    wc_buf_free(&last);
    return rc;
}

int main(int argc, char **argv)
{
    const char *self = argc > 0 ? argv[0] : "merge";
    char **names = NULL;
    size_t k = 0;
    merge_input *in = NULL;
    int status = 1, rc;

    if ((rc = wc_names("/dev/in", &names, &k)) < 0) {
        fprintf(stderr, "%s: /dev/in: %s\n", self, strerror(-rc));
        goto out;
    }
    in = wc_realloc(NULL, k * sizeof *in);
    memset(in, 0, k * sizeof *in);
    for (size_t i = 0; i < k; i++) {
        in[i].path = wc_path("/dev/in", names[i]);
        in[i].live = 1;
        if (!(in[i].f = fopen(in[i].path, "r"))) {
            fprintf(stderr, "%s: %s: %s\n", self, in[i].path, strerror(errno));
            goto out;
        }
    }
    if (merge_run(self, in, k) < 0)
        goto out;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: /dev/stdout: %s\n", self, strerror(errno));
        goto out;
    }
    status = 0;
out:
    for (size_t i = 0; in && i < k; i++) {
        if (in[i].f)
            fclose(in[i].f);
        free(in[i].path);
        free(in[i].line);
    }
    free(in);
    wc_names_free(names, k);
    return status;
}
