/*
 * crash.h - a crashing program still leaves its profile (see crash.c).
 *
 * Owns: the handlers of the fatal signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
 * SIGABRT), the main thread's alternate signal stack, and the crash note
 * (which signal, and the crashing thread's stack node) the final profile
 * records.
 * Must never: call anything but async-signal-safe functions from a handler
 * (beyond a try of the recorder lock and the stack walk under it), or wait
 * without a bound.
 */
#ifndef HM_CRASH_H
#define HM_CRASH_H

#include "common/common.h"

/* At the engine's start in a process heapmark run profiles: handlers for
 * the fatal signals over whatever was there (kept, and run after ours). */
void hm_crash_install(void);
/* A forked child that is not profiled: the signals' earlier actions back. */
void hm_crash_disown(void);
/* The crash being recorded: its signal (0: none) and the crashing thread's
 * stack node (HM_NONE if it could not be read safely). */
int hm_crash_signal(void);
uint32_t hm_crash_node(void);
/* "SIGSEGV", ... for a fatal signal. */
const char *hm_crash_signal_name(int sig);

#endif
