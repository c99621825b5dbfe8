/*
 * known_blocks.h - which blocks were allocated since an in-process start.
 *
 * `heapmark run` sees every allocation from the first one, so every block a
 * hook frees is one it counted.  A tracker started inside a running
 * interpreter (run/in_process.c) does not: a block allocated before the
 * start and freed during tracking would take bytes off totals that never
 * held them.  So, while hm_known_on is set, every block a hook counts is
 * marked here, and a free or realloc counts only a marked block.
 *
 * Owns: a two-level bitmap over the 47-bit user address space, one bit per
 * 16 bytes (glibc's and pymalloc's alignment): a table of 2^17 leaf
 * pointers, one per GiB, and 8 MiB leaves mapped on first use with
 * MAP_NORESERVE, so only the pages under live heap memory become resident
 * (1 bit per 16 bytes: 1/128 of the heap they cover).
 * Must never: lock, allocate from the tracked heap, or unmap a leaf (a hook
 * on another thread may be reading it; a restart zeroes leaves instead).
 */
#ifndef HM_KNOWN_BLOCKS_H
#define HM_KNOWN_BLOCKS_H

#include "common/common.h"

#define HM_KNOWN_LEAF_SHIFT 30
#define HM_KNOWN_LEAVES ((size_t)1 << (47 - HM_KNOWN_LEAF_SHIFT))

extern int hm_known_on;
extern uint64_t **hm_known_leaves;

/* Out of line: the leaf for `index`, mapped now; NULL if it cannot be. */
uint64_t *hm_known_leaf(size_t index);

/* Starts marking with every bit clear (false: no memory for the table);
 * hm_known_stop makes every block count as known again. */
bool hm_known_start(void);
void hm_known_stop(void);

static inline HM_FAST_PATH bool hm_known_locate(const void *p, uint64_t **word, uint64_t *bit,
                                                bool create)
{
    uintptr_t a = (uintptr_t)p;
    size_t index = a >> HM_KNOWN_LEAF_SHIFT;
    if (HM_UNLIKELY(index >= HM_KNOWN_LEAVES))
        return false;
    uint64_t *leaf = __atomic_load_n(&hm_known_leaves[index], __ATOMIC_ACQUIRE);
    if (HM_UNLIKELY(!leaf) && (!create || !(leaf = hm_known_leaf(index))))
        return false;
    size_t n = (a & (((uintptr_t)1 << HM_KNOWN_LEAF_SHIFT) - 1)) >> 4;
    *word = &leaf[n >> 6];
    *bit = (uint64_t)1 << (n & 63);
    return true;
}

/* A block the hooks counted now starts at p. */
static inline HM_FAST_PATH void hm_known_add(const void *p)
{
    uint64_t *word, bit;
    if (HM_UNLIKELY(__atomic_load_n(&hm_known_on, __ATOMIC_RELAXED)) &&
        hm_known_locate(p, &word, &bit, true))
        __atomic_fetch_or(word, bit, __ATOMIC_RELAXED);
}

/* The block at p is going: whether its bytes were counted (always true
 * when not tracking in-process).  Clears the mark. */
static inline HM_FAST_PATH bool hm_known_take(const void *p)
{
    uint64_t *word, bit;
    if (HM_LIKELY(!__atomic_load_n(&hm_known_on, __ATOMIC_RELAXED)))
        return true;
    if (!hm_known_locate(p, &word, &bit, false))
        return false;
    return (__atomic_fetch_and(word, ~bit, __ATOMIC_RELAXED) & bit) != 0;
}

/* The same for a pymalloc block, allocated and freed only with the GIL
 * held: no atomic read-modify-write needed, since a bitmap word covers
 * 1 KiB, inside one page, and a page belongs either to a pymalloc arena
 * (mapped on its own) or to glibc's heap, never to both. */
static inline HM_FAST_PATH void hm_known_add_pooled(const void *p)
{
    uint64_t *word, bit;
    if (HM_UNLIKELY(__atomic_load_n(&hm_known_on, __ATOMIC_RELAXED)) &&
        hm_known_locate(p, &word, &bit, true))
        *word |= bit;
}

static inline HM_FAST_PATH bool hm_known_take_pooled(const void *p)
{
    uint64_t *word, bit;
    if (HM_LIKELY(!__atomic_load_n(&hm_known_on, __ATOMIC_RELAXED)))
        return true;
    if (!hm_known_locate(p, &word, &bit, false))
        return false;
    uint64_t old = *word;
    *word = old & ~bit;
    return (old & bit) != 0;
}

#endif
