/*
 * kinds.c - kinds of objects, as Heapy names them, and the rows of a
 * census.
 *
 * Owns: a kind for each object (its class, or "dict of X" for the __dict__
 * of an instance of X, or "dict (no owner)"), the names Heapy gives classes
 * ("str", "function", "types.CodeType", "__main__.Line"), the regrouping of
 * kinds by type or by defining module, and the rows sorted by size.
 * Must never: call Python code or look attributes up through descriptors
 * (names come from tp_name, ht_name and the class dict's "__module__"), or
 * keep a reference to a type: names are copied into C strings, so a census
 * outlives the classes it names.
 *
 * Heapy's names (guppy3's Summary_str): module and function types are
 * "module" and "function"; a type bound in builtins is named there; a type
 * exposed by the types module is "types.Name" (the last of its names in
 * sorted order); any other class is "module.Name".
 */
#include "census/census.h"
#include "common/ownmem.h"

#include <stdlib.h>
#include <string.h>

#define NO_OWNER_KEY 2u /* objects are 8-aligned: no type has it */

static hm_map well_known; /* type address -> index in well_known_names */
static char **well_known_names;
static size_t n_well_known, well_known_cap;

/* A str as a malloc'd UTF-8 C string, encoded here so that no UTF-8 cache
 * is attached to the object. */
static char *utf8_of(PyObject *s)
{
    if (!s || !PyUnicode_Check(s) || PyUnicode_READY(s) < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    char *out = malloc((size_t)n * 4 + 1), *p = out;
    if (!out)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            *p++ = (char)c;
        } else if (c < 0x800) {
            *p++ = (char)(0xC0 | (c >> 6));
            *p++ = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            *p++ = (char)(0xE0 | (c >> 12));
            *p++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *p++ = (char)(0x80 | (c & 0x3F));
        } else {
            *p++ = (char)(0xF0 | (c >> 18));
            *p++ = (char)(0x80 | ((c >> 12) & 0x3F));
            *p++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *p++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *p = '\0';
    return out;
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

static void name_well_known(PyTypeObject *t, const char *prefix, PyObject *name)
{
    char *n = utf8_of(name);
    if (!n)
        return;
    char *full = join(prefix, n, "");
    free(n);
    if (!full)
        return;
    uint32_t pos = hm_map_get(&well_known, (uint64_t)(uintptr_t)t);
    if (pos != UINT32_MAX) {
        free(well_known_names[pos]);
        well_known_names[pos] = full;
        return;
    }
    if (!hm_own_grow((void **)&well_known_names, &well_known_cap, n_well_known,
                     sizeof *well_known_names, n_well_known + 1, 256)) {
        free(full);
        return;
    }
    well_known_names[n_well_known] = full;
    hm_map_put(&well_known, (uint64_t)(uintptr_t)t, (uint32_t)n_well_known++);
}

/* Types bound in a namespace dict, in sorted name order (later names win,
 * as in guppy3). */
static void name_namespace(PyObject *dict, const char *prefix)
{
    if (!dict || !PyDict_Check(dict))
        return;
    PyObject *keys = PyDict_Keys(dict);
    if (!keys || PyList_Sort(keys) < 0) {
        Py_XDECREF(keys);
        PyErr_Clear();
        return;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); i++) {
        PyObject *k = PyList_GET_ITEM(keys, i);
        PyObject *v = PyDict_GetItemWithError(dict, k);
        if (v && PyType_Check(v) && PyUnicode_Check(k))
            name_well_known((PyTypeObject *)v, prefix, k);
    }
    PyErr_Clear();
    Py_DECREF(keys);
}

bool hm_kinds_prepare_names(void)
{
    if (n_well_known)
        return true;
    PyObject *types = PyImport_ImportModule("types");
    if (!types)
        return false;
    name_namespace(PyModule_GetDict(types), "types.");
    Py_DECREF(types);
    PyObject *builtins = PyEval_GetBuiltins();
    name_namespace(builtins, "");
    PyObject *mname = PyUnicode_FromString("module"), *fname = PyUnicode_FromString("function");
    if (mname && fname) {
        name_well_known(&PyModule_Type, "", mname);
        name_well_known(&PyFunction_Type, "", fname);
    }
    Py_XDECREF(mname);
    Py_XDECREF(fname);
    return !PyErr_Occurred();
}

/* "module" and "Name" of a class as type.__module__ and __name__ give them. */
static void type_parts(PyTypeObject *t, char **module, char **name)
{
    *module = *name = NULL;
    if (t->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        *name = utf8_of(((PyHeapTypeObject *)t)->ht_name);
        PyObject *dict = t->tp_dict;
        static PyObject *module_key;
        if (!module_key)
            module_key = PyUnicode_InternFromString("__module__");
        PyObject *m = dict && module_key ? PyDict_GetItemWithError(dict, module_key) : NULL;
        PyErr_Clear();
        *module = m ? utf8_of(m) : NULL;
        if (!*module)
            *module = strdup(m ? "?" : "builtins");
    } else {
        const char *dot = strrchr(t->tp_name, '.');
        if (dot) {
            *module = strndup(t->tp_name, (size_t)(dot - t->tp_name));
            *name = strdup(dot + 1);
        } else {
            *module = strdup("builtins");
            *name = strdup(t->tp_name);
        }
    }
    if (!*name)
        *name = strdup("?");
}

/* The kind's name for a class, and the module that defines it. */
static void class_names(PyTypeObject *t, char **kind_name, char **module)
{
    char *name;
    type_parts(t, module, &name);
    uint32_t pos = hm_map_get(&well_known, (uint64_t)(uintptr_t)t);
    if (pos != UINT32_MAX)
        *kind_name = strdup(well_known_names[pos]);
    else
        *kind_name = join(*module ? *module : "?", ".", name ? name : "?");
    free(name);
}

/* ---- kind tables ------------------------------------------------------- */

static hm_kinds *kinds_new(hm_classifier by)
{
    hm_kinds *k = calloc(1, sizeof *k);
    if (k) {
        k->refcnt = 1;
        k->by = by;
    }
    return k;
}

void hm_kinds_decref(hm_kinds *k)
{
    if (!k || --k->refcnt > 0)
        return;
    for (size_t i = 0; i < k->n; i++) {
        free(k->items[i].name);
        free(k->items[i].type_name);
        free(k->items[i].module);
    }
    free(k->items);
    hm_map_free(&k->index);
    free(k);
}

/* Adds a kind (taking the strings); its id, or UINT32_MAX. */
static uint32_t kinds_add(hm_kinds *k, uint64_t key, char *name, char *type_name, char *module)
{
    if (!name || !type_name || !module || k->n == UINT32_MAX - 1)
        goto fail;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        hm_kind *items = realloc(k->items, cap * sizeof *items);
        if (!items)
            goto fail;
        k->items = items;
        k->cap = cap;
    }
    k->items[k->n] = (hm_kind){name, type_name, module};
    if (!hm_map_put(&k->index, key, (uint32_t)k->n))
        return UINT32_MAX;
    return (uint32_t)k->n++;
fail:
    free(name);
    free(type_name);
    free(module);
    return UINT32_MAX;
}

uint32_t *hm_kind_array(size_t n)
{
    return hm_own_map((n ? n : 1) * sizeof(uint32_t));
}

void hm_kind_array_free(uint32_t *a, size_t n)
{
    hm_own_unmap(a, (n ? n : 1) * sizeof(uint32_t));
}

hm_kinds *hm_kinds_new(void)
{
    return kinds_new(HM_BY_KIND);
}

static uint32_t kind_for(hm_kinds *k, PyObject *o, const hm_owners *ow)
{
    PyTypeObject *t = Py_TYPE(o);
    return hm_kind_of_type(k, t, t == &PyDict_Type ? hm_owners_get(ow, o) : NULL);
}

uint32_t hm_kind_of_type(hm_kinds *k, PyTypeObject *t, PyTypeObject *owner)
{
    uint64_t key = (uint64_t)(uintptr_t)t;
    if (t == &PyDict_Type)
        key = owner ? ((uint64_t)(uintptr_t)owner | 1) : NO_OWNER_KEY;
    uint32_t id = hm_map_get(&k->index, key);
    if (id != UINT32_MAX)
        return id;
    char *name, *module;
    if (t == &PyDict_Type && !owner) {
        return kinds_add(k, key, strdup("dict (no owner)"), strdup("dict"), strdup("builtins"));
    }
    if (owner) {
        char *owner_name;
        class_names(owner, &owner_name, &module);
        name = owner_name ? join("dict of ", owner_name, "") : NULL;
        free(owner_name);
        return kinds_add(k, key, name, strdup("dict"), module);
    }
    class_names(t, &name, &module);
    return kinds_add(k, key, name, name ? strdup(name) : NULL, module);
}

hm_kinds *hm_kinds_classify(const hm_objset *set, const hm_owners *ow, uint32_t **kind_of)
{
    *kind_of = NULL;
    if (!hm_kinds_prepare_names())
        return NULL;
    hm_kinds *k = kinds_new(HM_BY_KIND);
    uint32_t *ids = hm_kind_array(set->n);
    if (!k || !ids)
        goto fail;
    for (size_t i = 0; i < set->n; i++) {
        ids[i] = kind_for(k, set->objs[i], ow);
        if (ids[i] == UINT32_MAX)
            goto fail;
    }
    *kind_of = ids;
    return k;
fail:
    if (ids)
        hm_kind_array_free(ids, set->n);
    hm_kinds_decref(k);
    PyErr_NoMemory();
    return NULL;
}

/* The id of the kind named name in k, added if new. */
static uint32_t kind_named(hm_kinds *k, const char *name, const hm_kind *from)
{
    uint64_t key = hm_hash_text(name) | 1;
    for (;;) {
        uint32_t id = hm_map_get(&k->index, key);
        if (id == UINT32_MAX)
            break;
        if (strcmp(k->items[id].name, name) == 0)
            return id;
        key = hm_hash64(key) | 1;
    }
    return kinds_add(k, key, strdup(name), strdup(k->by == HM_BY_MODULE ? name : from->type_name),
                     strdup(from->module));
}

hm_kinds *hm_kinds_regroup(const hm_kinds *k, const uint32_t *kind_of, size_t n, hm_classifier by,
                           uint32_t **new_kind_of)
{
    *new_kind_of = NULL;
    hm_kinds *g = kinds_new(by);
    uint32_t *map = calloc(k->n ? k->n : 1, sizeof *map);
    uint32_t *ids = hm_kind_array(n);
    if (!g || !map || !ids)
        goto fail;
    for (size_t i = 0; i < k->n; i++) {
        const hm_kind *from = &k->items[i];
        const char *name = by == HM_BY_TYPE     ? from->type_name
                           : by == HM_BY_MODULE ? from->module
                                                : from->name;
        map[i] = kind_named(g, name, from);
        if (map[i] == UINT32_MAX)
            goto fail;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = map[kind_of[i]];
    free(map);
    *new_kind_of = ids;
    return g;
fail:
    free(map);
    if (ids)
        hm_kind_array_free(ids, n);
    hm_kinds_decref(g);
    PyErr_NoMemory();
    return NULL;
}

static const hm_kinds *sort_kinds;

static int row_order(const void *pa, const void *pb)
{
    const hm_row *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(sort_kinds->items[a->kind].name, sort_kinds->items[b->kind].name);
}

hm_row *hm_rows_make(const hm_kinds *k, const uint32_t *kind_of, const uint64_t *sizes, size_t n,
                     size_t *nrows, uint64_t *count, uint64_t *size)
{
    hm_row *rows = calloc(k->n ? k->n : 1, sizeof *rows);
    *nrows = 0;
    *count = *size = 0;
    if (!rows) {
        PyErr_NoMemory();
        return NULL;
    }
    for (size_t i = 0; i < k->n; i++)
        rows[i].kind = (uint32_t)i;
    for (size_t i = 0; i < n; i++) {
        rows[kind_of[i]].count++;
        rows[kind_of[i]].size += sizes[i];
        *size += sizes[i];
    }
    *count = n;
    size_t used = 0;
    for (size_t i = 0; i < k->n; i++)
        if (rows[i].count)
            rows[used++] = rows[i];
    sort_kinds = k;
    qsort(rows, used, sizeof *rows, row_order);
    *nrows = used;
    return rows;
}

const char *hm_kinds_header(hm_classifier by)
{
    switch (by) {
    case HM_BY_TYPE: return "Type";
    case HM_BY_MODULE: return "Module";
    default: return "Kind (class / dict of class)";
    }
}
