/*
 * follow.h - profiling the processes the program starts with exec.
 *
 * Owns: which exec'd programs are followed (multiprocessing's spawn and
 * forkserver processes unless told otherwise; every program with
 * --follow-exec), and the environment that makes them profile themselves
 * into the same results directory.
 * Must never: allocate or lock - it runs in the child of a vfork, between
 * the fork and the exec - or leak the preload into programs not followed.
 */
#ifndef HM_FOLLOW_H
#define HM_FOLLOW_H

#include "common/common.h"

#define HM_FOLLOW_VARS 15 /* variables hm_follow_env may add: 4 paths, 10 fixed, the parent */

/* Engine start-up: what a followed child needs to know. */
void hm_follow_configure(const char *follow, const char *boot_dir, const char *results_dir,
                         uint64_t rate, uint64_t seed, unsigned checkpoint_seconds, bool native);

/* Whether exec'ing path with argv should be followed. */
bool hm_follow_wanted(const char *path, char *const argv[]);

/* Bytes of string space hm_follow_env needs for envp. */
size_t hm_follow_space(char *const envp[]);

/* Fills out (room for count(envp) + HM_FOLLOW_VARS + 1 pointers) with envp
 * plus heapmark's variables, using space (hm_follow_space bytes) for the
 * strings it makes.  pid: the process that is about to exec. */
void hm_follow_env(char *const envp[], char **out, char *space, int pid);

#endif
