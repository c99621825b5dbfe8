/*
 * done_signal.h - telling heapmark run that the final profile is written
 * (see done_signal.c).
 *
 * Owns: the write end of the pipe heapmark run hands the program
 * (HEAPMARK_DONE_FD).
 * Must never: let a process other than the one heapmark run started hold it
 * past its start (a forked child, an exec'd program), or say "done" for a
 * profile that is not the run's last word.
 */
#ifndef HM_DONE_SIGNAL_H
#define HM_DONE_SIGNAL_H

#include "common/common.h"

/* At the engine's start, before the environment is forgotten: takes the
 * pipe if heapmark run gave one (close-on-exec from here on). */
void hm_done_signal_take(void);
/* In a forked child: the pipe is its parent's. */
void hm_done_signal_forget(void);
/* The final profile is written: "done" if it is all the reports need (the
 * run had no other process), then the pipe is closed either way. */
void hm_done_signal_send(bool reports_may_start);

#endif
