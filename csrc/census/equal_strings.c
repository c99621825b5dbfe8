/*
 * equal_strings.c - the recorded str objects grouped by text, for the
 * census join's advice on repeated strings.
 *
 * Owns: a table from a text to a group number, for the str objects whose
 * blocks the profile recorded.  How many objects hold a text is then what
 * those blocks stand for (run/kind_walks.c weighs them): exact in exact
 * mode, where every block is recorded; estimated from the samples in
 * sampled mode, where hashing every str of the heap would cost the walk
 * ten times more (350 ms instead of 34 ms for the demo's 1.5 million).
 * Must never: hash or compare through Python (tp_hash would store the hash
 * in the object, and a walk leaves the program's objects as they were).
 */
#include "census/census.h"

#include <stdlib.h>
#include <string.h>

/* Exact str objects only: a subclass may carry more than its text. */
static bool text_of(PyObject *s, const void **data, size_t *bytes, int *kind)
{
    if (!PyUnicode_CheckExact(s) || PyUnicode_READY(s) < 0)
        return false;
    *kind = PyUnicode_KIND(s);
    *data = PyUnicode_DATA(s);
    *bytes = (size_t)PyUnicode_GET_LENGTH(s) * (size_t)*kind;
    return true;
}

static uint64_t text_hash(const void *data, size_t bytes, int kind)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)kind;
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h | 1; /* 0 marks an empty slot */
}

static bool same_text(PyObject *a, const void *data, size_t bytes, int kind)
{
    const void *other;
    size_t other_bytes;
    int other_kind;
    return text_of(a, &other, &other_bytes, &other_kind) && other_kind == kind &&
           other_bytes == bytes && memcmp(other, data, bytes) == 0;
}

static bool grow(hm_strtexts *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    hm_strtext *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].hash)
            continue;
        size_t k = t->slots[i].hash & (cap - 1);
        while (slots[k].hash)
            k = (k + 1) & (cap - 1);
        slots[k] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return true;
}

/* The slot of s's text (found, or the empty one where it goes); NULL if s
 * is not an exact str. */
static hm_strtext *slot_of(const hm_strtexts *t, PyObject *s)
{
    const void *data;
    size_t bytes;
    int kind;
    if (!t->cap || !text_of(s, &data, &bytes, &kind))
        return NULL;
    uint64_t h = text_hash(data, bytes, kind);
    for (size_t k = h & (t->cap - 1);; k = (k + 1) & (t->cap - 1)) {
        hm_strtext *e = &t->slots[k];
        if (!e->hash || (e->hash == h && same_text(e->first, data, bytes, kind))) {
            e->hash = h;
            return e;
        }
    }
}

uint32_t hm_strtexts_group(hm_strtexts *t, PyObject *s)
{
    if ((t->count + 1) * 10 > t->cap * 7 && !grow(t))
        return 0;
    hm_strtext *e = slot_of(t, s);
    if (!e)
        return 0;
    if (!e->group) {
        e->first = s;
        e->group = (uint32_t)++t->count;
    }
    return e->group;
}

void hm_strtexts_free(hm_strtexts *t)
{
    free(t->slots);
    memset(t, 0, sizeof *t);
}
