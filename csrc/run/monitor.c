/*
 * monitor.c - the monitor thread and the signals it serves (see monitor.h).
 *
 * Owns: the thread (which never records its own allocations: hm_tls.guard
 * stays raised in it, and it blocks every signal), the pipe that wakes it
 * (and the poll on heapmark top's requests, which watch.c answers),
 * and the SIGTERM and SIGUSR2 handlers, installed only where the program
 * left the default action.
 * Must never: hold the recorder lock while it writes (capture.c copies the
 * tables first), or keep a dying process alive: a SIGTERM waits at most
 * TERM_WAIT_MS for the profile, then the process dies of it as it would have.
 */
#include "run/monitor.h"
#include "common/contract.h"
#include "run/engine.h"
#include "run/crash.h"
#include "run/job.h"
#include "run/kind_walks.h"
#include "hotpath/totals.h"
#include "run/out_of_memory.h"
#include "run/relocations.h"
#include "hotpath/threads.h"
#include "run/timeline.h"
#include "run/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TERM_WAIT_MS 10000
#define BUDGET_MS 50 /* how often budgets are re-read (out_of_memory.c) */

static int wake_pipe[2] = {-1, -1}; /* handlers -> thread: one byte per request */
static int done_pipe[2] = {-1, -1}; /* thread -> SIGTERM handler: profile written */
static unsigned interval_s;
static unsigned test_crash_ms;
static bool started;
/* Atomic.  0 between an in-process stop and the next start: the thread
 * sleeps on its pipe with no tick at all, so a stopped tracker costs the
 * process nothing but one parked thread. */
static int active;

enum {
    WAKE_SNAPSHOT = 'U',
    WAKE_TERMINATE = 'T',
    WAKE_OUT_OF_MEMORY = 'O',
    WAKE_RESUME = 'R',
    WAKE_CRASH = 'C'
};

static void snapshot_with_reports(void)
{
    char path[4200], err[1024];
    if (!hm_engine_snapshot(path, sizeof path, err, sizeof err)) {
        fprintf(stderr, "heapmark: snapshot: %s\n", err);
        return;
    }
    if (!path[0])
        return;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (!hm_engine_render(path, dir, err, sizeof err)) {
        fprintf(stderr, "heapmark: snapshot: %s\n", err);
    } else {
        fprintf(stderr, "heapmark: snapshot written to %s/ (%s, %s, %s, %s)\n", dir,
                hm_result_file(HM_RESULT_REPORT_HTML), hm_result_file(HM_RESULT_PEAK_SVG),
                hm_result_file(HM_RESULT_PEAK_TXT), hm_result_file(HM_RESULT_PROFILE));
    }
}

static void *monitor_main(void *unused)
{
    (void)unused;
    hm_tls.guard++; /* for good: this thread's allocations are heapmark's */
    char err[1024];
    struct timespec last_checkpoint;
    clock_gettime(CLOCK_MONOTONIC, &last_checkpoint);
    bool checkpoint_failing = false;
    /* The timeline's interval, if shorter, sets the tick; budgets and
     * checkpoints are looked at every BUDGET_MS whatever it is. */
    unsigned sample_ms = hm_timeline_interval_ms();
    int tick_ms = sample_ms && sample_ms < BUDGET_MS ? (int)sample_ms : BUDGET_MS;
    unsigned ticks = 0, budget_ticks = BUDGET_MS / (unsigned)tick_ms;
    for (;;) {
        int watch_fd = hm_watch_fd();
        struct pollfd pfd[2] = {{wake_pipe[0], POLLIN, 0}, {watch_fd, POLLIN, 0}};
        int n = poll(pfd, watch_fd >= 0 ? 2 : 1,
                     __atomic_load_n(&active, __ATOMIC_ACQUIRE) ? tick_ms : -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0 && watch_fd >= 0 && pfd[1].revents) {
            hm_watch_serve(); /* heapmark top asks */
            if (!pfd[0].revents)
                continue;
        }
        if (n == 0) {
            hm_timeline_tick(false);
            hm_job_tick(__atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED));
            hm_relocations_poll_loads();
            if (++ticks % budget_ticks != 0)
                continue;
            hm_oom_poll();
            hm_kind_walks_poll();
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (test_crash_ms && hm_timeline_now() * 1000 >= test_crash_ms)
                *(volatile int *)(uintptr_t)test_crash_ms = 0; /* tests: a fault here */
            if (interval_s && now.tv_sec - last_checkpoint.tv_sec >= (time_t)interval_s) {
                last_checkpoint = now;
                /* A full disk fails every checkpoint: say it once. */
                bool ok = hm_engine_write_copy(NULL, "checkpoint", err, sizeof err);
                if (!ok && !checkpoint_failing)
                    fprintf(stderr, "heapmark: checkpoint: %s (repeats not shown)\n", err);
                checkpoint_failing = !ok;
            }
            continue;
        }
        char request;
        if (read(wake_pipe[0], &request, 1) != 1)
            continue;
        if (request == WAKE_RESUME) {
            /* A new in-process start: its checkpoints count from now. */
            clock_gettime(CLOCK_MONOTONIC, &last_checkpoint);
            ticks = 0;
        } else if (request == WAKE_SNAPSHOT) {
            snapshot_with_reports();
        } else if (request == WAKE_OUT_OF_MEMORY) {
            hm_oom_write_report();
        } else if (request == WAKE_CRASH) {
            /* The crashed thread waits in its handler (crash.c) and lets the
             * signal go on once this says the profile is written. */
            char status[64];
            snprintf(status, sizeof status, "crashed: %s", hm_crash_signal_name(hm_crash_signal()));
            if (!hm_engine_finish(status, err, sizeof err))
                fprintf(stderr, "heapmark: error: %s\n", err);
            char done = 1;
            (void)!write(done_pipe[1], &done, 1);
        } else if (request == WAKE_TERMINATE) {
            if (!hm_engine_finish("signal SIGTERM", err, sizeof err))
                fprintf(stderr, "heapmark: error: %s\n", err);
            char done = 1;
            (void)!write(done_pipe[1], &done, 1);
            /* The handler may not have waited (see on_sigterm): the process
             * dies of the signal now that the profile is written.  This
             * thread blocks it, so another thread takes it. */
            signal(SIGTERM, SIG_DFL);
            kill(getpid(), SIGTERM);
        }
    }
    return NULL;
}

bool hm_monitor_wake_for_out_of_memory(void)
{
    char request = WAKE_OUT_OF_MEMORY;
    return __atomic_load_n(&started, __ATOMIC_ACQUIRE) && wake_pipe[1] >= 0 &&
           write(wake_pipe[1], &request, 1) == 1;
}

void hm_monitor_test_crash(unsigned ms)
{
    test_crash_ms = ms;
}

int hm_monitor_write_for_crash(int wait_ms)
{
    char request = WAKE_CRASH;
    if (!__atomic_load_n(&started, __ATOMIC_ACQUIRE) || wake_pipe[1] < 0)
        return HM_CRASH_NO_MONITOR;
    if (write(wake_pipe[1], &request, 1) != 1)
        return HM_CRASH_NO_MONITOR;
    struct pollfd pfd = {done_pipe[0], POLLIN, 0};
    for (;;) {
        int n = poll(&pfd, 1, wait_ms);
        if (n < 0 && errno == EINTR)
            continue; /* the wait restarts: still bounded, by a few signals */
        return n > 0 ? HM_CRASH_WRITTEN : HM_CRASH_TIMED_OUT;
    }
}

static void on_sigusr2(int sig)
{
    (void)sig;
    int saved = errno;
    char request = WAKE_SNAPSHOT;
    (void)!write(wake_pipe[1], &request, 1);
    errno = saved;
}

/* The handler waits (the program stands still) while the monitor thread
 * writes the profile - unless the signal interrupted heapmark's own code in
 * this thread (hm_tls.guard: the recorder lock or a profile write held or
 * awaited), which the monitor would wait for in turn.  Then it returns at
 * once, the interrupted work completes, and the monitor raises the signal
 * again once the profile is written. */
static void on_sigterm(int sig)
{
    char request = WAKE_TERMINATE;
    if (write(wake_pipe[1], &request, 1) == 1) {
        if (hm_tls.guard)
            return;
        struct pollfd pfd = {done_pipe[0], POLLIN, 0};
        poll(&pfd, 1, TERM_WAIT_MS);
    }
    /* Die of the signal, as without heapmark: it is blocked while this
     * handler runs and is delivered with the default action on return. */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_if_default(int sig, void (*handler)(int))
{
    struct sigaction old, sa;
    if (sigaction(sig, NULL, &old) != 0 || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, NULL);
}

void hm_monitor_forget(void)
{
    hm_watch_forget();
    /* The pipes were inherited from the parent: close our ends, make new ones
     * when the thread starts again (the handlers use whatever is current). */
    for (int i = 0; i < 2; i++) {
        if (wake_pipe[i] >= 0)
            close(wake_pipe[i]);
        if (done_pipe[i] >= 0)
            close(done_pipe[i]);
        wake_pipe[i] = done_pipe[i] = -1;
    }
    started = false;
}

static void restore_default_if_ours(int sig, void (*handler)(int))
{
    struct sigaction old;
    if (sigaction(sig, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        old.sa_handler == handler)
        signal(sig, SIG_DFL);
}

void hm_monitor_disown(void)
{
    restore_default_if_ours(SIGTERM, on_sigterm);
    restore_default_if_ours(SIGUSR2, on_sigusr2);
    hm_monitor_forget();
}

void hm_monitor_pause(void)
{
    __atomic_store_n(&active, 0, __ATOMIC_RELEASE);
}

void hm_monitor_start(unsigned checkpoint_seconds, bool handle_signals)
{
    interval_s = checkpoint_seconds;
    hm_watch_arm();
    __atomic_store_n(&active, 1, __ATOMIC_RELEASE);
    if (started) {
        /* Parked by hm_monitor_pause, perhaps in a poll with no timeout. */
        char request = WAKE_RESUME;
        (void)!write(wake_pipe[1], &request, 1);
        return;
    }
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0 || pipe2(done_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "heapmark: cannot start the monitor thread: %s\n", strerror(errno));
        return;
    }
    /* The thread reads blocking; only the handlers' writes must not block. */
    fcntl(wake_pipe[0], F_SETFL, 0);
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    hm_tls.guard++; /* not the program's thread: no record of it */
    /* Born with every signal blocked: until monitor_main runs, a signal the
     * program sends itself could otherwise land in this thread and not
     * interrupt the program's own (a sleep would not see its SIGINT). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&thread, &attr, monitor_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    hm_tls.guard--;
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        fprintf(stderr, "heapmark: cannot start the monitor thread: %s\n", strerror(rc));
        return;
    }
    started = true;
    if (!handle_signals)
        return;
    install_if_default(SIGTERM, on_sigterm);
    install_if_default(SIGUSR2, on_sigusr2);
}
