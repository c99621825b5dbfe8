/*
 * python_hooks.c - Python object allocations at object level, arenas at arena level.
 *
 * Owns: the MEM/OBJ domain wrappers, the arena allocator wrapper, and the
 * reading of a pymalloc block's size class from its pool header.
 * Must never: call back into Python, allocate, or lock outside recorder.c.
 * (These hooks do not test hm_tls.guard: heapmark never allocates a Python
 * object while it holds its lock or writes the profile.)
 *
 * Each byte is counted once:
 *   - a pymalloc arena is counted in `tracked` when mapped (arena_note);
 *     the blocks carved from it are counted in `pylive` and attributed to
 *     call sites; arena space not in live blocks is [pymalloc free space];
 *   - an object too large for pymalloc comes from malloc; the native hook sees
 *     that malloc inside our call (hm_tls.in_pyalloc) and hands it to us
 *     (hm_tls.nested), and it is counted in `tracked` once, here;
 *   - anything else malloc'ed during the call (pymalloc's own arena table and
 *     radix tree) is an ordinary native allocation.
 * A block's size: pymalloc blocks come in 16-byte classes and the class is
 * stored in the header of the 4 KiB (3.9) or 16 KiB (3.10+) pool that holds
 * the block.  The header is read after a free only while the arena is still
 * mapped; when the free releases the whole arena, the arena hook reads it
 * first (hm_tls.py_freeing).  These calls hold the GIL, which serialises
 * every change of `pylive`.
 *
 * Started inside a running interpreter (run/in_process.c), the arenas that
 * exist already were never counted, so none is: each small object counts in
 * `tracked` at its block size when it is allocated during tracking
 * (objects_counted_alone), and a free counts only a block the hooks counted
 * (known_blocks.h).  There is then no [pymalloc free space].
 *
 * Which freed blocks were recorded: the pool header starts with
 * `union { block *_padding; uint count; } ref`, of which pymalloc uses only
 * the 32-bit count.  heapmark keeps eight 4-bit counters in the other half
 * (`recorded`): recorded blocks in each eighth of the pool (a counter that
 * reaches 15 stays there; it only costs lookups).  A free reads that header
 * anyway for the block size, so the free of a block with no recorded block
 * near it - nearly every free - goes no further; the others ask the live
 * table's Bloom filter, then the table.  Counters change atomically: code
 * descriptors are marked from threads that may not hold the GIL.  Blocks
 * from malloc (large objects) lose their record when the native hook sees
 * the malloc block freed.
 *
 * Which frees are of pool blocks: under `heapmark run`, with CPython's own
 * arena allocator underneath, heapmark maps each arena itself at an
 * ARENA_SIZE-aligned address, so that one byte per ARENA_SIZE of address
 * space says whether a pointer is in an arena (own_arena_map).  The fast free
 * asks that byte before the free, reads the block's pool header while its
 * arena is surely mapped, and passes the free on as its last act; only a
 * pointer outside the map (a malloc'ed object) needs the free watched
 * (general_free, hm_tls.py_freeing).
 */
#include <Python.h>

#include "hotpath/python_hooks.h"
#include "hotpath/known_blocks.h"
#include "hotpath/recorder.h"
#include "common/ownmem.h"
#include "hotpath/threads.h"

#include <dlfcn.h>
#include <string.h>
#include <sys/mman.h>

/* All references weak (see engine.c): the library loads into any process. */
#pragma weak PyMem_SetAllocator
#pragma weak PyObject_Malloc

#if PY_VERSION_HEX >= 0x030a0000
#    define POOL_SIZE ((uintptr_t)16384)
#    define ARENA_BITS 20
#else
#    define POOL_SIZE ((uintptr_t)4096)
#    define ARENA_BITS 18
#endif
#define ARENA_SIZE ((size_t)1 << ARENA_BITS)

/* Mirrors the head of CPython's struct pool_header (Objects/obmalloc.c,
 * 3.9-3.11; Include/internal/pycore_obmalloc.h, 3.12+) on x86-64. */
struct pool_head {
    uint32_t count;    /* ref.count: pymalloc's allocated blocks */
    uint32_t recorded; /* the unused half of ref: heapmark's counters (see above) */
    void *freeblock;
    void *nextpool;
    void *prevpool;
    unsigned int arenaindex;
    unsigned int szidx;
};

typedef struct {
    PyMemAllocatorEx orig;
} domain_t;

static domain_t mem_domain, obj_domain;
static PyObjectArenaAllocator orig_arena;
static bool pool_layout_ok = true;
/* Plain pymalloc under the hooks: a small block's class is the request
 * rounded up to 16, no header read needed.  False under debug wrappers,
 * which add their own bytes to each request. */
static bool class_from_request = true;
/* In-process: small objects count in `tracked`, arenas not at all. */
static bool objects_counted_alone;
static hm_counter pooled_counter = HM_COUNT_PYLIVE;
/* Exact mode: the pool counters would only say "maybe" everywhere, so they
 * are not kept and every free of a pool block looks up (release_pooled). */
static inline bool every_block_recorded(void)
{
    return hm_sample_rate <= 1;
}

static inline void count_pooled(int64_t bytes)
{
    if (HM_UNLIKELY(objects_counted_alone))
        hm_tracked_add(bytes);
    else if (bytes >= 0)
        hm_pylive_grow((size_t)bytes);
    else
        hm_pylive_shrink((size_t)-bytes);
}

static inline struct pool_head *pool_of(const void *p)
{
    return (struct pool_head *)((uintptr_t)p & ~(POOL_SIZE - 1));
}

static size_t block_size(const void *p)
{
    if (!pool_layout_ok)
        return 0;
    return ((size_t)pool_of(p)->szidx + 1) << 4;
}

/* p's counter in its pool's header: shift of its 4 bits. */
static inline unsigned counter_shift(const void *p)
{
    return (unsigned)(((uintptr_t)p & (POOL_SIZE - 1)) / (POOL_SIZE / 8)) * 4;
}

static void count_recorded(const void *p, int delta)
{
    uint32_t *word = &pool_of(p)->recorded;
    unsigned shift = counter_shift(p);
    uint32_t old = __atomic_load_n(word, __ATOMIC_RELAXED), updated;
    do {
        uint32_t c = (old >> shift) & 15;
        if (c == 15 || (delta < 0 && c == 0))
            return; /* saturated: stays; or nothing to take */
        updated = old + (uint32_t)delta * (1u << shift);
    } while (!__atomic_compare_exchange_n(word, &old, updated, true, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
}

/* Out of line: a sampled object.  Records it (and marks it in its pool).
 * True if recorded, and then its bytes are counted too. */
static __attribute__((noinline)) bool record_object(void *p, size_t size, bool raw)
{
    if (!hm_record_alloc(p, size, raw ? HM_COUNT_TRACKED : pooled_counter))
        return false;
    if (!raw && pool_layout_ok && !every_block_recorded())
        count_recorded(p, +1);
    return true;
}

/* Out of line: the pymalloc block p of `size` bytes, which may have been
 * recorded, is gone (freed, or resized in place).  pool_mapped: its pool
 * header can still be read.  Returns the bytes left for the caller to
 * uncount: none if they went under the lock. */
static __attribute__((noinline)) size_t retire_pooled(void *p, size_t size, bool pool_mapped)
{
    if (!(hm_live_maybe(p) && hm_recording()))
        return size;
    if (hm_record_free(p, size, pooled_counter) && pool_mapped && pool_layout_ok &&
        !every_block_recorded())
        count_recorded(p, -1);
    return 0;
}

/* Whether the counter near p in its pool says a block there may be recorded. */
static inline bool pool_may_hold_record(const void *p)
{
    uint32_t recorded = __atomic_load_n(&pool_of(p)->recorded, __ATOMIC_RELAXED);
    return ((recorded >> counter_shift(p)) & 15) != 0;
}

/* ---- the arenas that exist (recorder lock) -------------------------------
 * A code object is marked through its pool only if it is in one: code objects
 * can also be static (3.11 and 3.12 deep-freeze the standard library's) or
 * come from malloc.  Sorted bases; arenas come and go once per MiB. */
static uintptr_t *arena_bases;
static size_t arena_count, arena_cap;

static size_t arena_slot(uintptr_t addr) /* first base > addr */
{
    size_t lo = 0, hi = arena_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (arena_bases[mid] <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Notes the arena and counts its bytes (see totals.h on counting under the
 * lock). */
static void arena_note(uintptr_t base, bool mapped)
{
    int64_t delta = mapped ? (int64_t)ARENA_SIZE : -(int64_t)ARENA_SIZE;
    if (objects_counted_alone)
        delta = 0;
    hm_lock();
    __atomic_add_fetch(&hm_totals.pyarena, delta, __ATOMIC_RELAXED);
    int64_t now = hm_tracked_add_locked(delta);
    size_t i = arena_slot(base);
    if (mapped) {
        if (hm_own_grow((void **)&arena_bases, &arena_cap, arena_count, sizeof *arena_bases,
                        arena_count + 1, 256)) {
            memmove(&arena_bases[i + 1], &arena_bases[i], (arena_count - i) * sizeof *arena_bases);
            arena_bases[i] = base;
            arena_count++;
        }
    } else if (i > 0 && arena_bases[i - 1] == base) {
        memmove(&arena_bases[i - 1], &arena_bases[i], (arena_count - i) * sizeof *arena_bases);
        arena_count--;
    }
    hm_unlock();
    hm_totals_check_budget(now, delta);
}

static bool in_arena(const void *p)
{
    size_t i = arena_slot((uintptr_t)p);
    return i > 0 && (uintptr_t)p - arena_bases[i - 1] < ARENA_SIZE;
}

/* ---- the arenas heapmark mapped, aligned (see the top) -------------------
 * One byte per ARENA_SIZE of the 1 TiB-aligned window that holds the first
 * such arena (mmap keeps them together; a byte, not a bit, for the fewest
 * instructions in the test): 1 MiB of zero pages, of which a page or two are
 * ever touched.  An arena outside the window, or from an arena allocator
 * heapmark does not replace, is in the sorted list only, and its blocks'
 * frees take the general path.  The bytes change in the arena hooks and are
 * read by the Python allocator hooks: pymalloc calls both, under the GIL.
 * (A program that put its own arena allocator in place of heapmark's would
 * free heapmark's arenas without the hook: never seen, and not followed.) */
#define ARENA_WINDOW_BITS 40
#define OWN_ARENA_SLOTS ((size_t)1 << (ARENA_WINDOW_BITS - ARENA_BITS))
static bool own_arenas; /* CPython's mmap arena allocator underneath: heapmark maps */
static uintptr_t own_window = UINTPTR_MAX;
static uint8_t own_arena_map[OWN_ARENA_SLOTS];

static inline HM_FAST_PATH bool in_own_arena(const void *p)
{
    size_t slot = ((uintptr_t)p - own_window) >> ARENA_BITS;
    return slot < OWN_ARENA_SLOTS && own_arena_map[slot];
}

static void mark_own_arena(uintptr_t base, bool mapped)
{
    if (own_window == UINTPTR_MAX)
        own_window = base & ~(((uintptr_t)1 << ARENA_WINDOW_BITS) - 1);
    size_t slot = (base - own_window) >> ARENA_BITS;
    if (slot < OWN_ARENA_SLOTS)
        own_arena_map[slot] = mapped;
}

/* An arena at an ARENA_SIZE-aligned address: twice the size mapped, the
 * ends given back.  NULL if the address space refuses (the caller then
 * falls back to CPython's allocator and an unaligned arena). */
static void *map_aligned_arena(void)
{
    size_t span = 2 * ARENA_SIZE;
    char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)m + ARENA_SIZE - 1) & ~((uintptr_t)ARENA_SIZE - 1);
    size_t head = start - (uintptr_t)m;
    if (head)
        munmap(m, head);
    if (span - head - ARENA_SIZE)
        munmap((char *)start + ARENA_SIZE, span - head - ARENA_SIZE);
    return (void *)start;
}

/* Whether the arena allocator under the hooks is CPython's own (which maps
 * with mmap and unmaps with munmap): its functions live in the object that
 * defines PyObject_Malloc, and it has no context. */
static bool arena_allocator_is_cpythons(void)
{
    Dl_info mine, theirs;
    return orig_arena.ctx == NULL && PyObject_Malloc && dladdr((void *)orig_arena.alloc, &theirs) &&
           dladdr((void *)PyObject_Malloc, &mine) && theirs.dli_fbase == mine.dli_fbase;
}

void hm_pyhooks_mark_code(void *co)
{
    if (hm_live_mark_code((uintptr_t)co) == HM_LIVE_MARK_NEW && pool_layout_ok && in_arena(co))
        count_recorded(co, +1);
}

/* Settles the native allocations seen during a Python allocator call:
 * returns the usable size if `object` was one of them (raw-backed object). */
static size_t settle_nested(hm_tls_t *t, const void *object, bool *raw)
{
    size_t usable = 0;
    *raw = false;
    for (unsigned i = 0; i < t->nested_count; i++) {
        /* The object is the block itself, or inside it under a debug wrapper. */
        if (object && (uintptr_t)object - (uintptr_t)t->nested[i].ptr < t->nested[i].usable) {
            *raw = true;
            usable = t->nested[i].usable;
        } else {
            hm_account_alloc(t->nested[i].ptr, t->nested[i].usable);
        }
    }
    t->nested_count = 0;
    return usable;
}

/* The object at p (size bytes: its pymalloc block, or its malloc block if
 * raw) now exists: sample it and count it. */
static inline void account_object(void *p, size_t size, bool raw)
{
    if (!raw)
        hm_known_add_pooled(p); /* a raw object's malloc block was marked by its hook */
    if (HM_UNLIKELY(hm_sample_hit(size)) && record_object(p, size, raw))
        return;
    if (raw)
        hm_tracked_add((int64_t)size);
    else
        count_pooled((int64_t)size);
}

/* A request pymalloc serves from its pools (1 to 512 bytes) needs no watch
 * on malloc: the block's class is the request rounded to 16, and whatever
 * malloc pymalloc does meanwhile (its arena table, its radix tree) is an
 * ordinary native allocation.  (Only if mapping a new arena failed would
 * pymalloc fall back to malloc for such a request, and that object would be
 * counted twice; the process is out of memory by then.) */
static inline bool pool_request(size_t n)
{
    return class_from_request && n - 1 < 512;
}

/* Out of line: a request that may reach malloc (larger than 512 bytes, 0, or
 * under a debug allocator).  Native allocations during the call are handed
 * over in hm_tls.nested. */
static __attribute__((noinline)) void *alloc_watched(domain_t *d, size_t n, size_t elem)
{
    hm_tls_t *t = &hm_tls;
    t->pool_counted = 0;
    t->nested_count = 0;
    t->in_pyalloc = 1;
    void *p = elem ? d->orig.calloc(d->orig.ctx, n, elem) : d->orig.malloc(d->orig.ctx, n);
    t->in_pyalloc = 0;
    bool raw;
    size_t usable = settle_nested(t, p, &raw);
    if (p)
        account_object(p, raw ? usable : block_size(p), raw);
    return p;
}

/* Before a pymalloc call whose block the caller accounts for itself
 * afterwards: nothing counted ahead; pool_refused tells it if the block came
 * from malloc after all (the arena hook saw a new arena refused, and the
 * native hook counted the block). */
static inline void pool_call_begins(hm_tls_t *t)
{
    t->pool_counted = 0;
    t->pool_refused = 0;
}

static __attribute__((noinline)) void *general_malloc(void *ctx, size_t n)
{
    domain_t *d = ctx;
    if (HM_UNLIKELY(!pool_request(n)))
        return alloc_watched(d, n, 0);
    hm_tls_t *t = &hm_tls;
    pool_call_begins(t);
    void *p = d->orig.malloc(d->orig.ctx, n);
    if (HM_LIKELY(p != NULL) && !t->pool_refused)
        account_object(p, (n + 15) & ~(size_t)15, false);
    return p;
}

static __attribute__((noinline)) void *general_calloc(void *ctx, size_t n, size_t size)
{
    domain_t *d = ctx;
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes) || !pool_request(bytes))
        return alloc_watched(d, n, size ? size : 1);
    hm_tls_t *t = &hm_tls;
    pool_call_begins(t);
    void *p = d->orig.calloc(d->orig.ctx, n, size);
    if (HM_LIKELY(p != NULL) && !t->pool_refused)
        account_object(p, (bytes + 15) & ~(size_t)15, false);
    return p;
}

/* hm_tls.py_released is 0 between calls; during the free or realloc of an
 * object the native hooks set it to HM_RELEASED_RAW (the object's malloc
 * block went) or the arena hook to the block's size (its arena went). */

/* Out of line: after the release of p's block when something unusual
 * happened (see above) or the pool layout is unknown.  Returns the pymalloc
 * bytes released and not yet uncounted (0 for a malloc block), and resets
 * hm_tls.py_released. */
static __attribute__((noinline)) size_t release_unusual(hm_tls_t *t, void *p)
{
    size_t released = t->py_released;
    t->py_released = 0;
    if (released == HM_RELEASED_RAW)
        return 0;
    size_t size = released ? released : block_size(p); /* released: its arena went with it */
    if (!hm_known_take_pooled(p))
        size = 0; /* allocated before an in-process start: never counted */
    return retire_pooled(p, size, released == 0);
}

/* After pymalloc released p's block: retires its record if it may have one.
 * Returns the pymalloc bytes released that the caller must still take off
 * `pylive` (0 for a malloc block, or when they went with the record). */
static inline size_t release_pooled(hm_tls_t *t, void *p)
{
    if (HM_UNLIKELY(t->py_released != 0 || !pool_layout_ok))
        return release_unusual(t, p);
    size_t size = ((size_t)pool_of(p)->szidx + 1) << 4;
    if (HM_UNLIKELY(objects_counted_alone)) {
        /* In-process: the pool counters miss code objects in arenas older
         * than the start, so the filter decides; an older block counts 0. */
        if (!hm_known_take_pooled(p))
            size = 0;
        return HM_UNLIKELY(hm_live_maybe(p)) ? retire_pooled(p, size, true) : size;
    }
    if (HM_UNLIKELY(every_block_recorded() || pool_may_hold_record(p)))
        return retire_pooled(p, size, true);
    return size;
}

static __attribute__((noinline)) void general_free(void *ctx, void *p)
{
    domain_t *d = ctx;
    if (HM_UNLIKELY(!p)) {
        d->orig.free(d->orig.ctx, p);
        return;
    }
    /* A free allocates nothing; the native hooks only need to know which
     * object is going, to handle a malloc'ed one. */
    hm_tls_t *t = &hm_tls;
    t->py_freeing = p;
    d->orig.free(d->orig.ctx, p);
    t->py_freeing = NULL;
    count_pooled(-(int64_t)release_pooled(t, p));
}

static void *finish_realloc(hm_tls_t *t, void *p, void *q);

/* pymalloc's realloc of p, with the native hooks told which object is
 * going and that what they see is nested in a Python allocator call. */
static inline HM_FAST_PATH void *watched_realloc(domain_t *d, hm_tls_t *t, void *p, size_t n)
{
    t->pool_counted = 0;
    t->nested_count = 0;
    t->py_freeing = p;
    t->in_pyalloc = 1;
    void *q = d->orig.realloc(d->orig.ctx, p, n);
    t->in_pyalloc = 0;
    t->py_freeing = NULL;
    return q;
}

static __attribute__((noinline)) void *general_realloc(void *ctx, void *p, size_t n)
{
    hm_tls_t *t = &hm_tls;
    if (!p)
        return general_malloc(ctx, n);
    return finish_realloc(t, p, watched_realloc(ctx, t, p, n));
}

/* After the Python realloc of p returned q: settles the native allocations
 * made meanwhile, p's block and q's. */
static __attribute__((noinline)) void *finish_realloc(hm_tls_t *t, void *p, void *q)
{
    bool q_raw;
    size_t q_usable = settle_nested(t, q, &q_raw);
    if (!q) {
        t->py_released = 0;
        return NULL; /* p is intact (a malloc'ed p got its record back) */
    }
    /* p's block went, or was resized in place, which counts as freed and
     * allocated again, as every realloc does. */
    count_pooled(-(int64_t)release_pooled(t, p));
    account_object(q, q_raw ? q_usable : block_size(q), q_raw);
    return q;
}

/* ---- the fast path -------------------------------------------------------
 * Under `heapmark run` with plain pymalloc and a sample rate above 512 bytes
 * (the default), a request pymalloc serves from its pools is recorded only
 * through the countdown (it is smaller than the rate, so never recorded
 * whole), and its free needs only its pool header: these wrappers do just
 * that, inline, and hand everything else to the general ones above.  They
 * are what the interpreter calls for every small object, so each test here
 * costs the program: hence one flag per wrapper, computed once
 * (choose_fast_paths), rather than the general path's tests of the mode.
 * An unsampled allocation counts its block before pymalloc makes it
 * (hm_tls.pool_counted, taken back by the arena hook if pymalloc could not
 * map an arena and went to malloc) and a free of a block in an own arena
 * before pymalloc releases it, so that both pass the call on last, with
 * nothing left to do after it.  The general path stays the reference: both
 * count every byte the same way (tests/test_fast_path.py compares them). */

/* Requests of 1 to this many bytes take the fast path; 0: none do. */
static size_t fast_request_limit;
/* Frees and reallocs of pool blocks take the fast path. */
static bool fast_release;

/* Exact mode records every block, so its frees take the general path,
 * which knows that without the pool counters. */
static void choose_fast_paths(void)
{
    fast_release = pool_layout_ok && !objects_counted_alone && !every_block_recorded() &&
                   !__atomic_load_n(&hm_known_on, __ATOMIC_RELAXED);
    fast_request_limit = fast_release && class_from_request && hm_sample_rate > 512 ? 512 : 0;
}

/* Out of line: the countdown ran out at the pool block p of `size` bytes. */
static __attribute__((noinline)) void record_small(void *p, size_t size)
{
    if (!record_object(p, size, false))
        hm_pylive_grow(size);
}

/* Out of line: the countdown ran out at a small request (n bytes, or n
 * elements of elem bytes): the block is made, then recorded. */
static __attribute__((noinline)) void *sampled_small(domain_t *d, size_t n, size_t elem,
                                                     size_t size)
{
    hm_tls_t *t = &hm_tls;
    pool_call_begins(t);
    void *p = elem ? d->orig.calloc(d->orig.ctx, n, elem) : d->orig.malloc(d->orig.ctx, n);
    if (p && !t->pool_refused)
        record_small(p, size);
    return p;
}

/* A pool block of `size` bytes exists at p: the realloc's new block. */
static inline HM_FAST_PATH void account_small(void *p, size_t size)
{
    hm_tls.countdown -= (int64_t)size;
    if (HM_UNLIKELY(hm_tls.countdown < 0))
        record_small(p, size);
    else
        hm_pylive_grow(size);
}

/* A pool block of `size` bytes is about to be made: false if the countdown
 * ran out (the caller goes to sampled_small), else it is counted. */
static inline HM_FAST_PATH bool count_small_ahead(size_t size)
{
    hm_tls_t *t = &hm_tls;
    t->countdown -= (int64_t)size;
    if (HM_UNLIKELY(t->countdown < 0))
        return false;
    t->pool_counted = size;
    hm_pylive_grow(size);
    return true;
}

static void *py_malloc(void *ctx, size_t n)
{
    domain_t *d = ctx;
    if (HM_UNLIKELY(n - 1 >= fast_request_limit))
        return general_malloc(ctx, n);
    size_t size = (n + 15) & ~(size_t)15;
    if (HM_UNLIKELY(!count_small_ahead(size)))
        return sampled_small(d, n, 0, size);
    return d->orig.malloc(d->orig.ctx, n);
}

static void *py_calloc(void *ctx, size_t n, size_t elem)
{
    domain_t *d = ctx;
    size_t bytes;
    if (HM_UNLIKELY(__builtin_mul_overflow(n, elem, &bytes) || bytes - 1 >= fast_request_limit))
        return general_calloc(ctx, n, elem);
    size_t size = (bytes + 15) & ~(size_t)15;
    if (HM_UNLIKELY(!count_small_ahead(size)))
        return sampled_small(d, n, elem, size);
    return d->orig.calloc(d->orig.ctx, n, elem);
}

/* Out of line: a free of pool block p in a pool with a recorded block. */
static __attribute__((noinline)) void free_maybe_recorded(domain_t *d, void *p, size_t size)
{
    hm_pylive_shrink(pool_may_hold_record(p) ? retire_pooled(p, size, true) : size);
    d->orig.free(d->orig.ctx, p);
}

/* Installed as the free only while fast_release holds; every call in it is
 * its last act, so it needs no frame.  Under the GIL, nothing can take p's
 * block between its uncounting and its release. */
static void py_free(void *ctx, void *p)
{
    if (HM_UNLIKELY(!in_own_arena(p))) {
        general_free(ctx, p);
        return;
    }
    domain_t *d = ctx;
    struct pool_head *pool = pool_of(p);
    size_t size = ((size_t)pool->szidx + 1) << 4;
    /* Most pools hold no recorded block at all: one test of the whole word. */
    if (HM_UNLIKELY(__atomic_load_n(&pool->recorded, __ATOMIC_RELAXED) != 0)) {
        free_maybe_recorded(d, p, size);
        return;
    }
    hm_pylive_shrink(size);
    d->orig.free(d->orig.ctx, p);
}

static void *py_realloc(void *ctx, void *p, size_t n)
{
    domain_t *d = ctx;
    if (!p) /* a list's first items (list_resize): as common as a malloc */
        return py_malloc(ctx, n);
    if (HM_UNLIKELY(n - 1 >= fast_request_limit || !in_own_arena(p) || pool_may_hold_record(p)))
        return general_realloc(ctx, p, n);
    /* A pool block stays in the pools at this size: pymalloc reallocates it
     * in place or in another pool block (which may free p's arena: its size
     * is read first). */
    hm_tls_t *t = &hm_tls;
    size_t old = ((size_t)pool_of(p)->szidx + 1) << 4;
    pool_call_begins(t);
    void *q = d->orig.realloc(d->orig.ctx, p, n);
    if (HM_UNLIKELY(!q))
        return NULL; /* p is intact */
    hm_pylive_shrink(old);
    if (HM_LIKELY(!t->pool_refused))
        account_small(q, (n + 15) & ~(size_t)15);
    return q;
}

/* ---- arenas -------------------------------------------------------------- */

/* Arena bytes are counted even under hm_tls.guard: an arena outlives the
 * call that mapped it, and its unmapping is always counted. */
static void *arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    hm_tls_t *t = &hm_tls;
    t->in_arena++;
    void *p = own_arenas && size == ARENA_SIZE ? map_aligned_arena() : NULL;
    bool own = p != NULL;
    if (!p)
        p = orig_arena.alloc(orig_arena.ctx, size);
    t->in_arena--;
    if (!p) {
        /* pymalloc goes to malloc for the block, which the native hook
         * counts: what the fast path counted ahead for it is taken back. */
        hm_pylive_shrink(t->pool_counted);
        t->pool_counted = 0;
        t->pool_refused = 1;
        if (!t->guard)
            hm_alarm_allocation_failed(size);
        return p;
    }
    if (size == ARENA_SIZE) {
        if (own)
            mark_own_arena((uintptr_t)p, true);
        arena_note((uintptr_t)p, true);
    } else if (!t->guard) {
        hm_known_add(p);
        hm_account_alloc(p, size); /* other virtual memory, e.g. frame stacks */
    } else
        hm_tracked_add((int64_t)size);
    return p;
}

static void arena_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    hm_tls_t *t = &hm_tls;
    uintptr_t freeing = (uintptr_t)t->py_freeing;
    if (freeing && freeing - (uintptr_t)p < size)
        t->py_released = block_size(t->py_freeing);
    bool own = size == ARENA_SIZE && in_own_arena(p);
    if (size == ARENA_SIZE) {
        if (own)
            mark_own_arena((uintptr_t)p, false);
        arena_note((uintptr_t)p, false);
    } else if (!t->guard) {
        hm_account_free(p, hm_known_take(p) ? size : 0);
    } else
        hm_tracked_add(-(int64_t)size);
    t->in_arena++;
    if (own)
        munmap(p, size);
    else
        orig_arena.free(orig_arena.ctx, p, size);
    t->in_arena--;
}

/* Our wrappers over the domains' current allocators, with the free the
 * fast paths allow. */
static void set_domains(void)
{
    void (*release)(void *, void *) = fast_release ? py_free : general_free;
    PyMemAllocatorEx mem = {&mem_domain, py_malloc, py_calloc, py_realloc, release};
    PyMemAllocatorEx obj = {&obj_domain, py_malloc, py_calloc, py_realloc, release};
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &mem);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &obj);
}

static void install_domains(void)
{
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &mem_domain.orig);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &obj_domain.orig);
    set_domains();
}

void hm_pyhooks_install(void)
{
    install_domains();
    PyObject_GetArenaAllocator(&orig_arena);
    /* Not in a running interpreter: its arenas exist already, and a stop
     * hands the allocator back. */
    own_arenas = !objects_counted_alone && arena_allocator_is_cpythons();
    PyObjectArenaAllocator arena = {NULL, arena_alloc, arena_free};
    PyObject_SetArenaAllocator(&arena);
}

bool hm_pyhooks_install_in_process(void)
{
    PyMemAllocatorEx current;
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &current);
    if (current.malloc == py_malloc)
        return false; /* still installed: a stop never happened */
    objects_counted_alone = true;
    pooled_counter = HM_COUNT_TRACKED;
    hm_pyhooks_install();
    return true;
}

void hm_pyhooks_uninstall(void)
{
    PyMemAllocatorEx current;
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &current);
    if (current.malloc != py_malloc)
        return;
    /* Blocks allocated meanwhile go back to the allocators that made them:
     * the hooks only watched. */
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &mem_domain.orig);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &obj_domain.orig);
    PyObject_SetArenaAllocator(&orig_arena);
}

bool hm_pyhooks_reinstall_if_replaced(void)
{
    PyMemAllocatorEx current;
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &current);
    if (current.malloc == py_malloc)
        return false;
    install_domains(); /* the arena allocator is never replaced */
    return true;
}

bool hm_pyhooks_selfcheck(void)
{
    static const size_t sizes[] = {1, 24, 100, 257, 480};
    hm_tls_t *t = &hm_tls;
    bool plain = true, debug = true, pooled = true;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        /* As py_malloc, but the block is examined before it is accounted. */
        t->pool_counted = 0;
        t->nested_count = 0;
        t->in_pyalloc = 1;
        void *p = obj_domain.orig.malloc(obj_domain.orig.ctx, sizes[i]);
        t->in_pyalloc = 0;
        bool raw = false;
        for (unsigned j = 0; j < t->nested_count; j++)
            raw |= (uintptr_t)p - (uintptr_t)t->nested[j].ptr < t->nested[j].usable;
        pooled &= p && !raw; /* a small request served by malloc: no pymalloc */
        if (p && !raw) {
            size_t got = block_size(p);
            plain &= got == ((sizes[i] + 15) & ~(size_t)15);
            /* The debug wrapper adds a 16-byte header and an 8-byte trailer. */
            debug &= got == ((sizes[i] + 24 + 15) & ~(size_t)15);
        }
        bool was_raw;
        size_t usable = settle_nested(t, p, &was_raw);
        if (p)
            account_object(p, was_raw ? usable : block_size(p), was_raw);
        general_free(&obj_domain, p);
    }
    class_from_request = pooled && plain;
    pool_layout_ok = !pooled || plain || debug;
    bool was_fast = fast_release;
    choose_fast_paths();
    if (fast_release != was_fast)
        set_domains(); /* the free the fast paths allow */
    return pool_layout_ok;
}
