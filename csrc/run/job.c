/*
 * job.c - a run's processes as one job (job.h).
 *
 * A machine or a container kills a job for the memory of all its processes
 * together, so heapmark keeps one clock for them and watches their sum:
 *
 *   the job table  a file in the results directory (.heapmark-job), mapped
 *                  shared by every profiled process of the run: forked
 *                  children inherit the mapping, spawned ones open the file.
 *                  A header (the job's t = 0 on CLOCK_MONOTONIC, the largest
 *                  combined total so far and a generation bumped at each new
 *                  one) and a slot per process, claimed once, never reused.
 *   publishing     at every tick of its monitor thread a process stores its
 *                  exact tracked total and its RSS in its slot, and once,
 *                  where its total lives in its own memory.
 *   the watcher    the first process's monitor sums the live processes'
 *                  totals at each tick, read where they live (below),
 *                  keeps the combined timeline (one row per live
 *                  process per sample, thinned as timeline.c's samples are:
 *                  of two neighbours the one with the larger sum stays, so
 *                  the peak's sample survives), and at a new combined high
 *                  bumps the generation.
 *   candidates     a process whose monitor sees a new generation keeps its
 *                  node values as they are (a copy under the recorder lock)
 *                  with that generation: its job-peak candidate.  A process
 *                  that was alone at the high keeps no copy: its own peak
 *                  is then the job's moment (no later total of it can pass
 *                  a high it reached alone without making a new one).  At
 *                  its end a process takes a last candidate if a high came
 *                  since, so its profile hands it over; the reader keeps the
 *                  candidates of the final generation (merge.c).
 *
 * Reading the totals where they live: a published total is as old as its
 * process's last tick, and a monitor thread on a loaded machine can be late by
 * many intervals; a sum of such totals adds what one worker freed to what the
 * next allocated after it, a high no moment had.  So the watcher reads each
 * process's hm_totals.tracked itself, with process_vm_readv, within
 * microseconds of the others: the allocation path still pays nothing.  The
 * read also takes a nonce the process drew when it claimed its slot (a reused
 * pid's memory is never taken for a total) and the total twice (a copy torn by
 * a concurrent update is read again).  A sum beyond the high so far is read
 * twice, each process's lower total kept (watch()): the reads of one tick
 * are microseconds apart, but the watcher can be preempted between two of
 * them.  Where the kernel refuses (Yama's ptrace_scope 2 or 3, a process
 * made non-dumpable, a seccomp filter), the published total stands in.
 *
 * Resolution: totals are summed once per tick (the timeline's interval, 10 ms
 * by default), and a candidate is taken at its process's next tick, so the job
 * peak and each process's share are those of one sample, and a candidate is
 * at most about one interval later than the high.
 *
 * Owns: the mapping of the job table and this process's slot in it, the
 * watcher's combined samples (job_mutex), and this process's candidate
 * (changed only under the recorder lock, so a capture reads it whole).
 * Must never: run on the allocation path (the hooks pay nothing for any of
 * this), take the recorder lock while holding job_mutex, or write to the
 * table from a forked child that is not profiled.
 */
#include "run/job.h"
#include "common/contract.h"
#include "hotpath/call_tree.h"
#include "hotpath/recorder.h"
#include "hotpath/threads.h"
#include "hotpath/totals.h"
#include "common/ownmem.h"
#include "run/timeline.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define JOB_MAGIC 0x484d4a32u /* 2: the slot says where its total lives */

enum { SLOT_LIVE = 1, SLOT_ENDED = 2 };

typedef struct {
    int32_t pid;
    int32_t parent_pid;
    int32_t state; /* atomic: 0 while being filled, SLOT_LIVE, SLOT_ENDED */
    int32_t unused;
    int64_t tracked; /* atomic: published at each tick */
    int64_t rss;     /* atomic */
    /* Where the watcher reads the live total, in the process's own memory;
     * set before the slot is live. */
    uint64_t tracked_at, nonce_at, nonce;
    double t_start, t_end;
    char command[96];
} job_slot;

typedef struct {
    uint32_t magic, nslots;
    uint32_t used;       /* atomic: slots claimed */
    uint32_t generation; /* atomic: bumped after the peak fields are written */
    uint32_t seq;        /* odd while the watcher writes the peak fields */
    int32_t peak_live;   /* live processes at the peak */
    int64_t start_ns;    /* CLOCK_MONOTONIC: the job's t = 0 */
    int64_t peak_bytes;
    double peak_at_s;
    int64_t dropped; /* atomic: processes that found no free slot */
    job_slot slots[];
} job_header;

static job_header *table;
static size_t table_size;
static job_slot *own;      /* NULL: not in a job */
static bool watcher;       /* the first process: keeps the combined timeline */
static double own_start_s; /* this process's t = 0 on the job's clock */
static char table_path[4200];
/* Drawn at each claim (a forked child draws its own), read by the watcher
 * with the total: the memory at tracked_at is this process's. */
static volatile uint64_t live_nonce;

/* The watcher's combined timeline, under job_mutex. */
static pthread_mutex_t job_mutex = PTHREAD_MUTEX_INITIALIZER;
static hm_job_point *points;
static int64_t *point_sums;
static size_t npoints;
static hm_job_row *rows;
static size_t nrows, rows_cap;
static double interval_s = 0.01, next_due;

/* The candidate: changed by the monitor thread under the recorder lock. */
static hm_amount *candidate;
static uint32_t ncandidate;
static bool have_candidate, candidate_is_own_peak;
static uint32_t candidate_generation;
static double candidate_at_s;
static hm_amount *stale; /* a forked child's copy of its parent's candidate */

static double seconds_since(int64_t start_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((double)ts.tv_sec * 1e9 + (double)ts.tv_nsec - (double)start_ns) / 1e9;
}

static double job_now(void)
{
    return seconds_since(table->start_ns);
}

static void slot_path(const char *dir)
{
    snprintf(table_path, sizeof table_path, "%s/%s", dir, hm_result_file(HM_RESULT_JOB_TABLE));
}

static bool map_table(int fd)
{
    table_size = sizeof(job_header) + HM_JOB_SLOTS * sizeof(job_slot);
    void *m = mmap(NULL, table_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return false;
    table = m;
    return true;
}

/* Claims a slot for this process: its t = 0 is start. */
static void claim(const struct timespec *start, int parent_pid, const char *command)
{
    uint32_t i = __atomic_fetch_add(&table->used, 1, __ATOMIC_ACQ_REL);
    if (i >= table->nslots) {
        __atomic_fetch_add(&table->dropped, 1, __ATOMIC_RELAXED);
        own = NULL;
        return;
    }
    own = &table->slots[i];
    own->pid = getpid();
    own->parent_pid = parent_pid;
    own_start_s =
        ((double)start->tv_sec * 1e9 + (double)start->tv_nsec - (double)table->start_ns) / 1e9;
    own->t_start = own_start_s;
    own->t_end = -1;
    snprintf(own->command, sizeof own->command, "%s", command);
    /* Live from now: its total is in every sum (not 0 until its first tick). */
    own->tracked = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    own->rss = 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    live_nonce = ((uint64_t)getpid() << 40) ^ (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 20) ^
                 (uint64_t)(uintptr_t)&now;
    own->nonce = live_nonce;
    own->nonce_at = (uint64_t)(uintptr_t)&live_nonce;
    own->tracked_at = (uint64_t)(uintptr_t)&hm_totals.tracked;
    /* Highs marked before this process existed are not its to answer. */
    candidate_generation = __atomic_load_n(&table->generation, __ATOMIC_ACQUIRE);
    __atomic_store_n(&own->state, SLOT_LIVE, __ATOMIC_RELEASE);
}

void hm_job_create(const char *dir, const struct timespec *start, const char *command)
{
    slot_path(dir);
    int fd = open(table_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return; /* no job view; each process still has its own */
    if (ftruncate(fd, (off_t)(sizeof(job_header) + HM_JOB_SLOTS * sizeof(job_slot))) != 0 ||
        !map_table(fd)) {
        unlink(table_path);
        return;
    }
    /* heapmark's own memory, never the program's (nor its start-up's). */
    points = hm_own_map(HM_JOB_POINTS * sizeof *points);
    point_sums = hm_own_map(HM_JOB_POINTS * sizeof *point_sums);
    if (!points || !point_sums) {
        if (points)
            hm_own_unmap(points, HM_JOB_POINTS * sizeof *points);
        if (point_sums)
            hm_own_unmap(point_sums, HM_JOB_POINTS * sizeof *point_sums);
        points = NULL;
        point_sums = NULL;
        munmap(table, table_size);
        table = NULL;
        unlink(table_path);
        return;
    }
    table->nslots = HM_JOB_SLOTS;
    table->start_ns = (int64_t)start->tv_sec * 1000000000 + start->tv_nsec;
    table->magic = JOB_MAGIC;
    watcher = true;
    claim(start, 0, command);
}

void hm_job_join(const char *dir, const struct timespec *start, int parent_pid, const char *command)
{
    slot_path(dir);
    int fd = open(table_path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || !map_table(fd))
        return;
    if (table->magic != JOB_MAGIC || table->nslots != HM_JOB_SLOTS) {
        munmap(table, table_size);
        table = NULL;
        return;
    }
    claim(start, parent_pid, command);
}

void hm_job_after_fork(const struct timespec *start, int parent_pid, const char *command)
{
    pthread_mutex_init(&job_mutex, NULL);
    /* The parent's timeline and candidate are the parent's. */
    watcher = false;
    points = NULL;
    point_sums = NULL;
    rows = NULL;
    npoints = nrows = rows_cap = 0;
    stale = candidate;
    candidate = NULL;
    ncandidate = 0;
    have_candidate = candidate_is_own_peak = false;
    if (table)
        claim(start, parent_pid, command);
}

void hm_job_disown(void)
{
    table = NULL;
    own = NULL;
    watcher = false;
}

/* ---- the watcher: the combined timeline ---- */

/* Under job_mutex: of each two neighbours, the one with the larger sum. */
static void thin(void)
{
    size_t kept_rows = 0;
    for (size_t i = 0; i < HM_JOB_POINTS / 2; i++) {
        size_t k = point_sums[2 * i] >= point_sums[2 * i + 1] ? 2 * i : 2 * i + 1;
        hm_job_point p = points[k];
        memmove(&rows[kept_rows], &rows[p.first_row], p.nrows * sizeof *rows);
        p.first_row = (uint32_t)kept_rows;
        kept_rows += p.nrows;
        points[i] = p;
        point_sums[i] = point_sums[k];
    }
    npoints = HM_JOB_POINTS / 2;
    nrows = kept_rows;
    interval_s *= 2;
}

/* The watcher's reading of the live processes at one tick, under job_mutex:
 * their slots and totals. */
static uint32_t read_slot[HM_JOB_SLOTS];
static int64_t read_tracked[HM_JOB_SLOTS];
static uint32_t nread;
static bool unreadable[HM_JOB_SLOTS]; /* the kernel refused: published totals */

/* A live process's total now, read in its own memory (see the top). */
static int64_t live_total(uint32_t i)
{
    job_slot *s = &table->slots[i];
    if (s == own)
        return __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    int64_t published = __atomic_load_n(&s->tracked, __ATOMIC_RELAXED);
    if (unreadable[i])
        return published;
    for (int attempt = 0; attempt < 3; attempt++) {
        uint64_t nonce = 0;
        int64_t first = 0, second = 0;
        struct iovec here[3] = {{&nonce, 8}, {&first, 8}, {&second, 8}};
        struct iovec there[3] = {{(void *)(uintptr_t)s->nonce_at, 8},
                                 {(void *)(uintptr_t)s->tracked_at, 8},
                                 {(void *)(uintptr_t)s->tracked_at, 8}};
        if (process_vm_readv(s->pid, here, 3, there, 3, 0) != 24 || nonce != s->nonce) {
            /* Gone (its last total is published) or not ours to read. */
            unreadable[i] =
                __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == SLOT_LIVE && kill(s->pid, 0) == 0;
            return published;
        }
        if (first == second)
            return first;
    }
    return published;
}

/* Under job_mutex: this tick's reading as a sample at t. */
static void store_sample(double t, int64_t sum)
{
    if (npoints == HM_JOB_POINTS)
        thin();
    if (nrows + nread > rows_cap) {
        size_t cap = rows_cap ? rows_cap * 2 : 1024;
        while (cap < nrows + nread)
            cap *= 2;
        hm_job_row *grown = realloc(rows, cap * sizeof *rows);
        if (!grown)
            return;
        rows = grown;
        rows_cap = cap;
    }
    hm_job_point *p = &points[npoints];
    p->t = t;
    p->first_row = (uint32_t)nrows;
    p->nrows = nread;
    for (uint32_t k = 0; k < nread; k++) {
        const job_slot *s = &table->slots[read_slot[k]];
        rows[nrows++] =
            (hm_job_row){s->pid, read_tracked[k], __atomic_load_n(&s->rss, __ATOMIC_RELAXED)};
    }
    point_sums[npoints++] = sum;
}

static void watch(bool force)
{
    pthread_mutex_lock(&job_mutex);
    double t = job_now();
    uint32_t used = __atomic_load_n(&table->used, __ATOMIC_ACQUIRE);
    if (used > table->nslots)
        used = table->nslots;
    int64_t sum = 0;
    nread = 0;
    for (uint32_t i = 0; i < used; i++) {
        job_slot *s = &table->slots[i];
        if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_LIVE)
            continue;
        read_slot[nread] = i;
        read_tracked[nread] = live_total(i);
        sum += read_tracked[nread++];
    }
    int live = (int)nread;
    if (live > 1 && sum > table->peak_bytes) {
        /* A high is read twice, each process's lower total kept: one that
         * freed between the reads counts as freed, so a worker's block freed
         * just before the next one's was made (the watcher preempted between
         * their reads) is not counted with it. */
        sum = 0;
        for (uint32_t k = 0; k < nread; k++) {
            int64_t again = live_total(read_slot[k]);
            if (again < read_tracked[k])
                read_tracked[k] = again;
            sum += read_tracked[k];
        }
    }
    bool high = live > 0 && sum > table->peak_bytes;
    if (high) {
        __atomic_store_n(&table->seq, table->seq + 1, __ATOMIC_RELEASE);
        table->peak_bytes = sum;
        table->peak_at_s = t;
        table->peak_live = live;
        __atomic_store_n(&table->seq, table->seq + 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(&table->generation, 1, __ATOMIC_ACQ_REL);
    }
    if (high || force || t >= next_due) {
        store_sample(t, sum);
        next_due = t + interval_s;
    }
    pthread_mutex_unlock(&job_mutex);
}

/* ---- candidates ---- */

/* How many processes were live at the high of generation g (0: a later
 * high is being written; the next tick answers it). */
static int live_at_high(uint32_t *g)
{
    uint32_t seq = __atomic_load_n(&table->seq, __ATOMIC_ACQUIRE);
    *g = __atomic_load_n(&table->generation, __ATOMIC_ACQUIRE);
    int live = table->peak_live;
    if ((seq & 1) || __atomic_load_n(&table->seq, __ATOMIC_ACQUIRE) != seq)
        return 0;
    return live;
}

/* The monitor thread (its allocations are heapmark's): this process's node
 * values now, as the candidate of generation g. */
static void take_candidate(uint32_t g, int live)
{
    hm_amount *copy = NULL, *old = NULL;
    uint32_t n = 0;
    if (live > 1) {
        for (;;) {
            hm_lock();
            uint32_t want = hm_node_count();
            hm_unlock();
            free(copy);
            copy = malloc(((size_t)want + 64) * sizeof *copy);
            if (!copy)
                return;
            hm_lock();
            n = hm_node_count();
            if (n <= want + 64)
                break;
            hm_unlock();
        }
        for (uint32_t i = 0; i < n; i++)
            copy[i] = hm_snap_now(i);
    } else {
        hm_lock();
    }
    old = candidate;
    candidate = copy;
    ncandidate = n;
    candidate_is_own_peak = live <= 1;
    have_candidate = true;
    candidate_generation = g;
    candidate_at_s = job_now();
    hm_unlock();
    free(old);
    free(stale);
    stale = NULL;
}

static void answer_high(void)
{
    if (__atomic_load_n(&table->generation, __ATOMIC_ACQUIRE) == candidate_generation)
        return;
    uint32_t g;
    int live = live_at_high(&g);
    if (live > 0)
        take_candidate(g, live);
}

void hm_job_tick(int64_t tracked)
{
    if (!table || !own)
        return;
    /* RSS costs a read of /proc: only once the job has a second process. */
    int64_t rss = __atomic_load_n(&table->used, __ATOMIC_ACQUIRE) > 1 ? hm_timeline_rss() : 0;
    __atomic_store_n(&own->tracked, tracked, __ATOMIC_RELAXED);
    __atomic_store_n(&own->rss, rss, __ATOMIC_RELAXED);
    if (watcher)
        watch(false);
    answer_high();
}

void hm_job_leave(int64_t tracked, int64_t rss)
{
    if (!table || !own)
        return;
    __atomic_store_n(&own->tracked, tracked, __ATOMIC_RELAXED);
    __atomic_store_n(&own->rss, rss, __ATOMIC_RELAXED);
    hm_tls.guard++; /* the program's thread, but these allocations are heapmark's */
    if (watcher)
        watch(true);
    answer_high();
    hm_tls.guard--;
    own->t_end = job_now();
    __atomic_store_n(&own->state, SLOT_ENDED, __ATOMIC_RELEASE);
    if (watcher)
        unlink(table_path);
}

bool hm_job_alone(void)
{
    return table && watcher && __atomic_load_n(&table->used, __ATOMIC_ACQUIRE) <= 1;
}

void hm_job_before_exec(void)
{
    if (!table || !own || own->pid != getpid())
        return;
    own->t_end = job_now();
    __atomic_store_n(&own->state, SLOT_ENDED, __ATOMIC_RELEASE);
    own = NULL;
}

hm_amount hm_job_candidate_value(uint32_t node)
{
    if (!have_candidate)
        return (hm_amount){0, 0};
    if (candidate_is_own_peak)
        return hm_snap_at_peak(node);
    return node < ncandidate ? candidate[node] : (hm_amount){0, 0};
}

/* ---- what a profile says ---- */

static bool copy_data(hm_job_data *d)
{
    memset(d, 0, sizeof *d);
    uint32_t used = __atomic_load_n(&table->used, __ATOMIC_ACQUIRE);
    if (used > table->nslots)
        used = table->nslots;
    d->processes = calloc(used + 1, sizeof *d->processes);
    if (!d->processes)
        return false;
    for (uint32_t i = 0; i < used; i++) {
        job_slot *s = &table->slots[i];
        int state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        if (state != SLOT_LIVE && state != SLOT_ENDED)
            continue;
        /* A pid twice: a process that exec'd a followed program; one life. */
        hm_job_process *p = NULL;
        for (size_t k = 0; k < d->nprocesses && !p; k++)
            if (d->processes[k].pid == s->pid)
                p = &d->processes[k];
        if (p) {
            p->t_end = state == SLOT_ENDED ? s->t_end : -1;
            memcpy(p->command, s->command, sizeof p->command);
            p->command[sizeof p->command - 1] = '\0';
            continue;
        }
        p = &d->processes[d->nprocesses++];
        p->pid = s->pid;
        p->parent_pid = s->parent_pid;
        memcpy(p->command, s->command, sizeof p->command);
        p->command[sizeof p->command - 1] = '\0';
        p->t_start = s->t_start;
        p->t_end = state == SLOT_ENDED ? s->t_end : -1;
    }
    uint32_t seq;
    do {
        seq = __atomic_load_n(&table->seq, __ATOMIC_ACQUIRE);
        d->peak_bytes = table->peak_bytes;
        d->peak_at_s = table->peak_at_s;
        d->generation = __atomic_load_n(&table->generation, __ATOMIC_ACQUIRE);
    } while ((seq & 1) || seq != __atomic_load_n(&table->seq, __ATOMIC_ACQUIRE));
    d->dropped = __atomic_load_n(&table->dropped, __ATOMIC_RELAXED);
    pthread_mutex_lock(&job_mutex);
    d->points = malloc((npoints + 1) * sizeof *d->points);
    d->rows = malloc((nrows + 1) * sizeof *d->rows);
    bool ok = d->points && d->rows;
    if (ok) {
        memcpy(d->points, points, npoints * sizeof *points);
        memcpy(d->rows, rows, nrows * sizeof *rows);
        d->npoints = npoints;
        d->nrows = nrows;
        d->interval_s = interval_s;
    }
    pthread_mutex_unlock(&job_mutex);
    return ok;
}

static void free_data(hm_job_data *d)
{
    free(d->processes);
    free(d->points);
    free(d->rows);
}

bool hm_job_describe(hm_job_info *out)
{
    memset(out, 0, sizeof *out);
    if (!table || !own || __atomic_load_n(&table->used, __ATOMIC_ACQUIRE) < 2)
        return true; /* a single process: nothing of a job to say */
    out->member = true;
    out->start_s = own_start_s;
    out->candidate = have_candidate;
    out->candidate_generation = candidate_generation;
    out->candidate_at_s = candidate_at_s;
    if (!watcher)
        return true;
    hm_job_data *d = malloc(sizeof *d);
    if (!d || !copy_data(d)) {
        if (d)
            free_data(d);
        free(d);
        return false;
    }
    out->data = d;
    return true;
}

void hm_job_info_free(hm_job_info *info)
{
    if (info->data) {
        free_data((hm_job_data *)info->data);
        free((hm_job_data *)info->data);
    }
    memset(info, 0, sizeof *info);
}
