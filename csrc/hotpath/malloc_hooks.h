/*
 * malloc_hooks.h - the native allocation entry points heapmark interposes.
 *
 * Owns: nothing callable from elsewhere but the start-up of the real
 * pthread_create and mmap family, resolved once, and the table of the hooks
 * by name that an in-process start writes into other objects' relocations
 * (run/relocations.c).
 * Must never: be the only route to libc's allocator for heapmark's own use
 * (heapmark's tables come from ownmem.c).
 */
#ifndef HM_HOOKS_H
#define HM_HOOKS_H

#include "common/common.h"

void hm_hooks_resolve(void);
/* The chunk-header size read agrees with libc's malloc_usable_size. */
/* Before LD_PRELOAD is put back: notes whether valgrind runs the process
 * (its libraries come first in LD_PRELOAD), which decides how block sizes
 * are read. */
void hm_hooks_read_environment(void);
bool hm_hooks_check_usable_size(void);

/* In a process heapmark did not preload: the real mmap family and
 * pthread_create are libc's own (RTLD_NEXT means nothing there). */
void hm_hooks_resolve_from_libc(void);

/* A hook by the name of the function it stands for, at the hook's own
 * address: from inside this library `malloc` resolves to libc's when the
 * library is not preloaded. */
typedef struct {
    const char *name;
    void *hook;
} hm_hook_entry;

extern const hm_hook_entry hm_native_hooks[];
extern const size_t hm_native_hook_count;

#endif
