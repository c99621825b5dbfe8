/*
 * object_layout.c - what an object occupies and where its __dict__ is, read
 * from CPython's object layout, per version.
 *
 * Owns: the census's sys.getsizeof (the same figure, without running Python
 * code), the bytes of attribute values that 3.11+ keeps outside any dict,
 * and the raw dict pointer of an instance.
 * Must never: create a __dict__ or its values (no PyObject_GenericGetDict,
 * no _PyObject_GetDictPtr, which materialises managed dicts on 3.11+), call
 * a __sizeof__ written in Python, or keep a reference.
 *
 * Why call C __sizeof__ implementations: extension types (numpy arrays,
 * deques, io buffers) know their own buffers; only their C function is
 * called, directly, and its int result (a cached small int, or one freed at
 * once) leaves the heap as it was.  The common types (object, list, dict,
 * set) are computed here without that call.
 */
/* The dict internals need Py_BUILD_CORE from the first include on (3.12's
 * objimpl.h declares differently in core builds). */
#include <patchlevel.h>
#if PY_VERSION_HEX >= 0x030b0000 && !defined(Py_BUILD_CORE)
#    define Py_BUILD_CORE 1
#endif
#include "census/census.h"
#include "common/ownmem.h"

#include <string.h>

#if PY_VERSION_HEX >= 0x030b0000
#    include <internal/pycore_dict.h>
#endif

/* PyGC_Head is two words in 3.9-3.13 (internal from 3.12 on). */
#define GC_HEADER (2 * sizeof(uintptr_t))

enum {
    S_BASIC,  /* object.__sizeof__: basic + items */
    S_PYTHON, /* __sizeof__ in Python: basic, flagged */
    S_LIST,
    S_DICT,
    S_SET,
    S_C_FIRST, /* C __sizeof__ number (strategy - S_C_FIRST) */
};

static PyObject *sizeof_name;
static PyObject *object_sizeof, *list_sizeof, *dict_sizeof, *set_sizeof, *frozenset_sizeof;

bool hm_layout_init(void)
{
    if (sizeof_name)
        return true;
    sizeof_name = PyUnicode_InternFromString("__sizeof__");
    if (!sizeof_name)
        return false;
    object_sizeof = _PyType_Lookup(&PyBaseObject_Type, sizeof_name);
    list_sizeof = _PyType_Lookup(&PyList_Type, sizeof_name);
    dict_sizeof = _PyType_Lookup(&PyDict_Type, sizeof_name);
    set_sizeof = _PyType_Lookup(&PySet_Type, sizeof_name);
    frozenset_sizeof = _PyType_Lookup(&PyFrozenSet_Type, sizeof_name);
    return true;
}

static uint32_t strategy_for(PyTypeObject *tp, hm_sizecache *c)
{
    uint32_t s = hm_map_get(&c->strategy, (uint64_t)(uintptr_t)tp);
    if (s != UINT32_MAX)
        return s - 1;
    /* A lookup through the MRO's dicts: no descriptor is called. */
    PyObject *d = _PyType_Lookup(tp, sizeof_name);
    if (!d || d == object_sizeof)
        s = S_BASIC;
    else if (d == list_sizeof)
        s = S_LIST;
    else if (d == dict_sizeof)
        s = S_DICT;
    else if (d == set_sizeof || d == frozenset_sizeof)
        s = S_SET;
    else if (Py_IS_TYPE(d, &PyMethodDescr_Type)) {
        if (!hm_own_grow((void **)&c->c_sizeof, &c->ccap, c->nc, sizeof *c->c_sizeof, c->nc + 1,
                         64))
            return S_BASIC;
        c->c_sizeof[c->nc] = d;
        s = S_C_FIRST + (uint32_t)c->nc++;
    } else {
        s = S_PYTHON;
    }
    hm_map_put(&c->strategy, (uint64_t)(uintptr_t)tp, s + 1);
    return s;
}

static uint64_t basic_size(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);
    Py_ssize_t size = tp->tp_basicsize;
    if (tp->tp_itemsize > 0)
        size += Py_SIZE(o) * tp->tp_itemsize;
    return (uint64_t)size;
}

/* What getsizeof adds to __sizeof__: the GC header, and on 3.11+ the
 * pre-header of managed dict and weakref pointers. */
static uint64_t header_size(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);
#if PY_VERSION_HEX >= 0x030c0000
#    if PY_VERSION_HEX >= 0x030d0000
    if (Py_IS_TYPE(o, &PyType_Type) && !(((PyTypeObject *)o)->tp_flags & Py_TPFLAGS_HEAPTYPE))
        return 0; /* 3.13 leaves static types' header out */
#    endif
    return (PyType_IS_GC(tp) ? GC_HEADER : 0) +
           (tp->tp_flags & Py_TPFLAGS_PREHEADER ? 2 * sizeof(PyObject *) : 0);
#elif PY_VERSION_HEX >= 0x030b0000
    /* 3.11 asks the type, so static types get a GC header they lack. */
    return (PyType_IS_GC(tp) ? GC_HEADER : 0) +
           (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT ? 2 * sizeof(PyObject *) : 0);
#else
    (void)tp;
    return PyObject_IS_GC(o) ? GC_HEADER : 0;
#endif
}

uint64_t hm_layout_getsizeof(PyObject *o, hm_sizecache *c, bool *python_sizeof)
{
    PyTypeObject *tp = Py_TYPE(o);
    uint32_t s = strategy_for(tp, c);
    uint64_t size;
    *python_sizeof = false;
    switch (s) {
    case S_BASIC: size = basic_size(o); break;
    case S_PYTHON:
        *python_sizeof = true;
        size = basic_size(o);
        break;
    case S_LIST:
        size =
            (uint64_t)tp->tp_basicsize + (uint64_t)((PyListObject *)o)->allocated * sizeof(void *);
        break;
    case S_DICT: size = (uint64_t)_PyDict_SizeOf((PyDictObject *)o); break;
    case S_SET: {
        PySetObject *so = (PySetObject *)o;
        size = (uint64_t)tp->tp_basicsize;
        if (so->table != so->smalltable)
            size += (uint64_t)(so->mask + 1) * sizeof(setentry);
        break;
    }
    default: {
        /* A method descriptor calls its C function: no Python code. */
        PyObject *r = PyObject_CallOneArg(c->c_sizeof[s - S_C_FIRST], o);
        Py_ssize_t n = r ? PyLong_AsSsize_t(r) : -1;
        Py_XDECREF(r);
        if (n < 0) {
            PyErr_Clear();
            size = basic_size(o);
        } else {
            size = (uint64_t)n;
        }
    }
    }
    return size + header_size(o);
}

#if PY_VERSION_HEX >= 0x030b0000 && PY_VERSION_HEX < 0x030d0000
/* 3.11 and 3.12 allocate the values separately: a prefix (its size in its
 * last byte) then one pointer per slot the type's shared keys can hold. */
static int64_t separate_values_bytes(PyTypeObject *tp, PyDictValues *values)
{
    size_t prefix = ((uint8_t *)values)[-1];
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    size_t slots = keys ? (size_t)(keys->dk_nentries + keys->dk_usable) : 0;
    if (!keys || _Py_SIZE_ROUND_UP(slots + 2, sizeof(PyObject *)) != prefix)
        slots = prefix >= 2 ? prefix - 2 : 0; /* the most the prefix allows */
    return (int64_t)(prefix + slots * sizeof(PyObject *));
}

/* A split dict (one made from an instance's values) holds that values
 * array; its getsizeof counts the pointers but not the prefix before them. */
static int64_t split_values_prefix(PyObject *o)
{
    PyDictValues *values = ((PyDictObject *)o)->ma_values;
    return values ? ((uint8_t *)values)[-1] : 0;
}
#endif

int64_t hm_layout_inline_bytes(PyObject *o)
{
#if PY_VERSION_HEX >= 0x030d0000
    PyTypeObject *tp = Py_TYPE(o);
    if (tp->tp_flags & Py_TPFLAGS_INLINE_VALUES) {
        PyDictValues *v = _PyObject_InlineValues(o);
        size_t cap = v->capacity;
        return (int64_t)(_Py_SIZE_ROUND_UP(cap, sizeof(PyObject *)) +
                         (cap + 1) * sizeof(PyObject *));
    }
    if (PyDict_Check(o)) {
        /* A dict made from an instance's inline values points at them; its
         * getsizeof counts them, but they are the instance's bytes. */
        PyDictObject *mp = (PyDictObject *)o;
        if (mp->ma_values && mp->ma_values->embedded)
            return -(int64_t)(shared_keys_usable_size(mp->ma_keys) * sizeof(PyObject *));
    }
    return 0;
#elif PY_VERSION_HEX >= 0x030c0000
    PyTypeObject *tp = Py_TYPE(o);
    if (PyDict_Check(o))
        return split_values_prefix(o);
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT))
        return 0;
    uintptr_t dorv = ((uintptr_t *)o)[-3];
    if (!(dorv & 1))
        return 0;
    return separate_values_bytes(tp, (PyDictValues *)(dorv + 1)); /* tagged as values - 1 */
#elif PY_VERSION_HEX >= 0x030b0000
    PyTypeObject *tp = Py_TYPE(o);
    if (PyDict_Check(o))
        return split_values_prefix(o);
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT))
        return 0;
    PyDictValues *values = ((PyDictValues **)o)[-4];
    return values ? separate_values_bytes(tp, values) : 0;
#else
    (void)o;
    return 0;
#endif
}

PyObject *hm_layout_dict_of(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);
#if PY_VERSION_HEX >= 0x030c0000
    if (PyType_Check(o) && !(((PyTypeObject *)o)->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        /* Static builtin types keep their dict in the interpreter state;
         * PyType_GetDict hands back that existing dict. */
        PyObject *d = PyType_GetDict((PyTypeObject *)o);
        Py_XDECREF(d);
        return d;
    }
#endif
#if PY_VERSION_HEX >= 0x030b0000
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
#    if PY_VERSION_HEX >= 0x030d0000
        return (PyObject *)_PyObject_ManagedDictPointer(o)->dict;
#    elif PY_VERSION_HEX >= 0x030c0000
        uintptr_t dorv = ((uintptr_t *)o)[-3];
        return (dorv & 1) ? NULL : (PyObject *)dorv;
#    else
        return ((PyObject **)o)[-3];
#    endif
    }
#endif
    Py_ssize_t offset = tp->tp_dictoffset;
    if (offset == 0)
        return NULL;
    if (offset < 0) {
        Py_ssize_t items = Py_SIZE(o);
        if (items < 0)
            items = -items;
        offset += (Py_ssize_t)_Py_SIZE_ROUND_UP(tp->tp_basicsize + items * tp->tp_itemsize,
                                                sizeof(void *));
    }
    return *(PyObject **)((char *)o + offset);
}

/* numpy's PyArrayObject_fields, as far as the fields read here (stable
 * since numpy 1.7): the data pointer, the shape (and strides) array, the
 * base, and the flags, of which OWNDATA says the data is the array's own. */
typedef struct {
    PyObject_HEAD char *data;
    int nd;
    Py_ssize_t *dimensions;
    Py_ssize_t *strides;
    PyObject *base;
    PyObject *descr;
    int flags;
} numpy_array_head;
#define NUMPY_OWNDATA 0x0004

/* array.array's arrayobject, as far as its item pointer. */
typedef struct {
    PyObject_VAR_HEAD char *ob_item;
} array_head;

static bool type_is_named(PyTypeObject *tp, const char *name)
{
    for (; tp; tp = tp->tp_base)
        if (strcmp(tp->tp_name, name) == 0)
            return true;
    return false;
}

/* Which foreign layout a type has, cached by type address (direct-mapped:
 * a miss only costs the name comparison again). */
enum { FOREIGN_NONE, FOREIGN_NUMPY, FOREIGN_ARRAY };
static struct {
    PyTypeObject *type;
    int layout;
} foreign_cache[256];

static int foreign_layout(PyTypeObject *tp)
{
    if ((size_t)tp->tp_basicsize < sizeof(array_head))
        return FOREIGN_NONE;
    size_t slot = ((uintptr_t)tp >> 4) & 255;
    if (foreign_cache[slot].type == tp)
        return foreign_cache[slot].layout;
    int layout = FOREIGN_NONE;
    if ((size_t)tp->tp_basicsize >= sizeof(numpy_array_head) && type_is_named(tp, "numpy.ndarray"))
        layout = FOREIGN_NUMPY;
    else if (type_is_named(tp, "array.array"))
        layout = FOREIGN_ARRAY;
    foreign_cache[slot].type = tp;
    foreign_cache[slot].layout = layout;
    return layout;
}

/* Where a values array's allocation starts: 3.11 and 3.12 put a prefix
 * before it, its size in its last byte. */
static const void *values_block(const void *values)
{
#if PY_VERSION_HEX >= 0x030b0000 && PY_VERSION_HEX < 0x030d0000
    return values ? (const char *)values - ((const uint8_t *)values)[-1] : NULL;
#else
    return values;
#endif
}

int hm_layout_buffers(PyObject *o, const void *out[HM_LAYOUT_MAX_BUFFERS])
{
    PyTypeObject *tp = Py_TYPE(o);
    int n = 0;
    /* Flag tests first: they cost nothing, and most objects are none of
     * these.  Sets and bytearrays are looked at by exact type (a subclass
     * test walks the MRO). */
    if (PyList_Check(o)) {
        out[n++] = ((PyListObject *)o)->ob_item;
    } else if (PyDict_Check(o)) {
        PyDictObject *mp = (PyDictObject *)o;
        if (!mp->ma_values)
            out[n++] = mp->ma_keys; /* a split dict's keys are its class's */
        else
            out[n++] = values_block(mp->ma_values);
    } else if (PyLong_Check(o) || PyUnicode_Check(o) || PyTuple_Check(o) || PyBytes_Check(o) ||
               PyType_Check(o)) {
        /* no separate buffer */
    } else if (tp == &PySet_Type || tp == &PyFrozenSet_Type) {
        PySetObject *so = (PySetObject *)o;
        if (so->table != so->smalltable)
            out[n++] = so->table;
    } else if (tp == &PyByteArray_Type) {
        out[n++] = ((PyByteArrayObject *)o)->ob_bytes;
    } else {
        switch (foreign_layout(tp)) {
        case FOREIGN_NUMPY: {
            const numpy_array_head *a = (const numpy_array_head *)o;
            if (a->flags & NUMPY_OWNDATA)
                out[n++] = a->data;
            out[n++] = a->dimensions;
            break;
        }
        case FOREIGN_ARRAY: out[n++] = ((const array_head *)o)->ob_item; break;
        }
    }
#if PY_VERSION_HEX >= 0x030c0000 && PY_VERSION_HEX < 0x030d0000
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        uintptr_t dorv = ((uintptr_t *)o)[-3];
        if (dorv & 1)
            out[n++] = values_block((const void *)(dorv + 1));
    }
#elif PY_VERSION_HEX >= 0x030b0000 && PY_VERSION_HEX < 0x030c0000
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)
        out[n++] = values_block(((PyDictValues **)o)[-4]);
#endif
    return n;
}

int64_t hm_layout_attributes(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);
    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) || PyType_Check(o))
        return -1;
    PyObject *dict = hm_layout_dict_of(o);
    if (dict && PyDict_Check(dict))
        return PyDict_GET_SIZE(dict);
#if PY_VERSION_HEX >= 0x030b0000
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        /* Values without a dict: as many as the names the class's
         * instances share (its cached keys). */
        PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
        return keys ? keys->dk_nentries : 0;
    }
#endif
    return tp->tp_dictoffset ? 0 : -1; /* no __dict__ at all: slots already */
}

int64_t hm_layout_float_items(PyObject *o)
{
    if (!PyList_CheckExact(o) || PyList_GET_SIZE(o) == 0)
        return 0;
    Py_ssize_t n = PyList_GET_SIZE(o);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyFloat_CheckExact(PyList_GET_ITEM(o, i)))
            return 0;
    return n;
}

void hm_sizecache_free(hm_sizecache *c)
{
    hm_map_free(&c->strategy);
    hm_own_unmap(c->c_sizeof, c->ccap * sizeof *c->c_sizeof);
    memset(c, 0, sizeof *c);
}
