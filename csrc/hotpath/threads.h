/*
 * threads.h - what heapmark keeps per thread.
 *
 * Owns: the small thread-local record every hook reads (hm_tls), and the
 * larger per-thread record (struct hm_thread) that only the sampled path
 * needs: the cached last stack and the node a thread without Python frames
 * is attributed to.
 * Must never: grow hm_tls beyond a cache line or two (static TLS is scarce
 * when this module is dlopen'ed as an ordinary extension), or allocate a
 * struct hm_thread outside the recorder lock.
 */
#ifndef HM_THREADS_H
#define HM_THREADS_H

#include "common/common.h"

#define HM_MAX_DEPTH 256 /* Python frames kept per stack (leaf-most) */
#define HM_MAX_NESTED 3  /* native allocations seen inside one Python allocator call */
#define HM_RELEASED_RAW SIZE_MAX

/* A native allocation made while a Python allocator call was in progress:
 * either the Python object itself (raw-backed) or pymalloc's own bookkeeping.
 * The Python hook decides which once the call returns. */
typedef struct {
    void *ptr;
    size_t usable;
} hm_nested_alloc;

typedef struct {
    int64_t countdown;  /* bytes until the next sample (sampler.h) */
    uint64_t rng;       /* xorshift state; 0 = not seeded yet */
    uint32_t guard;     /* >0: heapmark's own code runs here; hooks pass through */
    uint8_t in_pyalloc; /* inside a Python allocator call that may reach malloc */
    uint8_t in_arena;   /* inside pymalloc's arena allocator */
    uint8_t nested_count;
    uint8_t waiting_slot;   /* waiting_calls.c's slot + 1; 0: none yet */
    uint32_t sampler_epoch; /* the sampler configuration rng was seeded in */
    uint8_t pool_refused;   /* pymalloc could not map an arena in the current call */
    size_t pool_counted;    /* bytes counted in pylive ahead of the current fast call */
    void *py_freeing;       /* object whose Python free/realloc is in progress */
    size_t py_released;     /* how it went: 0 = a pymalloc block (size in its pool),
                               * HM_RELEASED_RAW = a malloc block, or the block's size,
                               * read before its arena was unmapped */
    hm_nested_alloc nested[HM_MAX_NESTED];
    struct hm_thread *thread; /* lazily allocated under the recorder lock */
} hm_tls_t;

extern HM_TLS hm_tls_t hm_tls;

/* A frame of a thread's last walk: its code, where it was in it (the raw
 * instruction pointer on 3.11+, f_lasti before: comparing it needs no
 * arithmetic), and the call-tree node of the stack up to it. */
typedef struct {
    const void *code;
    uintptr_t pos;
    uint32_t node;
} hm_cached_frame;

/* (parent node, code, position) -> child node, for the frames a walk finds
 * new (stack_walk.c): direct-mapped; emptied when a code object retires. */
#define HM_CHILD_MEMO 64
typedef struct {
    const void *code;
    uintptr_t pos;
    uint32_t parent, child;
} hm_child_memo;

struct hm_thread {
    uint32_t base;             /* node for this thread when it has no Python frames */
    uint32_t cache_depth;      /* frames in cache[], root first */
    uint32_t cache_root;       /* node the cached path hangs from */
    uint64_t cache_generation; /* code generation the cache was built in */
    uint64_t memo_generation;  /* and the memo */
    hm_cached_frame cache[HM_MAX_DEPTH];
    hm_child_memo memo[HM_CHILD_MEMO];
    const void *walk_code[HM_MAX_DEPTH]; /* scratch for a walk, leaf first */
    uintptr_t walk_pos[HM_MAX_DEPTH];
    struct hm_thread *next_free;
};

/* Both require the recorder lock. */
struct hm_thread *hm_thread_current(void);
void hm_thread_release(struct hm_thread *t);

#endif
