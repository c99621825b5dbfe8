/*
 * node_values.h - bytes and counts per call-tree node: now, at the peak, and
 * allocated in total.
 *
 * Owns: the per-node values and the amortised O(1) peak bookkeeping.
 * Must never: be called without the recorder lock, or copy the tree when a
 * new peak is reached (that is what the epoch scheme avoids).
 *
 * The peak breakdown without copying: totals.c bumps a global epoch at each
 * new peak moment.  Each node remembers the epoch in which it last changed.
 * A node about to change for the first time since the latest peak moment
 * still holds exactly its value at that moment, so it saves that value
 * (at_peak) and stamps itself with the epoch.  At any time, a node's value at
 * the peak is at_peak if it has changed since the peak, else its current
 * value.  Each recorded event costs O(1) whatever the number of peaks.
 */
#ifndef HM_SNAPSHOT_H
#define HM_SNAPSHOT_H

#include "common/common.h"

typedef struct {
    int64_t bytes;
    int64_t count;
} hm_amount;

bool hm_snap_reserve(uint32_t nodes); /* make room for node ids < nodes */
void hm_snap_alloc(uint32_t node, int64_t bytes, int64_t count);
void hm_snap_free(uint32_t node, int64_t bytes, int64_t count);

/* A forked child starts its own history: nothing allocated yet. */
void hm_snap_forget_allocated(void);
/* Every node back to zero, for another start in the process. */
void hm_snap_clear(void);

hm_amount hm_snap_now(uint32_t node);
hm_amount hm_snap_at_peak(uint32_t node);
hm_amount hm_snap_allocated(uint32_t node);

#endif
