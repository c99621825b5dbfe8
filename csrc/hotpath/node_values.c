/*
 * node_values.c - per-node values for the peak, end and allocated snapshots.
 *
 * Owns: one hm_node_values per call-tree node, in an array from ownmem that
 * grows by doubling (the recorder lock serialises every access).
 * Must never: allocate from the tracked heap or walk the tree.
 */
#include "hotpath/node_values.h"
#include "common/ownmem.h"
#include "hotpath/totals.h"

typedef struct {
    hm_amount now;
    hm_amount at_peak;
    hm_amount allocated;
    uint64_t epoch; /* peak epoch in which `now` last changed */
} hm_node_values;

static hm_node_values *values;
static size_t capacity;

bool hm_snap_reserve(uint32_t nodes)
{
    return hm_own_grow((void **)&values, &capacity, capacity, sizeof *values, nodes, 4096);
}

static hm_node_values *touch(uint32_t node)
{
    hm_node_values *v = &values[node];
    uint64_t epoch = hm_peak_epoch();
    if (v->epoch != epoch) {
        v->at_peak = v->now;
        v->epoch = epoch;
    }
    return v;
}

void hm_snap_alloc(uint32_t node, int64_t bytes, int64_t count)
{
    hm_node_values *v = touch(node);
    v->now.bytes += bytes;
    v->now.count += count;
    v->allocated.bytes += bytes;
    v->allocated.count += count;
}

void hm_snap_free(uint32_t node, int64_t bytes, int64_t count)
{
    hm_node_values *v = touch(node);
    v->now.bytes -= bytes;
    v->now.count -= count;
}

void hm_snap_clear(void)
{
    for (size_t i = 0; i < capacity; i++)
        values[i] = (hm_node_values){{0, 0}, {0, 0}, {0, 0}, 0};
}

void hm_snap_forget_allocated(void)
{
    for (size_t i = 0; i < capacity; i++)
        values[i].allocated = (hm_amount){0, 0};
}

hm_amount hm_snap_now(uint32_t node)
{
    return node < capacity ? values[node].now : (hm_amount){0, 0};
}

hm_amount hm_snap_at_peak(uint32_t node)
{
    if (node >= capacity)
        return (hm_amount){0, 0};
    hm_node_values *v = &values[node];
    return v->epoch == hm_peak_epoch() ? v->at_peak : v->now;
}

hm_amount hm_snap_allocated(uint32_t node)
{
    return node < capacity ? values[node].allocated : (hm_amount){0, 0};
}
