/*
 * hmnative - a test extension whose allocations are known exactly.
 *
 * Every allocation is made with one named native API, kept in a table of
 * handles, and released with the matching API.  The tests check that
 * heapmark attributes each to the Python line that called alloc().
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *hm_cxx_new(size_t n);
void hm_cxx_delete(void *p);

#define MAX_HANDLES 256
#define EXTRA_MAPPED (8u << 20)

typedef struct {
    void *ptr;
    size_t size;
    int kind;
} handle_t;

enum { K_MALLOC, K_CALLOC, K_REALLOC, K_REALLOCARRAY, K_POSIX_MEMALIGN, K_ALIGNED_ALLOC,
       K_MEMALIGN, K_VALLOC, K_PVALLOC, K_MMAP, K_CXX_NEW, K_COUNT };
static const char *const kind_names[K_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
    "memalign", "valloc", "pvalloc", "mmap", "cxx_new"};

static handle_t handles[MAX_HANDLES];

static void *allocate(int kind, size_t n)
{
    void *p = NULL;
    switch (kind) {
    case K_MALLOC: p = malloc(n); break;
    case K_CALLOC: p = calloc(n / 8, 8); break;
    case K_REALLOC:
        /* grows in four steps; only the last block survives */
        p = malloc(n / 4);
        for (int i = 2; p && i <= 4; i++)
            p = realloc(p, n / 4 * i);
        break;
    case K_REALLOCARRAY:
        p = reallocarray(NULL, n / 16, 8);
        if (p)
            p = reallocarray(p, n / 8, 8);
        break;
    case K_POSIX_MEMALIGN:
        if (posix_memalign(&p, 64, n) != 0)
            p = NULL;
        break;
    case K_ALIGNED_ALLOC: p = aligned_alloc(4096, n); break;
    case K_MEMALIGN: p = memalign(256, n); break;
    case K_VALLOC: p = valloc(n); break;
    case K_PVALLOC: p = pvalloc(n); break;
    case K_MMAP: {
        /* map more than needed, then unmap a slice at each end */
        char *m = mmap(NULL, n + 2 * EXTRA_MAPPED, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        munmap(m, EXTRA_MAPPED);
        munmap(m + EXTRA_MAPPED + n, EXTRA_MAPPED);
        p = m + EXTRA_MAPPED;
        break;
    }
    case K_CXX_NEW: p = hm_cxx_new(n); break;
    }
    if (p)
        memset(p, 1, n);
    return p;
}

static void release(handle_t *h)
{
    if (h->kind == K_MMAP)
        munmap(h->ptr, h->size);
    else if (h->kind == K_CXX_NEW)
        hm_cxx_delete(h->ptr);
    else
        free(h->ptr);
    h->ptr = NULL;
}

static int store(void *p, size_t n, int kind)
{
    for (int i = 0; i < MAX_HANDLES; i++)
        if (!handles[i].ptr) {
            handles[i] = (handle_t){p, n, kind};
            return i;
        }
    return -1;
}

static int kind_of(const char *name)
{
    for (int k = 0; k < K_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

static PyObject *py_alloc(PyObject *self, PyObject *args)
{
    const char *name;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "sn", &name, &n))
        return NULL;
    int kind = kind_of(name);
    if (kind < 0)
        return PyErr_Format(PyExc_ValueError, "unknown allocator %s", name);
    void *p = allocate(kind, (size_t)n);
    if (!p)
        return PyErr_NoMemory();
    return PyLong_FromLong(store(p, (size_t)n, kind));
}

static PyObject *py_alloc_nogil(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "n", &n))
        return NULL;
    void *p;
    Py_BEGIN_ALLOW_THREADS
    p = allocate(K_MALLOC, (size_t)n);
    Py_END_ALLOW_THREADS
    if (!p)
        return PyErr_NoMemory();
    return PyLong_FromLong(store(p, (size_t)n, K_MALLOC));
}

static void *thread_body(void *arg)
{
    size_t n = *(size_t *)arg;
    return allocate(K_MALLOC, n);
}

static PyObject *py_alloc_in_native_thread(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "n", &n))
        return NULL;
    size_t size = (size_t)n;
    pthread_t t;
    void *p = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = pthread_create(&t, NULL, thread_body, &size);
    if (rc == 0)
        pthread_join(t, &p);
    Py_END_ALLOW_THREADS
    if (rc != 0 || !p)
        return PyErr_NoMemory();
    return PyLong_FromLong(store(p, size, K_MALLOC));
}

static PyObject *py_release(PyObject *self, PyObject *args)
{
    int h;
    if (!PyArg_ParseTuple(args, "i", &h))
        return NULL;
    if (h < 0 || h >= MAX_HANDLES || !handles[h].ptr)
        return PyErr_Format(PyExc_ValueError, "bad handle %d", h);
    release(&handles[h]);
    Py_RETURN_NONE;
}

/* libc's malloc_usable_size, not a sanitizer's interceptor of it (make asan
 * preloads ASan, whose version refuses blocks from glibc's heap). */
static size_t libc_usable_size(void *p)
{
    static size_t (*usable)(void *);
    if (!usable) {
        void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
        usable = (size_t (*)(void *))dlsym(libc, "malloc_usable_size");
    }
    return usable(p);
}

static PyObject *py_usable(PyObject *self, PyObject *args)
{
    /* Bytes heapmark should count for handle h: usable size, or mapped length. */
    int h;
    if (!PyArg_ParseTuple(args, "i", &h))
        return NULL;
    if (h < 0 || h >= MAX_HANDLES || !handles[h].ptr)
        return PyErr_Format(PyExc_ValueError, "bad handle %d", h);
    if (handles[h].kind == K_MMAP)
        return PyLong_FromSize_t((handles[h].size + 4095) & ~(size_t)4095);
    return PyLong_FromSize_t(libc_usable_size(handles[h].ptr));
}

static PyMethodDef methods[] = {
    {"alloc", py_alloc, METH_VARARGS, "alloc(api, nbytes) -> handle"},
    {"alloc_nogil", py_alloc_nogil, METH_VARARGS, "malloc with the GIL released"},
    {"alloc_in_native_thread", py_alloc_in_native_thread, METH_VARARGS,
     "malloc in a pthread created from C"},
    {"release", py_release, METH_VARARGS, "release(handle)"},
    {"usable", py_usable, METH_VARARGS, "usable(handle) -> bytes held"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "hmnative", NULL, -1, methods,
                                     NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_hmnative(void) { return PyModule_Create(&module); }
