/*
 * dl_hooks.h - dlsym, dlvsym and dlopen, interposed so that no way of
 * looking up malloc gets around heapmark's hooks.
 *
 * Owns: which looked-up names are handed heapmark's hook instead of
 * glibc's function, and the redirection of what a dlopen with
 * RTLD_DEEPBIND brought in (such a library binds its own malloc calls to
 * glibc's, ahead of the preload).
 * Must never: change the answer for any other name, or the caller the
 * loader sees (RTLD_NEXT and a caller's RUNPATH are resolved from the
 * return address: the hooks hand over with a jump, not a call).
 */
#ifndef HM_DL_HOOKS_H
#define HM_DL_HOOKS_H

#include "common/common.h"

/* The hooks, by the names relocations.c redirects in a process heapmark
 * did not preload. */
extern const char *const hm_dl_hook_names[];
extern void *const hm_dl_hook_addresses[];
extern const size_t hm_dl_hook_count;

/* What a lookup of `name` should return, given that the loader found
 * `found`: heapmark's hook when `found` is glibc's own function of an
 * allocation name, else `found`. */
void *hm_dl_substitute(const char *name, void *found);

#endif
