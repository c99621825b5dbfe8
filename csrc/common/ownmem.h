/*
 * ownmem.h - heapmark's own memory, kept outside the tracked heap.
 *
 * Owns: every byte heapmark's engine uses for its tables while a program runs.
 * Must never: call malloc or any hooked function (it maps pages with a raw
 * syscall), or be used from report code (reports use the ordinary heap).
 */
#ifndef HM_OWNMEM_H
#define HM_OWNMEM_H

#include "common/common.h"

/* Maps zeroed, page-rounded memory; NULL on failure. */
void *hm_own_map(size_t size);
void hm_own_unmap(void *p, size_t size);

/* Bump allocation of small zeroed objects that live until exit (strings,
 * code descriptors, thread records).  Caller holds the recorder lock. */
void *hm_own_bump(size_t size);

/* Grows *array (elements of elem bytes, used of them in use) to hold at least
 * need elements, doubling from min_cap; the old mapping is released.  The
 * caller holds the recorder lock.  False (array unchanged) if out of memory. */
bool hm_own_grow(void **array, size_t *cap, size_t used, size_t elem, size_t need, size_t min_cap);

/* Bytes heapmark held at most, for the profile's metadata. */
size_t hm_own_peak_bytes(void);

#endif
