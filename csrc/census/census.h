/*
 * census.h - the heap census (issue 6): declarations shared by its modules.
 *
 *   visited_set.c    the walk's visited set and work stack (C memory)
 *   roots.c          where the walk starts: GC lists, threads' frames, and
 *                    the references tp_traverse does not report (per version)
 *   object_layout.c  what an object occupies and where its __dict__ is,
 *                    read from the object's layout (per version)
 *   walk.c           the iterative closure, exclusions, setref's reference
 *   kinds.c          kinds ("dict of X"), their names, rows and views
 *   tables.c         Heapy's table, the difference table, JSON
 *   join.c           kinds for the blocks a profile recorded (kinds at the peak)
 *   equal_strings.c  the recorded str objects grouped by text (the join's advice)
 * The Python objects (Census base type, heap(), setref(), sizeof()) are in
 * pymodule/census_api.c, which calls into these files and never the other
 * way: each call below takes what it needs as parameters.
 *
 * Owns: the shapes of a census's data.
 * Must never: declare state; every census module runs with the GIL held,
 * never inside an allocation hook, and runs no Python code during a walk.
 */
#ifndef HM_CENSUS_H
#define HM_CENSUS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "census/visited_set.h"
#include "common/hashmap.h"
#include "common/strbuf.h"

/* The engine is also preloaded into processes without a Python runtime,
 * where a data symbol must not need resolving at load time (pymodule/_heapmark.c). */
#pragma weak PyBaseObject_Type
#pragma weak PyByteArray_Type
#pragma weak PyCode_Type
#pragma weak PyDict_Type
#pragma weak PyExc_IndexError
#pragma weak PyExc_TypeError
#pragma weak PyFloat_Type
#pragma weak PyFrozenSet_Type
#pragma weak PyFunction_Type
#pragma weak PyList_Type
#pragma weak PyMethodDescr_Type
#pragma weak PyModule_Type
#pragma weak PySet_Type
#pragma weak PyType_Type
#pragma weak PyUnicode_Type
#pragma weak _Py_NoneStruct

/* ---- objects found by a walk ------------------------------------------- */

/* The objects of a census, with a strong reference each (so that a row can
 * be looked at later), shared by the census and its views.  Live sets are
 * chained so that a later walk can leave out what only they keep alive. */
typedef struct hm_objset {
    long refcnt;
    PyObject **objs;
    uint64_t *sizes; /* bytes each object occupies (see layout) */
    size_t n, cap, size_cap;
    uintptr_t *sorted; /* addresses, sorted on first need */
    size_t sorted_cap;
    struct hm_objset *prev, *next;
    bool published;
} hm_objset;

hm_objset *hm_objset_new(void);
/* Once complete: later walks leave out what only published sets hold. */
void hm_objset_publish(hm_objset *s);
void hm_objset_decref(hm_objset *s);
bool hm_objset_add(hm_objset *s, PyObject *o, uint64_t size); /* takes a new reference */
/* True if o is held by a live census (other than skip). */
bool hm_objset_any_holds(PyObject *o);

/* Owners of the dicts seen by a walk: dict address -> owner type. */
typedef struct {
    hm_map index;         /* dict address -> position in types */
    PyTypeObject **types; /* borrowed: alive while their instances are */
    size_t ntypes, cap;
    hm_map type_pos; /* type address -> position */
} hm_owners;

bool hm_owners_note(hm_owners *ow, PyObject *dict, PyTypeObject *owner);
PyTypeObject *hm_owners_get(const hm_owners *ow, PyObject *dict);
void hm_owners_free(hm_owners *ow);

/* ---- layout (object_layout.c) ------------------------------------------ */

/* Per-walk cache of how each type's __sizeof__ is computed. */
typedef struct {
    hm_map strategy;     /* type address -> strategy + 1 */
    PyObject **c_sizeof; /* C __sizeof__ descriptors (borrowed from
                                   their type's dict), by strategy - first */
    size_t nc, ccap;
} hm_sizecache;

bool hm_layout_init(void);
/* What sys.getsizeof(o) reports, computed without running Python code: the
 * C __sizeof__ of built-in and extension types, the object's basic size when
 * __sizeof__ is written in Python.  *python_sizeof is set in that case. */
uint64_t hm_layout_getsizeof(PyObject *o, hm_sizecache *c, bool *python_sizeof);
/* Bytes of attribute values held inline (3.11+) that getsizeof leaves out,
 * and, for a dict whose values live inside its owner (3.13), the negative
 * of what getsizeof counts twice.  0 on 3.9/3.10. */
int64_t hm_layout_inline_bytes(PyObject *o);
/* The __dict__ an object has now, without creating one; NULL if none. */
PyObject *hm_layout_dict_of(PyObject *o);
void hm_sizecache_free(hm_sizecache *c);
/* The separately allocated memory o owns (a list's items, a dict's keys or
 * values, a set's table, a bytearray's bytes, a numpy array's own data, an
 * instance's values array on 3.11/3.12): where those blocks start, into
 * out; returns how many. */
/* What advice needs: the attributes an instance of a class with a __dict__
 * has (-1: not such an instance, its class has __slots__ only), and the
 * items of a list holding only floats (0 otherwise). */
int64_t hm_layout_attributes(PyObject *o);
int64_t hm_layout_float_items(PyObject *o);
#define HM_LAYOUT_MAX_BUFFERS 3
int hm_layout_buffers(PyObject *o, const void *out[HM_LAYOUT_MAX_BUFFERS]);

/* ---- roots and traversal (roots.c) ------------------------------ */

typedef int (*hm_visit_fn)(PyObject *o, void *arg);

/* True while the collector runs (its lists are then not plain lists: a
 * finalizer's pending call must not walk them). */
bool hm_roots_gc_collecting(void);
/* Calls fn for every object in the collector's generations. */
int hm_roots_gc_objects(hm_visit_fn fn, void *arg);
/* Calls frame_fn once for every Python frame of every thread (innermost
 * first), with its globals; and fn for each thread's other references. */
typedef int (*hm_frame_fn)(void *frame, PyObject *globals, PyObject *frame_obj, void *arg);
int hm_roots_threads(hm_frame_fn frame_fn, hm_visit_fn fn, void *arg);
/* Visits what a thread's running frame (from hm_roots_threads) refers to. */
int hm_roots_frame_refs(void *frame, hm_visit_fn fn, void *arg);
/* Visits o's referents: tp_traverse, plus what it leaves out (static types,
 * code objects). */
int hm_roots_traverse(PyObject *o, hm_visit_fn fn, void *arg);

/* ---- the walk (walk.c) ------------------------------------------ */

typedef struct {
    hm_objset *set; /* the objects counted */
    hm_owners owners;
    uint64_t visited;          /* objects in the visited set at the end */
    uint64_t set_bytes;        /* the visited set's memory at the end */
    uint64_t python_sizeof;    /* objects whose __sizeof__ is Python code */
    uint64_t beyond_getsizeof; /* bytes counted that sys.getsizeof leaves out (inline values) */
} hm_walk_result;

/* Census results (the objects the caller's API hands out): never counted
 * nor walked into.  The walk is given it, so that it depends on nothing
 * above it (pymodule/census_api.c knows what a result is). */
typedef bool (*hm_is_census_result)(PyObject *o);

/* The census of the live heap.  hide: extra objects (and what only they
 * keep alive) to leave out.  False with an exception set on failure. */
bool hm_walk_heap(hm_walk_result *r, PyObject *hide, hm_is_census_result is_result);
/* Remembers the addresses of every live object as the reference point. */
bool hm_walk_setref(uint64_t *count, hm_is_census_result is_result);
void hm_walk_clear_ref(void);
/* Deep size of root (sizeof(obj, deep=True)). */
bool hm_walk_deep(PyObject *root, PyObject *ignore, long limit, hm_is_census_result is_result,
                  uint64_t *bytes, uint64_t *count);
void hm_walk_result_free(hm_walk_result *r);

/* ---- kinds (kinds.c) --------------------------------------------- */

typedef struct {
    char *name;      /* "dict of __main__.Line", "str" */
    char *type_name; /* the object's type: "dict" for dict kinds */
    char *module;    /* module defining the kind ("builtins") */
} hm_kind;

typedef enum { HM_BY_KIND, HM_BY_TYPE, HM_BY_MODULE } hm_classifier;

typedef struct hm_kinds {
    long refcnt;
    hm_kind *items;
    size_t n, cap;
    hm_map index; /* hash of name -> id (names are unique) */
    hm_classifier by;
} hm_kinds;

typedef struct {
    uint32_t kind;
    uint64_t count, size;
} hm_row;

/* Names of the types the builtins and types modules bind (once; imports
 * types).  Called before a walk, since it may create objects. */
bool hm_kinds_prepare_names(void);
/* Kinds of the objects a walk found; kind_of[i] for set->objs[i]. */
hm_kinds *hm_kinds_classify(const hm_objset *set, const hm_owners *ow, uint32_t **kind_of);
/* An empty table by kind, and the id of an object's kind in it (added if
 * new; UINT32_MAX when out of memory): dict_owner for a dict, or NULL. */
hm_kinds *hm_kinds_new(void);
uint32_t hm_kind_of_type(hm_kinds *k, PyTypeObject *t, PyTypeObject *dict_owner);
/* Reclassifies by type or module: new table and kind_of. */
hm_kinds *hm_kinds_regroup(const hm_kinds *k, const uint32_t *kind_of, size_t n, hm_classifier by,
                           uint32_t **new_kind_of);
void hm_kinds_decref(hm_kinds *k);
uint32_t *hm_kind_array(size_t n);
void hm_kind_array_free(uint32_t *a, size_t n);
/* Rows by descending size; *nrows set.  Totals into count/size. */
hm_row *hm_rows_make(const hm_kinds *k, const uint32_t *kind_of, const uint64_t *sizes, size_t n,
                     size_t *nrows, uint64_t *count, uint64_t *size);
const char *hm_kinds_header(hm_classifier by);

/* ---- equal strings (equal_strings.c) ---------------------------- */

typedef struct {
    uint64_t hash; /* of the text; 0: empty */
    PyObject *first;
    uint32_t group; /* 1, 2, ...: one per text */
} hm_strtext;

typedef struct {
    hm_strtext *slots;
    size_t cap, count;
} hm_strtexts;

/* The group of s's text (an exact str), new texts numbered from 1; 0 when
 * s is not an exact str, or out of memory. */
uint32_t hm_strtexts_group(hm_strtexts *t, PyObject *s);
void hm_strtexts_free(hm_strtexts *t);

/* ---- the census join (join.c) ---------------------------------- */

/* Blocks a profile recorded, sorted by start (few of them), or not (many:
 * the join then indexes their starts); kind and object are filled. */
#define HM_JOIN_UNOWNED UINT32_MAX
typedef struct {
    const uintptr_t *start;
    const uint64_t *size;
    size_t n;
    bool sorted;
    uint32_t *kind;  /* out: id in the returned kinds, or HM_JOIN_UNOWNED */
    uint8_t *object; /* out: 1 where the block holds the object itself */
    /* out: an instance's attributes, on its own block (0 for a class with
     * __slots__ only); a float-only list's items, on its item array */
    uint32_t *attributes, *float_items;
    /* out: a str's block: its text's group (0 otherwise): equal texts,
     * equal groups */
    uint32_t *text_group;
} hm_join_blocks;

/* What may create objects (names, layout), done before the caller stops
 * its allocations from being tracked: a Python allocation made while the
 * hooks pass native calls through would confuse the allocator hooks. */
bool hm_census_join_prepare(void);
/* Gives each block the kind of the object that lives in it or owns it.
 * Returns the kinds (NULL on failure, or while the collector runs);
 * *objects: how many blocks hold an object. */
hm_kinds *hm_census_join(hm_join_blocks *b, hm_is_census_result is_result, uint64_t *objects);

/* ---- tables (tables.c) ----------------------------------------- */

typedef struct {
    const hm_kinds *kinds;
    const hm_row *rows;
    size_t nrows;
    uint64_t count, size;
} hm_census_view;

/* Heapy's table: label (if with_label), header, rows [start, start+max),
 * then the "<N more rows>" line when more remain.  Returns the next row. */
size_t hm_census_table(hm_buf *b, const hm_census_view *v, size_t start, size_t max,
                       bool with_label);
/* Heapy's "Summary of difference operation (A-B)." for a - b. */
void hm_census_diff(hm_buf *b, const hm_census_view *a, const hm_census_view *bv);
void hm_census_json(hm_buf *b, const hm_census_view *v, const char *python);

#endif
