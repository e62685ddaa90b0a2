/*
 * memory.c — linear memories, one slot each: a 4 GiB reservation for the
 * addressable range plus a 4 GiB guard, all PROT_NONE until memory.grow
 * makes pages accessible. A wasm address is a 32-bit index plus a 32-bit
 * offset, so base + index + offset always lands inside the slot: accesses
 * past the current size fault on PROT_NONE pages and become traps, and the
 * generated code carries no bounds checks. The base never moves while an
 * instance runs, so the generated code may keep it in a local.
 *
 * Windows. Taking grown pages back from a slot (madvise, then mprotect)
 * flushes the TLB of every core running the process: with two workers,
 * an interrupt to the other core per record, which cost a guest that grows
 * in every record its second core (issue 24). So a memory reset for a
 * fresh instance (zv_eng_memory_reset with MEMSET) or to a snapshot
 * (copied or by dirty pages) does not take them back at once: the memory
 * moves to another slot of its own, a window, and leaves the grown one
 * pending. A reset with MADVISE, whose dropping of the kept pages flushes
 * the same way, moves at every reset, grown or not: the window left has
 * its kept pages dropped in the batch too, so it comes back as zero pages.
 * When the next window is pending too, or the pending ones hold more than
 * PENDING_BUDGET of grown bytes, all are taken back in one batch: one
 * process_madvise over every grown range (about 3 flushes per batch of 16
 * on Linux 6.18; one madvise per range where the kernel refuses it for
 * MADV_DONTNEED, before 6.13), then mprotect of pages no longer present,
 * which flushes nothing. A window is only ever reachable from its own
 * base, so a pending one's pages are out of every guest's reach.
 * zv_eng_memory_recycle moves too, for a snapshot restore: there the
 * kept bytes are the snapshot's, so each window is left tagged with what
 * it holds, and a restore into a window that holds its snapshot copies
 * nothing more (snapshot.c). The paused frames of a build for a fork
 * point read the base again after every call (translate.c).
 *
 * A small lock-free registry of memories lets the fault handler tell a
 * guest's out-of-bounds access from a real crash.
 */
#include "engine/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE_BYTES 65536ull
#define MAX_SLOTS 8192
#define MAX_WINDOWS 16
#define WINDOW_BUDGET (16ull << 20)  /* kept bytes resident across one memory's windows */
#define PENDING_BUDGET (64ull << 20) /* grown bytes left pending before a batch is due */

/* A memory and its windows; zv_memory first, so each points at the other. */
typedef struct {
    zv_memory m;
    uint8_t *win[MAX_WINDOWS];  /* win[0] is the slot the memory was made with */
    _Atomic uint32_t n_win;     /* windows reserved (the fault handler reads it) */
    uint32_t cur;               /* m.base == win[cur] */
    uint64_t open[MAX_WINDOWS]; /* bytes of each window that are PROT_READ|WRITE */
    uint64_t kept[MAX_WINDOWS]; /* a pending window's kept bytes: [kept, open) to seal */
    uint64_t tag[MAX_WINDOWS];  /* what a window's kept bytes were left holding (0: unknown) */
    uint32_t pending;           /* bit w: window w waits to be taken back */
    uint32_t drop_kept;         /* bit w: its kept pages go too (left by a madvise reset) */
    uint32_t zeroed;            /* bit w: window w's kept bytes are zero pages (dropped, or new) */
    int pinned;                 /* a file is mapped at the base (snapshot.c): it stays */
    uint64_t file_at, file_len; /* a new memory's bytes mapped from a file (map_file) */
    uint64_t pending_bytes;     /* the bytes they will drop */
} slots_t;

static _Atomic(zv_memory *) slots[MAX_SLOTS]; /* live memories; NULL = free entry */

static int unfile(slots_t *s, int keep);

static int slot_register(zv_memory *mem)
{
    for (int i = 0; i < MAX_SLOTS; i++) {
        zv_memory *expect = NULL;
        if (atomic_compare_exchange_strong(&slots[i], &expect, mem))
            return 0;
    }
    return -ENOMEM;
}

static void slot_unregister(zv_memory *mem)
{
    for (int i = 0; i < MAX_SLOTS; i++) {
        zv_memory *expect = mem;
        if (atomic_compare_exchange_strong(&slots[i], &expect, NULL))
            return;
    }
}

const zv_memory *zv_eng_memory_owner(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    for (int i = 0; i < MAX_SLOTS; i++) {
        zv_memory *m = atomic_load_explicit(&slots[i], memory_order_acquire);
        const slots_t *s = (const slots_t *)m;
        uint32_t n = m ? atomic_load_explicit(&s->n_win, memory_order_acquire) : 0;
        for (uint32_t w = 0; w < n; w++)
            if (a >= (uintptr_t)s->win[w] && a - (uintptr_t)s->win[w] < ZV_ENG_SLOT_BYTES)
                return m;
    }
    return NULL;
}

static int self_pidfd(void);

int zv_eng_memory_new(uint32_t min_pages, uint32_t max_pages, int has_max, zv_memory **out)
{
    slots_t *s = calloc(1, sizeof *s);
    zv_memory *mem = &s->m;
    void *base;
    if (!s)
        return -ENOMEM;
    self_pidfd(); /* now: a worker's syscall filter admits no pidfd_open (prefork/seccomp.c) */
    base = mmap(NULL, ZV_ENG_SLOT_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(s);
        return -ENOMEM;
    }
    mem->base = s->win[0] = base;
    atomic_init(&s->n_win, 1);
    mem->pages = min_pages;
    mem->size_bytes = min_pages * PAGE_BYTES;
    mem->max_pages = has_max ? max_pages : 65536;
    mem->has_max = has_max != 0;
    if ((min_pages && mprotect(base, min_pages * PAGE_BYTES, PROT_READ | PROT_WRITE) < 0) ||
        slot_register(mem) < 0) {
        munmap(base, ZV_ENG_SLOT_BYTES);
        free(s);
        return -ENOMEM;
    }
    *out = mem;
    return 0;
}

void zv_eng_prefault(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    /* A fault costs about 1.1 us a page here, the call 1.4 us for one page
     * and 0.4-0.5 us a page from 16 on (perf/README.md "Start-up's page
     * faults"): it pays from 4 pages. (AArch64 kernels may have 16 or
     * 64 KiB pages.) */
    static uintptr_t page; /* a race only reads the same value twice */
    uintptr_t lo, hi;
    if (!page) {
        long v = sysconf(_SC_PAGESIZE);
        page = v > 0 ? (uintptr_t)v : 4096;
    }
    lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi >= lo + 4 * page)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
    (void)p, (void)n;
#endif
}

void zv_eng_memory_free(zv_memory *mem)
{
    slots_t *s = (slots_t *)mem;
    if (!mem)
        return;
    slot_unregister(mem);
    for (uint32_t w = 0; w < atomic_load(&s->n_win); w++)
        munmap(s->win[w], ZV_ENG_SLOT_BYTES);
    free(s);
}

/* memory.grow (§4.4.7): the old size in pages, or -1 past the maximum. */
uint32_t zv_eng_memory_grow(zv_memory *mem, uint32_t delta_pages)
{
    uint64_t old = mem->pages, want = old + delta_pages;
    if (want > mem->max_pages || want > 65536)
        return UINT32_MAX;
    if (delta_pages && mprotect(mem->base + old * PAGE_BYTES, delta_pages * PAGE_BYTES,
                                PROT_READ | PROT_WRITE) < 0)
        return UINT32_MAX;
    mem->pages = (uint32_t)want;
    mem->size_bytes = want * PAGE_BYTES;
    return (uint32_t)old;
}

/* [lo, hi) of a slot dropped and sealed again. */
static int seal(uint8_t *base, uint64_t lo, uint64_t hi)
{
    if (hi > lo && (madvise(base + lo, hi - lo, MADV_DONTNEED) < 0 ||
                    mprotect(base + lo, hi - lo, PROT_NONE) < 0))
        return -errno;
    return 0;
}

/* The pages sealed by zvm.jail writable again. */
static int unjail(zv_memory *mem)
{
    if (mem->jailed && mprotect(mem->base, mem->size_bytes, PROT_READ | PROT_WRITE) < 0)
        return -errno;
    mem->jailed = 0;
    return 0;
}

/* Back to `pages` pages: pages grown past them are dropped and sealed
 * again, and pages sealed by zvm.jail are writable again. */
int zv_eng_memory_shrink(zv_memory *mem, uint32_t pages)
{
    uint64_t keep = pages * PAGE_BYTES;
    int rc;
    if ((rc = zv_eng_memory_unfile(mem)) || (rc = unjail(mem)) ||
        (mem->pages > pages && (rc = seal(mem->base, keep, mem->size_bytes))))
        return rc;
    mem->pages = pages;
    mem->size_bytes = keep;
    return 0;
}

/* ---- windows (see the opening comment) ------------------------------------------- */

/* process_madvise names the process by a pidfd: this one's, opened once
 * (SELF_NONE: the kernel has neither call, or refuses MADV_DONTNEED for
 * it, before Linux 6.13), and dropped in a forked child, where it would
 * name the parent. */
#define SELF_UNOPENED (-1)
#define SELF_NONE (-2)
static _Atomic int self_fd = SELF_UNOPENED;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void self_forked(void)
{
    int fd = atomic_exchange(&self_fd, SELF_UNOPENED);
    if (fd >= 0)
        close(fd);
}

static void self_watch_forks(void) { pthread_atfork(NULL, NULL, self_forked); }

static int self_pidfd(void)
{
    int fd, expect = SELF_UNOPENED;
    pthread_once(&self_once, self_watch_forks);
    if ((fd = atomic_load(&self_fd)) != SELF_UNOPENED)
        return fd;
    fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0)
        fd = SELF_NONE;
    if (!atomic_compare_exchange_strong(&self_fd, &expect, fd)) {
        if (fd >= 0)
            close(fd);
        fd = expect;
    }
    return fd;
}

/* One madvise over the ranges: one process_madvise where the kernel
 * takes a vector for this process (about 3 flushes for 16 ranges on
 * Linux 6.18, where one madvise each costs a flush each). */
static int advise_all(struct iovec *v, uint32_t n, int advice)
{
    size_t total = 0;
    int fd = self_pidfd();
    for (uint32_t i = 0; i < n; i++)
        total += v[i].iov_len;
    if (fd >= 0 && syscall(SYS_process_madvise, fd, v, (size_t)n, advice, 0u) == (long)total)
        return 0;
    if (fd >= 0 && (errno == EINVAL || errno == ENOSYS || errno == EPERM))
        atomic_store(&self_fd, SELF_NONE); /* (the fd stays open: another thread may use it) */
    for (uint32_t i = 0; i < n; i++)
        if (madvise(v[i].iov_base, v[i].iov_len, advice) < 0)
            return -errno;
    return 0;
}

/* Every pending window's pages dropped from its drop mark (its grown
 * ones, and its kept ones too when it was left by a madvise reset), in one
 * call where the kernel allows, and its grown ones sealed: with nothing
 * present any more, mprotect flushes nothing. */
static int take_back(slots_t *s)
{
    struct iovec v[MAX_WINDOWS];
    uint32_t w, n = 0;
    int rc;
    for (w = 0; w < atomic_load(&s->n_win); w++)
        if (s->pending >> w & 1) {
            uint64_t from = s->drop_kept >> w & 1 ? 0 : s->kept[w];
            v[n++] = (struct iovec){s->win[w] + from, s->open[w] - from};
        }
    if ((rc = advise_all(v, n, MADV_DONTNEED)))
        return rc;
    for (w = 0; w < atomic_load(&s->n_win); w++)
        if (s->pending >> w & 1) {
            if (s->open[w] > s->kept[w] &&
                mprotect(s->win[w] + s->kept[w], s->open[w] - s->kept[w], PROT_NONE) < 0)
                return -errno;
            s->open[w] = s->kept[w];
        }
    s->zeroed |= s->drop_kept;
    s->pending = s->drop_kept = 0;
    s->pending_bytes = 0;
    return 0;
}

/* More slots for a memory, as many as WINDOW_BUDGET of kept bytes allows
 * (at least one more); 0, or -ENOMEM when none could be reserved. */
static int add_windows(slots_t *s, uint64_t keep)
{
    uint64_t want = WINDOW_BUDGET / (keep > PAGE_BYTES ? keep : PAGE_BYTES);
    uint32_t n = atomic_load(&s->n_win);
    want = want < 2 ? 2 : want > MAX_WINDOWS ? MAX_WINDOWS : want;
    while (n < want) {
        void *b = mmap(NULL, ZV_ENG_SLOT_BYTES, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (b == MAP_FAILED)
            break;
        s->win[n] = b;
        s->open[n] = 0;
        s->zeroed |= 1u << n;
        atomic_store_explicit(&s->n_win, ++n, memory_order_release);
    }
    return n > 1 ? 0 : -ENOMEM;
}

/* The memory leaves its window pending, holding *tag, its grown pages
 * to be dropped and sealed (and its kept ones dropped too with
 * `drop_kept`), and goes on in the next one with `keep` bytes accessible,
 * whose tag it puts in *tag. 0 (*zero: the kept bytes there are zero
 * pages); 1 when no other window could be reserved (nothing changed); or
 * -errno. */
static int move_on(slots_t *s, uint64_t keep, uint64_t *tag, int drop_kept, int *zero)
{
    zv_memory *m = &s->m;
    uint32_t next;
    uint8_t *b;
    int rc;
    if (s->pinned || (atomic_load(&s->n_win) == 1 && add_windows(s, keep)))
        return 1;
    if ((rc = unjail(m)))
        return rc;
    s->kept[s->cur] = keep;
    s->open[s->cur] = m->size_bytes;
    s->tag[s->cur] = *tag;
    s->pending |= 1u << s->cur;
    s->drop_kept |= (uint32_t)(drop_kept != 0) << s->cur;
    s->pending_bytes += m->size_bytes - (drop_kept ? 0 : keep);
    next = (s->cur + 1) % atomic_load(&s->n_win);
    if (((s->pending >> next & 1) || s->pending_bytes > PENDING_BUDGET) && (rc = take_back(s)))
        return rc;
    b = s->win[next];
    if (s->open[next] != keep) /* new, or left at another size: not what it held */
        s->tag[next] = 0;
    *zero = s->open[next] <= keep && (s->zeroed >> next & 1);
    s->zeroed &= ~(1u << next);
    if (s->open[next] > keep && (rc = seal(b, keep, s->open[next])))
        return rc;
    if (s->open[next] < keep &&
        mprotect(b + s->open[next], keep - s->open[next], PROT_READ | PROT_WRITE) < 0)
        return -errno;
    s->open[next] = keep;
    s->cur = next;
    *tag = s->tag[next];
    m->base = b;
    m->pages = (uint32_t)(keep / PAGE_BYTES);
    m->size_bytes = keep;
    return 0;
}

int zv_eng_memory_recycle(zv_memory *mem, uint32_t pages, uint64_t *tag)
{
    int rc, zero;
    if ((rc = zv_eng_memory_unfile(mem)))
        return rc;
    if (mem->pages > pages && (rc = move_on((slots_t *)mem, pages * PAGE_BYTES, tag, 0, &zero)) != 1)
        return rc < 0 ? rc : 1;
    return zv_eng_memory_shrink(mem, pages);
}

/* Back to `pages` zeroed pages for the next instance; the kept ones are
 * cleared by `how` (see internal.h). The memory moves to another window
 * (the caller reads the base again): with memset when it grew, with
 * madvise always, as dropping the kept pages flushes like dropping grown
 * ones, and a window taken back has its kept pages dropped already. */
int zv_eng_memory_reset(zv_memory *mem, uint32_t pages, int how)
{
    uint64_t keep = pages * PAGE_BYTES, unknown = 0;
    int rc, zero = 0;
    if ((rc = unfile((slots_t *)mem, 0)))
        return rc;
    if (how != ZV_ENG_RESET_MADVISE)
        rc = zv_eng_memory_recycle(mem, pages, &unknown);
    else if ((rc = move_on((slots_t *)mem, keep, &unknown, 1, &zero)) == 1)
        rc = zv_eng_memory_shrink(mem, pages);
    if (rc < 0)
        return rc;
    if (how != ZV_ENG_RESET_MADVISE)
        memset(mem->base, 0, keep);
    else if (!zero && keep && madvise(mem->base, keep, MADV_DONTNEED) < 0)
        return -errno;
    return 0;
}

void zv_eng_memory_pin(zv_memory *mem) { ((slots_t *)mem)->pinned = 1; }

/* After a mapping over [at, at + len) failed: if it took the range's
 * pages away first (MAP_FIXED and MREMAP_FIXED may unmap before they
 * fail, on kernels before 6.12), zero pages there again, so that no hole
 * is left in the reservation for another mapping to take. If even that
 * fails, nothing about the slot can be trusted: abort. (madvise fails
 * with ENOMEM where a page of the range is not mapped.) */
static void no_hole(uint8_t *at, uint64_t len)
{
    if (madvise(at, len, MADV_NORMAL) < 0 &&
        mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
            MAP_FAILED)
        abort();
}

int zv_eng_memory_map_file(zv_memory *mem, uint64_t at, uint64_t len, int fd, uint64_t off)
{
    slots_t *s = (slots_t *)mem;
    int rc;
    if (s->file_len || atomic_load(&s->n_win) != 1 || mem->jailed || !len ||
        len > mem->size_bytes || at > mem->size_bytes - len || (at | len | off) % 4096)
        return -EINVAL;
    if (mmap(mem->base + at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, (off_t)off) ==
        MAP_FAILED) {
        rc = -errno;
        no_hole(mem->base + at, len);
        return rc;
    }
    s->file_at = at;
    s->file_len = len;
    return 0;
}

/* The file's bytes replaced by anonymous pages of the memory's own, in
 * place: with the same bytes (keep: a copy, then one mremap over the
 * range), or zero pages (a reset or drop clears them anyway). The memory
 * has not moved since it was mapped (map_file is for a new memory, and
 * every move comes here first). On failure its bytes there are zeros or
 * the file's: the instance is lost, never the slot. */
static int unfile(slots_t *s, int keep)
{
    uint8_t *at = s->m.base + s->file_at;
    uint64_t len = s->file_len;
    void *own;
    int rc = 0;
    if (!len)
        return 0;
    own = mmap(keep ? NULL : at, len, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | (keep ? 0 : MAP_FIXED), -1, 0);
    if (own == MAP_FAILED) {
        rc = -errno;
    } else if (keep) {
        zv_eng_prefault(own, len);
        memcpy(own, at, len);
        if (mremap(own, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED) {
            rc = -errno;
            munmap(own, len);
        }
    }
    if (rc) {
        no_hole(at, len);
        return rc;
    }
    s->file_len = 0;
    return 0;
}

int zv_eng_memory_unfile(zv_memory *mem) { return unfile((slots_t *)mem, 1); }

int zv_eng_memory_drop(zv_memory *mem)
{
    slots_t *s = (slots_t *)mem;
    int rc;
    if ((rc = unfile(s, 0)) || (s->pending && (rc = take_back(s))))
        return rc;
    if (mem->size_bytes && madvise(mem->base, mem->size_bytes, MADV_DONTNEED) < 0)
        return -errno;
    return 0;
}
