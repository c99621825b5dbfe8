/*
 * kind_walks.h - kinds at the peak: when the heap is walked, and what the
 * walks found.
 *
 * Owns: the decision to walk the heap (the monitor thread asks for a walk
 * when the exact tracked total passes 1.25 times the largest total walked
 * so far, or stays 5% above it for 0.2 s, while the walks have taken less
 * than their share of the run's time, 10% by default), the copy of the recorded blocks a walk is joined
 * with, the weighting of each block (what it stands for, as the call tree
 * counts it), and the two walks a profile keeps: the one taken at the
 * highest tracked total, which stands for the peak, and the run's last,
 * taken at its end.
 * Must never: walk the heap itself (the census does, with the GIL held, in
 * a pending call the module schedules: pymodule/kind_walk_api.c), be called
 * from an allocation hook, or hold the recorder lock while it allocates.
 *
 * Why walks and not a type per recorded block: a block's type is not known
 * when the allocation hook sees it (the object is built after), and a
 * dict's owner, a list's items or a numpy array's data are only known from
 * the objects that hold them.  A walk near the peak sees what the peak's
 * blocks have become; the profile says when it ran and how much of the
 * peak was allocated then.
 */
#ifndef HM_KIND_WALKS_H
#define HM_KIND_WALKS_H

#include "common/common.h"

/* A call-tree node's bytes of one kind at a walk: estimates in sampled mode
 * (the block weights the call tree uses), exact in exact mode.  count: the
 * objects of that kind whose own block is there (0 for buffers and
 * native memory). */
typedef struct {
    uint32_t node; /* engine call-tree node */
    uint32_t kind; /* index into names */
    int64_t bytes, count;
    int64_t attributes;      /* instances: their attributes, summed (weighted like count) */
    int64_t float_items;     /* float-only lists: their items, summed (likewise) */
    int64_t duplicate_bytes; /* str objects whose text others hold too: see kind_walks.c */
} hm_kind_row;

typedef struct hm_kind_walk {
    int refs;         /* atomic: the walks table's and each capture's */
    double at_s;      /* when the walk ran, seconds since the start */
    double seconds;   /* how long it took */
    int64_t tracked;  /* exact tracked bytes when the blocks were copied */
    uint64_t objects; /* objects the walk found */
    char **names;     /* kind names; "native" for blocks no object owns */
    uint32_t nnames;
    hm_kind_row *rows;
    size_t nrows;
} hm_kind_walk;

/* The recorded blocks a walk is joined with, sorted by start, and what the
 * join says of each. */
typedef struct {
    uintptr_t *start;
    uint64_t *size;
    uint32_t *node;
    uint8_t *mapping; /* an mmap range: always recorded, weight = size */
    uint32_t *kind;   /* filled by the join; UINT32_MAX: no object owns it */
    uint8_t *object;
    uint32_t *attributes, *float_items, *text_group;
    size_t n;
    bool sorted; /* by start: done for few blocks (the join indexes many) */
    int64_t tracked;
    double at_s;
} hm_kind_blocks;

/* The module's scheduler: asks the interpreter's main thread to walk soon
 * (Py_AddPendingCall); false if it could not.  poke: reminds the main
 * thread of a walk scheduled a while ago that has not run (another thread
 * may have cleared the flag that makes it look). */
void hm_kind_walks_set_scheduler(bool (*schedule)(void), void (*poke)(void));
/* The share of the run's time walks may take (HEAPMARK_KINDS, a percentage
 * read by the engine at start-up; 0: no walks), and the seconds of walking
 * allowed whatever the share: to the end's walk, and to every walk. */
void hm_kind_walks_configure(double share, double end_free_s, double free_s);
double hm_kind_walks_share(void);
bool hm_kind_walks_enabled(void);
/* The monitor thread, every budget tick: schedules a walk when due (the
 * threshold is passed and the walks stay within KIND_WALK_BUDGET of the
 * run's time), and again a walk that was put off. */
void hm_kind_walks_poll(void);
/* The scheduled call, instead of walking: the walk is scheduled again at
 * the monitor's next tick, whatever the totals are then. */
void hm_kind_walks_defer(void);
/* Whether the end of the run gets a walk: if it is the first, or if its
 * own estimated cost fits the share of the run's time. */
bool hm_kind_walks_end_due(void);

/* GIL held, before the census walk: copies the recorded blocks.  From a
 * successful take to hm_kind_walks_end, this thread's native allocations are
 * heapmark's (hm_tls.guard), so that the walk's memory is never the
 * program's: whatever the walk allocates, it frees before the end. */
bool hm_kind_walks_take_blocks(hm_kind_blocks *b);
/* After the join: turns the blocks into rows by node and kind and keeps the
 * walk (final: the run's end walk). */
void hm_kind_walks_publish(const hm_kind_blocks *b, const char *const *names, uint32_t nnames,
                           uint64_t objects, bool final);
/* Frees the blocks, ends the guard, and lets the next walk be scheduled. */
void hm_kind_walks_end(hm_kind_blocks *b);

/* The kept walks, each with a reference (NULL where none was taken). */
void hm_kind_walks_get(hm_kind_walk **peak, hm_kind_walk **end);
void hm_kind_walk_release(hm_kind_walk *w);
/* A new run (forked: in a forked child): no walk, none pending. */
void hm_kind_walks_reset(bool forked);

#endif
