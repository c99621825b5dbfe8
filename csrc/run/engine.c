/*
 * engine.c - start and end of a run inside the profiled process.
 *
 * Owns: reading HEAPMARK_* from the environment in the preload constructor,
 * or starting and ending a run inside a running interpreter (in_process.c
 * installs the hooks; every table starts from zero at each start)
 * (and removing them, and restoring LD_PRELOAD, so that nothing leaks into
 * processes the program starts), installing the Python allocator hooks before
 * the interpreter initialises, fork handling, and every writing of the
 * profile: checkpoints and snapshots while the program runs (monitor.c) and
 * the final one - from the Python atexit hook (_heapmark.c), libc's exit, _exit
 * (malloc_hooks.c), or a fatal signal (monitor.c).
 * Must never: write the final profile twice, let a checkpoint overwrite it,
 * or start recording in a process heapmark run did not configure.
 *
 * Environment contract with the command line (src/heapmark/cli/run.py): the
 * HM_ENVIRONMENT table of common/contract.h, whose RUN, CHILD and CALLER
 * variables are all read here and removed at start-up.
 */
#include <Python.h>

#include "run/engine.h"
#include "common/contract.h"
#include "run/crash.h"
#include "run/done_signal.h"
#include "run/follow.h"
#include "run/job.h"
#include "run/kind_walks.h"
#include "hotpath/call_tree.h"
#include "run/capture.h"
#include "hotpath/malloc_hooks.h"
#include "run/process_hooks.h"
#include "hotpath/live_table.h"
#include "run/monitor.h"
#include "run/process_facts.h"
#include "run/native_symbols.h"
#include "run/native_unwind.h"
#include "run/out_of_memory.h"
#include "common/ownmem.h"
#include "hotpath/python_hooks.h"
#include "hotpath/stack_walk.h"
#include "hotpath/recorder.h"
#include "hotpath/node_values.h"
#include "hotpath/known_blocks.h"
#include "hotpath/mappings.h"
#include "store/schema.h"
#include "hotpath/threads.h"
#include "hotpath/waiting_calls.h"
#include "run/timeline.h"
#include "run/allocators.h"
#include "run/watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Weak: resolved by the loader to NULL in a process without libpython, which
 * is how the constructor tells it is not in a Python interpreter. */
#pragma weak PyMem_SetAllocator

static char profile_path[4096];
static char command[8192];
static char start_cwd[4096];
static char orig_pythonpath[8192];
static bool have_orig_pythonpath;
static bool configured;
static bool in_process; /* started by hm_engine_begin_in_process */
static bool pool_layout_ok = true;
static bool hooks_reinstalled;
static int start_pid;
static bool forked; /* a followed fork of the process that started */
static double start_unix;
static struct timespec start_mono;
static uint64_t sample_rate, seed;
static unsigned checkpoint_seconds;
static unsigned snapshots_written;
static bool follow_fork = true;
static bool native_stacks; /* --native */
static int parent_pid;

/* Serialises writing (not recording): a checkpoint and the final write never
 * interleave, and once the final profile is written (`finished`) nothing
 * overwrites it. */
static pthread_mutex_t write_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool finished;

/* What a profile is written from: a copy of the tables and the run's
 * figures, taken at one moment under the recorder lock. */
typedef struct {
    hm_capture cap;
    hm_run_info info;
    hm_job_info job; /* none in an out-of-memory note (its thread allocated) */
    struct timespec at;
} taken_run;

/* The out-of-memory report, in two halves.  The allocating thread notes it
 * (hm_engine_note_out_of_memory): the reason and a copy of the tables as they
 * stand at the crossing - bounded work under the recorder lock, no file, no
 * SQLite, no report.  The monitor thread writes it soon after
 * (hm_engine_write_out_of_memory); the end of the run, or an exec, writes it
 * first if the monitor has not, so that it is never lost.
 * Invariant: state only moves forward, NONE -> NOTING -> NOTED -> WRITTEN,
 * and only the thread that moved it to NOTING touches the rest until NOTED. */
enum { OOM_NONE, OOM_NOTING, OOM_NOTED, OOM_WRITTEN };
static struct {
    int state;
    char reason[256];
    int64_t bytes;
    size_t released;
    uint32_t node;
    bool taken, captured; /* the copy was taken (and whether it succeeded) */
    taken_run run;
} oom;

#define OOM_NOTING_WAIT_MS 1000

static void write_out_of_memory_locked(void);

/* hm_tls.guard is raised for as long as a thread waits for or holds
 * write_mutex: the SIGTERM handler must know not to wait for the monitor
 * thread in a thread the monitor would wait for (monitor.c). */
static void lock_writes(void)
{
    hm_tls.guard++;
    pthread_mutex_lock(&write_mutex);
}

static void unlock_writes(void)
{
    pthread_mutex_unlock(&write_mutex);
    hm_tls.guard--;
}

/* The directory the main profile goes to. */
static void results_dir(char *dir, size_t size)
{
    snprintf(dir, size, "%s", profile_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, size, ".");
}

static void at_fork_prepare(void)
{
    lock_writes();
    hm_lock();
}

static void at_fork_parent(void)
{
    hm_unlock();
    unlock_writes();
}

/* Where a child process's profile goes: next to the main one. */
static void child_profile_path(char *path, size_t size, int pid)
{
    char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) : 0;
    char name[32];
    snprintf(name, sizeof name, "%s%d%s", hm_series_prefix(HM_SERIES_CHILD_PROFILE), pid,
             hm_series_suffix(HM_SERIES_CHILD_PROFILE));
    if (dir_len + 1 + strlen(name) < size)
        snprintf(path + (slash ? dir_len + 1 : 0), size - (slash ? dir_len + 1 : 0), "%s", name);
}

static void at_fork_child(void)
{
    hm_done_signal_forget();
    pthread_mutex_init(&write_mutex, NULL);
    hm_waiting_after_fork();
    hm_tls.guard--; /* raised by lock_writes() in at_fork_prepare */
    /* The parent's report is the parent's to write: drop the copy. */
    if (__atomic_load_n(&oom.state, __ATOMIC_ACQUIRE) == OOM_NOTED && oom.captured)
        hm_capture_release(&oom.run.cap);
    __atomic_store_n(&oom.state, OOM_WRITTEN, __ATOMIC_RELEASE);
    if (!follow_fork || finished) {
        /* The child has a copy of the parent's profile; it must not write it. */
        __atomic_store_n(&hm_state, HM_STOPPED, __ATOMIC_RELAXED);
        hm_sample_limit = UINT64_MAX;
        finished = true;
        hm_monitor_disown();
        hm_timeline_disown();
        hm_job_disown();
        hm_crash_disown();
        hm_unlock();
        return;
    }
    /* A process of its own: it holds (a copy of) everything the parent held,
     * still attributed where the parent allocated it, and goes on from there
     * with its own profile, start, peak and allocation history. */
    parent_pid = start_pid;
    start_pid = getpid();
    forked = true;
    child_profile_path(profile_path, sizeof profile_path, start_pid);
    clock_gettime(CLOCK_MONOTONIC, &start_mono);
    struct timespec rt;
    if (clock_gettime(CLOCK_REALTIME, &rt) == 0)
        start_unix = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9;
    hm_totals_restart_peak();
    hm_snap_forget_allocated();
    hm_timeline_reset(&start_mono);
    hm_job_after_fork(&start_mono, parent_pid, command);
    hm_kind_walks_reset(true);
    hm_monitor_forget();
    hm_unlock();
}

static void at_libc_exit(void)
{
    char err[512];
    if (!hm_engine_finish("exit", err, sizeof err))
        fprintf(stderr, "heapmark: error: %s\n", err);
}

static void forget_environment(void)
{
    const char *preload = getenv(hm_env_name(HM_ENV_PRELOAD));
    if (preload) /* set, if only to "", as it was */
        setenv("LD_PRELOAD", preload, 1);
    else
        unsetenv("LD_PRELOAD");
    for (int id = 0; id < HM_ENV_COUNT; id++)
        if (hm_env_kind_of((hm_env)id) != HM_ENV_TOOLING)
            unsetenv(hm_env_name((hm_env)id));
}

__attribute__((constructor(101))) static void engine_start(void)
{
    if (!getenv(hm_env_name(HM_ENV_PROFILE)))
        return;
    if (&PyMem_SetAllocator == NULL) {
        /* Not a Python interpreter: a wrapper in front of the program
         * (valgrind, env, a shell script).  Stay out of its way and leave the
         * environment to the Python process it starts. */
        return;
    }
    hm_hooks_read_environment();
    hm_copy_env(profile_path, sizeof profile_path, hm_env_name(HM_ENV_PROFILE));
    hm_expand_pid(profile_path, sizeof profile_path);
    hm_copy_env(command, sizeof command, hm_env_name(HM_ENV_COMMAND));
    if (!command[0])
        hm_read_command_line(command, sizeof command);
    if (!getcwd(start_cwd, sizeof start_cwd))
        start_cwd[0] = '\0';
    const char *rate = getenv(hm_env_name(HM_ENV_RATE));
    const char *seed_s = getenv(hm_env_name(HM_ENV_SEED));
    const char *checkpoint = getenv(hm_env_name(HM_ENV_CHECKPOINT));
    sample_rate = rate ? strtoull(rate, NULL, 10) : 0;
    if (sample_rate == 0)
        sample_rate = 1;
    seed = seed_s ? strtoull(seed_s, NULL, 10) : 0;
    checkpoint_seconds = checkpoint ? (unsigned)strtoul(checkpoint, NULL, 10) : 5;
    const char *timeline_ms = getenv(hm_env_name(HM_ENV_TIMELINE_MS));
    hm_timeline_configure(timeline_ms ? (unsigned)strtoul(timeline_ms, NULL, 10)
                                      : HM_TIMELINE_DEFAULT_MS);
    const char *kinds = getenv(hm_env_name(HM_ENV_KINDS));
    if (kinds)
        hm_kind_walks_configure(strtod(kinds, NULL) / 100, 0.01, 0.01);
    const char *native = getenv(hm_env_name(HM_ENV_NATIVE));
    native_stacks = native && strcmp(native, "1") == 0;
    hm_allocators_configure(getenv(hm_env_name(HM_ENV_ALLOCATORS)));
    const char *follow = getenv(hm_env_name(HM_ENV_FOLLOW));
    follow_fork = !follow || strstr(follow, "fork") != NULL;
    const char *parent = getenv(hm_env_name(HM_ENV_PARENT));
    parent_pid = parent ? atoi(parent) : 0;
    {
        char dir[4096];
        results_dir(dir, sizeof dir);
        hm_follow_configure(follow, getenv(hm_env_name(HM_ENV_BOOT)), dir, sample_rate, seed,
                            checkpoint_seconds, native_stacks);
    }
    const char *limit = getenv(hm_env_name(HM_ENV_MEMORY_LIMIT));
    int64_t memory_limit = limit ? strtoll(limit, NULL, 10) : 0;
    char test_root[1024];
    hm_copy_env(test_root, sizeof test_root, hm_env_name(HM_ENV_ROOT));
    const char *crash_after = getenv(hm_env_name(HM_ENV_TEST_CRASH_IN_HEAPMARK));
    hm_monitor_test_crash(crash_after ? (unsigned)strtoul(crash_after, NULL, 10) : 0);
    const char *report_delay = getenv(hm_env_name(HM_ENV_TEST_OOM_REPORT_DELAY_MS));
    unsigned report_delay_ms = report_delay ? (unsigned)strtoul(report_delay, NULL, 10) : 0;
    const char *pp = getenv(hm_env_name(HM_ENV_PYTHONPATH));
    have_orig_pythonpath = pp != NULL;
    hm_copy_env(orig_pythonpath, sizeof orig_pythonpath, hm_env_name(HM_ENV_PYTHONPATH));
    hm_done_signal_take();
    forget_environment();

    hm_hooks_resolve();
    hm_process_hooks_resolve();
    hm_totals_start_clock();
    if (!hm_hooks_check_usable_size()) {
        fprintf(stderr, "heapmark: this C library's malloc does not have the chunk layout "
                        "heapmark reads (glibc on x86-64); not profiling\n");
        return;
    }
    hm_sampler_configure(sample_rate, seed, false);
    hm_oom_configure(memory_limit, test_root, report_delay_ms);
    /* The unwinder's own memory comes from malloc under the guard, and some
     * of it goes back without it: the dynamic TLS block glibc allocates for
     * libunwind in each thread on its first unwind is freed as the thread
     * ends.  Marking the blocks the hooks count (known_blocks.h, as an
     * in-process start does) keeps such frees out of the totals. */
    if (native_stacks) {
        char why[512];
        if (!hm_known_start()) {
            fprintf(stderr, "heapmark: cannot map memory for --native's block marks; "
                            "recording without native frames\n");
            native_stacks = false;
        } else if (!hm_native_unwind_start(why, sizeof why)) {
            fprintf(stderr, "heapmark: %s; recording without native frames\n", why);
            hm_known_stop();
            native_stacks = false;
        }
    }
    hm_lock();
    bool ok = hm_tree_init() && hm_pystack_init() && hm_live_init(sample_rate <= 1);
    hm_unlock();
    if (!ok) {
        fprintf(stderr, "heapmark: cannot map memory for the profiler's tables; not profiling\n");
        return;
    }
    hm_pyhooks_install();
    hm_crash_install();
    pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
    atexit(at_libc_exit);
    start_pid = getpid();
    start_unix = (double)time(NULL);
    struct timespec rt;
    if (clock_gettime(CLOCK_REALTIME, &rt) == 0)
        start_unix = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9;
    clock_gettime(CLOCK_MONOTONIC, &start_mono);
    hm_timeline_reset(&start_mono);
    {
        char dir[4096];
        results_dir(dir, sizeof dir);
        if (parent_pid == 0)
            hm_job_create(dir, &start_mono, command);
        else
            hm_job_join(dir, &start_mono, parent_pid, command);
    }
    configured = true;
    hm_lock();
    hm_record_adopt_startup();
    __atomic_store_n(&hm_state, HM_RECORDING, __ATOMIC_RELEASE);
    hm_sampler_enable(true);
    hm_unlock();
}

static hm_report_renderer renderer;

void hm_engine_set_renderer(hm_report_renderer render)
{
    __atomic_store_n(&renderer, render, __ATOMIC_RELEASE);
}

bool hm_engine_render(const char *profile_path, const char *dir, char *err, size_t errlen)
{
    hm_report_renderer render = __atomic_load_n(&renderer, __ATOMIC_ACQUIRE);
    if (!render) {
        snprintf(err, errlen,
                 "not rendered (heapmark's module was not loaded yet); "
                 "heapmark report renders them from the profile");
        return false;
    }
    return render(profile_path, dir, err, errlen);
}

bool hm_engine_configured(void)
{
    return configured && getpid() == start_pid;
}

bool hm_engine_profiling(void)
{
    return configured && !finished;
}

void hm_engine_after_fork_in_child(void)
{
    if (hm_engine_configured())
        hm_monitor_start(checkpoint_seconds, !in_process);
}

const char *hm_engine_python_ready(bool *layout_ok)
{
    hooks_reinstalled = hm_pyhooks_reinstall_if_replaced();
    pool_layout_ok = hm_pyhooks_selfcheck();
    *layout_ok = pool_layout_ok;
    hm_monitor_start(checkpoint_seconds, true);
    return have_orig_pythonpath ? orig_pythonpath : NULL;
}

/* Takes the copy (stopping recording first when final).  node: if not NULL,
 * receives the calling thread's stack, noted before the copy so that the copy
 * holds it.  Bounded work: a copy of the tables, no file, no SQLite.  Caller
 * has hm_tls.guard raised (the copies are not the program's). */
static bool take_run(taken_run *t, bool final, uint32_t *node)
{
    memset(t, 0, sizeof *t);
    hm_run_info *info = &t->info;
    info->oom_node = HM_NONE;
    hm_lock();
    if (node)
        *node = hm_recording() ? hm_stack_node() : HM_NONE;
    /* The totals first: while recording, every change that moves the tree
     * moves them under this lock (totals.h), but once recording stops other
     * threads change them lock-free. */
    info->end_bytes = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    info->end_pymalloc_free = hm_totals.pyarena - hm_totals.pylive;
    info->peak_bytes = __atomic_load_n(&hm_totals.peak, __ATOMIC_RELAXED);
    info->peak_pymalloc_free = hm_totals.peak_pyarena - hm_totals.peak_pylive;
    int64_t peak_time_ns = hm_totals.peak_time_ns;
    if (final) {
        __atomic_store_n(&hm_state, HM_STOPPED, __ATOMIC_RELEASE);
        hm_sampler_enable(false);
        hm_pystack_stop();
    }
    bool captured = hm_capture_take(&t->cap);
    /* Under the lock, with the capture: the job-peak candidate it copied. */
    if (captured && !node && !hm_job_describe(&t->job))
        captured = false;
    info->live_records_at_end = hm_live_count();
    hm_unlock();
    if (final)
        hm_timeline_tick(true); /* the timeline ends where recording does */
    clock_gettime(CLOCK_MONOTONIC, &t->at);
    struct timespec peak_ts = {peak_time_ns / 1000000000, peak_time_ns % 1000000000};
    info->peak_at_s = hm_seconds_between(&start_mono, &peak_ts);
    if (info->peak_at_s < 0)
        info->peak_at_s = 0;
    info->duration_s = hm_seconds_between(&start_mono, &t->at);
    info->peak_rss_bytes = hm_peak_rss();
    info->overhead_bytes = hm_own_peak_bytes();
    info->crash_signal = final ? hm_crash_signal() : 0;
    info->crash_node = info->crash_signal ? hm_crash_node() : HM_NONE;
    return captured;
}

/* Writes what take_run copied to path, then releases the copy.  The timeline
 * is copied now, cut back to the moment the tables were taken.
 * Caller holds write_mutex and has hm_tls.guard raised. */
static bool write_taken(taken_run *t, bool captured, const char *path, const char *status,
                        bool final, char *err, size_t errlen)
{
    hm_run_info *info = &t->info;
    hm_timeline_data timeline;
    if (!captured || !hm_timeline_copy(&timeline)) {
        hm_job_info_free(&t->job);
        if (captured)
            hm_capture_release(&t->cap);
        snprintf(err, errlen, "cannot write profile: out of memory for a copy of the tables");
        return false;
    }
    hm_timeline_data_trim(&timeline, info->duration_s);
    info->timeline = &timeline;
    info->job = &t->job;
    info->profile_path = path;
    info->status = status;
    info->command = command;
    info->cwd = start_cwd;
    info->python_version = Py_GetVersion();
    info->pid = start_pid;
    info->parent_pid = parent_pid;
    info->exact = sample_rate <= 1;
    info->native_stacks = native_stacks;
    info->sample_rate = sample_rate;
    info->seed = seed;
    info->start_unix = start_unix;
    info->pymalloc_layout_ok = pool_layout_ok;
    info->python_hooks_late = hooks_reinstalled;
    hm_native_symbolize(&t->cap);
    hm_allocators_info allocators;
    hm_allocators_describe(&allocators);
    info->arrow_pool = allocators.arrow_pool;
    info->allocators = allocators.allocators;
    info->own_allocators = allocators.loaded;
    bool ok = hm_store_write(&t->cap, info, err, errlen);
    hm_capture_release(&t->cap);
    hm_job_info_free(&t->job);
    info->job = NULL;
    hm_timeline_data_free(&timeline);
    info->timeline = NULL;
    return ok;
}

/* Takes a copy and writes it to path; the run's figures into *figures if
 * not NULL.  Caller holds write_mutex. */
static bool write_profile_with(const char *path, const char *status, bool final,
                               hm_run_info *figures, char *err, size_t errlen)
{
    taken_run t;
    hm_tls.guard++;
    bool captured = take_run(&t, final, NULL);
    if (figures)
        *figures = t.info;
    bool ok = write_taken(&t, captured, path, status, final, err, errlen);
    hm_tls.guard--;
    return ok;
}

static bool write_profile(const char *path, const char *status, bool final, char *err,
                          size_t errlen)
{
    return write_profile_with(path, status, final, NULL, err, errlen);
}

bool hm_engine_finish(const char *reason, char *err, size_t errlen)
{
    err[0] = '\0';
    if (!hm_engine_configured())
        return true;
    lock_writes();
    bool ok = true;
    if (!finished) {
        write_out_of_memory_locked(); /* noted, and the monitor has not written it yet */
        finished = true;
        if (!in_process)
            hm_job_leave(__atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED), hm_timeline_rss());
        ok = write_profile(profile_path, reason, true, err, errlen);
        hm_done_signal_send(ok && hm_job_alone());
    }
    unlock_writes();
    hm_watch_close(); /* after the write: nothing writes the live files again */
    return ok;
}

void hm_engine_before_exec(void)
{
    hm_watch_close(); /* this pid is about to be another program */
    hm_job_before_exec();
    /* Not in a forked child either: fork-then-exec (subprocess before 3.10)
     * would write a copy of the parent's profile for every command run. */
    if (!hm_engine_profiling() || getpid() != start_pid || forked)
        return;
    char err[1024];
    lock_writes();
    if (!finished)
        write_out_of_memory_locked();
    bool ok = finished || write_profile(profile_path, "exec", false, err, sizeof err);
    unlock_writes();
    if (!ok)
        fprintf(stderr, "heapmark: error: %s\n", err);
}

bool hm_engine_write_copy(const char *path, const char *status, char *err, size_t errlen)
{
    err[0] = '\0';
    if (!hm_engine_configured())
        return true;
    lock_writes();
    bool ok = finished || write_profile(path ? path : profile_path, status, false, err, errlen);
    unlock_writes();
    return ok;
}

void hm_engine_names(const char **profile, const char **command_line)
{
    *profile = profile_path;
    *command_line = command;
}

/* The path of a profile in dir_name/ next to the main profile, the
 * directory made.  Into path; false with err filled if it cannot be made. */
static bool aside_path(const char *dir_name, char *path, size_t size, char *err, size_t errlen)
{
    char dir[4096];
    results_dir(dir, sizeof dir);
    snprintf(path, size, "%s/%s", dir, dir_name);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return false;
    }
    size_t len = strlen(path);
    snprintf(path + len, size - len, "/%s", hm_result_file(HM_RESULT_PROFILE));
    return true;
}

bool hm_engine_snapshot(char *path, size_t size, char *err, size_t errlen)
{
    err[0] = path[0] = '\0';
    if (!hm_engine_configured())
        return true;
    lock_writes();
    bool ok = true;
    if (!finished) {
        char name[64];
        snprintf(name, sizeof name, "%s%d-%u", hm_series_prefix(HM_SERIES_SNAPSHOT), start_pid,
                 ++snapshots_written);
        ok = aside_path(name, path, size, err, errlen) &&
             write_profile(path, "snapshot", false, err, errlen);
    }
    unlock_writes();
    return ok;
}

void hm_engine_note_out_of_memory(const char *reason, int64_t bytes, size_t released)
{
    int expected = OOM_NONE;
    if (!hm_engine_configured() ||
        !__atomic_compare_exchange_n(&oom.state, &expected, OOM_NOTING, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    snprintf(oom.reason, sizeof oom.reason, "%s", reason);
    oom.bytes = bytes;
    oom.released = released;
    oom.node = HM_NONE;
    /* Not with the guard raised: this thread is then inside heapmark's own
     * code (a profile write, the recorder lock), and the writer takes the
     * copy instead, a moment later. */
    if (!hm_tls.guard && hm_recording()) {
        hm_tls.guard++;
        oom.captured = take_run(&oom.run, false, &oom.node);
        oom.taken = true;
        hm_tls.guard--;
    }
    __atomic_store_n(&oom.state, OOM_NOTED, __ATOMIC_RELEASE);
}

/* Writes the noted report, if there is one not yet written.  Caller holds
 * write_mutex. */
static void write_out_of_memory_locked(void)
{
    for (int waited = 0;
         __atomic_load_n(&oom.state, __ATOMIC_ACQUIRE) == OOM_NOTING && waited < OOM_NOTING_WAIT_MS;
         waited++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    int expected = OOM_NOTED;
    if (!__atomic_compare_exchange_n(&oom.state, &expected, OOM_WRITTEN, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    char name[64], path[4200], err[1024];
    snprintf(name, sizeof name, "%s%d", hm_series_prefix(HM_SERIES_OUT_OF_MEMORY), start_pid);
    hm_tls.guard++;
    if (!oom.taken) {
        oom.captured = take_run(&oom.run, false, NULL);
        oom.taken = true;
    }
    oom.run.info.oom_reason = oom.reason;
    oom.run.info.oom_bytes = oom.bytes;
    oom.run.info.oom_node = oom.node;
    bool ok = false;
    if (aside_path(name, path, sizeof path, err, sizeof err))
        ok = write_taken(&oom.run, oom.captured, path, "out of memory", false, err, sizeof err);
    else if (oom.captured)
        hm_capture_release(&oom.run.cap);
    if (!ok) {
        fprintf(stderr, "heapmark: out of memory (%s); no report: %s\n", oom.reason, err);
        hm_tls.guard--;
        return;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    char gave_back[96] = "";
    if (oom.released)
        snprintf(gave_back, sizeof gave_back, "heapmark released its %zu MiB reserve; ",
                 oom.released >> 20);
    if (hm_engine_render(path, dir, err, sizeof err))
        fprintf(stderr, "heapmark: out of memory (%s): %sreport in %s/ (%s, %s)\n", oom.reason,
                gave_back, dir, hm_result_file(HM_RESULT_PEAK_TXT),
                hm_result_file(HM_RESULT_PEAK_SVG));
    else
        fprintf(stderr, "heapmark: out of memory (%s): %sprofile in %s/; reports: %s\n", oom.reason,
                gave_back, dir, err);
    hm_tls.guard--;
}

void hm_engine_write_out_of_memory(void)
{
    if (!hm_engine_configured())
        return;
    lock_writes();
    if (!finished)
        write_out_of_memory_locked();
    unlock_writes();
}

/* ---- a run started inside a running interpreter ------------------------ */

bool hm_engine_preloaded(void)
{
    return configured && !in_process;
}

void hm_engine_note_pool_layout(bool ok)
{
    pool_layout_ok = ok;
}

/* Once per process: what the preload constructor does before recording. */
static bool prepare_in_process(char *err, size_t errlen)
{
    static bool prepared;
    if (prepared)
        return true;
    hm_hooks_read_environment();
    hm_hooks_resolve_from_libc();
    hm_totals_start_clock();
    if (!hm_hooks_check_usable_size()) {
        snprintf(err, errlen,
                 "this C library's malloc does not have the chunk layout "
                 "heapmark reads (glibc on x86-64)");
        return false;
    }
    hm_lock();
    bool ok = hm_tree_init() && hm_pystack_init() && hm_live_init(false);
    hm_unlock();
    if (!ok) {
        snprintf(err, errlen, "cannot map memory for the profiler's tables");
        return false;
    }
    pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
    atexit(at_libc_exit);
    prepared = true;
    return true;
}

bool hm_engine_begin_in_process(const char *path, uint64_t rate, uint64_t run_seed,
                                unsigned checkpoint_s, char *err, size_t errlen)
{
    if (hm_engine_preloaded()) {
        snprintf(err, errlen, "heapmark run is profiling this process already");
        return false;
    }
    lock_writes();
    bool ok = false;
    if (configured && !finished && getpid() == start_pid)
        snprintf(err, errlen, "heapmark is tracking this process already");
    else if (!prepare_in_process(err, errlen))
        ;
    else if (!hm_known_start())
        snprintf(err, errlen, "cannot map memory for the profiler's tables");
    else
        ok = true;
    if (!ok) {
        unlock_writes();
        return false;
    }
    snprintf(profile_path, sizeof profile_path, "%s", path);
    hm_read_command_line(command, sizeof command);
    if (!getcwd(start_cwd, sizeof start_cwd))
        start_cwd[0] = '\0';
    sample_rate = rate ? rate : 1;
    seed = run_seed;
    checkpoint_seconds = checkpoint_s;
    follow_fork = false;
    forked = false;
    parent_pid = 0;
    snapshots_written = 0;
    hooks_reinstalled = false;
    pool_layout_ok = true;
    __atomic_store_n(&oom.state, OOM_NONE, __ATOMIC_RELEASE);
    oom.taken = oom.captured = false;
    hm_sampler_configure(sample_rate, seed, true);
    start_pid = getpid();
    struct timespec rt;
    start_unix = clock_gettime(CLOCK_REALTIME, &rt) == 0
                     ? (double)rt.tv_sec + (double)rt.tv_nsec / 1e9
                     : (double)time(NULL);
    clock_gettime(CLOCK_MONOTONIC, &start_mono);
    hm_timeline_reset(&start_mono);
    hm_kind_walks_reset(false);
    hm_lock();
    hm_live_clear(sample_rate <= 1);
    hm_snap_clear();
    hm_maps_clear();
    hm_totals_clear();
    hm_pystack_restart();
    in_process = true;
    configured = true;
    finished = false;
    __atomic_store_n(&hm_state, HM_RECORDING, __ATOMIC_RELEASE);
    hm_sampler_enable(true);
    hm_unlock();
    unlock_writes();
    return true;
}

int hm_engine_end_in_process(hm_run_info *info, char *err, size_t errlen)
{
    err[0] = '\0';
    memset(info, 0, sizeof *info);
    lock_writes();
    int result = HM_END_NOT_OURS;
    if (in_process && configured && !finished && getpid() == start_pid) {
        finished = true;
        result = write_profile_with(profile_path, "tracked", true, info, err, errlen)
                     ? HM_END_WRITTEN
                     : HM_END_FAILED;
    }
    configured = false;
    hm_known_stop();
    unlock_writes();
    return result;
}

void hm_engine_abandon_in_process(void)
{
    lock_writes();
    hm_lock();
    __atomic_store_n(&hm_state, HM_STOPPED, __ATOMIC_RELEASE);
    hm_sampler_enable(false);
    hm_unlock();
    finished = true;
    configured = false;
    hm_known_stop();
    unlock_writes();
}
