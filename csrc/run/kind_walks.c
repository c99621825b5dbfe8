/*
 * kind_walks.c - when the heap is walked for kinds, and the walks kept (see
 * kind_walks.h).
 *
 * Owns: the walk threshold, the pending flag, the two kept walks and their
 * mutex (never the recorder lock: walks are published from the
 * interpreter's thread while the monitor thread may be writing a profile).
 * Must never: allocate while holding the recorder lock (the block arrays
 * are sized first, and a table that grew meanwhile is copied in part: the
 * blocks left out are the newest, and the rows say only what was joined).
 */
#include "run/kind_walks.h"
#include "hotpath/live_table.h"
#include "hotpath/mappings.h"
#include "hotpath/recorder.h"
#include "hotpath/sampler.h"
#include "hotpath/threads.h"
#include "hotpath/totals.h"
#include "common/hashmap.h"
#include "run/timeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A walk is asked for when the tracked total reaches this many times the
 * largest one walked, and not below KIND_WALK_FIRST: the walks' total cost
 * stays under 1 / (1 - 1 / growth) = 5 times the largest walk's, and the
 * walk kept for the peak saw at least 80% of the bytes of any peak that
 * lasted until the next tick. */
#define KIND_WALK_GROWTH_NUM 5
#define KIND_WALK_GROWTH_DEN 4
#define KIND_WALK_FIRST (4 << 20)
/* By default the walks may take this share of the run's time: a walk that
 * would go beyond it waits (memory may have grown further by then), so that
 * kinds never make a run more than about this much slower. */
/* 1%, with the allowance below: the default mode is meant to be left on,
 * and at 10% (then 3%) the walks were the largest cost of a 1 s run under
 * callgrind (docs/performance.md, issue 15); --kinds-time raises it. */
#define KIND_WALK_BUDGET 0.01
#define NATIVE_KIND "native"

static pthread_mutex_t walks_mutex = PTHREAD_MUTEX_INITIALIZER;
static hm_kind_walk *peak_walk, *end_walk;
static int64_t next_threshold = KIND_WALK_FIRST; /* atomic */
static int64_t best_tracked;                     /* atomic: the kept peak walk's */
/* A plateau: memory that grew less than the growth asks, but stayed 5%
 * above the peak walk for PLATEAU_S, gets a walk too: a program that builds
 * its data and then works on it peaks there. */
#define PLATEAU_NUM 21
#define PLATEAU_DEN 20
#define PLATEAU_S 0.2
static double plateau_since = -1; /* monitor thread only */
/* 0: no walk asked for; PENDING_QUEUED: the scheduler's call is queued;
 * PENDING_PUT_OFF: it ran and put the walk off (kind_walk_api.c). */
enum { PENDING_NONE, PENDING_QUEUED, PENDING_PUT_OFF };
static int pending;                               /* atomic */
static volatile double budget = KIND_WALK_BUDGET; /* 0: no walks */
static bool (*scheduler)(void);
static void (*poker)(void);
static double pending_since; /* monitor thread only */
#define POKE_AFTER_S 0.1
/* Written by the thread that walks, read by the monitor: doubles as bit
 * patterns would need atomics; a stale value only shifts one decision. */
static volatile double walks_seconds, seconds_per_byte;

/* Walking time allowed whatever the share, so that a short run still gets
 * a walk (a heap of 20 MB walks in about 10 ms): 10 ms under heapmark run,
 * 50 ms in a span tracked in-process (a notebook cell, a test: short and
 * looked at on purpose).  The end's walk and the others have their own
 * (the same so far: giving the others none moved short programs' kept
 * walks to moments where a local variable's buffer showed as native). */
static volatile double end_free_seconds = 0.01, free_seconds = 0.01;

/* Whether a walk now keeps the walks within their budget (the first is
 * always allowed: nothing says yet what a walk costs). */
static bool within_budget(int64_t tracked)
{
    double estimate = seconds_per_byte * (double)tracked;
    return walks_seconds + estimate <= budget * hm_timeline_now() + free_seconds;
}

/* The end walk is the last chance to see what the program kept, often its
 * peak: it runs if it alone fits the share, whatever the walks before took
 * (so the walks of a run take at most twice their share). */
bool hm_kind_walks_end_due(void)
{
    int64_t tracked = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    return hm_kind_walks_enabled() && hm_recording() &&
           (walks_seconds == 0 ||
            seconds_per_byte * (double)tracked <= budget * hm_timeline_now() + end_free_seconds);
}

void hm_kind_walks_set_scheduler(bool (*schedule)(void), void (*poke)(void))
{
    __atomic_store_n(&poker, poke, __ATOMIC_RELEASE);
    __atomic_store_n(&scheduler, schedule, __ATOMIC_RELEASE);
}

void hm_kind_walks_configure(double share, double end_free_s, double free_s)
{
    end_free_seconds = end_free_s;
    free_seconds = free_s;
    budget = share > 0 ? share : 0;
}

double hm_kind_walks_share(void)
{
    return budget;
}

bool hm_kind_walks_enabled(void)
{
    return budget > 0;
}

void hm_kind_walks_poll(void)
{
    bool (*schedule)(void) = __atomic_load_n(&scheduler, __ATOMIC_ACQUIRE);
    if (!schedule || !hm_kind_walks_enabled() || !hm_recording())
        return;
    int put_off = PENDING_PUT_OFF;
    if (__atomic_compare_exchange_n(&pending, &put_off, PENDING_QUEUED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        /* Due when it was put off: the totals may have fallen since. */
        pending_since = hm_timeline_now();
        if (!schedule())
            __atomic_store_n(&pending, PENDING_NONE, __ATOMIC_RELEASE);
        return;
    }
    int64_t tracked = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    int64_t best = __atomic_load_n(&best_tracked, __ATOMIC_RELAXED);
    double now = hm_timeline_now();
    bool due = tracked >= __atomic_load_n(&next_threshold, __ATOMIC_RELAXED);
    if (best > 0 && tracked >= best / PLATEAU_DEN * PLATEAU_NUM) {
        if (plateau_since < 0)
            plateau_since = now;
        due |= now - plateau_since >= PLATEAU_S;
    } else {
        plateau_since = -1;
    }
    if (!due || !within_budget(tracked))
        return;
    if (__atomic_exchange_n(&pending, PENDING_QUEUED, __ATOMIC_ACQ_REL) == PENDING_QUEUED) {
        if (now - pending_since > POKE_AFTER_S) {
            __atomic_load_n(&poker, __ATOMIC_ACQUIRE)();
            pending_since = now;
        }
        return;
    }
    plateau_since = -1;
    pending_since = now;
    if (!schedule())
        __atomic_store_n(&pending, PENDING_NONE, __ATOMIC_RELEASE);
}

void hm_kind_walks_defer(void)
{
    __atomic_store_n(&pending, PENDING_PUT_OFF, __ATOMIC_RELEASE);
}

static void blocks_free(hm_kind_blocks *b)
{
    free(b->start);
    free(b->size);
    free(b->node);
    free(b->mapping);
    free(b->kind);
    free(b->object);
    free(b->attributes);
    free(b->float_items);
    free(b->text_group);
    memset(b, 0, sizeof *b);
}

static bool blocks_alloc(hm_kind_blocks *b, size_t cap)
{
    cap = cap ? cap : 1;
    b->start = malloc(cap * sizeof *b->start);
    b->size = malloc(cap * sizeof *b->size);
    b->node = malloc(cap * sizeof *b->node);
    b->mapping = calloc(cap, sizeof *b->mapping);
    b->kind = malloc(cap * sizeof *b->kind);
    b->object = calloc(cap, sizeof *b->object);
    b->attributes = calloc(cap, sizeof *b->attributes);
    b->float_items = calloc(cap, sizeof *b->float_items);
    b->text_group = calloc(cap, sizeof *b->text_group);
    return b->start && b->size && b->node && b->mapping && b->kind && b->object && b->attributes &&
           b->float_items && b->text_group;
}

/* Sorts the parallel arrays by start (a permutation sorted once). */
static const uintptr_t *sort_starts;
static int by_start(const void *a, const void *b)
{
    uintptr_t x = sort_starts[*(const size_t *)a], y = sort_starts[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

/* Few blocks are sorted for a binary search; many are indexed by the join. */
#define SORT_BELOW 4096

static bool blocks_sort(hm_kind_blocks *b)
{
    size_t n = b->n;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    hm_kind_blocks s = {0};
    if (!order || !blocks_alloc(&s, n)) {
        free(order);
        blocks_free(&s);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    sort_starts = b->start;
    qsort(order, n, sizeof *order, by_start);
    for (size_t i = 0; i < n; i++) {
        s.start[i] = b->start[order[i]];
        s.size[i] = b->size[order[i]];
        s.node[i] = b->node[order[i]];
        s.mapping[i] = b->mapping[order[i]];
    }
    free(order);
    s.n = n;
    s.sorted = true;
    s.tracked = b->tracked;
    s.at_s = b->at_s;
    blocks_free(b);
    *b = s;
    return true;
}

bool hm_kind_walks_take_blocks(hm_kind_blocks *b)
{
    memset(b, 0, sizeof *b);
    hm_tls.guard++;
    hm_lock();
    size_t want = hm_live_count() + hm_maps_count();
    hm_unlock();
    want += want / 8 + 256; /* what may be recorded before the copy */
    hm_live_block *live = malloc(want * sizeof *live);
    if (!live || !blocks_alloc(b, want)) {
        free(live);
        hm_kind_walks_end(b);
        return false;
    }
    hm_lock();
    size_t n = hm_live_copy(live, want);
    size_t m = hm_maps_copy(b->start + n, b->size + n, b->node + n, want - n);
    b->tracked = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    hm_unlock();
    for (size_t i = 0; i < n; i++) {
        b->start[i] = live[i].ptr;
        b->size[i] = live[i].size;
        b->node[i] = live[i].node;
    }
    for (size_t i = n; i < n + m; i++)
        b->mapping[i] = 1;
    free(live);
    b->n = n + m;
    b->at_s = hm_timeline_now();
    if (b->n < SORT_BELOW && !blocks_sort(b)) {
        hm_kind_walks_end(b);
        return false;
    }
    return true;
}

void hm_kind_walks_end(hm_kind_blocks *b)
{
    blocks_free(b);
    hm_tls.guard--;
    __atomic_store_n(&pending, PENDING_NONE, __ATOMIC_RELEASE);
}

/* Walks are heapmark's memory, whichever thread lets go of them last. */
static void walk_free(hm_kind_walk *w)
{
    hm_tls.guard++;
    for (uint32_t i = 0; i < w->nnames; i++)
        free(w->names[i]);
    free(w->names);
    free(w->rows);
    free(w);
    hm_tls.guard--;
}

void hm_kind_walk_release(hm_kind_walk *w)
{
    if (w && __atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL) == 0)
        walk_free(w);
}

/* For each text of the recorded strs (group g), the share of its bytes
 * that one object per text would save: with c objects estimated to hold it
 * (the blocks' count weights: exact in exact mode), (c - 1) / c.  A text
 * only one recorded block holds counts for nothing: in exact mode it is
 * unique; in sampled mode one sample cannot tell a unique text from one
 * held a hundred times, so rare texts are left out and the saving is a
 * lower bound (texts held many times, the ones interning is for, are
 * sampled many times).  NULL when there is no str (or no memory). */
static double *duplicate_shares(const hm_kind_blocks *b)
{
    uint32_t groups = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->text_group[i] > groups)
            groups = b->text_group[i];
    if (!groups)
        return NULL;
    double *objects = calloc((size_t)groups + 1, sizeof *objects);
    uint32_t *blocks = calloc((size_t)groups + 1, sizeof *blocks);
    if (!objects || !blocks) {
        free(objects);
        free(blocks);
        return NULL;
    }
    for (size_t i = 0; i < b->n; i++) {
        uint32_t g = b->text_group[i];
        if (!g)
            continue;
        int64_t weight_bytes, weight_count;
        hm_sampler_weight(b->size[i], &weight_bytes, &weight_count);
        objects[g] += (double)weight_bytes / (double)(b->size[i] ? b->size[i] : 1);
        blocks[g]++;
    }
    for (uint32_t g = 1; g <= groups; g++)
        objects[g] = blocks[g] >= 2 ? (objects[g] - 1) / objects[g] : 0;
    free(blocks);
    return objects;
}

/* Rows by (node, kind) from the joined blocks; the last name is native. */
static hm_kind_walk *walk_build(const hm_kind_blocks *b, const char *const *names, uint32_t nnames,
                                uint64_t objects)
{
    hm_kind_walk *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->refs = 1;
    w->tracked = b->tracked;
    w->at_s = b->at_s;
    w->seconds = hm_timeline_now() - b->at_s;
    w->objects = objects;
    w->names = calloc((size_t)nnames + 1, sizeof *w->names);
    w->rows = malloc((b->n ? b->n : 1) * sizeof *w->rows);
    if (!w->names || !w->rows)
        goto fail;
    for (uint32_t i = 0; i < nnames; i++)
        if (!(w->names[w->nnames++] = strdup(names[i])))
            goto fail;
    if (!(w->names[w->nnames++] = strdup(NATIVE_KIND)))
        goto fail;
    double *dup_share = duplicate_shares(b);
    hm_map index = {0};
    for (size_t i = 0; i < b->n; i++) {
        uint32_t kind = b->kind[i] < nnames ? b->kind[i] : nnames;
        int64_t bytes = (int64_t)b->size[i], count = 1;
        if (!b->mapping[i])
            hm_sampler_weight(b->size[i], &bytes, &count);
        uint64_t key = ((uint64_t)b->node[i] << 32 | kind) + 1;
        uint32_t row = hm_map_get(&index, key);
        if (row == UINT32_MAX) {
            row = (uint32_t)w->nrows;
            if (!hm_map_put(&index, key, row)) {
                hm_map_free(&index);
                free(dup_share);
                goto fail;
            }
            w->rows[w->nrows++] = (hm_kind_row){b->node[i], kind, 0, 0, 0, 0, 0};
        }
        w->rows[row].bytes += bytes;
        if (b->object[i])
            w->rows[row].count += count;
        w->rows[row].attributes += count * b->attributes[i];
        w->rows[row].float_items += count * b->float_items[i];
        if (b->text_group[i] && dup_share)
            w->rows[row].duplicate_bytes += (int64_t)((double)bytes * dup_share[b->text_group[i]]);
    }
    hm_map_free(&index);
    free(dup_share);
    return w;
fail:
    walk_free(w);
    return NULL;
}

void hm_kind_walks_publish(const hm_kind_blocks *b, const char *const *names, uint32_t nnames,
                           uint64_t objects, bool final)
{
    hm_kind_walk *w = walk_build(b, names, nnames, objects);
    if (w) {
        walks_seconds += w->seconds;
        if (w->tracked > 0)
            seconds_per_byte = w->seconds / (double)w->tracked;
        pthread_mutex_lock(&walks_mutex);
        hm_kind_walk *old_peak = NULL, *old_end = NULL;
        if (!peak_walk || w->tracked >= peak_walk->tracked) {
            old_peak = peak_walk;
            peak_walk = w;
            __atomic_add_fetch(&w->refs, 1, __ATOMIC_RELAXED);
        }
        if (final) {
            old_end = end_walk;
            end_walk = w;
            __atomic_add_fetch(&w->refs, 1, __ATOMIC_RELAXED);
        }
        int64_t best = peak_walk->tracked;
        pthread_mutex_unlock(&walks_mutex);
        __atomic_store_n(&best_tracked, best, __ATOMIC_RELAXED);
        __atomic_store_n(&next_threshold, best / KIND_WALK_GROWTH_DEN * KIND_WALK_GROWTH_NUM,
                         __ATOMIC_RELAXED);
        hm_kind_walk_release(old_peak);
        hm_kind_walk_release(old_end);
        hm_kind_walk_release(w);
    }
}

void hm_kind_walks_get(hm_kind_walk **peak, hm_kind_walk **end)
{
    pthread_mutex_lock(&walks_mutex);
    *peak = peak_walk;
    *end = end_walk;
    if (peak_walk)
        __atomic_add_fetch(&peak_walk->refs, 1, __ATOMIC_RELAXED);
    if (end_walk)
        __atomic_add_fetch(&end_walk->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&walks_mutex);
}

void hm_kind_walks_reset(bool forked)
{
    if (forked) {
        /* The mutex may have been copied held; the parent's walks stay
         * unreferenced in the child's copy of its memory. */
        pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
        walks_mutex = fresh;
        peak_walk = end_walk = NULL;
    } else {
        pthread_mutex_lock(&walks_mutex);
        hm_kind_walk *p = peak_walk, *e = end_walk;
        peak_walk = end_walk = NULL;
        pthread_mutex_unlock(&walks_mutex);
        hm_kind_walk_release(p);
        hm_kind_walk_release(e);
    }
    __atomic_store_n(&next_threshold, KIND_WALK_FIRST, __ATOMIC_RELAXED);
    __atomic_store_n(&best_tracked, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pending, PENDING_NONE, __ATOMIC_RELEASE);
    walks_seconds = seconds_per_byte = 0;
}
