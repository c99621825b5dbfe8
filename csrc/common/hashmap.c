/*
 * hashmap.c - open addressing with linear probing, grown at 50% load.
 *
 * Owns: the probing and growth policy shared by the call tree and the code
 * and frame caches.  Entries are never deleted: stale values are detected by
 * their users (see stack_walk.c), which keeps lookups free of tombstones.
 * Must never: allocate with malloc (tables come from ownmem).
 */
#include "common/hashmap.h"
#include "common/ownmem.h"

#define MIN_CAPACITY 1024u

uint32_t hm_map_get(const hm_map *m, uint64_t key)
{
    if (!m->keys)
        return UINT32_MAX;
    uint32_t i = (uint32_t)hm_hash64(key) & m->mask;
    for (;;) {
        uint64_t k = m->keys[i];
        if (k == key)
            return m->values[i];
        if (k == 0)
            return UINT32_MAX;
        i = (i + 1) & m->mask;
    }
}

static void insert_slot(uint64_t *keys, uint32_t *values, uint32_t mask, uint64_t key,
                        uint32_t value)
{
    uint32_t i = (uint32_t)hm_hash64(key) & mask;
    while (keys[i] != 0 && keys[i] != key)
        i = (i + 1) & mask;
    keys[i] = key;
    values[i] = value;
}

static bool grow(hm_map *m)
{
    uint32_t cap = m->keys ? (m->mask + 1) * 2 : MIN_CAPACITY;
    uint64_t *keys = hm_own_map((size_t)cap * sizeof *keys);
    uint32_t *values = hm_own_map((size_t)cap * sizeof *values);
    if (!keys || !values) {
        hm_own_unmap(keys, (size_t)cap * sizeof *keys);
        hm_own_unmap(values, (size_t)cap * sizeof *values);
        return false;
    }
    if (m->keys) {
        for (uint32_t i = 0; i <= m->mask; i++)
            if (m->keys[i])
                insert_slot(keys, values, cap - 1, m->keys[i], m->values[i]);
        hm_own_unmap(m->keys, (size_t)(m->mask + 1) * sizeof *m->keys);
        hm_own_unmap(m->values, (size_t)(m->mask + 1) * sizeof *m->values);
    }
    m->keys = keys;
    m->values = values;
    m->mask = cap - 1;
    return true;
}

bool hm_map_put(hm_map *m, uint64_t key, uint32_t value)
{
    if ((!m->keys || (m->count + 1) * 2 > m->mask + 1) && !grow(m))
        return false;
    uint32_t i = (uint32_t)hm_hash64(key) & m->mask;
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & m->mask;
    if (m->keys[i] == 0)
        m->count++;
    m->keys[i] = key;
    m->values[i] = value;
    return true;
}

void hm_map_free(hm_map *m)
{
    if (m->keys) {
        hm_own_unmap(m->keys, (size_t)(m->mask + 1) * sizeof *m->keys);
        hm_own_unmap(m->values, (size_t)(m->mask + 1) * sizeof *m->values);
    }
    m->keys = NULL;
    m->values = NULL;
    m->mask = 0;
    m->count = 0;
}
