/*
 * relocations.h - sending other objects' calls to heapmark's hooks, in a
 * process heapmark did not preload.
 *
 * Owns: the redirection of every loaded object's relocations for the malloc
 * family, the mmap family, pthread_create and dlopen (so that objects loaded
 * later are redirected as they load), and putting each slot back.
 * Must never: redirect a slot bound to another allocator than glibc's (a
 * jemalloc linked into one library keeps it), touch heapmark's own library or
 * the dynamic loader, or call dlsym while the loader's object list is held.
 */
#ifndef HM_RELOCATIONS_H
#define HM_RELOCATIONS_H

#include "common/common.h"

/* Redirects every loaded object (and, until hm_relocations_restore, every
 * object loaded later).  False with err filled if this process's allocator
 * is not glibc's, which the hooks forward to. */
bool hm_relocations_redirect(char *err, size_t errlen);
/* Puts back every slot still pointing at a hook, in the objects still
 * loaded. */
void hm_relocations_restore(void);
/* After a dlopen, in a process heapmark preloaded (or tracks in-process):
 * what the load bound to glibc (a library loaded with RTLD_DEEPBIND), and
 * the extensions' calls to PyEval_SaveThread and PyEval_RestoreThread
 * (hotpath/gil_hooks.h), are redirected. */
void hm_relocations_after_load(void);
/* From the monitor's tick: hm_relocations_after_load if objects were
 * loaded since the last look (a dlopen the dlopen hook let through). */
void hm_relocations_poll_loads(void);
/* Slots redirected now, and objects left alone because they were bound to
 * another allocator. */
size_t hm_relocations_redirected(void);
size_t hm_relocations_foreign(void);

#endif
