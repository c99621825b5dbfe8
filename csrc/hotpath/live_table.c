/*
 * live_table.c - recorded blocks that are still allocated (see live_table.h).
 *
 * Owns: the open-addressing table (linear probing, backward-shift deletion,
 * so no tombstones; grown at 70% load) and the counting Bloom filter, sized
 * at 16 counters per recorded block so that about 1-2% of unsampled frees
 * take the locked path.  In exact mode there is no filter: every block is in
 * the table anyway.
 * Must never: allocate from the tracked heap, or be changed without the
 * recorder lock.
 */
#include "hotpath/live_table.h"
#include "hotpath/call_tree.h"
#include "common/hashmap.h"
#include "common/ownmem.h"

#include <string.h>

uint64_t hm_bloom_word;

/* A slot: the address, the size (or BIG_SIZE: see big[]), and the node with
 * CODE_FLAG set when a code object lives at the address. */
typedef struct {
    uintptr_t ptr; /* 0 = empty */
    uint32_t size;
    uint32_t node;
} slot_t;

#define CODE_FLAG 0x80000000u
#define NODE_MASK 0x7FFFFFFFu
#define NO_NODE NODE_MASK
#define BIG_SIZE UINT32_MAX
#define MAX_BIG 1024

static slot_t *table;
static size_t table_mask, table_count;
static size_t bloom_lines;
static bool use_bloom;
/* Blocks of 4 GiB or more: few by nature, so a short list. */
static struct {
    uintptr_t ptr;
    uint64_t size;
} big[MAX_BIG];
static size_t nbig;

#define MIN_TABLE (1u << 14)
#define MIN_BLOOM_LINES (1u << 6) /* 4 KiB: stays in L1 while few blocks are sampled */

/* Fibonacci hashing: blocks are 16-byte aligned, and the top bits of
 * (address / 16) times 2^64/phi spread consecutive blocks evenly, in three
 * instructions (a slot's home is recomputed at every step of a deletion). */
static unsigned table_shift; /* 64 - log2(slots) */

static inline size_t home_slot(uintptr_t ptr, unsigned shift)
{
    return (size_t)((((uint64_t)ptr >> 4) * 0x9E3779B97F4A7C15ULL) >> shift);
}

static size_t slot_of(uintptr_t ptr)
{
    return home_slot(ptr, table_shift);
}

static void bloom_change(uint64_t word, uintptr_t ptr, int delta)
{
    uint64_t h = hm_bloom_hash(ptr);
    uint8_t *line = HM_BLOOM_LINES(word)[(h >> 32) & HM_BLOOM_MASK(word)];
    uint8_t *c[2] = {&line[(h >> 20) & 63], &line[(h >> 26) & 63]};
    for (int i = 0; i < 2; i++) {
        uint8_t v = __atomic_load_n(c[i], __ATOMIC_RELAXED);
        if (v == 255)
            continue; /* saturated: sticky until the filter is rebuilt */
        if (delta > 0 || v > 0)
            __atomic_store_n(c[i], (uint8_t)(v + delta), __ATOMIC_RELAXED);
    }
}

static bool bloom_rebuild(size_t lines)
{
    void *b = hm_own_map(lines * 64);
    if (!b)
        return false;
    uint64_t word = (uint64_t)(uintptr_t)b | ((uint64_t)__builtin_ctzll(lines) << 56);
    for (size_t i = 0; i <= table_mask; i++)
        if (table[i].ptr)
            bloom_change(word, table[i].ptr, +1);
    bloom_lines = lines;
    __atomic_store_n(&hm_bloom_word, word, __ATOMIC_RELEASE);
    return true;
}

static void place(slot_t *t, unsigned shift, const slot_t *e)
{
    size_t mask = ((size_t)1 << (64 - shift)) - 1;
    size_t i = home_slot(e->ptr, shift);
    while (t[i].ptr)
        i = (i + 1) & mask;
    t[i] = *e;
}

static bool table_grow(void)
{
    size_t cap = table ? (table_mask + 1) * 2 : MIN_TABLE;
    slot_t *grown = hm_own_map(cap * sizeof *grown);
    if (!grown)
        return false;
    unsigned shift = 64 - (unsigned)__builtin_ctzll(cap);
    if (table) {
        for (size_t i = 0; i <= table_mask; i++)
            if (table[i].ptr)
                place(grown, shift, &table[i]);
        hm_own_unmap(table, (table_mask + 1) * sizeof *table);
    }
    table = grown;
    table_mask = cap - 1;
    table_shift = shift;
    return true;
}

bool hm_live_init(bool exact)
{
    use_bloom = !exact;
    if (!table && !table_grow())
        return false;
    return !use_bloom || hm_bloom_word || bloom_rebuild(MIN_BLOOM_LINES);
}

void hm_live_clear(bool exact)
{
    if (table)
        memset(table, 0, (table_mask + 1) * sizeof *table);
    table_count = nbig = 0;
    use_bloom = !exact;
    /* A new filter: the one in use stays mapped (see live_table.h). */
    if (!use_bloom || !bloom_rebuild(MIN_BLOOM_LINES))
        __atomic_store_n(&hm_bloom_word, 0, __ATOMIC_RELEASE); /* no filter: lookups */
}

static slot_t *find(uintptr_t ptr)
{
    size_t i = slot_of(ptr);
    while (table[i].ptr) {
        if (table[i].ptr == ptr)
            return &table[i];
        i = (i + 1) & table_mask;
    }
    return NULL;
}

static uint64_t big_take(uintptr_t ptr)
{
    for (size_t i = 0; i < nbig; i++)
        if (big[i].ptr == ptr) {
            uint64_t size = big[i].size;
            big[i] = big[--nbig];
            return size;
        }
    return 0;
}

static uint32_t encode_size(uintptr_t ptr, uint64_t size)
{
    if (size < BIG_SIZE)
        return (uint32_t)size;
    big_take(ptr);
    if (nbig < MAX_BIG)
        big[nbig++].ptr = ptr, big[nbig - 1].size = size;
    return BIG_SIZE;
}

static bool insert_slot(uintptr_t ptr, uint32_t size, uint32_t node)
{
    /* Grown at 70% load: linear probing stays short, slots stay dense. */
    if ((table_count + 1) * 10 > (table_mask + 1) * 7 && !table_grow())
        return false;
    size_t i = slot_of(ptr);
    for (; table[i].ptr; i = (i + 1) & table_mask) {
        if (table[i].ptr == ptr) {
            /* The address was reused while a stale record survived (a block
             * freed by a path heapmark cannot see): the new block replaces
             * it, keeping a code marker. */
            table[i].size = size;
            table[i].node = (node & ~CODE_FLAG) | (table[i].node & CODE_FLAG);
            return true;
        }
    }
    table[i] = (slot_t){ptr, size, node};
    table_count++;
    if (use_bloom) {
        if (table_count > bloom_lines * 4)
            bloom_rebuild(bloom_lines * 2);
        else
            bloom_change(hm_bloom_word, ptr, +1);
    }
    return true;
}

static uint32_t encode_node(uint32_t node, bool code)
{
    return (node == HM_NONE ? NO_NODE : node) | (code ? CODE_FLAG : 0);
}

bool hm_live_insert(uintptr_t ptr, uint64_t size, uint32_t node)
{
    return insert_slot(ptr, encode_size(ptr, size), encode_node(node, false));
}

int hm_live_mark_code(uintptr_t ptr)
{
    slot_t *e = find(ptr);
    if (e) {
        e->node |= CODE_FLAG;
        return HM_LIVE_MARK_EXISTING;
    }
    return insert_slot(ptr, 0, encode_node(HM_NONE, true)) ? HM_LIVE_MARK_NEW : HM_LIVE_MARK_FAILED;
}

bool hm_live_restore(const hm_live_block *b)
{
    return insert_slot(b->ptr, encode_size(b->ptr, b->size), encode_node(b->node, b->code));
}

bool hm_live_take(uintptr_t ptr, hm_live_block *out)
{
    size_t i = slot_of(ptr);
    while (table[i].ptr && table[i].ptr != ptr)
        i = (i + 1) & table_mask;
    if (!table[i].ptr)
        return false;
    uint32_t node = table[i].node & NODE_MASK;
    out->ptr = ptr;
    out->size = table[i].size == BIG_SIZE ? big_take(ptr) : table[i].size;
    out->node = node == NO_NODE ? HM_NONE : node;
    out->code = (table[i].node & CODE_FLAG) != 0;
    if (use_bloom)
        bloom_change(hm_bloom_word, ptr, -1);
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

size_t hm_live_count(void)
{
    return table_count;
}

size_t hm_live_copy(hm_live_block *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; table && i <= table_mask && n < cap; i++) {
        uint32_t node = table[i].node & NODE_MASK;
        if (!table[i].ptr || node == NO_NODE)
            continue;
        uint64_t size = table[i].size;
        if (size == BIG_SIZE)
            for (size_t b = 0; b < nbig; b++)
                if (big[b].ptr == table[i].ptr)
                    size = big[b].size;
        out[n++] = (hm_live_block){table[i].ptr, size, node, (table[i].node & CODE_FLAG) != 0};
    }
    return n;
}
