/*
 * pyhooks.c - Python object allocations at object level, arenas at arena level.
 *
 * Owns: the MEM/OBJ domain wrappers, the arena allocator wrapper, and the
 * reading of a pymalloc block's size class from its pool header.
 * Must never: call back into Python, allocate, or lock outside recorder.c.
 *
 * Each byte is counted once:
 *   - a pymalloc arena is counted in `tracked` when mapped (hm_pyarena_add);
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
 */
#include <Python.h>

#include "pyhooks.h"
#include "recorder.h"
#include "threads.h"

/* All references weak (see engine.c): the library loads into any process. */
#pragma weak PyMem_SetAllocator

#if PY_VERSION_HEX >= 0x030a0000
#  define POOL_SIZE ((uintptr_t)16384)
#  define ARENA_SIZE ((size_t)1 << 20)
#else
#  define POOL_SIZE ((uintptr_t)4096)
#  define ARENA_SIZE ((size_t)256 << 10)
#endif

/* Mirrors the head of CPython's struct pool_header (Objects/obmalloc.c,
 * 3.9-3.11; Include/internal/pycore_obmalloc.h, 3.12+). */
struct pool_head {
    void *ref;
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

static size_t block_size(const void *p)
{
    if (!pool_layout_ok)
        return 0;
    const struct pool_head *pool = (const void *)((uintptr_t)p & ~(POOL_SIZE - 1));
    return ((size_t)pool->szidx + 1) << 4;
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

/* The object at p (size given) now exists: sample, then count. */
static inline void account_object(void *p, size_t size, bool raw)
{
    if (hm_recording() && hm_sample_hit(size))
        hm_record_alloc(p, size);
    if (raw)
        hm_tracked_add((int64_t)size);
    else
        hm_pylive_add((int64_t)size);
}

/* size: what was asked for; a pymalloc block is that rounded to 16. */
static inline void after_alloc(hm_tls_t *t, void *p, size_t size)
{
    if (HM_LIKELY(t->nested_count == 0)) {
        if (HM_LIKELY(p != NULL))
            account_object(p, class_from_request && size <= 512 && size > 0
                                  ? (size + 15) & ~(size_t)15 : block_size(p),
                           false);
        return;
    }
    bool raw;
    size_t usable = settle_nested(t, p, &raw);
    if (p)
        account_object(p, raw ? usable : block_size(p), raw);
}

static void *py_malloc(void *ctx, size_t n)
{
    domain_t *d = ctx;
    hm_tls_t *t = &hm_tls;
    if (t->guard)
        return d->orig.malloc(d->orig.ctx, n);
    t->nested_count = 0;
    t->in_pyalloc = 1;
    void *p = d->orig.malloc(d->orig.ctx, n);
    t->in_pyalloc = 0;
    after_alloc(t, p, n);
    return p;
}

static void *py_calloc(void *ctx, size_t n, size_t size)
{
    domain_t *d = ctx;
    hm_tls_t *t = &hm_tls;
    if (t->guard)
        return d->orig.calloc(d->orig.ctx, n, size);
    t->nested_count = 0;
    t->in_pyalloc = 1;
    void *p = d->orig.calloc(d->orig.ctx, n, size);
    t->in_pyalloc = 0;
    after_alloc(t, p, n * size);
    return p;
}

static void begin_release(hm_tls_t *t, void *p)
{
    t->nested_count = 0;
    t->py_freeing = p;
    t->py_raw_freed = 0;
    t->py_freed_block = 0;
    t->in_pyalloc = 1;
}

static size_t released_block(hm_tls_t *t, void *p)
{
    return t->py_freed_block ? t->py_freed_block : block_size(p);
}

static void py_free(void *ctx, void *p)
{
    domain_t *d = ctx;
    hm_tls_t *t = &hm_tls;
    if (!p || t->guard) {
        d->orig.free(d->orig.ctx, p);
        return;
    }
    if (hm_recording() && hm_live_maybe(p))
        hm_record_free(p, 0);    /* Python objects all postdate recording */
    begin_release(t, p);
    d->orig.free(d->orig.ctx, p);
    t->in_pyalloc = 0;
    t->py_freeing = NULL;
    if (HM_UNLIKELY(t->nested_count)) {
        bool raw;
        settle_nested(t, NULL, &raw);
    }
    if (!t->py_raw_freed)
        hm_pylive_add(-(int64_t)released_block(t, p));
}

static void *py_realloc(void *ctx, void *p, size_t n)
{
    domain_t *d = ctx;
    hm_tls_t *t = &hm_tls;
    if (!p)
        return py_malloc(ctx, n);
    if (t->guard)
        return d->orig.realloc(d->orig.ctx, p, n);
    hm_live_block saved;
    bool had = hm_recording() && hm_live_maybe(p) && hm_record_take(p, &saved);
    begin_release(t, p);
    void *q = d->orig.realloc(d->orig.ctx, p, n);
    t->in_pyalloc = 0;
    t->py_freeing = NULL;
    bool q_raw;
    size_t q_usable = settle_nested(t, q, &q_raw);
    if (!q) {
        if (had)
            hm_record_restore(&saved);
        return NULL;
    }
    /* p was a pymalloc block unless the native layer saw it freed.  A block
     * resized in place by pymalloc keeps its size class. */
    bool p_pymalloc = !t->py_raw_freed;
    if (p_pymalloc && q != p)
        hm_pylive_add(-(int64_t)released_block(t, p));
    size_t q_size = q_raw ? q_usable : block_size(q);
    if (hm_recording() && hm_sample_hit(q_size))
        hm_record_alloc(q, q_size);
    if (q_raw)
        hm_tracked_add((int64_t)q_size);
    else if (q != p)
        hm_pylive_add((int64_t)q_size);
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
    void *p = orig_arena.alloc(orig_arena.ctx, size);
    t->in_arena--;
    if (!p)
        return p;
    if (size == ARENA_SIZE)
        hm_pyarena_add((int64_t)size);
    else if (!t->guard)
        hm_account_alloc(p, size);   /* other virtual memory, e.g. frame stacks */
    else
        hm_tracked_add((int64_t)size);
    return p;
}

static void arena_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    hm_tls_t *t = &hm_tls;
    uintptr_t freeing = (uintptr_t)t->py_freeing;
    if (freeing && freeing - (uintptr_t)p < size)
        t->py_freed_block = block_size(t->py_freeing);
    if (size == ARENA_SIZE)
        hm_pyarena_add(-(int64_t)size);
    else if (!t->guard)
        hm_account_free(p, size);
    else
        hm_tracked_add(-(int64_t)size);
    t->in_arena++;
    orig_arena.free(orig_arena.ctx, p, size);
    t->in_arena--;
}

static void install_domains(void)
{
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &mem_domain.orig);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &obj_domain.orig);
    PyMemAllocatorEx mem = {&mem_domain, py_malloc, py_calloc, py_realloc, py_free};
    PyMemAllocatorEx obj = {&obj_domain, py_malloc, py_calloc, py_realloc, py_free};
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &mem);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &obj);
}

void hm_pyhooks_install(void)
{
    install_domains();
    PyObject_GetArenaAllocator(&orig_arena);
    PyObjectArenaAllocator arena = {NULL, arena_alloc, arena_free};
    PyObject_SetArenaAllocator(&arena);
}

bool hm_pyhooks_reinstall_if_replaced(void)
{
    PyMemAllocatorEx current;
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &current);
    if (current.malloc == py_malloc)
        return false;
    install_domains();     /* the arena allocator is never replaced */
    return true;
}

bool hm_pyhooks_selfcheck(void)
{
    static const size_t sizes[] = {1, 24, 100, 257, 480};
    hm_tls_t *t = &hm_tls;
    bool plain = true, debug = true;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        /* As py_malloc, but the block is examined before it is accounted. */
        t->nested_count = 0;
        t->in_pyalloc = 1;
        void *p = obj_domain.orig.malloc(obj_domain.orig.ctx, sizes[i]);
        t->in_pyalloc = 0;
        bool raw = false;
        for (unsigned j = 0; j < t->nested_count; j++)
            raw |= (uintptr_t)p - (uintptr_t)t->nested[j].ptr < t->nested[j].usable;
        if (p && !raw) {
            size_t got = block_size(p);
            plain &= got == ((sizes[i] + 15) & ~(size_t)15);
            /* The debug wrapper adds a 16-byte header and an 8-byte trailer. */
            debug &= got == ((sizes[i] + 24 + 15) & ~(size_t)15);
        }
        class_from_request = false;        /* while the verdict is open */
        after_alloc(t, p, sizes[i]);
        py_free(&obj_domain, p);
    }
    class_from_request = plain;
    pool_layout_ok = plain || debug;
    return pool_layout_ok;
}
