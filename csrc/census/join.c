/*
 * join.c - the census join: which kind of object each recorded block is.
 *
 * Owns: matching live objects to the blocks a profile recorded (a sorted
 * array of address ranges), so that a call site's bytes can be told by
 * kind: the block an object lives in takes the object's kind ("dict of
 * __main__.Line", "float"), and so do the separate buffers it owns (a
 * list's item array, a dict's keys or values, a set's table, a bytearray's
 * bytes, a numpy array's data, an instance's values on 3.11/3.12).  A block
 * nothing claims stays unowned (the caller calls it "native").
 * Must never: run Python code or create Python objects (it runs between two
 * bytecodes of the profiled program, in a pending call, with the program's
 * native allocations passed through untracked), walk the collector's lists
 * while it collects, or read memory that is not a live object's.
 *
 * Why not the census's closure: a walk near every new high of a growing
 * program must cost little.  The join looks at each object the collector
 * tracks, at what each refers to directly, and at the frames' locals, and
 * goes deeper only through objects the collector does not track (an
 * untracked tuple's floats, a numpy view's base): every object that can
 * hold another is tracked unless it only holds untracked ones, so this
 * reaches what the closure reaches, without a visited set, sizes or
 * references.  An object reached twice is claimed once: the first claim of
 * a block wins.
 *
 * Why ranges: an object starts after its GC header and, on 3.11+, its
 * managed-dict pre-header, so the address an object gives lies inside its
 * recorded block, at a per-version offset (see start_offsets for many
 * blocks).  An address outside every block (an object made
 * before recording, or a block not sampled) claims nothing.
 */
#include "census/census.h"

#include <stdlib.h>
#include <string.h>

#define UNTRACKED_DEPTH 8 /* nesting of untracked objects followed */
/* An object lies at most a GC header and a pre-header into its block, a
 * buffer pointer at most a values prefix: looked-up addresses fall within
 * the first NEAR_START bytes of a block, so only the pages those cover go
 * into the filter (a 1 GB array adds one page, not 262,144). */
#define NEAR_START 512
#define PAGE_SHIFT 12
#define PAGE_BITS 20 /* 2^20 bits, 128 KiB: few false positives below 50,000 pages */

static inline uint64_t page_bit(uintptr_t page)
{
    return (page * 0x9E3779B97F4A7C15ULL) >> (64 - PAGE_BITS);
}

/* Many blocks (exact mode) come unsorted, and are looked up in an index of
 * their starts, at the offsets an address has into its block: none for a
 * buffer (hm_layout_buffers gives starts), a GC header for most objects, a
 * GC header and a pre-header for instances on 3.11+, none or a pre-header
 * for objects without GC.  Sorting a million blocks, and a binary search
 * that misses the cache at every step, cost more than the walk. */
static const uintptr_t start_offsets[] = {0, 16, 32};

typedef struct {
    hm_join_blocks *b;
    hm_kinds *kinds;
    hm_owners owners;
    uint64_t *pages;       /* a bit per hashed page where a block starts (see NEAR_START) */
    uintptr_t *index_key;  /* block start, 0: empty */
    uint32_t *index_value; /* its position */
    size_t index_mask;
    uint64_t objects;
    PyObject **str_of; /* [block]: the str living in it, grouped by text at the end */
    int depth;
    bool failed;
} joiner;

static size_t index_slot(const joiner *j, uintptr_t start)
{
    return (size_t)((start >> 4) * 0x9E3779B97F4A7C15ULL >> 20) & j->index_mask;
}

static bool index_build(joiner *j)
{
    size_t cap = 1;
    while (cap < 2 * j->b->n)
        cap <<= 1;
    j->index_key = calloc(cap, sizeof *j->index_key);
    j->index_value = malloc(cap * sizeof *j->index_value);
    if (!j->index_key || !j->index_value)
        return false;
    j->index_mask = cap - 1;
    for (size_t i = 0; i < j->b->n; i++) {
        size_t slot = index_slot(j, j->b->start[i]);
        while (j->index_key[slot])
            slot = (slot + 1) & j->index_mask;
        j->index_key[slot] = j->b->start[i];
        j->index_value[slot] = (uint32_t)i;
    }
    return true;
}

static size_t index_find(const joiner *j, uintptr_t start)
{
    for (size_t slot = index_slot(j, start); j->index_key[slot]; slot = (slot + 1) & j->index_mask)
        if (j->index_key[slot] == start)
            return j->index_value[slot];
    return SIZE_MAX;
}

/* The index of the block containing addr, or SIZE_MAX. */
static size_t block_containing(const joiner *j, uintptr_t addr)
{
    const hm_join_blocks *b = j->b;
    uint64_t bit = page_bit(addr >> PAGE_SHIFT);
    if (!(j->pages[bit >> 6] & (1ULL << (bit & 63))))
        return SIZE_MAX; /* most objects: no recorded block starts near them */
    if (!b->sorted) {
        for (size_t k = 0; k < sizeof start_offsets / sizeof *start_offsets; k++) {
            size_t i = addr >= start_offsets[k] ? index_find(j, addr - start_offsets[k]) : SIZE_MAX;
            if (i != SIZE_MAX && addr - b->start[i] < b->size[i])
                return i;
        }
        return SIZE_MAX;
    }
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->start[mid] <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return SIZE_MAX;
    size_t i = lo - 1;
    return addr - b->start[i] < b->size[i] && addr - b->start[i] < NEAR_START ? i : SIZE_MAX;
}

static size_t unowned_block(const joiner *j, const void *addr)
{
    size_t i = addr ? block_containing(j, (uintptr_t)addr) : SIZE_MAX;
    return i != SIZE_MAX && j->b->kind[i] == HM_JOIN_UNOWNED ? i : SIZE_MAX;
}

/* Pass 1: the owner of every dict that lies in a recorded block or owns
 * one (an instance dict's keys may be sampled when the dict is not). */
static int note_owner(PyObject *o, void *arg)
{
    joiner *j = arg;
    PyObject *dict = hm_layout_dict_of(o);
    if (!dict)
        return 0;
    const void *buffers[HM_LAYOUT_MAX_BUFFERS];
    int nbuffers = hm_layout_buffers(dict, buffers);
    bool recorded = block_containing(j, (uintptr_t)dict) != SIZE_MAX;
    for (int k = 0; k < nbuffers && !recorded; k++)
        recorded = buffers[k] && block_containing(j, (uintptr_t)buffers[k]) != SIZE_MAX;
    if (recorded && !hm_owners_note(&j->owners, dict, Py_TYPE(o)))
        j->failed = true;
    return 0;
}

/* Pass 2: claims o's block and its buffers; follows an untracked object's
 * references. */
static int claim_object(PyObject *o, void *arg)
{
    joiner *j = arg;
    /* A tracked object met as a referent is passed over: the walk claims
     * it where it meets it as a root (claim_tracked), and the objects most
     * referred to (functions, dicts, classes) are tracked. */
    if (j->depth < UNTRACKED_DEPTH && PyObject_IS_GC(o) && PyObject_GC_IsTracked(o))
        return 0;
    const void *buffers[HM_LAYOUT_MAX_BUFFERS];
    int nbuffers = hm_layout_buffers(o, buffers);
    size_t own = unowned_block(j, o), buffer_block[HM_LAYOUT_MAX_BUFFERS];
    bool any = own != SIZE_MAX;
    for (int k = 0; k < nbuffers; k++)
        any |= (buffer_block[k] = unowned_block(j, buffers[k])) != SIZE_MAX;
    if (any) {
        PyTypeObject *t = Py_TYPE(o);
        uint32_t kind =
            hm_kind_of_type(j->kinds, t, t == &PyDict_Type ? hm_owners_get(&j->owners, o) : NULL);
        if (kind == UINT32_MAX) {
            j->failed = true;
            return -1;
        }
        if (own != SIZE_MAX) {
            j->b->kind[own] = kind;
            j->b->object[own] = 1;
            int64_t attributes = hm_layout_attributes(o);
            j->b->attributes[own] = attributes > 0 ? (uint32_t)attributes : 0;
            if (PyUnicode_CheckExact(o))
                j->str_of[own] = o;
            j->objects++;
        }
        for (int k = 0; k < nbuffers; k++)
            if (buffer_block[k] != SIZE_MAX && j->b->kind[buffer_block[k]] == HM_JOIN_UNOWNED)
                j->b->kind[buffer_block[k]] = kind;
        /* A list's floats count where its items are: the list object itself
         * may come from a free list, made long before on another line. */
        int64_t floats = hm_layout_float_items(o);
        if (floats > 0) {
            size_t where = nbuffers && buffer_block[0] != SIZE_MAX ? buffer_block[0] : own;
            if (where != SIZE_MAX)
                j->b->float_items[where] = (uint32_t)floats;
        }
    }
    /* Types are left out: a heap type is tracked, a static one lives in
     * static storage, and its MRO of static types fans out (3.13). */
    if (j->depth < UNTRACKED_DEPTH && Py_TYPE(o)->tp_traverse && !PyType_Check(o)) {
        j->depth++;
        int r = hm_roots_traverse(o, claim_object, j);
        j->depth--;
        return r;
    }
    return 0;
}

/* A tracked object: itself, then what it refers to. */
static int claim_tracked(PyObject *o, void *arg)
{
    joiner *j = arg;
    j->depth = UNTRACKED_DEPTH; /* o is followed here, not in claim_object */
    claim_object(o, j);
    j->depth = 0;
    return hm_roots_traverse(o, claim_object, j);
}

static int claim_frame(void *frame, PyObject *globals, PyObject *frame_obj, void *arg)
{
    (void)globals;
    (void)frame_obj;
    return hm_roots_frame_refs(frame, claim_object, arg);
}

bool hm_census_join_prepare(void)
{
    return hm_kinds_prepare_names() && hm_layout_init();
}

hm_kinds *hm_census_join(hm_join_blocks *b, hm_is_census_result is_result, uint64_t *objects)
{
    (void)is_result; /* a census result's objects are the program's too */
    *objects = 0;
    for (size_t i = 0; i < b->n; i++)
        b->kind[i] = HM_JOIN_UNOWNED;
    if (hm_roots_gc_collecting())
        return NULL;
    joiner j = {.b = b, .kinds = hm_kinds_new()};
    if (!j.kinds)
        return NULL;
    j.pages = calloc((1u << PAGE_BITS) / 64, sizeof *j.pages);
    if (!j.pages) {
        hm_kinds_decref(j.kinds);
        return NULL;
    }
    for (size_t i = 0; i < b->n; i++) {
        uintptr_t near = b->start[i] + (b->size[i] < NEAR_START ? b->size[i] : NEAR_START) - 1;
        for (uintptr_t page = b->start[i] >> PAGE_SHIFT; page <= near >> PAGE_SHIFT; page++) {
            uint64_t bit = page_bit(page);
            j.pages[bit >> 6] |= 1ULL << (bit & 63);
        }
    }
    if (!b->sorted && !index_build(&j))
        j.failed = true;
    if (!(j.str_of = calloc(b->n ? b->n : 1, sizeof *j.str_of)))
        j.failed = true;
    if (!j.failed)
        hm_roots_gc_objects(note_owner, &j);
    if (!j.failed)
        hm_roots_threads(claim_frame, claim_object, &j);
    if (!j.failed)
        hm_roots_gc_objects(claim_tracked, &j);
    /* The recorded strs by text: each block once, each object claimed once. */
    hm_strtexts texts = {0};
    for (size_t i = 0; !j.failed && i < b->n; i++)
        b->text_group[i] = j.str_of[i] ? hm_strtexts_group(&texts, j.str_of[i]) : 0;
    free(j.str_of);
    hm_strtexts_free(&texts);
    hm_owners_free(&j.owners);
    free(j.pages);
    free(j.index_key);
    free(j.index_value);
    if (j.failed) {
        hm_kinds_decref(j.kinds);
        return NULL;
    }
    *objects = j.objects;
    return j.kinds;
}
