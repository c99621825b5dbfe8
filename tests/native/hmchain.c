/*
 * hmchain.c - a C extension whose allocation is three C calls deep, for
 * --native (tests/test_native_frames.py).  Built -O2 -g, as extensions are
 * built, but with frame pointers left out: the stack must be unwound from
 * the call-frame information.  Each level does work after its call, so
 * that no call becomes a jump and every level keeps its frame.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *kept[16];
static int nkept;

__attribute__((noinline)) static void *chain_level3(size_t n)
{
    char *p = malloc(n);
    if (p)
        memset(p, 3, n);
    return p;
}

__attribute__((noinline)) static void *chain_level2(size_t n)
{
    char *p = chain_level3(n);
    if (p)
        p[1] = 2;
    return p;
}

__attribute__((noinline)) void *chain_level1(size_t n)
{
    char *p = chain_level2(n);
    if (p)
        p[2] = 1;
    return p;
}

/* allocate(n): malloc(n) three calls down; returns the usable size. */
static PyObject *allocate(PyObject *self, PyObject *arg)
{
    size_t n = PyLong_AsSize_t(arg);
    if (n == (size_t)-1 && PyErr_Occurred())
        return NULL;
    if (nkept == 16)
        return PyErr_Format(PyExc_RuntimeError, "too many blocks");
    void *p = chain_level1(n);
    if (!p)
        return PyErr_NoMemory();
    kept[nkept++] = p;
    return PyLong_FromSize_t(malloc_usable_size(p));
}

/* A pool of one native thread, started when the module loads (as OpenBLAS
 * and OpenMP start theirs) and handed work later: pool_allocate(n) has it
 * malloc n bytes while the caller waits with the GIL released. */
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER, pool_done = PTHREAD_COND_INITIALIZER;
static size_t pool_request;
static void *pool_result;
static int pool_busy;

__attribute__((noinline)) static void *pool_task(size_t n)
{
    char *p = malloc(n);
    if (p)
        memset(p, 4, n);
    return p;
}

static void *pool_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool_mutex);
    for (;;) {
        while (!pool_busy)
            pthread_cond_wait(&pool_wake, &pool_mutex);
        pool_result = pool_task(pool_request);
        pool_busy = 0;
        pthread_cond_signal(&pool_done);
    }
    return NULL;
}

static PyObject *pool_allocate(PyObject *self, PyObject *arg)
{
    size_t n = PyLong_AsSize_t(arg);
    if (n == (size_t)-1 && PyErr_Occurred())
        return NULL;
    if (nkept == 16)
        return PyErr_Format(PyExc_RuntimeError, "too many blocks");
    void *p;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&pool_mutex);
    pool_request = n;
    pool_busy = 1;
    pthread_cond_signal(&pool_wake);
    while (pool_busy)
        pthread_cond_wait(&pool_done, &pool_mutex);
    p = pool_result;
    pthread_mutex_unlock(&pool_mutex);
    Py_END_ALLOW_THREADS
    if (!p)
        return PyErr_NoMemory();
    kept[nkept++] = p;
    return PyLong_FromSize_t(malloc_usable_size(p));
}

static PyMethodDef methods[] = {
    {"allocate", allocate, METH_O, "allocate(n): malloc(n) three C calls down"},
    {"pool_allocate", pool_allocate, METH_O, "pool_allocate(n): malloc(n) on the pool's thread"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "hmchain", NULL, -1, methods};

PyMODINIT_FUNC PyInit_hmchain(void)
{
    static pthread_t pool;
    if (pthread_create(&pool, NULL, pool_main, NULL) != 0)
        return PyErr_NoMemory();
    pthread_detach(pool);
    return PyModule_Create(&module);
}
