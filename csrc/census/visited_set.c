/*
 * visited_set.c - visited set, work stack and arrays for the census walk.
 *
 * Owns: hashing and probing of addresses, growth policy, the radix sort
 * used to test membership in earlier census results.
 * Must never: call malloc (ownmem maps the pages, so a census run under
 * `heapmark run` does not show up as the program's memory), or store
 * anything but addresses: the Python side decides what they mean.
 */
#include "census/visited_set.h"
#include "common/ownmem.h"

#include <string.h>

#define MIN_SLOTS 4096u

/* Objects are 16-byte aligned, so the low bits carry nothing; a multiply
 * spreads the rest and the 128-bit product maps the hash onto any capacity
 * without a power of two (which is what keeps the load in 0.5..0.7). */
static inline size_t slot_of(uintptr_t p, size_t cap)
{
    uint64_t h = (uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    return (size_t)(((unsigned __int128)h * cap) >> 64);
}

static void place(uintptr_t *slots, size_t cap, uintptr_t p)
{
    size_t i = slot_of(p, cap);
    while (slots[i]) {
        if (++i == cap)
            i = 0;
    }
    slots[i] = p;
}

static bool grow(hm_addrset *s)
{
    size_t cap = s->cap ? s->cap + s->cap * 2 / 5 : MIN_SLOTS;
    uintptr_t *slots = hm_own_map(cap * sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i])
            place(slots, cap, s->slots[i]);
    hm_own_unmap(s->slots, s->cap * sizeof *slots);
    s->slots = slots;
    s->cap = cap;
    return true;
}

int hm_addrset_add(hm_addrset *s, uintptr_t p)
{
    if ((s->count + 1) * 10 > s->cap * 7 && !grow(s))
        return -1;
    size_t i = slot_of(p, s->cap);
    for (;;) {
        uintptr_t k = s->slots[i];
        if (k == p)
            return 0;
        if (!k) {
            s->slots[i] = p;
            s->count++;
            return 1;
        }
        if (++i == s->cap)
            i = 0;
    }
}

bool hm_addrset_has(const hm_addrset *s, uintptr_t p)
{
    if (!s->cap)
        return false;
    size_t i = slot_of(p, s->cap);
    for (;;) {
        uintptr_t k = s->slots[i];
        if (k == p)
            return true;
        if (!k)
            return false;
        if (++i == s->cap)
            i = 0;
    }
}

void hm_addrset_free(hm_addrset *s)
{
    hm_own_unmap(s->slots, s->cap * sizeof *s->slots);
    memset(s, 0, sizeof *s);
}

bool hm_array_reserve(void **array, size_t *cap, size_t used, size_t elem, size_t need)
{
    return hm_own_grow(array, cap, used, elem, need, 1024);
}

void hm_array_free(void *array, size_t cap, size_t elem)
{
    hm_own_unmap(array, cap * elem);
}

bool hm_stack_push(hm_workstack *st, void *p, uint32_t depth)
{
    if (st->len == st->cap) {
        size_t cap = st->cap, dcap = st->cap;
        if (!hm_own_grow((void **)&st->items, &cap, st->len, sizeof *st->items, st->len + 1, 4096))
            return false;
        if (st->depth) {
            if (!hm_own_grow((void **)&st->depth, &dcap, st->len, sizeof *st->depth, cap, 4096))
                return false;
        }
        st->cap = cap;
    }
    st->items[st->len] = p;
    if (st->depth)
        st->depth[st->len] = depth;
    st->len++;
    return true;
}

void hm_stack_free(hm_workstack *st)
{
    hm_own_unmap(st->items, st->cap * sizeof *st->items);
    if (st->depth)
        hm_own_unmap(st->depth, st->cap * sizeof *st->depth);
    memset(st, 0, sizeof *st);
}

void hm_sort_addresses(uintptr_t *a, size_t n)
{
    if (n < 2)
        return;
    uintptr_t *tmp = hm_own_map(n * sizeof *tmp);
    if (!tmp) {
        /* Insertion sort would be quadratic; fall back to a shell sort. */
        for (size_t gap = n / 2; gap; gap /= 2)
            for (size_t i = gap; i < n; i++)
                for (size_t j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
                    uintptr_t t = a[j];
                    a[j] = a[j - gap];
                    a[j - gap] = t;
                }
        return;
    }
    /* User-space addresses fit in 48 bits: six 8-bit passes cover them
     * (static objects are only 8-byte aligned, so bit 3 counts). */
    uintptr_t *src = a, *dst = tmp;
    for (int shift = 0; shift < 48; shift += 8) {
        size_t counts[256] = {0};
        for (size_t i = 0; i < n; i++)
            counts[(src[i] >> shift) & 255]++;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = counts[b];
            counts[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[counts[(src[i] >> shift) & 255]++] = src[i];
        uintptr_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    hm_own_unmap(tmp, n * sizeof *tmp);
}

bool hm_sorted_has(const uintptr_t *a, size_t n, uintptr_t p)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == p;
}
