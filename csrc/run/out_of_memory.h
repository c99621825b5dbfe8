/*
 * out_of_memory.h - noticing that the process is about to run out of memory.
 *
 * Owns: the memory budgets (--memory-limit, the cgroup's limit in v2 or v1,
 * MemAvailable, RLIMIT_AS), the threshold in tracked bytes that the
 * allocation path compares against, and the out-of-memory report, noted
 * once by the allocation that crosses the threshold or fails and written by
 * the monitor thread a moment later.
 * Must never: change what the program sees (a failing allocation still
 * fails), or alarm a program under 70% of its limit: cgroup and address-space
 * budgets trigger at 90%, MemAvailable only when the machine itself runs out.
 */
#ifndef HM_OOM_H
#define HM_OOM_H

#include "common/common.h"

/* Engine start-up.  memory_limit: --memory-limit in bytes (0: none).  root:
 * where /proc and /sys/fs/cgroup are (for tests; "" is the real ones).
 * report_delay_ms: how long the monitor waits before writing the report (for
 * tests, which check that the allocation does not wait for it; 0 normally). */
void hm_oom_configure(int64_t memory_limit, const char *root, unsigned report_delay_ms);
/* From the monitor thread, every few tens of milliseconds: re-reads the
 * budgets and moves the threshold; raises the alarm if none is left. */
void hm_oom_poll(void);

/* From the monitor thread, woken by the alarm: writes the out-of-memory
 * report the allocating thread noted (engine.h). */
void hm_oom_write_report(void);

/* The alarm's threshold (in tracked bytes) and its two calls - an
 * allocation went beyond the threshold, an allocation failed - are
 * hotpath/totals.h's hm_alarm, set by hm_oom_configure. */

#endif
