/*
 * test_image.c — a big initial memory image (ZV_IMAGE_MAP_MIN or more) is
 * laid out on whole pages in the cache entry and mapped from it by a new
 * memory: the instance sees the image and zeros around it, its writes are
 * its own, and the first reset or drop leaves the memory with pages of its
 * own (no mapping of the file), whatever way it clears them, grown or not.
 */
#include "wat.h"

#include "engine/internal.h"

#define AT 5000u           /* the segment's offset: not on a page boundary */
#define LEN (300u * 1024u) /* bytes in it: over ZV_IMAGE_MAP_MIN */

static uint8_t pattern(uint32_t i) { return (uint8_t)(i * 7u % 251u + 1u); }

static zv_eng_module *load_big(void)
{
    size_t cap = LEN * 3 + 1024, n = 0;
    char *wat = malloc(cap);
    zv_eng_module *m;
    cr_assert_not_null(wat);
    n += (size_t)snprintf(wat, cap,
                          "(module (memory (export \"memory\") 8)\n"
                          "  (func (export \"get\") (param i32) (result i32)"
                          " (i32.load8_u (local.get 0)))\n"
                          "  (func (export \"put\") (param i32 i32)"
                          " (i32.store8 (local.get 0) (local.get 1)))\n"
                          "  (func (export \"grow\") (param i32) (result i32)"
                          " (memory.grow (local.get 0)))\n"
                          "  (data (i32.const %u) \"",
                          AT);
    for (uint32_t i = 0; i < LEN; i++)
        n += (size_t)snprintf(wat + n, cap - n, "\\%02x", pattern(i));
    snprintf(wat + n, cap - n, "\"))\n");
    m = wat_load(wat);
    free(wat);
    return m;
}

/* Is the page at `p` mapped from a file (a path in /proc/self/maps)? */
static int file_backed(const void *p)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = -1;
    cr_assert_not_null(f);
    while (found < 0 && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int name = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &name) == 2 &&
            (uintptr_t)p >= lo && (uintptr_t)p < hi)
            found = name > 0 && line[name] == '/';
    }
    fclose(f);
    cr_assert_geq(found, 0, "%p is not mapped", p);
    return found;
}

static const uint8_t *base_of(zv_eng_instance *inst)
{
    const uint8_t *b;
    uint64_t size;
    cr_assert_eq(zv_eng_instance_memory(inst, &b, &size), 0);
    return b;
}

/* The initial state: the image, zeros around it (in its first and last
 * pages too). */
static void initial(zv_eng_instance *inst, const char *when)
{
    static const uint32_t at[] = {0, 1, 4095, 4096, LEN / 2, LEN - 1};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++)
        cr_assert_eq(wat_call(inst, "get", AT + at[i], 0), pattern(at[i]), "%s: image byte %u", when,
                     at[i]);
    cr_assert_eq(wat_call(inst, "get", 4096, 0), 0, "%s: before the image, its first page", when);
    cr_assert_eq(wat_call(inst, "get", AT - 1, 0), 0, "%s", when);
    cr_assert_eq(wat_call(inst, "get", AT + LEN, 0), 0, "%s: after it, its last page", when);
    cr_assert_eq(wat_call(inst, "get", 8 * 65536 - 1, 0), 0, "%s", when);
}

Test(image, mapped_by_a_new_memory_and_own_pages_after_a_reset)
{
    zv_eng_module *m = load_big();
    zv_eng_instance *a = NULL, *b = NULL;
    zv_eng_err err = {0};
    cr_assert_geq(m->image_fd, 0, "an image this big is on whole pages in the entry");
    cr_assert_eq(m->image_at, 4096);
    cr_assert_eq(m->image_len, (AT % 4096 + LEN + 4095) / 4096 * 4096);
    cr_assert_eq(zv_eng_instance_new(m, NULL, NULL, NULL, NULL, &a, &err), 0, "%s", err.msg);
    cr_assert(file_backed(base_of(a) + AT), "a new memory maps it");
    initial(a, "new");
    /* writes are the instance's own, in the image and in its first page */
    wat_call(a, "put", AT, 0x55);
    wat_call(a, "put", 4200, 7);
    cr_assert_eq(wat_call(a, "get", AT, 0), 0x55);
    cr_assert_eq(zv_eng_instance_new(m, NULL, NULL, NULL, NULL, &b, &err), 0, "%s", err.msg);
    initial(b, "a second instance");
    /* a reset with memset: the image again, in pages of its own */
    cr_assert_eq(zv_eng_instance_reset(a, ZV_ENG_RESET_MEMSET, &err), 0, "%s", err.msg);
    cr_assert(!file_backed(base_of(a) + AT), "after a reset, no page of the file");
    initial(a, "reset with memset");
    /* grown and written, reset with madvise (the memory moves to another
     * window), twice: the image again each time, never the file */
    for (int round = 0; round < 2; round++) {
        cr_assert_eq(wat_call(b, "grow", 1, 0), 8);
        wat_call(b, "put", AT + 10, 0);
        wat_call(b, "put", 8 * 65536 + 5, 9);
        cr_assert_eq(zv_eng_instance_reset(b, ZV_ENG_RESET_MADVISE, &err), 0, "%s", err.msg);
        cr_assert(!file_backed(base_of(b) + AT), "round %d", round);
        initial(b, "reset with madvise");
    }
    zv_eng_instance_free(a);
    zv_eng_instance_free(b);
    zv_eng_module_free(m);
}

/* The memory's own: the image's bytes kept as they were when it leaves
 * the file (zv_eng_memory_unfile), and dropped pages zeros. */
Test(image, unfile_keeps_the_bytes_and_drop_gives_zeros)
{
    zv_eng_module *m = load_big();
    zv_eng_instance *a = NULL;
    zv_eng_err err = {0};
    cr_assert_eq(zv_eng_instance_new(m, NULL, NULL, NULL, NULL, &a, &err), 0, "%s", err.msg);
    wat_call(a, "put", AT + 3, 0xAB);
    cr_assert_eq(zv_eng_memory_unfile(a->own_memory), 0);
    cr_assert(!file_backed(base_of(a) + AT));
    cr_assert_eq(wat_call(a, "get", AT + 3, 0), 0xAB, "its write stays");
    cr_assert_eq(wat_call(a, "get", AT + 4, 0), pattern(4), "and the image");
    cr_assert_eq(zv_eng_memory_unfile(a->own_memory), 0, "twice is once");
    cr_assert_eq(zv_eng_memory_drop(a->own_memory), 0);
    cr_assert_eq(wat_call(a, "get", AT + 4, 0), 0, "a dropped page is zeros, not the file's");
    zv_eng_instance_free(a);
    /* a drop straight after the mapping (an idle worker's first) */
    cr_assert_eq(zv_eng_instance_new(m, NULL, NULL, NULL, NULL, &a, &err), 0, "%s", err.msg);
    cr_assert(file_backed(base_of(a) + AT));
    cr_assert_eq(zv_eng_memory_drop(a->own_memory), 0);
    cr_assert(!file_backed(base_of(a) + AT));
    cr_assert_eq(wat_call(a, "get", AT + 4, 0), 0, "zeros, not the file's");
    zv_eng_instance_free(a);
    zv_eng_module_free(m);
}
