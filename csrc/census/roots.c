/*
 * roots.c - where a census walk starts and what tp_traverse leaves
 * out, per CPython version.
 *
 * Owns: reading the collector's generation lists and every thread's frames
 * (3.11+ keeps running frames' locals in interpreter frames, not objects),
 * and visiting the references of objects whose tp_traverse is missing or
 * must not be called (static types: 3.9's type_traverse aborts on them;
 * code objects, which have none).
 * Must never: allocate Python objects, change a reference count it does not
 * give back, or materialise a frame object (no PyEval_GetFrame).
 */
/* Interpreter internals need Py_BUILD_CORE from the first include on. */
#ifndef Py_BUILD_CORE
#    define Py_BUILD_CORE 1
#endif
#include "census/census.h"

#include <internal/pycore_interp.h>
#if PY_VERSION_HEX >= 0x030b0000
#    include <internal/pycore_frame.h>
#endif
#include <frameobject.h>

#include "common/pyframes.h"

/* 3.13's shim frame: CALL_ALLOC_AND_ENTER_INIT (a call of a class with a
 * Python __init__, once specialised) pushes one under __init__'s frame to
 * run _Py_InitCleanup.  It is pushed with f_funcobj = None and, in release
 * builds, f_globals and f_builtins left as whatever the data stack held
 * there before (frame links, bytecode addresses, stale objects): they must
 * never be read.  Its value stack (the object being initialised) is real. */
static inline int frame_is_shim(const void *frame)
{
#if PY_VERSION_HEX >= 0x030d0000
    return ((const _PyInterpreterFrame *)frame)->f_funcobj == Py_None;
#else
    (void)frame;
    return 0;
#endif
}

bool hm_roots_gc_collecting(void)
{
    return PyInterpreterState_Get()->gc.collecting != 0;
}

int hm_roots_gc_objects(hm_visit_fn fn, void *arg)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    struct _gc_runtime_state *gc = &interp->gc;
    PyGC_Head *lists[NUM_GENERATIONS + 1];
    for (int i = 0; i < NUM_GENERATIONS; i++)
        lists[i] = &gc->generations[i].head;
    lists[NUM_GENERATIONS] = &gc->permanent_generation.head;
    for (int i = 0; i <= NUM_GENERATIONS; i++) {
        PyGC_Head *head = lists[i];
        /* Outside a collection _gc_next is a plain pointer; the walk
         * allocates no tracked object, so the lists cannot change under it. */
        for (PyGC_Head *g = (PyGC_Head *)head->_gc_next; g != head; g = (PyGC_Head *)g->_gc_next) {
            int r = fn((PyObject *)(g + 1), arg);
            if (r)
                return r;
        }
    }
    return 0;
}

#define VISIT(o)                        \
    do {                                \
        PyObject *o_ = (PyObject *)(o); \
        if (o_) {                       \
            int r_ = fn(o_, arg);       \
            if (r_)                     \
                return r_;              \
        }                               \
    } while (0)

static int thread_refs(PyThreadState *ts, hm_visit_fn fn, void *arg)
{
    VISIT(ts->dict);
    VISIT(ts->async_exc);
    VISIT(ts->c_profileobj);
    VISIT(ts->c_traceobj);
    VISIT(ts->context);
    for (_PyErr_StackItem *e = ts->exc_info; e; e = e->previous_item) {
        VISIT(e->exc_value);
#if PY_VERSION_HEX < 0x030b0000
        VISIT(e->exc_type);
        VISIT(e->exc_traceback);
#endif
    }
    return 0;
}

int hm_roots_threads(hm_frame_fn frame_fn, hm_visit_fn fn, void *arg)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        int r = fn ? thread_refs(ts, fn, arg) : 0;
        if (r)
            return r;
#if PY_VERSION_HEX >= 0x030b0000
        for (_PyInterpreterFrame *f = hm_innermost_frame(ts); f; f = f->previous) {
            if (!hm_frame_runs_code(f))
                continue;
            r = frame_fn(f, frame_is_shim(f) ? NULL : f->f_globals, (PyObject *)f->frame_obj, arg);
            if (r)
                return r;
        }
#else
        for (PyFrameObject *f = ts->frame; f; f = f->f_back) {
            r = frame_fn(f, f->f_globals, (PyObject *)f, arg);
            if (r)
                return r;
        }
#endif
    }
    return 0;
}

int hm_roots_frame_refs(void *frame, hm_visit_fn fn, void *arg)
{
#if PY_VERSION_HEX >= 0x030b0000
    _PyInterpreterFrame *f = frame;
    PyCodeObject *co = hm_frame_code(f);
    VISIT(co);
#    if PY_VERSION_HEX >= 0x030c0000
    VISIT(f->f_funcobj);
#    else
    VISIT(f->f_func);
#    endif
    if (!frame_is_shim(f)) {
        VISIT(f->f_globals);
        VISIT(f->f_builtins);
    }
    VISIT(f->f_locals);
    VISIT(f->frame_obj);
    /* Locals are always initialised; the value stack only up to stacktop,
     * which a running frame sets to -1 until it calls out. */
    int n = co->co_nlocalsplus;
    if (f->stacktop > n && f->stacktop <= n + co->co_stacksize)
        n = f->stacktop;
    for (int i = 0; i < n; i++)
        VISIT(f->localsplus[i]);
    return 0;
#else
    VISIT((PyObject *)frame);
    return 0;
#endif
}

static int static_type_refs(PyTypeObject *t, hm_visit_fn fn, void *arg)
{
    VISIT(Py_TYPE(t));
#if PY_VERSION_HEX >= 0x030c0000
    PyObject *d = PyType_GetDict(t); /* the interpreter's, for builtins */
    if (d) {
        int r = fn(d, arg);
        Py_DECREF(d);
        if (r)
            return r;
    }
#else
    VISIT(t->tp_dict);
    VISIT(t->tp_subclasses);
#endif
    VISIT(t->tp_mro);
    VISIT(t->tp_bases);
    VISIT(t->tp_base);
    return 0;
}

static int code_refs(PyCodeObject *co, hm_visit_fn fn, void *arg)
{
    VISIT(co->co_consts);
    VISIT(co->co_names);
    VISIT(co->co_filename);
    VISIT(co->co_name);
#if PY_VERSION_HEX >= 0x030a0000
    VISIT(co->co_linetable);
#endif
    VISIT(co->co_weakreflist);
#if PY_VERSION_HEX >= 0x030b0000
    VISIT(co->co_exceptiontable);
    VISIT(co->co_localsplusnames);
    VISIT(co->co_localspluskinds);
    VISIT(co->co_qualname);
#    if PY_VERSION_HEX >= 0x030c0000
    if (co->_co_cached) {
        VISIT(co->_co_cached->_co_code);
        VISIT(co->_co_cached->_co_varnames);
        VISIT(co->_co_cached->_co_cellvars);
        VISIT(co->_co_cached->_co_freevars);
    }
#    else
    VISIT(co->_co_code);
#    endif
#else
    VISIT(co->co_code);
    VISIT(co->co_varnames);
    VISIT(co->co_freevars);
    VISIT(co->co_cellvars);
#    if PY_VERSION_HEX < 0x030a0000
    VISIT(co->co_lnotab);
#    endif
    /* Not co_zombieframe: a dead frame kept for reuse, whose f_back and
     * globals dangle, so its traverse would follow freed pointers. */
#endif
    return 0;
}

int hm_roots_traverse(PyObject *o, hm_visit_fn fn, void *arg)
{
    PyTypeObject *tp = Py_TYPE(o);
    if (PyType_Check(o) && !(((PyTypeObject *)o)->tp_flags & Py_TPFLAGS_HEAPTYPE))
        return static_type_refs((PyTypeObject *)o, fn, arg);
    if (tp == &PyCode_Type && !tp->tp_traverse)
        return code_refs((PyCodeObject *)o, fn, arg);
    if (!tp->tp_traverse)
        return 0;
    if (PyType_IS_GC(tp) && tp->tp_is_gc && !tp->tp_is_gc(o))
        return 0;
    return tp->tp_traverse(o, (visitproc)fn, arg);
}
