/*
 * mappings.c - tracked anonymous mappings as a sorted array of ranges.
 *
 * Owns: the ranges (ownmem).  Programs hold few mappings (pymalloc arenas
 * are accounted by python_hooks.c, glibc's own heaps never reach the mmap hook),
 * and mmap is a system call anyway, so a sorted array with binary search
 * and memmove is both simplest and fast enough.
 * Must never: allocate from the tracked heap, or run without the recorder lock.
 */
#include "hotpath/mappings.h"
#include "hotpath/call_tree.h"
#include "common/ownmem.h"

#include <string.h>

typedef struct {
    uintptr_t start, end;
    uint32_t node;
    uint32_t origin; /* index into origins[]: one per mmap call */
} range_t;

static range_t *ranges;
static size_t count, cap;
static uint32_t *origin_pieces; /* live pieces per mmap call */
static uint32_t origin_count;
static size_t origin_cap;

/* First range whose end is beyond addr. */
static size_t lower_bound(uintptr_t addr)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ranges[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool insert_at(size_t i, range_t r)
{
    if (!hm_own_grow((void **)&ranges, &cap, count, sizeof *ranges, count + 1, 256))
        return false;
    memmove(&ranges[i + 1], &ranges[i], (count - i) * sizeof *ranges);
    ranges[i] = r;
    count++;
    return true;
}

bool hm_maps_add(uintptr_t start, size_t len, uint32_t node)
{
    if (!hm_own_grow((void **)&origin_pieces, &origin_cap, origin_count, sizeof *origin_pieces,
                     (size_t)origin_count + 1, 256))
        return false;
    range_t r = {start, start + len, node, origin_count};
    if (!insert_at(lower_bound(start), r))
        return false;
    origin_pieces[origin_count++] = 1;
    return true;
}

int64_t hm_maps_remove(uintptr_t start, size_t len, hm_maps_removed_fn removed)
{
    uintptr_t end = start + len;
    int64_t total = 0;
    size_t i = lower_bound(start);
    while (i < count && ranges[i].start < end) {
        range_t *r = &ranges[i];
        uintptr_t cut_start = r->start > start ? r->start : start;
        uintptr_t cut_end = r->end < end ? r->end : end;
        int64_t bytes = (int64_t)(cut_end - cut_start);
        total += bytes;
        if (cut_start > r->start && cut_end < r->end) {
            /* A hole in the middle: the range becomes two. */
            range_t tail = *r;
            tail.start = cut_end;
            r->end = cut_start;
            origin_pieces[r->origin]++;
            if (removed)
                removed(r->node, bytes, false);
            insert_at(i + 1, tail);
            break;
        }
        bool last = false;
        if (cut_start == r->start && cut_end == r->end) {
            last = --origin_pieces[r->origin] == 0;
            if (removed)
                removed(r->node, bytes, last);
            memmove(r, r + 1, (count - i - 1) * sizeof *ranges);
            count--;
            continue;
        }
        if (cut_start == r->start)
            r->start = cut_end;
        else
            r->end = cut_start;
        if (removed)
            removed(r->node, bytes, false);
        i++;
    }
    return total;
}

void hm_maps_clear(void)
{
    count = 0;
    origin_count = 0;
}

void hm_maps_adopt(uint32_t node)
{
    for (size_t i = 0; i < count; i++)
        if (ranges[i].node == HM_NONE)
            ranges[i].node = node;
}

size_t hm_maps_count(void)
{
    return count;
}

size_t hm_maps_copy(uintptr_t *start, uint64_t *bytes, uint32_t *node, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < count && n < cap; i++) {
        if (ranges[i].node == HM_NONE)
            continue;
        start[n] = ranges[i].start;
        bytes[n] = ranges[i].end - ranges[i].start;
        node[n++] = ranges[i].node;
    }
    return n;
}
