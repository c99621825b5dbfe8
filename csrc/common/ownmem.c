/*
 * ownmem.c - heapmark's own memory, kept outside the tracked heap.
 *
 * Owns: page mappings made with the mmap system call directly, so that the
 * interposed mmap/malloc never see heapmark's tables, and the running count of
 * those bytes (reported in the profile as heapmark_overhead_bytes).
 * Must never: call malloc, take a lock (callers of hm_own_bump hold the
 * recorder lock), or be used by code that runs after the profile is written.
 */
#include "common/ownmem.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096u
#define BUMP_CHUNK (1u << 20)

static size_t own_bytes, own_peak;
static char *bump_next, *bump_end;

static size_t round_page(size_t n)
{
    return (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

void *hm_own_map(size_t size)
{
    size = round_page(size);
    long r =
        syscall(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r < 0 && r > -4096)
        return NULL;
    size_t now = __atomic_add_fetch(&own_bytes, size, __ATOMIC_RELAXED);
    size_t peak = __atomic_load_n(&own_peak, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&own_peak, &peak, now, true, __ATOMIC_RELAXED,
                                                      __ATOMIC_RELAXED))
        ;
    return (void *)r;
}

void hm_own_unmap(void *p, size_t size)
{
    if (!p)
        return;
    size = round_page(size);
    syscall(SYS_munmap, p, size);
    __atomic_sub_fetch(&own_bytes, size, __ATOMIC_RELAXED);
}

void *hm_own_bump(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size > BUMP_CHUNK / 4)
        return hm_own_map(size);
    if ((size_t)(bump_end - bump_next) < size) {
        char *chunk = hm_own_map(BUMP_CHUNK);
        if (!chunk)
            return NULL;
        bump_next = chunk;
        bump_end = chunk + BUMP_CHUNK;
    }
    void *p = bump_next;
    bump_next += size;
    return p;
}

bool hm_own_grow(void **array, size_t *cap, size_t used, size_t elem, size_t need, size_t min_cap)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : min_cap;
    while (n < need)
        n *= 2;
    void *grown = hm_own_map(n * elem);
    if (!grown)
        return false;
    if (*array) {
        memcpy(grown, *array, used * elem);
        hm_own_unmap(*array, *cap * elem);
    }
    *array = grown;
    *cap = n;
    return true;
}

size_t hm_own_peak_bytes(void)
{
    return __atomic_load_n(&own_peak, __ATOMIC_RELAXED);
}
