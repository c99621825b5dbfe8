/*
 * visited_set.h - the census's visited set of object addresses and its work
 * stack.
 *
 * Owns: an open-addressing set of addresses (8 bytes a slot, grown by 1.4x
 * at 70% load, so never more than 16 bytes per member after the first
 * growth) and a growable stack of pointers with an optional depth per entry.
 * Must never: include Python.h (it knows addresses, not objects), or take
 * memory from the heap a census measures: both live in ownmem mappings.
 */
#ifndef HM_CENSUS_SET_H
#define HM_CENSUS_SET_H

#include "common/common.h"

typedef struct {
    uintptr_t *slots; /* 0 = empty */
    size_t cap, count;
} hm_addrset;

/* Adds p; 1 if it was new, 0 if present, -1 out of memory. */
int hm_addrset_add(hm_addrset *s, uintptr_t p);
bool hm_addrset_has(const hm_addrset *s, uintptr_t p);
void hm_addrset_free(hm_addrset *s);
static inline size_t hm_addrset_bytes(const hm_addrset *s)
{
    return s->cap * sizeof(uintptr_t);
}

typedef struct {
    void **items;
    uint32_t *depth; /* NULL unless depths are tracked */
    size_t len, cap;
} hm_workstack;

bool hm_stack_push(hm_workstack *st, void *p, uint32_t depth);
static inline bool hm_stack_pop(hm_workstack *st, void **p, uint32_t *depth)
{
    if (!st->len)
        return false;
    st->len--;
    *p = st->items[st->len];
    *depth = st->depth ? st->depth[st->len] : 0;
    return true;
}
void hm_stack_free(hm_workstack *st);

/* Growable array of fixed-size elements in ownmem (objects, sizes, kinds). */
bool hm_array_reserve(void **array, size_t *cap, size_t used, size_t elem, size_t need);
void hm_array_free(void *array, size_t cap, size_t elem);

/* Sorts addresses in place (radix sort: census results can hold millions). */
void hm_sort_addresses(uintptr_t *a, size_t n);
bool hm_sorted_has(const uintptr_t *a, size_t n, uintptr_t p);

#endif
