/*
 * known_blocks.c - the bitmap of blocks counted since an in-process start
 * (see known_blocks.h).
 *
 * Owns: mapping the leaf table and the leaves (the system call directly:
 * the interposed mmap must not see them), and zeroing them for a new start.
 * Must never: lock, allocate from the tracked heap, or unmap a leaf.
 */
#include "hotpath/known_blocks.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LEAF_BYTES (((size_t)1 << HM_KNOWN_LEAF_SHIFT) / 16 / 8)

int hm_known_on;
uint64_t **hm_known_leaves;

static void *map_noreserve(size_t size)
{
    long r = syscall(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return r < 0 && r > -4096 ? NULL : (void *)r;
}

uint64_t *hm_known_leaf(size_t index)
{
    uint64_t *leaf = map_noreserve(LEAF_BYTES);
    if (!leaf)
        return NULL;
    uint64_t *expected = NULL;
    if (!__atomic_compare_exchange_n(&hm_known_leaves[index], &expected, leaf, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        /* Another thread mapped it first: nobody has seen ours. */
        syscall(SYS_munmap, leaf, LEAF_BYTES);
        return expected;
    }
    return leaf;
}

bool hm_known_start(void)
{
    if (!hm_known_leaves) {
        hm_known_leaves = map_noreserve(HM_KNOWN_LEAVES * sizeof *hm_known_leaves);
        if (!hm_known_leaves)
            return false;
    }
    /* Zero-fill on the next touch: the marks of an earlier start are gone,
     * and a hook racing this (a stale function pointer) at worst loses one. */
    for (size_t i = 0; i < HM_KNOWN_LEAVES; i++)
        if (hm_known_leaves[i])
            syscall(SYS_madvise, hm_known_leaves[i], LEAF_BYTES, MADV_DONTNEED);
    __atomic_store_n(&hm_known_on, 1, __ATOMIC_RELEASE);
    return true;
}

void hm_known_stop(void)
{
    __atomic_store_n(&hm_known_on, 0, __ATOMIC_RELEASE);
}
