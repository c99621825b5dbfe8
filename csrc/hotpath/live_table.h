/*
 * live_table.h - the recorded (sampled) blocks that are still allocated.
 *
 * Owns: a hash table from block address to the node it was recorded at and
 * its size, and a counting Bloom filter in front of it so that the free of a
 * block that was never sampled - nearly every free - costs one cache line
 * read and no lock.  (python_hooks.c puts a cheaper test in front of the filter
 * for pymalloc blocks, in their pool's header.)  What a block stands for (its weight) is recomputed from
 * its size (sampler.h), so a slot is 16 bytes.
 * Must never: be modified without the recorder lock; hm_live_maybe is the
 * only lock-free entry point.
 */
#ifndef HM_LIVETABLE_H
#define HM_LIVETABLE_H

#include "common/common.h"

typedef struct {
    uintptr_t ptr;
    uint64_t size; /* bytes when recorded */
    uint32_t node; /* call-tree node, HM_NONE if the block only marks a code object */
    bool code;     /* a code object lives here (see stack_walk.c) */
} hm_live_block;

bool hm_live_init(bool exact);
bool hm_live_insert(uintptr_t ptr, uint64_t size, uint32_t node);
/* Marks ptr as the allocation of a code object whose descriptor is cached. */
enum { HM_LIVE_MARK_FAILED, HM_LIVE_MARK_EXISTING, HM_LIVE_MARK_NEW };
int hm_live_mark_code(uintptr_t ptr);
/* Removes the record of ptr into *out; false if ptr is not recorded. */
bool hm_live_take(uintptr_t ptr, hm_live_block *out);
/* Under the lock: forgets every record, for another start in the process. */
void hm_live_clear(bool exact);
/* Puts back a record taken by hm_live_take (a realloc that failed). */
bool hm_live_restore(const hm_live_block *b);
size_t hm_live_count(void);
/* Under the lock: copies up to cap records of blocks attributed to a node
 * (code marks left out), in table order; returns how many were copied. */
size_t hm_live_copy(hm_live_block *out, size_t cap);

/* The filter: two 8-bit counters per key, both in one 64-byte line (a
 * "blocked" counting Bloom filter).  Its address and size travel together in
 * one word (address in the low 56 bits, log2 of the number of lines in the
 * top 8), so a reader racing a resize always sees a matching pair with one
 * load; replaced filters stay mapped until exit for the same reason.
 * 0 in exact mode: every block is recorded, there is nothing to filter. */
extern uint64_t hm_bloom_word;

#define HM_BLOOM_LINES(word) ((uint8_t(*)[64])((word) & ((1ULL << 56) - 1)))
#define HM_BLOOM_MASK(word) ((1ULL << ((word) >> 56)) - 1)

static inline HM_FAST_PATH uint64_t hm_bloom_hash(uintptr_t ptr)
{
    return ((uint64_t)ptr >> 4) * 0x9E3779B97F4A7C15ULL;
}

/* Lock-free: false means ptr is certainly not recorded. */
static inline HM_FAST_PATH bool hm_live_maybe(const void *ptr)
{
    uint64_t word = __atomic_load_n(&hm_bloom_word, __ATOMIC_ACQUIRE);
    if (!word)
        return true;
    uint64_t h = hm_bloom_hash((uintptr_t)ptr);
    const uint8_t *line = HM_BLOOM_LINES(word)[(h >> 32) & HM_BLOOM_MASK(word)];
    return __atomic_load_n(&line[(h >> 20) & 63], __ATOMIC_RELAXED) &&
           __atomic_load_n(&line[(h >> 26) & 63], __ATOMIC_RELAXED);
}

#endif
