/*
 * recorder.c - the sampled path: lock, stack, node, live table.
 *
 * Owns: the recorder lock and the glue between stack_walk.c (which node),
 * node_values.c (node values), live_table.c (which blocks stand for what) and
 * mappings.c (which ranges are tracked).
 * Must never: call malloc, Python code, or anything that can block on a
 * lock the program holds; the only lock is ours and nothing inside it
 * re-enters a hook (hm_tls.guard turns hooks into plain forwarders).
 */
#include "hotpath/recorder.h"
#include "hotpath/call_tree.h"
#include "hotpath/mappings.h"
#include "hotpath/native_stack.h"
#include "hotpath/stack_walk.h"
#include "hotpath/node_values.h"
#include "hotpath/threads.h"

#include <sched.h>

int hm_state = HM_PASSIVE;
static int lock_word;
static uint32_t startup_node = HM_NONE;

/* The guard covers the wait as well as the hold, so that a signal handler
 * can tell whether its thread might hold the lock (monitor.c). */
void hm_lock(void)
{
    hm_tls.guard++;
    unsigned spins = 0;
    while (__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&lock_word, __ATOMIC_RELAXED)) {
            if (++spins < 64)
                __builtin_ia32_pause();
            else
                sched_yield();
        }
    }
}

bool hm_trylock(void)
{
    hm_tls.guard++;
    if (!__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE))
        return true;
    hm_tls.guard--;
    return false;
}

void hm_unlock(void)
{
    __atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
    hm_tls.guard--;
}

/* Under the lock: counts `bytes` (negative to uncount) in `counter`;
 * returns the new tracked total for hm_totals_check_budget, or 0. */
static int64_t count_locked(hm_counter counter, int64_t bytes)
{
    if (counter == HM_COUNT_TRACKED)
        return hm_tracked_add_locked(bytes);
    if (bytes >= 0)
        hm_pylive_grow((size_t)bytes); /* pymalloc holds the GIL */
    else
        hm_pylive_shrink((size_t)-bytes);
    return 0;
}

/* The native frames of a recorded event (--native), read before the lock
 * is taken (native_stack.h). */
typedef struct {
    uintptr_t ips[HM_NATIVE_MAX];
    int count;
} native_frames;

static inline void unwind_native(native_frames *nf)
{
    nf->count = 0;
    if (HM_UNLIKELY(__atomic_load_n(&hm_native_unwinder, __ATOMIC_RELAXED) != NULL)) {
        hm_tls.guard++;
        nf->count = hm_native_unwind(nf->ips);
        hm_tls.guard--;
    }
}

/* Under the lock: the node of the event's whole stack. */
static uint32_t event_node(const native_frames *nf)
{
    uint32_t node = hm_stack_node();
    return nf->count ? hm_native_extend(node, nf->ips, nf->count) : node;
}

bool hm_record_alloc(void *ptr, size_t size, hm_counter counter)
{
    if (!hm_recording()) {
        hm_sampler_idle();
        return false;
    }
    if (!hm_sampler_settle(size))
        return false;
    int64_t bytes, count, now = 0;
    hm_sampler_weight(size, &bytes, &count);
    bool recorded = false;
    native_frames nf;
    unwind_native(&nf);
    hm_lock();
    if (hm_recording()) {
        uint32_t node = event_node(&nf);
        recorded = hm_live_insert((uintptr_t)ptr, size, node);
        if (recorded) {
            hm_snap_alloc(node, bytes, count);
            now = count_locked(counter, (int64_t)size);
        }
    }
    hm_unlock();
    if (recorded)
        hm_totals_check_budget(now, (int64_t)size);
    return recorded;
}

static void retire(const hm_live_block *b)
{
    if (b->node != HM_NONE) {
        int64_t bytes, count;
        hm_sampler_weight(b->size, &bytes, &count);
        hm_snap_free(b->node, bytes, count);
    }
    if (b->code)
        hm_code_freed(b->ptr);
}

void hm_record_adopt_startup(void)
{
    startup_node = hm_tree_child(HM_ROOT, hm_pseudo_frame(HM_PSEUDO_STARTUP));
    if (startup_node == HM_NONE)
        return;
    hm_maps_adopt(startup_node);
    hm_snap_alloc(startup_node, __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED), 0);
}

/* Under the lock: the bytes of a native block heapmark has no record of
 * leave [before profiling started] in exact mode, which records every block
 * allocated since the start (so an unknown block is older).  Returns the
 * bytes taken from that node. */
static int64_t forget_unrecorded(int64_t size)
{
    if (hm_bloom_word || startup_node == HM_NONE || hm_snap_now(startup_node).bytes < size)
        return 0;
    hm_snap_free(startup_node, size, 0);
    return size;
}

bool hm_record_free(void *ptr, size_t size, hm_counter counter)
{
    hm_live_block e;
    hm_lock();
    bool found = hm_live_take((uintptr_t)ptr, &e);
    if (found)
        retire(&e);
    else if (counter == HM_COUNT_TRACKED)
        forget_unrecorded((int64_t)size);
    count_locked(counter, -(int64_t)size);
    hm_unlock();
    return found;
}

void hm_record_take(void *ptr, size_t size, hm_taken *taken)
{
    taken->bytes = (int64_t)size;
    taken->startup_bytes = 0;
    hm_lock();
    taken->found = hm_live_take((uintptr_t)ptr, &taken->block);
    if (taken->found)
        retire(&taken->block);
    else
        taken->startup_bytes = forget_unrecorded(taken->bytes);
    hm_tracked_add_locked(-taken->bytes);
    hm_unlock();
}

void hm_record_restore(const hm_taken *taken)
{
    hm_lock();
    if (taken->found && hm_live_restore(&taken->block) && taken->block.node != HM_NONE) {
        int64_t bytes, count;
        hm_sampler_weight(taken->block.size, &bytes, &count);
        hm_snap_alloc(taken->block.node, bytes, count);
    }
    if (taken->startup_bytes)
        hm_snap_alloc(startup_node, taken->startup_bytes, 0);
    /* The bytes were counted before: no new peak, no budget to check. */
    __atomic_add_fetch(&hm_totals.tracked, taken->bytes, __ATOMIC_RELAXED);
    hm_unlock();
}

void hm_record_map(uintptr_t start, size_t len)
{
    native_frames nf;
    unwind_native(&nf);
    hm_lock();
    uint32_t node = hm_recording() ? event_node(&nf) : HM_NONE;
    if (hm_maps_add(start, len, node) && node != HM_NONE)
        hm_snap_alloc(node, (int64_t)len, 1);
    int64_t now = hm_tracked_add_locked((int64_t)len);
    hm_unlock();
    hm_totals_check_budget(now, (int64_t)len);
}

static void unmapped_piece(uint32_t node, int64_t bytes, bool last_piece)
{
    /* Once recording stops the tree is frozen: the profile is being written. */
    if (node != HM_NONE && hm_recording())
        hm_snap_free(node, bytes, last_piece ? 1 : 0);
}

int64_t hm_record_unmap(uintptr_t start, size_t len)
{
    hm_lock();
    int64_t removed = hm_maps_remove(start, len, unmapped_piece);
    hm_tracked_add_locked(-removed);
    hm_unlock();
    return removed;
}

uint32_t hm_record_thread_base(void)
{
    uint32_t node = HM_NONE;
    hm_lock();
    if (hm_recording()) {
        node = hm_tree_child(hm_stack_node(), hm_pseudo_frame(HM_PSEUDO_THREAD));
    }
    hm_unlock();
    return node;
}
