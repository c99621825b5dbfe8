/*
 * livetable.h - the recorded (sampled) blocks that are still allocated.
 *
 * Owns: a hash table from block address to what that block stands for (its
 * node and weights), and a counting Bloom filter in front of it so that the
 * free of a block that was never sampled - nearly every free - costs one
 * cache line read and no lock.
 * Must never: be modified without the recorder lock; hm_live_maybe is the
 * only lock-free entry point.
 */
#ifndef HM_LIVETABLE_H
#define HM_LIVETABLE_H

#include "common.h"

typedef struct {
    uintptr_t ptr;      /* 0 = empty slot */
    int64_t bytes;      /* estimated bytes this block stands for (0: code marker only) */
    int64_t count;      /* estimated allocations it stands for */
    uint32_t node;      /* call-tree node, HM_NONE for a code marker only */
    uint32_t code;      /* code descriptor whose object lives here, or 0 */
} hm_live;

bool hm_live_init(bool exact);
bool hm_live_insert(const hm_live *entry);
/* Removes the entry for ptr into *out; false if ptr is not recorded. */
bool hm_live_take(uintptr_t ptr, hm_live *out);
/* Marks ptr as the allocation of code descriptor `code` (see pystack.c). */
bool hm_live_mark_code(uintptr_t ptr, uint32_t code);
size_t hm_live_count(void);

/* The filter: two 8-bit counters per key, both in one 64-byte line (a
 * "blocked" counting Bloom filter).  The mask travels with the counters so a
 * reader racing a resize always sees a matching pair; replaced filters stay
 * mapped until exit for the same reason. */
typedef struct {
    uint64_t line_mask;
    uint8_t pad[56];
    uint8_t lines[][64];
} hm_bloom_t;

extern hm_bloom_t *hm_bloom;       /* NULL in exact mode: every block is recorded */

static inline uint64_t hm_bloom_hash(uintptr_t ptr)
{
    return ((uint64_t)ptr >> 4) * 0x9E3779B97F4A7C15ULL;
}

/* Lock-free: false means ptr is certainly not recorded. */
static inline bool hm_live_maybe(const void *ptr)
{
    hm_bloom_t *bloom = __atomic_load_n(&hm_bloom, __ATOMIC_ACQUIRE);
    if (!bloom)
        return true;
    uint64_t h = hm_bloom_hash((uintptr_t)ptr);
    const uint8_t *line = bloom->lines[(h >> 32) & bloom->line_mask];
    return __atomic_load_n(&line[(h >> 20) & 63], __ATOMIC_RELAXED) &&
           __atomic_load_n(&line[(h >> 26) & 63], __ATOMIC_RELAXED);
}

#endif
