/*
 * engine.c - start and end of a run inside the profiled process.
 *
 * Owns: reading HEAPMARK_* from the environment in the preload constructor
 * (and removing them, and restoring LD_PRELOAD, so that nothing leaks into
 * processes the program starts), installing the Python allocator hooks before
 * the interpreter initialises, fork handling, and the end of the run: from
 * the Python atexit hook (module.c) or, if that never ran, libc's exit.
 * Must never: write a profile twice or from a forked child, or start
 * recording in a process heapmark run did not configure.
 *
 * Environment contract with cli.py (all removed at start-up):
 *   HEAPMARK_PROFILE   path of the profile to write; "%p" becomes the pid
 *   HEAPMARK_RATE      mean bytes between samples; 1 records everything
 *   HEAPMARK_SEED      sampler seed (0: from addresses)
 *   HEAPMARK_COMMAND   the command line, for the report
 *   HEAPMARK_PRELOAD   LD_PRELOAD as it was before heapmark run
 *   HEAPMARK_PYTHONPATH PYTHONPATH as it was (restored by the boot module)
 */
#include <Python.h>

#include "engine.h"
#include "calltree.h"
#include "hooks.h"
#include "livetable.h"
#include "ownmem.h"
#include "pyhooks.h"
#include "pystack.h"
#include "recorder.h"
#include "snapshot.h"
#include "store.h"
#include "threads.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
static bool pool_layout_ok = true;
static bool hooks_reinstalled;
static int start_pid;
static int finished;
static double start_unix;
static struct timespec start_mono;
static uint64_t sample_rate, seed;

static void copy_env(char *dst, size_t size, const char *name)
{
    const char *v = getenv(name);
    snprintf(dst, size, "%s", v ? v : "");
}

static void expand_pid(char *path, size_t size)
{
    char *at = strstr(path, "%p");
    if (!at)
        return;
    char rest[4096];
    snprintf(rest, sizeof rest, "%s", at + 2);
    snprintf(at, size - (size_t)(at - path), "%d%s", (int)getpid(), rest);
}

static double seconds_since_start(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start_mono.tv_sec) +
           (double)(now.tv_nsec - start_mono.tv_nsec) / 1e9;
}

static void at_fork_prepare(void) { hm_lock(); }
static void at_fork_parent(void) { hm_unlock(); }
static void at_fork_child(void)
{
    /* The child has a copy of the parent's profile; it must not write it.
     * (Following forked children is a separate feature.) */
    __atomic_store_n(&hm_state, HM_STOPPED, __ATOMIC_RELAXED);
    hm_sample_limit = UINT64_MAX;
    finished = 1;
    hm_unlock();
}

static void at_libc_exit(void)
{
    char err[512];
    if (!hm_engine_finish(err, sizeof err))
        fprintf(stderr, "heapmark: %s\n", err);
}

static void forget_environment(void)
{
    const char *preload = getenv("HEAPMARK_PRELOAD");
    if (preload && *preload)
        setenv("LD_PRELOAD", preload, 1);
    else
        unsetenv("LD_PRELOAD");
    static const char *const ours[] = {"HEAPMARK_PROFILE", "HEAPMARK_RATE", "HEAPMARK_SEED",
                                       "HEAPMARK_COMMAND", "HEAPMARK_PRELOAD",
                                       "HEAPMARK_PYTHONPATH"};
    for (size_t i = 0; i < HM_ARRAY_LEN(ours); i++)
        unsetenv(ours[i]);
}

__attribute__((constructor(101))) static void engine_start(void)
{
    if (!getenv("HEAPMARK_PROFILE"))
        return;
    if (&PyMem_SetAllocator == NULL) {
        /* Not a Python interpreter: a wrapper in front of the program
         * (valgrind, env, a shell script).  Stay out of its way and leave the
         * environment to the Python process it starts. */
        return;
    }
    copy_env(profile_path, sizeof profile_path, "HEAPMARK_PROFILE");
    expand_pid(profile_path, sizeof profile_path);
    copy_env(command, sizeof command, "HEAPMARK_COMMAND");
    if (!getcwd(start_cwd, sizeof start_cwd))
        start_cwd[0] = '\0';
    const char *rate = getenv("HEAPMARK_RATE");
    const char *seed_s = getenv("HEAPMARK_SEED");
    sample_rate = rate ? strtoull(rate, NULL, 10) : 0;
    if (sample_rate == 0)
        sample_rate = 1;
    seed = seed_s ? strtoull(seed_s, NULL, 10) : 0;
    const char *pp = getenv("HEAPMARK_PYTHONPATH");
    have_orig_pythonpath = pp != NULL;
    copy_env(orig_pythonpath, sizeof orig_pythonpath, "HEAPMARK_PYTHONPATH");
    forget_environment();

    hm_hooks_resolve();
    hm_totals_start_clock();
    if (!hm_hooks_check_usable_size()) {
        fprintf(stderr, "heapmark: this C library's malloc does not have the chunk layout "
                        "heapmark reads (glibc on x86-64); not profiling\n");
        return;
    }
    hm_sampler_configure(sample_rate, seed);
    hm_lock();
    bool ok = hm_tree_init() && hm_pystack_init() && hm_live_init(sample_rate <= 1);
    hm_unlock();
    if (!ok) {
        fprintf(stderr, "heapmark: cannot map memory for the profiler's tables; not profiling\n");
        return;
    }
    hm_pyhooks_install();
    pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
    atexit(at_libc_exit);
    start_pid = getpid();
    start_unix = (double)time(NULL);
    struct timespec rt;
    if (clock_gettime(CLOCK_REALTIME, &rt) == 0)
        start_unix = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9;
    clock_gettime(CLOCK_MONOTONIC, &start_mono);
    configured = true;
    hm_lock();
    hm_record_adopt_startup();
    __atomic_store_n(&hm_state, HM_RECORDING, __ATOMIC_RELEASE);
    hm_sampler_enable(true);
    hm_unlock();
}

bool hm_engine_configured(void) { return configured; }

const char *hm_engine_python_ready(bool *layout_ok)
{
    hooks_reinstalled = hm_pyhooks_reinstall_if_replaced();
    pool_layout_ok = hm_pyhooks_selfcheck();
    *layout_ok = pool_layout_ok;
    return have_orig_pythonpath ? orig_pythonpath : NULL;
}

static int64_t peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (int64_t)ru.ru_maxrss * 1024;
}

bool hm_engine_finish(char *err, size_t errlen)
{
    err[0] = '\0';
    if (!configured || getpid() != start_pid)
        return true;
    if (__atomic_exchange_n(&finished, 1, __ATOMIC_ACQ_REL))
        return true;

    hm_run_info info = {0};
    hm_lock();
    __atomic_store_n(&hm_state, HM_STOPPED, __ATOMIC_RELEASE);
    hm_sampler_enable(false);
    hm_pystack_stop();
    info.end_bytes = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    info.end_pymalloc_free = hm_totals.pyarena - hm_totals.pylive;
    info.peak_bytes = __atomic_load_n(&hm_totals.peak, __ATOMIC_RELAXED);
    info.peak_pymalloc_free = hm_totals.peak_pyarena - hm_totals.peak_pylive;
    info.live_records_at_end = hm_live_count();
    hm_unlock();

    struct timespec peak_ts = {hm_totals.peak_time_ns / 1000000000,
                               hm_totals.peak_time_ns % 1000000000};
    info.peak_at_s = (double)(peak_ts.tv_sec - start_mono.tv_sec) +
                     (double)(peak_ts.tv_nsec - start_mono.tv_nsec) / 1e9;
    if (info.peak_at_s < 0)
        info.peak_at_s = 0;
    info.duration_s = seconds_since_start();
    info.profile_path = profile_path;
    info.command = command;
    info.cwd = start_cwd;
    info.python_version = Py_GetVersion();
    info.pid = start_pid;
    info.exact = sample_rate <= 1;
    info.sample_rate = sample_rate;
    info.seed = seed;
    info.start_unix = start_unix;
    info.peak_rss_bytes = peak_rss();
    info.overhead_bytes = hm_own_peak_bytes();
    info.pymalloc_layout_ok = pool_layout_ok;
    info.python_hooks_late = hooks_reinstalled;

    hm_tls.guard++;      /* SQLite's own allocations are not the program's */
    bool ok = hm_store_write(&info, err, errlen);
    hm_tls.guard--;
    return ok;
}
