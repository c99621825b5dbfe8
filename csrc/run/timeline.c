/*
 * timeline.c - memory over time: tracked bytes and RSS sampled by the
 * monitor thread, the garbage collector's runs, and the program's phases
 * (heapmark.phase).
 *
 * Owns: three fixed-size tables mapped once in heapmark's own memory
 * (ownmem.c), the mutex that guards them, and the descriptor of
 * /proc/self/statm the samples read.
 * Must never: be called from an allocation hook, allocate, or call out while
 * holding its mutex: every critical section is a handful of stores (and, for
 * a sample, one pread), so the Python threads that mark phases or run the
 * collector never wait long.
 *
 * Bounded, whatever the run's length:
 *   samples  start every HEAPMARK_TIMELINE_MS (default 10); when the table is full, each
 *            pair of neighbours becomes the one with more tracked memory (a
 *            spike survives thinning) and the interval doubles;
 *   GC runs  every collection is counted (gc_collections, gc_seconds); when
 *            the table is full only the runs longer than the median stay,
 *            and from then on only runs longer than that are kept: the
 *            pauses a chart should show;
 *   phases   the first HM_TIMELINE_PHASES; later ones are counted as dropped.
 */
#include "run/timeline.h"
#include "common/ownmem.h"
#include "hotpath/totals.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static struct timespec start;
static hm_tl_point *points;
static hm_tl_gc *gc_runs;
static hm_tl_phase *phases;
static size_t npoints, ngc, nphases;
static double interval_s, next_due;
static double gc_min_duration; /* runs no longer than this are not kept */
static int64_t gc_collections, phases_dropped;
static double gc_seconds;
static hm_tl_gc gc_current; /* the collection under way (GIL held) */
static int with_depth;      /* phases open as context managers */
static int epoch;           /* in phase ids: a forked child's old ids are stale */
static unsigned first_ms = HM_TIMELINE_DEFAULT_MS;
static int statm_fd = -1;
static long page_size;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - start.tv_sec) + (double)(ts.tv_nsec - start.tv_nsec) / 1e9;
}

void hm_timeline_configure(unsigned interval_ms)
{
    first_ms = interval_ms;
}

unsigned hm_timeline_interval_ms(void)
{
    return first_ms;
}

void hm_timeline_disown(void)
{
    /* Another thread (the parent's monitor, mid-sample) may have held the
     * mutex when the process forked: this child's copy would never unlock. */
    pthread_mutex_init(&mutex, NULL);
    points = NULL;
    gc_runs = NULL;
    phases = NULL;
    npoints = ngc = nphases = 0; /* the parent's phase ids find nothing */
}

void hm_timeline_reset(const struct timespec *at)
{
    pthread_mutex_init(&mutex, NULL); /* a fork may have copied it held */
    if (!points) {
        points = hm_own_map(HM_TIMELINE_POINTS * sizeof *points);
        gc_runs = hm_own_map(HM_TIMELINE_GC_RUNS * sizeof *gc_runs);
        phases = hm_own_map(HM_TIMELINE_PHASES * sizeof *phases);
    }
    start = *at;
    npoints = ngc = nphases = 0;
    interval_s = first_ms / 1000.0;
    next_due = 0;
    gc_min_duration = 0;
    gc_collections = phases_dropped = 0;
    gc_seconds = 0;
    gc_current.t_start = -1;
    with_depth = 0;
    epoch = (epoch + 1) & 0x7fff;
    if (statm_fd >= 0)
        close(statm_fd); /* the parent's: /proc/self was resolved at open */
    statm_fd = -1;
}

static int64_t read_rss(void)
{
    if (statm_fd < 0) {
        statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        page_size = sysconf(_SC_PAGESIZE);
    }
    char buf[128];
    ssize_t n = statm_fd >= 0 ? pread(statm_fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strchr(buf, ' '); /* size, then resident, in pages */
    return p ? strtoll(p + 1, NULL, 10) * page_size : 0;
}

int64_t hm_timeline_rss(void)
{
    pthread_mutex_lock(&mutex);
    int64_t rss = read_rss();
    pthread_mutex_unlock(&mutex);
    return rss;
}

void hm_timeline_tick(bool force)
{
    if (!points || !first_ms)
        return;
    /* The time is read under the mutex: the last sample, forced by the
     * thread that stops recording, may race the monitor's, and rows must
     * stay in time order (the reader refuses them otherwise). */
    pthread_mutex_lock(&mutex);
    double t = now_s();
    if (t < next_due && !force) {
        pthread_mutex_unlock(&mutex);
        return;
    }
    int64_t tracked = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    int64_t rss = read_rss();
    if (npoints == HM_TIMELINE_POINTS) {
        for (size_t i = 0; i < HM_TIMELINE_POINTS / 2; i++) {
            hm_tl_point *a = &points[2 * i], *b = &points[2 * i + 1];
            points[i] = a->tracked >= b->tracked ? *a : *b;
        }
        npoints = HM_TIMELINE_POINTS / 2;
        interval_s *= 2;
    }
    points[npoints++] = (hm_tl_point){t, tracked, rss};
    next_due += interval_s;
    if (next_due <= t)
        next_due = t + interval_s;
    pthread_mutex_unlock(&mutex);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The table is full: keep the runs longer than the median. */
static void keep_longest_runs(void)
{
    static double durations[HM_TIMELINE_GC_RUNS];
    for (size_t i = 0; i < ngc; i++)
        durations[i] = gc_runs[i].t_end - gc_runs[i].t_start;
    qsort(durations, ngc, sizeof *durations, compare_double);
    gc_min_duration = durations[ngc / 2];
    size_t kept = 0;
    for (size_t i = 0; i < ngc; i++)
        if (gc_runs[i].t_end - gc_runs[i].t_start > gc_min_duration)
            gc_runs[kept++] = gc_runs[i];
    ngc = kept;
}

void hm_timeline_gc(bool stop, int generation)
{
    if (!points || !first_ms || generation < 0 || generation > 2)
        return; /* the reader accepts generations 0-2 */
    int64_t tracked = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    double t = now_s();
    if (!stop) {
        gc_current = (hm_tl_gc){t, -1, tracked, 0, generation};
        return;
    }
    if (gc_current.t_start < 0) /* began before the callback was installed */
        return;
    gc_current.t_end = t;
    gc_current.tracked_after = tracked;
    pthread_mutex_lock(&mutex);
    gc_collections++;
    gc_seconds += t - gc_current.t_start;
    if (t - gc_current.t_start > gc_min_duration) {
        if (ngc == HM_TIMELINE_GC_RUNS)
            keep_longest_runs();
        if (t - gc_current.t_start > gc_min_duration)
            gc_runs[ngc++] = gc_current;
    }
    pthread_mutex_unlock(&mutex);
    gc_current.t_start = -1;
}

static int phase_index(int id)
{
    if (id < 0 || (id >> 16) != epoch)
        return -1;
    int i = id & 0xffff;
    return (size_t)i < nphases ? i : -1;
}

int hm_timeline_phase_begin(const char *name)
{
    if (!phases)
        return -1;
    pthread_mutex_lock(&mutex);
    double t = now_s(); /* under the mutex: phases' times stay ordered */
    for (size_t i = 0; i < nphases; i++)
        if (phases[i].t_end < 0 && !phases[i].entered && phases[i].depth >= with_depth)
            phases[i].t_end = t;
    int id = -1;
    if (nphases == HM_TIMELINE_PHASES) {
        phases_dropped++;
    } else {
        hm_tl_phase *p = &phases[nphases];
        size_t len = strlen(name);
        if (len >= sizeof p->name) {
            len = sizeof p->name - 1;
            while (len > 0 && ((unsigned char)name[len] & 0xC0) == 0x80)
                len--; /* not inside a UTF-8 sequence */
        }
        memcpy(p->name, name, len);
        p->name[len] = '\0';
        p->t_start = t;
        p->t_end = -1;
        p->depth = with_depth < HM_TIMELINE_MAX_DEPTH ? with_depth : HM_TIMELINE_MAX_DEPTH;
        p->entered = false;
        id = (epoch << 16) | (int)nphases++;
    }
    pthread_mutex_unlock(&mutex);
    return id;
}

void hm_timeline_phase_enter(int id)
{
    pthread_mutex_lock(&mutex);
    int i = phase_index(id);
    if (i >= 0 && phases[i].t_end < 0 && !phases[i].entered) {
        phases[i].entered = true;
        with_depth = phases[i].depth + 1;
    }
    pthread_mutex_unlock(&mutex);
}

void hm_timeline_phase_end(int id)
{
    pthread_mutex_lock(&mutex);
    double t = now_s();
    int i = phase_index(id);
    if (i >= 0 && phases[i].t_end < 0) {
        for (size_t j = (size_t)i; j < nphases; j++)
            if (phases[j].t_end < 0)
                phases[j].t_end = t;
        if (phases[i].entered)
            with_depth = phases[i].depth;
    }
    pthread_mutex_unlock(&mutex);
}

static void *copy_of(const void *src, size_t n, size_t elem)
{
    void *p = malloc(n ? n * elem : 1);
    if (p && n)
        memcpy(p, src, n * elem);
    return p;
}

bool hm_timeline_copy(hm_timeline_data *out)
{
    memset(out, 0, sizeof *out);
    if (!points)
        return true;
    pthread_mutex_lock(&mutex);
    out->points = copy_of(points, npoints, sizeof *points);
    out->gc = copy_of(gc_runs, ngc, sizeof *gc_runs);
    out->phases = copy_of(phases, nphases, sizeof *phases);
    out->npoints = npoints;
    out->ngc = ngc;
    out->nphases = nphases;
    out->interval_s = interval_s;
    out->gc_collections = gc_collections;
    out->gc_seconds = gc_seconds;
    out->phases_dropped = phases_dropped;
    pthread_mutex_unlock(&mutex);
    if (!out->points || !out->gc || !out->phases) {
        hm_timeline_data_free(out);
        return false;
    }
    return true;
}

size_t hm_timeline_overview(hm_tl_point *out, size_t n)
{
    if (!points || n == 0)
        return 0;
    size_t kept = 0, last_bucket = 0;
    pthread_mutex_lock(&mutex);
    double span = npoints ? points[npoints - 1].t : 0;
    for (size_t i = 0; i < npoints; i++) {
        size_t bucket = span > 0 ? (size_t)(points[i].t / span * (double)(n - 1)) : 0;
        if (bucket >= n)
            bucket = n - 1;
        /* In time order: a span's samples are neighbours. */
        if (kept && bucket == last_bucket) {
            if (points[i].tracked > out[kept - 1].tracked)
                out[kept - 1] = points[i];
            continue;
        }
        out[kept++] = points[i];
        last_bucket = bucket;
    }
    pthread_mutex_unlock(&mutex);
    return kept;
}

void hm_timeline_data_trim(hm_timeline_data *d, double until_s)
{
    /* Each table is appended to in time order. */
    while (d->npoints && d->points[d->npoints - 1].t > until_s)
        d->npoints--;
    while (d->ngc && d->gc[d->ngc - 1].t_start > until_s)
        d->ngc--;
    while (d->nphases && d->phases[d->nphases - 1].t_start > until_s)
        d->nphases--;
    for (size_t i = 0; i < d->nphases; i++)
        if (d->phases[i].t_end > until_s)
            d->phases[i].t_end = -1;
}

void hm_timeline_data_free(hm_timeline_data *d)
{
    free(d->points);
    free(d->gc);
    free(d->phases);
    memset(d, 0, sizeof *d);
}

double hm_timeline_now(void)
{
    return now_s();
}
