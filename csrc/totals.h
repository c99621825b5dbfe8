/*
 * totals.h - the exact byte counts and the moment of peak memory.
 *
 * Owns: tracked bytes (native heap usable sizes + tracked anonymous mappings
 * + pymalloc arenas + other Python virtual memory), its maximum, and the
 * "peak epoch" that snapshot.c uses to keep the breakdown at that maximum.
 * Must never: lock, allocate, or be skipped on any allocation path - these
 * counters are exact in every mode, sampled or not.
 *
 * The peak moment is the maximum of the pair (tracked, pylive) in
 * lexicographic order: of the moments with the highest tracked total, the one
 * where the most pymalloc arena space was occupied by live objects.  Small
 * object allocations do not change `tracked` (their arena was counted when it
 * was mapped), so without the second key the peak would be frozen at the
 * instant an arena was mapped, before the objects that fill it existed.
 *
 * Ordering rule for callers: record an allocation in the call tree *before*
 * adding its bytes here, and remove a freed block from the call tree before
 * (or while) subtracting; a new peak then always includes the allocation
 * that made it.
 */
#ifndef HM_TOTALS_H
#define HM_TOTALS_H

#include "common.h"

typedef struct {
    int64_t tracked;          /* atomic */
    int64_t peak;             /* atomic, max of tracked */
    uint64_t epoch;           /* atomic, bumped at each new peak moment */
    int64_t peak_time_ns;     /* CLOCK_MONOTONIC_COARSE at the peak */
    int64_t pyarena;          /* bytes in pymalloc arenas (atomic) */
    int64_t pylive;           /* bytes of live pymalloc blocks (changed under the GIL) */
    int64_t peak_pyarena;     /* the two above at the peak moment */
    int64_t peak_pylive;
} __attribute__((aligned(64))) hm_totals_t;

extern hm_totals_t hm_totals;

void hm_totals_new_peak(int64_t now);
void hm_totals_new_pylive_peak(void);

static inline void hm_tracked_add(int64_t delta)
{
    int64_t now = __atomic_add_fetch(&hm_totals.tracked, delta, __ATOMIC_RELAXED);
    if (delta > 0 && now > __atomic_load_n(&hm_totals.peak, __ATOMIC_RELAXED))
        hm_totals_new_peak(now);
}

static inline void hm_pylive_add(int64_t delta)
{
    int64_t live = hm_totals.pylive += delta;
    if (delta > 0 && HM_UNLIKELY(live > hm_totals.peak_pylive) &&
        __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED) ==
            __atomic_load_n(&hm_totals.peak, __ATOMIC_RELAXED))
        hm_totals_new_pylive_peak();
}

static inline void hm_pyarena_add(int64_t delta)
{
    __atomic_add_fetch(&hm_totals.pyarena, delta, __ATOMIC_RELAXED);
    hm_tracked_add(delta);
}

static inline uint64_t hm_peak_epoch(void)
{
    return __atomic_load_n(&hm_totals.epoch, __ATOMIC_ACQUIRE);
}

#endif
