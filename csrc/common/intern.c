/*
 * intern.c - dense ids for byte strings (see intern.h).
 *
 * Owns: open addressing with linear probing, grown at half full; keys copied
 * into one growing array so that callers need not keep theirs alive.
 * Must never: abort on allocation failure; it returns UINT32_MAX.
 */
#include "common/intern.h"
#include "common/hashmap.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_bytes(const void *key, size_t len)
{
    const unsigned char *s = key;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return (uint32_t)(hm_hash64(h) >> 32);
}

static bool grow_slots(hm_intern *t)
{
    size_t cap = t->slots ? (t->mask + 1) * 2 : 1024;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (uint32_t id = 0; id < t->count; id++) {
        size_t i = t->hash[id] & (cap - 1);
        while (slots[i])
            i = (i + 1) & (cap - 1);
        slots[i] = id + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->mask = cap - 1;
    return true;
}

static bool grow_ids(hm_intern *t)
{
    uint32_t cap = t->cap ? t->cap * 2 : 256;
    size_t *offset = realloc(t->offset, cap * sizeof *offset);
    if (offset)
        t->offset = offset;
    uint32_t *length = realloc(t->length, cap * sizeof *length);
    if (length)
        t->length = length;
    uint32_t *hash = realloc(t->hash, cap * sizeof *hash);
    if (hash)
        t->hash = hash;
    if (!offset || !length || !hash)
        return false;
    t->cap = cap;
    return true;
}

static bool store_key(hm_intern *t, const void *key, size_t len)
{
    if (!t->bytes || t->nbytes + len > t->bytes_cap) {
        size_t cap = t->bytes_cap ? t->bytes_cap : 4096;
        while (cap < t->nbytes + len)
            cap *= 2;
        char *bytes = realloc(t->bytes, cap);
        if (!bytes)
            return false;
        t->bytes = bytes;
        t->bytes_cap = cap;
    }
    if (len)
        memcpy(t->bytes + t->nbytes, key, len);
    t->nbytes += len;
    return true;
}

uint32_t hm_intern_put(hm_intern *t, const void *key, size_t len, bool *added)
{
    if (added)
        *added = false;
    if (len >= UINT32_MAX || t->count >= UINT32_MAX - 1)
        return UINT32_MAX;
    if ((!t->slots || (size_t)t->count * 2 >= t->mask + 1) && !grow_slots(t))
        return UINT32_MAX;
    uint32_t h = hash_bytes(key, len);
    size_t i = h & t->mask;
    for (; t->slots[i]; i = (i + 1) & t->mask) {
        uint32_t id = t->slots[i] - 1;
        if (t->hash[id] == h && t->length[id] == len &&
            memcmp(t->bytes + t->offset[id], key, len) == 0)
            return id;
    }
    if ((t->count == t->cap && !grow_ids(t)) || !store_key(t, key, len))
        return UINT32_MAX;
    uint32_t id = t->count++;
    t->offset[id] = t->nbytes - len;
    t->length[id] = (uint32_t)len;
    t->hash[id] = h;
    t->slots[i] = id + 1;
    if (added)
        *added = true;
    return id;
}

uint32_t hm_intern_text(hm_intern *t, const char *s, bool *added)
{
    return hm_intern_put(t, s, strlen(s), added);
}

const char *hm_intern_key(const hm_intern *t, uint32_t id, size_t *len)
{
    *len = t->length[id];
    return t->bytes + t->offset[id];
}

void hm_intern_free(hm_intern *t)
{
    free(t->slots);
    free(t->bytes);
    free(t->offset);
    free(t->length);
    free(t->hash);
    memset(t, 0, sizeof *t);
}
