/*
 * monitor.h - heapmark's own thread in the profiled process.
 *
 * Owns: the periodic checkpoint, the watch on memory budgets and the writing
 * of the out-of-memory report (out_of_memory.c), and the writes that signals
 * ask for:
 * SIGUSR2, a snapshot with its reports while the program runs; SIGTERM (when
 * the program has no handler of its own), the final profile before the
 * process dies of the signal.
 * Must never: run Python code, or have the signal handlers do anything but
 * async-signal-safe calls: they wake the thread and (SIGTERM) wait for it.
 */
#ifndef HM_MONITOR_H
#define HM_MONITOR_H

#include "common/common.h"

/* Starts the thread once; 0 s: no checkpoints.  handle_signals: SIGTERM
 * and SIGUSR2 are served (heapmark run); not in a process heapmark did not
 * start, whose signals are its own.  A later call sets the checkpoint
 * interval and wakes the thread from hm_monitor_pause. */
void hm_monitor_start(unsigned checkpoint_seconds, bool handle_signals);
/* After an in-process stop: the thread stops ticking (no timeline sample,
 * no budget read, no checkpoint) and sleeps until the next
 * hm_monitor_start or a request from a signal handler. */
void hm_monitor_pause(void);
/* In a forked child the thread is gone: forget it, so that hm_monitor_start
 * starts a new one (called by the engine's fork handler). */
void hm_monitor_forget(void);
/* In a forked child heapmark does not profile: forget the thread and give
 * SIGTERM and SIGUSR2 back their default action where the handlers are
 * still heapmark's, so that the child behaves as it would without it (and
 * never wakes the parent's thread through the inherited pipe). */
void hm_monitor_disown(void);
/* From the thread whose allocation raised the memory alarm: asks the thread
 * to write the out-of-memory report (one byte down a pipe, nothing more).
 * False if the thread is not running, so nobody will. */
bool hm_monitor_wake_for_out_of_memory(void);
/* From a crashing thread's signal handler (crash.c): asks the thread for
 * the final profile and waits for it at most wait_ms, async-signal-safely. */
enum { HM_CRASH_WRITTEN, HM_CRASH_NO_MONITOR, HM_CRASH_TIMED_OUT };
int hm_monitor_write_for_crash(int wait_ms);
/* Tests only (HEAPMARK_TEST_CRASH_IN_HEAPMARK): the thread dies of SIGSEGV
 * after ms milliseconds, a crash in heapmark's own code; 0: never. */
void hm_monitor_test_crash(unsigned ms);

#endif
