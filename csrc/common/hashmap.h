/*
 * hashmap.h - an open-addressing map from 64-bit keys to 32-bit values.
 *
 * Owns: nothing global; each map is a value owned by its user.
 * Must never: allocate from the tracked heap (tables come from ownmem), or be
 * used without the caller's lock: it is not thread-safe.
 * Key 0 is reserved (empty slot); callers map their keys to non-zero values.
 */
#ifndef HM_HASHMAP_H
#define HM_HASHMAP_H

#include "common/common.h"

typedef struct {
    uint64_t *keys;
    uint32_t *values;
    uint32_t mask; /* capacity - 1; capacity is a power of two */
    uint32_t count;
} hm_map;

/* Returns the value or UINT32_MAX when absent. */
uint32_t hm_map_get(const hm_map *m, uint64_t key);
/* Inserts or overwrites; false only when memory for growth is unavailable. */
bool hm_map_put(hm_map *m, uint64_t key, uint32_t value);
void hm_map_free(hm_map *m);

static inline uint64_t hm_hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* FNV-1a over a C string: stable, for names and texts. */
static inline uint64_t hm_hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

#endif
