/*
 * totals.h - the exact byte counts and the moment of peak memory.
 *
 * Owns: tracked bytes (native heap usable sizes + tracked anonymous mappings
 * + pymalloc arenas + other Python virtual memory), its maximum, and the
 * "peak epoch" that node_values.c uses to keep the breakdown at that maximum.
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
 * Ordering rule for callers: a change that also changes the call tree (a
 * recorded block, a mapping) changes these counters inside the same recorder
 * critical section (hm_tracked_add_locked, hm_pylive_*), so that whoever
 * holds the lock sees tree and totals agree exactly - in exact mode, at every
 * locked instant, which is what makes the peak and end breakdowns add up to
 * the totals with threads racing.  A change the tree does not see (an
 * unsampled block) is counted lock-free with hm_tracked_add.
 *
 * A new peak moment only raises `peak_moved` (a plain store).  Call-tree
 * values change only under the recorder lock, so between two locked events
 * they are constant: the first locked event after a peak moment turns the
 * flag into a new epoch (hm_peak_epoch) before it changes anything, and sees
 * exactly the values the tree had at that moment.  That keeps atomic
 * read-modify-writes off the path that runs at every allocation while memory
 * grows.
 */
#ifndef HM_TOTALS_H
#define HM_TOTALS_H

#include "common/common.h"

typedef struct {
    /* Changed by any thread, lock-free. */
    int64_t tracked;      /* atomic */
    int64_t peak;         /* atomic, max of tracked */
    int64_t attention;    /* atomic, min(peak, oom threshold): beyond it, look */
    int64_t pyarena;      /* bytes in pymalloc arenas (atomic) */
    int peak_moved;       /* a peak moment happened since the last epoch */
    int64_t peak_time_ns; /* CLOCK_MONOTONIC_COARSE at the peak */
    int64_t peak_pyarena; /* pyarena and pylive at the peak moment */
    int64_t peak_pylive;
    /* Changed under the GIL (pymalloc requires it), on a line of its own. */
    int64_t pylive __attribute__((aligned(64))); /* bytes of live pymalloc blocks */
    /* Changed under the recorder lock. */
    uint64_t epoch __attribute__((aligned(64))); /* peak moments seen by the call tree */
} __attribute__((aligned(64))) hm_totals_t;

extern hm_totals_t hm_totals;

/* The memory alarm.  The budgets are the run's (run/out_of_memory.c), above
 * the hot path: it sets the threshold and the two calls at start-up, and
 * the hot path only compares against the threshold and, on the rare path,
 * calls through these (NULL: no alarm configured). */
typedef struct {
    int64_t threshold;                           /* atomic; INT64_MAX: none */
    void (*crossed)(int64_t now, int64_t bytes); /* an allocation went beyond it */
    void (*failed)(size_t bytes);                /* an allocation failed */
} hm_alarm_t;

extern hm_alarm_t hm_alarm;

static inline void hm_alarm_allocation_failed(size_t bytes)
{
    void (*failed)(size_t) = __atomic_load_n(&hm_alarm.failed, __ATOMIC_ACQUIRE);
    if (failed)
        failed(bytes);
}

void hm_totals_start_clock(void);
/* Tracked memory went beyond `attention`: a new peak, the OOM threshold, or both. */
void hm_totals_attend(int64_t now, int64_t delta);
/* The peak half of hm_totals_attend: safe under the recorder lock. */
void hm_totals_raise_peak(int64_t now);
/* The budget half: may write an out-of-memory report, so never under the lock. */
void hm_totals_check_budget(int64_t now, int64_t delta);
/* The OOM threshold moved: recompute `attention`. */
void hm_totals_refresh_attention(void);
/* A forked child: its peak starts from what it holds now. */
void hm_totals_restart_peak(void);
/* Under the lock, for another start in the process: every count from zero. */
void hm_totals_clear(void);
void hm_totals_new_pylive_peak(void);

/* `attention` is never above the peak (it is a min with a peak value once
 * installed, and peaks only grow), so no new peak goes unseen. */
static inline HM_FAST_PATH void hm_tracked_add(int64_t delta)
{
    int64_t now = __atomic_add_fetch(&hm_totals.tracked, delta, __ATOMIC_RELAXED);
    if (delta > 0 && now > __atomic_load_n(&hm_totals.attention, __ATOMIC_RELAXED))
        hm_totals_attend(now, delta);
}

/* Under the recorder lock; the caller passes the result to
 * hm_totals_check_budget once it has released the lock. */
static inline HM_FAST_PATH int64_t hm_tracked_add_locked(int64_t delta)
{
    int64_t now = __atomic_add_fetch(&hm_totals.tracked, delta, __ATOMIC_RELAXED);
    if (delta > 0 && now > __atomic_load_n(&hm_totals.attention, __ATOMIC_RELAXED))
        hm_totals_raise_peak(now);
    return now;
}

static inline HM_FAST_PATH void hm_pylive_grow(size_t bytes)
{
    int64_t live = hm_totals.pylive += (int64_t)bytes;
    if (HM_UNLIKELY(live > hm_totals.peak_pylive) &&
        __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED) ==
            __atomic_load_n(&hm_totals.peak, __ATOMIC_RELAXED))
        hm_totals_new_pylive_peak();
}

static inline HM_FAST_PATH void hm_pylive_shrink(size_t bytes)
{
    hm_totals.pylive -= (int64_t)bytes;
}

/* Under the recorder lock: the current epoch, opening a new one if a peak
 * moment happened since the last call. */
static inline uint64_t hm_peak_epoch(void)
{
    if (__atomic_load_n(&hm_totals.peak_moved, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&hm_totals.peak_moved, 0, __ATOMIC_RELAXED);
        hm_totals.epoch++;
    }
    return hm_totals.epoch;
}

#endif
