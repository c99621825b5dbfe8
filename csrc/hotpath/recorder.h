/*
 * recorder.h - where a sampled event becomes part of the profile.
 *
 * The hot path (this folder) is everything that runs inside the program's
 * own allocation calls: malloc_hooks.c and python_hooks.c take the call and
 * decide who accounts for it, sampler.c draws the byte countdown, and only a
 * sampled block comes here, where stack_walk.c reads the Python frames,
 * call_tree.c interns the stack, node_values.c moves the now/peak/allocated
 * values, live_table.c remembers the block for its free, and totals.c keeps
 * the exact totals and the peak moment.  threads.c and mappings.c hold the
 * per-thread and per-mapping records.  The folder's files include only each
 * other and the hook-safe part of common/ (tests/test_layers.py): they reach
 * the run above them only through function pointers the run sets.
 *
 * Owns: the recorder lock (one spinlock over call tree, snapshots, live
 * table, mappings and code descriptors), the recording state, and the two
 * inline accounting steps every hook shares.
 * Must never: be entered re-entrantly - the guard in hm_tls makes any
 * allocation made while the lock is held pass through untracked - or call
 * malloc while holding the lock.
 */
#ifndef HM_RECORDER_H
#define HM_RECORDER_H

#include "common/common.h"
#include "hotpath/live_table.h"
#include "hotpath/sampler.h"
#include "hotpath/totals.h"

enum { HM_PASSIVE = 0, HM_RECORDING = 1, HM_STOPPED = 2 };
extern int hm_state;

static inline HM_FAST_PATH bool hm_recording(void)
{
    return __atomic_load_n(&hm_state, __ATOMIC_RELAXED) == HM_RECORDING;
}

void hm_lock(void);
void hm_unlock(void);
/* The lock if it is free now (a signal handler must not wait for it). */
bool hm_trylock(void);

/* Under the lock, before recording starts: memory already allocated goes to
 * the [before profiling started] node. */
void hm_record_adopt_startup(void);
/* Which counter a block's bytes belong to: `tracked` (native blocks,
 * malloc'ed objects, mappings) or `pylive` (pymalloc blocks). */
typedef enum { HM_COUNT_TRACKED, HM_COUNT_PYLIVE } hm_counter;

/* After hm_sample_hit: records the block if recording and the sampler
 * settles on it.  True if recorded, and then its bytes have been counted in
 * the same critical section; false: the caller counts them. */
bool hm_record_alloc(void *ptr, size_t size, hm_counter counter);
/* ptr's `size` bytes are being released: retires its record if it has one
 * and uncounts the bytes, both under the lock.  True if ptr was recorded. */
bool hm_record_free(void *ptr, size_t size, hm_counter counter);

/* A native realloc: the old block is taken out (record and bytes) before
 * libc may hand its address to another thread, and put back if realloc
 * fails. */
typedef struct {
    hm_live_block block;
    bool found;            /* block holds the record taken */
    int64_t startup_bytes; /* taken from [before profiling started] instead */
    int64_t bytes;
} hm_taken;
void hm_record_take(void *ptr, size_t size, hm_taken *taken);
void hm_record_restore(const hm_taken *taken);
/* A tracked mapping appeared; or a range went: returns the tracked bytes
 * that went.  Both count the bytes under the lock. */
void hm_record_map(uintptr_t start, size_t len);
int64_t hm_record_unmap(uintptr_t start, size_t len);
uint32_t hm_record_thread_base(void);

/* A block of `usable` bytes appeared at ptr: sample it and count it. */
static inline HM_FAST_PATH void hm_account_alloc(void *ptr, size_t usable)
{
    if (HM_UNLIKELY(hm_sample_hit(usable)) && hm_record_alloc(ptr, usable, HM_COUNT_TRACKED))
        return;
    hm_tracked_add((int64_t)usable);
}

/* The block of `usable` bytes recorded (if at all) as ptr is about to be
 * released. */
static inline HM_FAST_PATH void hm_account_free(void *ptr, size_t usable)
{
    if (hm_live_maybe(ptr) && hm_recording())
        hm_record_free(ptr, usable, HM_COUNT_TRACKED);
    else
        hm_tracked_add(-(int64_t)usable);
}

#endif
