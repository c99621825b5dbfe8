/*
 * livetable.c - recorded blocks that are still allocated (see livetable.h).
 *
 * Owns: the open-addressing table (linear probing, backward-shift deletion,
 * so no tombstones; grown at 50% load) and the counting Bloom filter, sized
 * at 16 counters per recorded block so that about 1-2% of unsampled frees
 * take the locked path.  In exact mode there is no filter: every block is in
 * the table anyway.
 * Must never: allocate from the tracked heap, or be changed without the
 * recorder lock.
 */
#include "livetable.h"
#include "hashmap.h"
#include "ownmem.h"

#include <string.h>

hm_bloom_t *hm_bloom;

static hm_live *table;
static size_t table_mask, table_count;
static size_t bloom_lines;
static bool use_bloom;

#define MIN_TABLE (1u << 14)
#define MIN_BLOOM_LINES (1u << 10)

static size_t slot_of(uintptr_t ptr) { return (size_t)hm_hash64(ptr) & table_mask; }

static void bloom_change(hm_bloom_t *b, uintptr_t ptr, int delta)
{
    uint64_t h = hm_bloom_hash(ptr);
    uint8_t *line = b->lines[(h >> 32) & b->line_mask];
    uint8_t *c[2] = {&line[(h >> 20) & 63], &line[(h >> 26) & 63]};
    for (int i = 0; i < 2; i++) {
        uint8_t v = __atomic_load_n(c[i], __ATOMIC_RELAXED);
        if (v == 255)
            continue;      /* saturated: sticky until the filter is rebuilt */
        if (delta > 0 || v > 0)
            __atomic_store_n(c[i], (uint8_t)(v + delta), __ATOMIC_RELAXED);
    }
}

static bool bloom_rebuild(size_t lines)
{
    hm_bloom_t *b = hm_own_map(sizeof(hm_bloom_t) + lines * 64);
    if (!b)
        return false;
    b->line_mask = lines - 1;
    for (size_t i = 0; i <= table_mask; i++)
        if (table[i].ptr)
            bloom_change(b, table[i].ptr, +1);
    bloom_lines = lines;
    __atomic_store_n(&hm_bloom, b, __ATOMIC_RELEASE);
    return true;
}

static void place(hm_live *t, size_t mask, const hm_live *e)
{
    size_t i = (size_t)hm_hash64(e->ptr) & mask;
    while (t[i].ptr)
        i = (i + 1) & mask;
    t[i] = *e;
}

static bool table_grow(void)
{
    size_t cap = table ? (table_mask + 1) * 2 : MIN_TABLE;
    hm_live *grown = hm_own_map(cap * sizeof *grown);
    if (!grown)
        return false;
    if (table) {
        for (size_t i = 0; i <= table_mask; i++)
            if (table[i].ptr)
                place(grown, cap - 1, &table[i]);
        hm_own_unmap(table, (table_mask + 1) * sizeof *table);
    }
    table = grown;
    table_mask = cap - 1;
    return true;
}

bool hm_live_init(bool exact)
{
    use_bloom = !exact;
    if (!table && !table_grow())
        return false;
    return !use_bloom || hm_bloom || bloom_rebuild(MIN_BLOOM_LINES);
}

static hm_live *find(uintptr_t ptr)
{
    size_t i = slot_of(ptr);
    while (table[i].ptr) {
        if (table[i].ptr == ptr)
            return &table[i];
        i = (i + 1) & table_mask;
    }
    return NULL;
}

bool hm_live_insert(const hm_live *entry)
{
    hm_live *e = find(entry->ptr);
    if (e) {
        /* Address reused while a stale entry survived (a block freed by a
         * path heapmark cannot see): the new block replaces it. */
        uint32_t code = e->code;
        *e = *entry;
        if (!e->code)
            e->code = code;
        return true;
    }
    if ((table_count + 1) * 2 > table_mask + 1 && !table_grow())
        return false;
    place(table, table_mask, entry);
    table_count++;
    if (use_bloom) {
        if (table_count > bloom_lines * 4)
            bloom_rebuild(bloom_lines * 2);
        else
            bloom_change(hm_bloom, entry->ptr, +1);
    }
    return true;
}

bool hm_live_mark_code(uintptr_t ptr, uint32_t code)
{
    hm_live *e = find(ptr);
    if (e) {
        e->code = code;
        return true;
    }
    hm_live marker = {.ptr = ptr, .node = UINT32_MAX, .code = code};
    return hm_live_insert(&marker);
}

bool hm_live_take(uintptr_t ptr, hm_live *out)
{
    size_t i = slot_of(ptr);
    while (table[i].ptr && table[i].ptr != ptr)
        i = (i + 1) & table_mask;
    if (!table[i].ptr)
        return false;
    *out = table[i];
    if (use_bloom)
        bloom_change(hm_bloom, ptr, -1);
    /* Backward-shift deletion keeps probe chains intact without tombstones. */
    size_t hole = i;
    for (size_t j = (i + 1) & table_mask; table[j].ptr; j = (j + 1) & table_mask) {
        size_t home = slot_of(table[j].ptr);
        if (((j - home) & table_mask) >= ((j - hole) & table_mask)) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole].ptr = 0;
    table_count--;
    return true;
}

size_t hm_live_count(void) { return table_count; }
