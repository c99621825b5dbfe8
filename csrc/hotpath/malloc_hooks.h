/*
 * malloc_hooks.h - the native allocation entry points heapmark interposes.
 *
 * Owns: nothing callable from elsewhere but the start-up of the real
 * pthread_create and mmap family, resolved once.
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

#endif
