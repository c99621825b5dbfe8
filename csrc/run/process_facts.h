/*
 * process_facts.h - what the engine reads about its own process: a copy of
 * an environment variable, the command line, the peak resident set.
 *
 * Owns: nothing but these small readings.
 * Must never: be called from an allocation hook (they use stdio and
 * system calls that may allocate).
 */
#ifndef HM_PROCESS_FACTS_H
#define HM_PROCESS_FACTS_H

#include "common/common.h"

#include <time.h>

/* The variable's value into dst ("" when unset). */
void hm_copy_env(char *dst, size_t size, const char *name);
/* "%p" in path becomes this process's id. */
void hm_expand_pid(char *path, size_t size);
/* The process's own command line, words joined by spaces (/proc/self/cmdline). */
void hm_read_command_line(char *dst, size_t size);
double hm_seconds_between(const struct timespec *a, const struct timespec *b);
/* The kernel's peak resident set of this process, in bytes. */
int64_t hm_peak_rss(void);

#endif
