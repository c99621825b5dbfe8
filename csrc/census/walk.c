/*
 * walk.c - the census walk: every live object once, iteratively.
 *
 * Owns: the order of the walk (real roots, then what heapmark alone keeps
 * alive, then the collector's other objects), the exclusion of heapmark's
 * own objects and of census results, the reference point of setref(), the
 * deep sizeof walk, the registry of live census object sets, and the owners
 * of the dicts seen.
 * Must never: run Python code or create Python objects while walking (the
 * work stack and the visited set are C memory from ownmem), recurse on the
 * C stack (a million-long linked chain must not overflow it), or count an
 * object twice.
 *
 * What is left out, and why in this order: objects reachable from the
 * interpreter's real roots (sys.modules, builtins, every thread's frames and
 * state) are counted first, so that an object a program shares with heapmark
 * counts.  Then what is reachable only from heapmark's modules and frames
 * (and from objects the caller asks to hide, like the census command's
 * launcher) is marked seen without being counted.  Then every object the
 * collector tracks that is still unseen is a root too (objects held only by
 * C code or by garbage cycles), unless a live census result holds it: what
 * only census results keep alive is theirs, not the program's.
 */
#include "census/census.h"
#include "common/ownmem.h"

#include <string.h>

typedef enum { RECORD, HIDE, DEEP } walk_mode;

typedef struct {
    hm_addrset seen;
    hm_workstack stack;
    hm_sizecache sizes;
    walk_mode mode;
    hm_walk_result *r;
    hm_is_census_result is_result;
    bool failed;
    /* deep sizeof */
    PyObject *ignore;
    long limit;
    uint32_t depth;
    uint64_t bytes, count;
    /* heapmark's own module dicts, for recognising its frames */
    PyObject *hidden_dicts[64];
    int nhidden;
    PyObject *hidden_objs[64];
    int nhidden_objs;
    void *hidden_frames[256];
    int nhidden_frames;
} walker;

/* setref(): the objects alive at that point, held (as Heapy's relheap
 * holds them) so that no new object can take one of their addresses; like
 * a census result, what only the reference keeps alive is not counted. */
static hm_addrset ref_set;
static hm_objset *ref_objects;
static bool ref_active;

static inline uintptr_t ref_key(PyObject *o)
{
    return (uintptr_t)o;
}

/* ---- census object sets ------------------------------------------------ */

static hm_objset *live_sets;

hm_objset *hm_objset_new(void)
{
    hm_objset *s = PyMem_RawCalloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->refcnt = 1;
    return s;
}

void hm_objset_publish(hm_objset *s)
{
    if (s->published)
        return;
    s->published = true;
    s->next = live_sets;
    if (live_sets)
        live_sets->prev = s;
    live_sets = s;
}

void hm_objset_decref(hm_objset *s)
{
    if (!s || --s->refcnt > 0)
        return;
    if (s->published) {
        if (s->prev)
            s->prev->next = s->next;
        else
            live_sets = s->next;
        if (s->next)
            s->next->prev = s->prev;
    }
    for (size_t i = 0; i < s->n; i++)
        Py_DECREF(s->objs[i]);
    hm_array_free(s->objs, s->cap, sizeof *s->objs);
    hm_array_free(s->sizes, s->size_cap, sizeof *s->sizes);
    hm_array_free(s->sorted, s->sorted_cap, sizeof *s->sorted);
    PyMem_RawFree(s);
}

bool hm_objset_add(hm_objset *s, PyObject *o, uint64_t size)
{
    if (!hm_array_reserve((void **)&s->objs, &s->cap, s->n, sizeof *s->objs, s->n + 1) ||
        !hm_array_reserve((void **)&s->sizes, &s->size_cap, s->n, sizeof *s->sizes, s->n + 1))
        return false;
    Py_INCREF(o);
    s->objs[s->n] = o;
    s->sizes[s->n] = size;
    s->n++;
    return true;
}

bool hm_objset_any_holds(PyObject *o)
{
    for (hm_objset *s = live_sets; s; s = s->next) {
        if (!s->n)
            continue;
        if (!s->sorted) {
            s->sorted_cap = s->n;
            s->sorted = hm_own_map(s->n * sizeof *s->sorted);
            if (!s->sorted) {
                s->sorted_cap = 0;
                continue;
            }
            for (size_t i = 0; i < s->n; i++)
                s->sorted[i] = (uintptr_t)s->objs[i];
            hm_sort_addresses(s->sorted, s->n);
        }
        if (hm_sorted_has(s->sorted, s->n, (uintptr_t)o))
            return true;
    }
    return false;
}

/* ---- owners of dicts --------------------------------------------------- */

bool hm_owners_note(hm_owners *ow, PyObject *dict, PyTypeObject *owner)
{
    uint32_t pos = hm_map_get(&ow->type_pos, (uint64_t)(uintptr_t)owner);
    if (pos == UINT32_MAX) {
        if (!hm_own_grow((void **)&ow->types, &ow->cap, ow->ntypes, sizeof *ow->types,
                         ow->ntypes + 1, 256))
            return false;
        pos = (uint32_t)ow->ntypes;
        ow->types[ow->ntypes++] = owner;
        if (!hm_map_put(&ow->type_pos, (uint64_t)(uintptr_t)owner, pos))
            return false;
    }
    return hm_map_put(&ow->index, (uint64_t)(uintptr_t)dict, pos);
}

PyTypeObject *hm_owners_get(const hm_owners *ow, PyObject *dict)
{
    uint32_t pos = hm_map_get(&ow->index, (uint64_t)(uintptr_t)dict);
    return pos == UINT32_MAX ? NULL : ow->types[pos];
}

void hm_owners_free(hm_owners *ow)
{
    hm_map_free(&ow->index);
    hm_map_free(&ow->type_pos);
    hm_own_unmap(ow->types, ow->cap * sizeof *ow->types);
    memset(ow, 0, sizeof *ow);
}

/* ---- the closure ------------------------------------------------------- */

static bool ignored(walker *w, PyObject *o)
{
    Py_ssize_t n = PyTuple_GET_SIZE(w->ignore);
    for (Py_ssize_t i = 0; i < n; i++)
        if (PyObject_TypeCheck(o, (PyTypeObject *)PyTuple_GET_ITEM(w->ignore, i)))
            return true;
    return false;
}

static int visit(PyObject *o, void *arg)
{
    walker *w = arg;
    if (!o)
        return 0;
    if (w->mode == DEEP && w->ignore && ignored(w, o))
        return 0;
    int added = hm_addrset_add(&w->seen, (uintptr_t)o);
    if (added == 0)
        return 0;
    if (added < 0 || !hm_stack_push(&w->stack, o, w->depth + 1)) {
        w->failed = true;
        return -1;
    }
    return 0;
}

/* Marks o seen without counting or walking it. */
static bool mark(walker *w, PyObject *o)
{
    if (o && hm_addrset_add(&w->seen, (uintptr_t)o) < 0)
        w->failed = true;
    return !w->failed;
}

static void record(walker *w, PyObject *o)
{
    hm_walk_result *r = w->r;
    PyObject *d = hm_layout_dict_of(o);
    if (d && PyDict_Check(d) && !hm_owners_note(&r->owners, d, Py_TYPE(o))) {
        w->failed = true;
        return;
    }
    if (ref_active && hm_addrset_has(&ref_set, ref_key(o)))
        return;
    bool python_sizeof;
    int64_t size = (int64_t)hm_layout_getsizeof(o, &w->sizes, &python_sizeof);
    int64_t beyond = hm_layout_inline_bytes(o);
    size += beyond;
    r->python_sizeof += python_sizeof;
    r->beyond_getsizeof += beyond > 0 ? (uint64_t)beyond : 0;
    if (!hm_objset_add(r->set, o, size > 0 ? (uint64_t)size : 0))
        w->failed = true;
}

static bool drain(walker *w)
{
    PyObject *o;
    uint32_t depth;
    while (!w->failed && hm_stack_pop(&w->stack, (void **)&o, &depth)) {
        if (w->is_result(o))
            continue;
        w->depth = depth;
        if (w->mode == RECORD) {
            record(w, o);
        } else if (w->mode == DEEP) {
            bool python_sizeof;
            int64_t size = (int64_t)hm_layout_getsizeof(o, &w->sizes, &python_sizeof);
            size += hm_layout_inline_bytes(o);
            w->bytes += size > 0 ? (uint64_t)size : 0;
            w->count++;
            if (w->limit >= 0 && depth >= (uint32_t)w->limit)
                continue;
        }
        if (!w->failed && hm_roots_traverse(o, visit, w) < 0)
            w->failed = true;
        /* 3.13 does not traverse a __dict__ made over inline values that are
         * still in use; the raw pointer reaches it. */
        if (!w->failed && visit(hm_layout_dict_of(o), w) < 0)
            w->failed = true;
    }
    return !w->failed;
}

/* Visits o's referents (o itself already seen) and drains. */
static bool walk_from_contents(walker *w, PyObject *o)
{
    if (hm_roots_traverse(o, visit, w) < 0)
        w->failed = true;
    return drain(w);
}

static bool root(walker *w, PyObject *o)
{
    if (visit(o, w) < 0)
        return false;
    return drain(w);
}

/* ---- what is heapmark's ------------------------------------------------ */

static bool is_heapmark_name(PyObject *key)
{
    static const char name[] = "heapmark";
    const Py_ssize_t len = (Py_ssize_t)sizeof name - 1;
    if (!PyUnicode_Check(key) || !PyUnicode_IS_ASCII(key) || PyUnicode_GET_LENGTH(key) < len)
        return false;
    const char *s = (const char *)PyUnicode_DATA(key);
    return memcmp(s, name, (size_t)len) == 0 && (s[len] == '\0' || s[len] == '.');
}

static void hide_module(walker *w, PyObject *m)
{
    mark(w, m);
    if (w->nhidden_objs < (int)HM_ARRAY_LEN(w->hidden_objs))
        w->hidden_objs[w->nhidden_objs++] = m;
    if (PyModule_Check(m)) {
        PyObject *d = PyModule_GetDict(m);
        mark(w, d);
        if (d && w->nhidden < (int)HM_ARRAY_LEN(w->hidden_dicts))
            w->hidden_dicts[w->nhidden++] = d;
    }
}

static bool is_hidden_globals(walker *w, PyObject *globals)
{
    for (int i = 0; i < w->nhidden; i++)
        if (w->hidden_dicts[i] == globals)
            return true;
    return false;
}

static int mark_hidden_frame(void *frame, PyObject *globals, PyObject *frame_obj, void *arg)
{
    walker *w = arg;
    if (!is_hidden_globals(w, globals))
        return 0;
    mark(w, frame_obj);
    if (w->nhidden_frames < (int)HM_ARRAY_LEN(w->hidden_frames))
        w->hidden_frames[w->nhidden_frames++] = frame;
    return 0;
}

static int visit_frame(void *frame, PyObject *globals, PyObject *frame_obj, void *arg)
{
    walker *w = arg;
    if (is_hidden_globals(w, globals))
        return 0;
    if (hm_roots_frame_refs(frame, visit, w) < 0 || !drain(w))
        return -1;
    return 0;
}

static int visit_and_drain(PyObject *o, void *arg)
{
    walker *w = arg;
    return root(w, o) ? 0 : -1;
}

static int gc_root(PyObject *o, void *arg)
{
    walker *w = arg;
    if (hm_addrset_has(&w->seen, (uintptr_t)o) || w->is_result(o) || hm_objset_any_holds(o))
        return 0;
    return root(w, o) ? 0 : -1;
}

static void walker_free(walker *w)
{
    hm_addrset_free(&w->seen);
    hm_stack_free(&w->stack);
    hm_sizecache_free(&w->sizes);
}

/* The whole heap; mode RECORD fills r, HIDE only marks (setref). */
static bool walk_heap(walker *w, PyObject *hide)
{
    walk_mode mode = w->mode;
    PyObject *modules = PyImport_GetModuleDict();
    if (modules && PyDict_Check(modules)) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(modules, &pos, &key, &value))
            if (is_heapmark_name(key))
                hide_module(w, value);
    }
    if (hide && PyTuple_Check(hide))
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(hide); i++)
            hide_module(w, PyTuple_GET_ITEM(hide, i));
    if (hm_roots_threads(mark_hidden_frame, NULL, w) < 0 && w->failed)
        return false;
    if (w->failed)
        return false;

    /* 1. the interpreter's real roots */
    if (modules && !root(w, modules))
        return false;
    PyObject *builtins = PyEval_GetBuiltins();
    if (builtins && !root(w, builtins))
        return false;
    if (hm_roots_threads(visit_frame, visit_and_drain, w) < 0 || w->failed)
        return false;

    /* 2. what only heapmark (or the caller's hidden objects) keeps alive */
    w->mode = HIDE;
    for (int i = 0; i < w->nhidden; i++)
        if (!walk_from_contents(w, w->hidden_dicts[i]))
            return false;
    for (int i = 0; i < w->nhidden_objs; i++)
        if (!walk_from_contents(w, w->hidden_objs[i]))
            return false;
    for (int i = 0; i < w->nhidden_frames; i++) {
        if (hm_roots_frame_refs(w->hidden_frames[i], visit, w) < 0 || !drain(w))
            return false;
#if PY_VERSION_HEX < 0x030b0000
        if (!walk_from_contents(w, (PyObject *)w->hidden_frames[i]))
            return false;
#endif
    }
    w->mode = mode;

    /* 3. the collector's objects nothing above reached */
    if (hm_roots_gc_objects(gc_root, w) < 0 || w->failed)
        return false;
    return true;
}

bool hm_walk_heap(hm_walk_result *r, PyObject *hide, hm_is_census_result is_result)
{
    memset(r, 0, sizeof *r);
    if (!hm_layout_init())
        return false;
    r->set = hm_objset_new();
    if (!r->set) {
        PyErr_NoMemory();
        return false;
    }
    walker w;
    memset(&w, 0, sizeof w);
    w.mode = RECORD;
    w.r = r;
    w.is_result = is_result;
    bool ok = walk_heap(&w, hide);
    r->visited = w.seen.count;
    r->set_bytes = hm_addrset_bytes(&w.seen);
    walker_free(&w);
    if (!ok) {
        hm_walk_result_free(r);
        if (!PyErr_Occurred())
            PyErr_NoMemory();
    }
    return ok;
}

bool hm_walk_setref(uint64_t *count, hm_is_census_result is_result)
{
    hm_walk_clear_ref();
    hm_walk_result r;
    if (!hm_walk_heap(&r, NULL, is_result))
        return false;
    hm_owners_free(&r.owners);
    for (size_t i = 0; i < r.set->n; i++) {
        if (hm_addrset_add(&ref_set, ref_key(r.set->objs[i])) < 0) {
            hm_walk_result_free(&r);
            hm_addrset_free(&ref_set);
            PyErr_NoMemory();
            return false;
        }
    }
    ref_objects = r.set;
    hm_objset_publish(ref_objects);
    ref_active = true;
    *count = ref_set.count;
    return true;
}

void hm_walk_clear_ref(void)
{
    ref_active = false;
    hm_addrset_free(&ref_set);
    hm_objset *old = ref_objects;
    ref_objects = NULL;
    hm_objset_decref(old); /* may free objects: the reference is gone first */
}

bool hm_walk_deep(PyObject *root_obj, PyObject *ignore, long limit, hm_is_census_result is_result,
                  uint64_t *bytes, uint64_t *count)
{
    if (!hm_layout_init())
        return false;
    walker w;
    memset(&w, 0, sizeof w);
    w.mode = DEEP;
    w.is_result = is_result;
    w.ignore = ignore && PyTuple_Check(ignore) && PyTuple_GET_SIZE(ignore) ? ignore : NULL;
    w.limit = limit;
    /* Depths are tracked from the start, so both arrays exist together. */
    w.stack.depth = hm_own_map(4096 * sizeof *w.stack.depth);
    w.stack.items = hm_own_map(4096 * sizeof *w.stack.items);
    w.stack.cap = (w.stack.depth && w.stack.items) ? 4096 : 0;
    bool ok = w.stack.cap && hm_addrset_add(&w.seen, (uintptr_t)root_obj) >= 0 &&
              hm_stack_push(&w.stack, root_obj, 0);
    if (ok) {
        /* The first pop sees depth 0, so its referents get depth 1. */
        PyObject *o = root_obj;
        uint32_t d;
        hm_stack_pop(&w.stack, (void **)&o, &d);
        w.depth = 0;
        bool python_sizeof;
        int64_t size = (int64_t)hm_layout_getsizeof(o, &w.sizes, &python_sizeof);
        size += hm_layout_inline_bytes(o);
        w.bytes = size > 0 ? (uint64_t)size : 0;
        w.count = 1;
        if (limit != 0 && hm_roots_traverse(o, visit, &w) < 0)
            w.failed = true;
        ok = drain(&w);
    }
    *bytes = w.bytes;
    *count = w.count;
    walker_free(&w);
    if (!ok && !PyErr_Occurred())
        PyErr_NoMemory();
    return ok;
}

void hm_walk_result_free(hm_walk_result *r)
{
    hm_objset_decref(r->set);
    r->set = NULL;
    hm_owners_free(&r->owners);
}
