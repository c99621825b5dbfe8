/*
 * census_api.c - the census as Python sees it: the CensusBase type that
 * heapmark.census.Census extends, and heap(), setref(), sizeof().
 *
 * Owns: argument conversion, the lifetime of a census's C data (object set,
 * kinds, rows, shared between a census and its views), views (.bytype,
 * .bymodule, .more, a row), and turning rendered text into str.
 * Must never: walk or classify (walk.c, kinds.c do), or render
 * (tables.c does).
 */
#include "pymodule/pymodule.h"
#include "census/census.h"

#include <string.h>

typedef struct {
    PyObject_HEAD hm_objset *set;
    uint32_t *kind_of; /* per object of set, into kinds */
    hm_kinds *kinds;
    hm_row *rows;
    size_t nrows;
    uint64_t count, size;
    size_t start;   /* first row shown (.more views) */
    bool more_view; /* a .more view prints no label */
    uint64_t visited, set_bytes, python_sizeof, beyond_getsizeof;
} CensusObject;

static PyTypeObject CensusType;

static bool is_census(PyObject *o)
{
    return PyObject_TypeCheck(o, &CensusType);
}

bool hm_census_is_result(PyObject *o)
{
    return is_census(o);
}

static hm_census_view view_of(const CensusObject *c)
{
    return (hm_census_view){c->kinds, c->rows, c->nrows, c->count, c->size};
}

/* A census of cls owning set (reference taken), kind_of and kinds. */
static PyObject *census_new(PyTypeObject *cls, hm_objset *set, uint32_t *kind_of, hm_kinds *kinds)
{
    CensusObject *c = (CensusObject *)cls->tp_alloc(cls, 0);
    if (!c) {
        hm_objset_decref(set);
        hm_kind_array_free(kind_of, set ? set->n : 0);
        hm_kinds_decref(kinds);
        return NULL;
    }
    c->set = set;
    hm_objset_publish(set);
    c->kind_of = kind_of;
    c->kinds = kinds;
    c->rows = hm_rows_make(kinds, kind_of, set->sizes, set->n, &c->nrows, &c->count, &c->size);
    if (!c->rows) {
        Py_DECREF(c);
        return NULL;
    }
    return (PyObject *)c;
}

static void census_release(CensusObject *c)
{
    if (c->kind_of)
        hm_kind_array_free(c->kind_of, c->set ? c->set->n : 0);
    c->kind_of = NULL;
    hm_objset_decref(c->set);
    c->set = NULL;
    hm_kinds_decref(c->kinds);
    c->kinds = NULL;
    free(c->rows);
    c->rows = NULL;
    c->nrows = 0;
}

static int census_traverse(CensusObject *c, visitproc visit, void *arg)
{
    if (c->set && c->set->refcnt == 1)
        for (size_t i = 0; i < c->set->n; i++)
            Py_VISIT(c->set->objs[i]);
    Py_VISIT(Py_TYPE(c));
    return 0;
}

static int census_clear(CensusObject *c)
{
    census_release(c);
    return 0;
}

/* Python subclasses' subtype_dealloc gives back their type's reference
 * itself (the base is static), so this never does. */
static void census_dealloc(CensusObject *c)
{
    PyObject_GC_UnTrack(c);
    census_release(c);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyObject *text_of(hm_buf *b)
{
    if (b->failed) {
        hm_buf_free(b);
        return PyErr_NoMemory();
    }
    PyObject *s = PyUnicode_DecodeUTF8(b->data ? b->data : "", (Py_ssize_t)b->len, "replace");
    hm_buf_free(b);
    return s;
}

static PyObject *census_str(CensusObject *c)
{
    hm_buf b = {0};
    hm_census_view v = view_of(c);
    hm_census_table(&b, &v, c->start, 10, !c->more_view);
    return text_of(&b);
}

/* A view of the same objects: shares the set, copies or regroups kinds. */
static PyObject *census_view(CensusObject *c, hm_classifier by, size_t start, bool more)
{
    uint32_t *kind_of = NULL;
    hm_kinds *kinds;
    if (by == c->kinds->by) {
        kind_of = hm_kind_array(c->set->n);
        if (!kind_of)
            return PyErr_NoMemory();
        memcpy(kind_of, c->kind_of, c->set->n * sizeof *kind_of);
        kinds = c->kinds;
        kinds->refcnt++;
    } else {
        kinds = hm_kinds_regroup(c->kinds, c->kind_of, c->set->n, by, &kind_of);
        if (!kinds)
            return NULL;
    }
    c->set->refcnt++;
    CensusObject *v = (CensusObject *)census_new(Py_TYPE(c), c->set, kind_of, kinds);
    if (v) {
        v->start = start;
        v->more_view = more;
        v->visited = c->visited;
        v->set_bytes = c->set_bytes;
    }
    return (PyObject *)v;
}

static PyObject *census_bytype(CensusObject *c, PyObject *unused)
{
    return census_view(c, HM_BY_TYPE, 0, false);
}

static PyObject *census_bymodule(CensusObject *c, PyObject *unused)
{
    return census_view(c, HM_BY_MODULE, 0, false);
}

static PyObject *census_table(CensusObject *c, PyObject *arg)
{
    Py_ssize_t max = PyLong_AsSsize_t(arg);
    if (max == -1 && PyErr_Occurred())
        return NULL;
    hm_buf b = {0};
    hm_census_view v = view_of(c);
    hm_census_table(&b, &v, c->start, max > 0 ? (size_t)max : 0, !c->more_view);
    return text_of(&b);
}

static PyObject *census_more(CensusObject *c, PyObject *unused)
{
    hm_buf b = {0};
    hm_census_view v = view_of(c);
    size_t next = hm_census_table(&b, &v, c->start, 10, false);
    hm_buf_free(&b);
    return census_view(c, c->kinds->by, next, true);
}

static PyObject *census_row(CensusObject *c, PyObject *arg)
{
    Py_ssize_t i = PyLong_AsSsize_t(arg);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    if (i < 0)
        i += (Py_ssize_t)c->nrows;
    if (i < 0 || (size_t)i >= c->nrows) {
        PyErr_SetString(PyExc_IndexError, "census row index out of range");
        return NULL;
    }
    uint32_t kind = c->rows[i].kind;
    hm_objset *sub = hm_objset_new();
    uint32_t *kind_of = sub ? hm_kind_array(c->rows[i].count) : NULL;
    if (!kind_of) {
        hm_objset_decref(sub);
        return PyErr_NoMemory();
    }
    for (size_t j = 0; j < c->set->n; j++) {
        if (c->kind_of[j] != kind)
            continue;
        kind_of[sub->n] = kind;
        if (!hm_objset_add(sub, c->set->objs[j], c->set->sizes[j])) {
            hm_kind_array_free(kind_of, c->rows[i].count);
            hm_objset_decref(sub);
            return PyErr_NoMemory();
        }
    }
    c->kinds->refcnt++;
    return census_new(Py_TYPE(c), sub, kind_of, c->kinds);
}

static PyObject *census_objects(CensusObject *c, PyObject *unused)
{
    PyObject *list = PyList_New((Py_ssize_t)c->set->n);
    if (!list)
        return NULL;
    for (size_t i = 0; i < c->set->n; i++) {
        Py_INCREF(c->set->objs[i]);
        PyList_SET_ITEM(list, (Py_ssize_t)i, c->set->objs[i]);
    }
    return list;
}

static PyObject *census_diff(CensusObject *c, PyObject *other)
{
    if (!is_census(other)) {
        PyErr_SetString(PyExc_TypeError, "diff() needs another census");
        return NULL;
    }
    CensusObject *o = (CensusObject *)other;
    PyObject *regrouped = NULL;
    if (o->kinds->by != c->kinds->by) {
        regrouped = census_view(o, c->kinds->by, 0, false);
        if (!regrouped)
            return NULL;
        o = (CensusObject *)regrouped;
    }
    hm_buf b = {0};
    hm_census_view a = view_of(c), bv = view_of(o);
    hm_census_diff(&b, &a, &bv);
    Py_XDECREF(regrouped);
    return text_of(&b);
}

static PyObject *census_json(CensusObject *c, PyObject *unused)
{
    hm_buf b = {0};
    hm_census_view v = view_of(c);
    hm_census_json(&b, &v, Py_GetVersion());
    return text_of(&b);
}

static PyObject *census_rows(CensusObject *c, PyObject *unused)
{
    PyObject *list = PyList_New((Py_ssize_t)c->nrows);
    for (size_t i = 0; list && i < c->nrows; i++) {
        const hm_kind *k = &c->kinds->items[c->rows[i].kind];
        PyObject *t =
            Py_BuildValue("(KKsss)", (unsigned long long)c->rows[i].count,
                          (unsigned long long)c->rows[i].size, k->name, k->type_name, k->module);
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

static PyObject *census_stats(CensusObject *c, PyObject *unused)
{
    return Py_BuildValue("{sKsKsKsK}", "visited", (unsigned long long)c->visited,
                         "visited_set_bytes", (unsigned long long)c->set_bytes, "python_sizeof",
                         (unsigned long long)c->python_sizeof, "beyond_getsizeof",
                         (unsigned long long)c->beyond_getsizeof);
}

static PyObject *census_get_count(CensusObject *c, void *unused)
{
    return PyLong_FromUnsignedLongLong(c->count);
}

static PyObject *census_get_size(CensusObject *c, void *unused)
{
    return PyLong_FromUnsignedLongLong(c->size);
}

static Py_ssize_t census_len(CensusObject *c)
{
    return (Py_ssize_t)c->nrows;
}

static PyMethodDef census_methods[] = {
    {"_bytype", (PyCFunction)census_bytype, METH_NOARGS, NULL},
    {"_bymodule", (PyCFunction)census_bymodule, METH_NOARGS, NULL},
    {"_more", (PyCFunction)census_more, METH_NOARGS, NULL},
    {"_table", (PyCFunction)census_table, METH_O, NULL},
    {"_row", (PyCFunction)census_row, METH_O, NULL},
    {"_objects", (PyCFunction)census_objects, METH_NOARGS, NULL},
    {"_diff", (PyCFunction)census_diff, METH_O, NULL},
    {"_json", (PyCFunction)census_json, METH_NOARGS, NULL},
    {"_rows", (PyCFunction)census_rows, METH_NOARGS, NULL},
    {"_stats", (PyCFunction)census_stats, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef census_getset[] = {
    {"count", (getter)census_get_count, NULL, "Number of objects.", NULL},
    {"size", (getter)census_get_size, NULL, "Total bytes.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods census_as_sequence = {
    .sq_length = (lenfunc)census_len,
};

static PyTypeObject CensusType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "heapmark._heapmark.CensusBase",
    .tp_basicsize = sizeof(CensusObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "C data of a heap census; see heapmark.census.Census.",
    .tp_dealloc = (destructor)census_dealloc,
    .tp_traverse = (traverseproc)census_traverse,
    .tp_clear = (inquiry)census_clear,
    .tp_str = (reprfunc)census_str,
    .tp_repr = (reprfunc)census_str,
    .tp_methods = census_methods,
    .tp_getset = census_getset,
    .tp_as_sequence = &census_as_sequence,
};

/* ---- module functions -------------------------------------------------- */

static PyObject *py_heap(PyObject *self, PyObject *args)
{
    PyTypeObject *cls = &CensusType;
    PyObject *hide = NULL;
    if (!PyArg_ParseTuple(args, "|O!O", &PyType_Type, &cls, &hide))
        return NULL;
    if (!PyType_IsSubtype(cls, &CensusType)) {
        PyErr_SetString(PyExc_TypeError, "heap() needs a CensusBase subclass");
        return NULL;
    }
    if (hide == Py_None)
        hide = NULL;
    if (hide && !PyTuple_Check(hide)) {
        PyErr_SetString(PyExc_TypeError, "hide must be a tuple");
        return NULL;
    }
    /* Anything that may create objects happens before the walk. */
    if (!hm_kinds_prepare_names() || !hm_layout_init())
        return NULL;
    hm_walk_result r;
    if (!hm_walk_heap(&r, hide, is_census))
        return NULL;
    uint32_t *kind_of;
    hm_kinds *kinds = hm_kinds_classify(r.set, &r.owners, &kind_of);
    if (!kinds) {
        hm_walk_result_free(&r);
        return NULL;
    }
    hm_owners_free(&r.owners);
    CensusObject *c = (CensusObject *)census_new(cls, r.set, kind_of, kinds);
    if (c) {
        c->visited = r.visited;
        c->set_bytes = r.set_bytes;
        c->python_sizeof = r.python_sizeof;
        c->beyond_getsizeof = r.beyond_getsizeof;
    }
    return (PyObject *)c;
}

static PyObject *py_setref(PyObject *self, PyObject *args)
{
    int clear = 0;
    if (!PyArg_ParseTuple(args, "|p", &clear))
        return NULL;
    if (clear) {
        hm_walk_clear_ref();
        Py_RETURN_NONE;
    }
    if (!hm_kinds_prepare_names() || !hm_layout_init())
        return NULL;
    uint64_t count;
    if (!hm_walk_setref(&count, is_census))
        return NULL;
    return PyLong_FromUnsignedLongLong(count);
}

static PyObject *py_sizeof(PyObject *self, PyObject *args)
{
    PyObject *obj, *ignore = NULL;
    int deep = 1;
    long limit = -1;
    if (!PyArg_ParseTuple(args, "O|pOl", &obj, &deep, &ignore, &limit))
        return NULL;
    if (ignore == Py_None)
        ignore = NULL;
    if (ignore) {
        if (!PyTuple_Check(ignore)) {
            PyErr_SetString(PyExc_TypeError, "ignore must be a tuple of types");
            return NULL;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(ignore); i++)
            if (!PyType_Check(PyTuple_GET_ITEM(ignore, i))) {
                PyErr_SetString(PyExc_TypeError, "ignore must be a tuple of types");
                return NULL;
            }
    }
    if (!hm_layout_init())
        return NULL;
    uint64_t bytes, count;
    if (!hm_walk_deep(obj, ignore, deep ? limit : 0, is_census, &bytes, &count))
        return NULL;
    if (!deep) {
        /* sys.getsizeof's figure alone, without inline values. */
        hm_sizecache cache;
        memset(&cache, 0, sizeof cache);
        bool python_sizeof;
        bytes = hm_layout_getsizeof(obj, &cache, &python_sizeof);
        hm_sizecache_free(&cache);
    }
    return PyLong_FromUnsignedLongLong(bytes);
}

static PyMethodDef census_functions[] = {
    {"_heap", py_heap, METH_VARARGS,
     "_heap(cls=CensusBase, hide=None) -> census of every live object."},
    {"_setref", py_setref, METH_VARARGS,
     "_setref(clear=False) -> objects remembered; later censuses leave them out."},
    {"_sizeof", py_sizeof, METH_VARARGS,
     "_sizeof(obj, deep=True, ignore=None, limit=-1) -> bytes."},
    {NULL, NULL, 0, NULL},
};

int hm_census_add_to_module(PyObject *m)
{
    if (PyType_Ready(&CensusType) < 0)
        return -1;
    Py_INCREF(&CensusType);
    if (PyModule_AddObject(m, "CensusBase", (PyObject *)&CensusType) < 0) {
        Py_DECREF(&CensusType);
        return -1;
    }
    return PyModule_AddFunctions(m, census_functions);
}
