/*
 * out_of_memory.h - noticing that the process is about to run out of memory.
 *
 * Owns: the memory budgets (--memory-limit, the cgroup's limit in v2 or v1,
 * MemAvailable, RLIMIT_AS), the threshold in tracked bytes that the
 * allocation path compares against, and the out-of-memory report, written
 * once, when an allocation crosses the threshold or fails.
 * Must never: change what the program sees (a failing allocation still
 * fails), or alarm a program under 70% of its limit: cgroup and address-space
 * budgets trigger at 90%, MemAvailable only when the machine itself runs out.
 */
#ifndef HM_OOM_H
#define HM_OOM_H

#include "common/common.h"

/* Tracked bytes beyond which an allocation raises the alarm (INT64_MAX: none
 * known yet); read on the new-peak path. */
extern int64_t hm_oom_threshold;

/* Engine start-up.  memory_limit: --memory-limit in bytes (0: none).  root:
 * where /proc and /sys/fs/cgroup are (for tests; "" is the real ones). */
void hm_oom_configure(int64_t memory_limit, const char *root);
/* From the monitor thread, every few tens of milliseconds: re-reads the
 * budgets and moves the threshold; raises the alarm if none is left. */
void hm_oom_poll(void);

/* The allocation path: an allocation of `bytes` took tracked memory to `now`,
 * beyond the threshold. */
void hm_oom_crossed(int64_t now, int64_t bytes);
/* An allocation of `bytes` failed (malloc returned NULL, mmap failed). */
void hm_oom_failed(size_t bytes);

#endif
