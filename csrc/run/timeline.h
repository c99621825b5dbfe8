/*
 * timeline.h - memory over time, the garbage collector's runs and the
 * program's phases (see timeline.c).
 *
 * Owns: the three tables a profile's timeline is made of, and their copy for
 * the profile store.
 * Must never: be called from an allocation hook; the recording functions
 * take the timeline's own mutex for a few stores and call nothing else.
 */
#ifndef HM_TIMELINE_H
#define HM_TIMELINE_H

#include "common/common.h"

#include <time.h>

#define HM_TIMELINE_POINTS 4096  /* samples kept; more are thinned (timeline.c) */
#define HM_TIMELINE_GC_RUNS 2048 /* collections kept; the longest stay */
#define HM_TIMELINE_PHASES 1024
#define HM_TIMELINE_NAME 120      /* bytes of a phase name kept, UTF-8 */
#define HM_TIMELINE_MAX_DEPTH 255 /* deeper phases are stored at this depth (the reader's bound) */
#define HM_TIMELINE_DEFAULT_MS 10 /* the sampling interval until thinning doubles it */

typedef struct {
    double t;        /* seconds since the run (or forked child) started */
    int64_t tracked; /* exact tracked bytes at t */
    int64_t rss;     /* resident set, bytes */
} hm_tl_point;

typedef struct {
    double t_start, t_end;
    int64_t tracked_before, tracked_after;
    int generation;
} hm_tl_gc;

typedef struct {
    char name[HM_TIMELINE_NAME];
    double t_start;
    double t_end; /* < 0: still open */
    int depth;    /* nesting: 0 outermost */
    bool entered; /* used as a context manager (ends at its exit) */
} hm_tl_phase;

/* A consistent copy of the tables, for the store; heap memory (the writer's
 * thread has its allocations unrecorded). */
typedef struct hm_timeline_data {
    hm_tl_point *points;
    size_t npoints;
    hm_tl_gc *gc;
    size_t ngc;
    hm_tl_phase *phases;
    size_t nphases;
    double interval_s;      /* the sampling interval at the end */
    int64_t gc_collections; /* every collection seen, kept in the table or not */
    double gc_seconds;      /* their total duration */
    int64_t phases_dropped; /* phase() calls beyond HM_TIMELINE_PHASES */
} hm_timeline_data;

/* The first sampling interval (HEAPMARK_TIMELINE_MS, read at start-up; 0:
 * no samples, no GC runs - phases are still recorded). */
void hm_timeline_configure(unsigned interval_ms);
unsigned hm_timeline_interval_ms(void);
/* Starts (or, in a forked child, restarts) the timeline at `start`,
 * CLOCK_MONOTONIC: the tables are emptied and old phase ids stop working. */
void hm_timeline_reset(const struct timespec *start);
/* A forked child that is not profiled: records nothing more (its tables
 * are the parent's copy) and never waits on a mutex the fork copied held. */
void hm_timeline_disown(void);
/* The monitor thread, at every tick: takes a sample when one is due (or
 * now, when forced: the last one, as recording stops). */
void hm_timeline_tick(bool force);
/* The process's resident set now, bytes (the monitor thread, for run/job.c). */
int64_t hm_timeline_rss(void);
/* Seconds since the start given to hm_timeline_reset. */
double hm_timeline_now(void);
/* A collection starts (stop = false) or ends; GIL held. */
void hm_timeline_gc(bool stop, int generation);
/* Phases (GIL held): begin returns an id (-1 if none was recorded); a
 * phase begun at some depth ends a still-open phase begun there without a
 * `with`.  enter marks it as a context manager; end closes it and every
 * phase begun inside it. */
int hm_timeline_phase_begin(const char *name);
void hm_timeline_phase_enter(int id);
void hm_timeline_phase_end(int id);

/* The samples so far in at most n points, for a small chart (run/watch.c):
 * the run cut into n equal spans of time, each span's sample with the most
 * tracked memory, spans without a sample left out.  Returns how many. */
size_t hm_timeline_overview(hm_tl_point *out, size_t n);
bool hm_timeline_copy(hm_timeline_data *out);
/* Cuts a copy back to what was known at until_s (the moment a profile's
 * tables were taken, when it is written a little later): samples and GC runs
 * after it go, phases begun after it go, phases ended after it are open. */
void hm_timeline_data_trim(hm_timeline_data *d, double until_s);
void hm_timeline_data_free(hm_timeline_data *d);

#endif
