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

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* libc's own pthread_create, which a profiler interposing the global name
 * never sees: the thread is one it did not watch start. */
static pthread_create_fn looked_up_pthread_create(void)
{
    void *lib = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    void *fn = lib ? dlsym(lib, "pthread_create") : NULL;
    if (!fn) {
        lib = dlopen("libpthread.so.0", RTLD_LAZY);
        fn = lib ? dlsym(lib, "pthread_create") : NULL;
    }
    return fn ? (pthread_create_fn)fn : pthread_create;
}

/* alloc_in_native_thread(n, looked_up=0): malloc(n) in a new pthread, created
 * through the global pthread_create or (looked_up) the one dlsym finds in
 * libc: heapmark hands out its hook there too (run/dl_hooks.c). */
static PyObject *py_alloc_in_native_thread(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    int looked_up = 0;
    if (!PyArg_ParseTuple(args, "n|p", &n, &looked_up))
        return NULL;
    pthread_create_fn create = looked_up ? looked_up_pthread_create() : pthread_create;
    size_t size = (size_t)n;
    pthread_t t;
    void *p = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = create(&t, NULL, thread_body, &size);
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

/* churn(count, size, keep_every) -> bytes kept: count mallocs of size bytes
 * with the GIL released, every keep_every-th kept for good (in a malloc'ed
 * array, also kept); returns the usable bytes of everything kept. */
static PyObject *py_churn(PyObject *self, PyObject *args)
{
    Py_ssize_t count, size, keep_every;
    if (!PyArg_ParseTuple(args, "nnn", &count, &size, &keep_every) || keep_every < 1)
        return NULL;
    size_t kept = 0;
    Py_BEGIN_ALLOW_THREADS
    size_t n = (size_t)(count / keep_every) + 1, k = 0;
    void **keep = malloc(n * sizeof *keep);
    kept += libc_usable_size(keep);
    for (Py_ssize_t i = 0; i < count; i++) {
        char *p = malloc((size_t)size);
        p[0] = 1;
        if (i % keep_every == 0 && k < n) {
            keep[k++] = p;
            kept += libc_usable_size(p);
        } else {
            free(p);
        }
    }
    Py_END_ALLOW_THREADS
    return PyLong_FromSize_t(kept);
}

/* A thread whose thread-local destructor allocates (and keeps) n bytes. */
static pthread_key_t tls_key;
static void *tls_kept[64];
static int tls_nkept;

static void tls_destructor(void *value)
{
    size_t n = (size_t)(uintptr_t)value;
    void *scratch = malloc(n);
    free(scratch);
    if (tls_nkept < 64)
        tls_kept[__atomic_fetch_add(&tls_nkept, 1, __ATOMIC_RELAXED)] = malloc(n);
}

static void *tls_thread(void *arg)
{
    pthread_setspecific(tls_key, arg);
    return NULL;
}

static PyObject *py_thread_with_tls_destructor(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "n", &n))
        return NULL;
    static int key_made;
    if (!key_made && pthread_key_create(&tls_key, tls_destructor) == 0)
        key_made = 1;
    pthread_t t;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = pthread_create(&t, NULL, tls_thread, (void *)(uintptr_t)n);
    if (rc == 0)
        pthread_join(t, NULL);
    Py_END_ALLOW_THREADS
    if (rc != 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* A native thread that allocates and frees until the process ends. */
static void *forever(void *unused)
{
    (void)unused;
    for (;;) {
        void *p = malloc(4096);
        free(p);
    }
    return NULL;
}

static PyObject *py_tls_kept_bytes(PyObject *self, PyObject *unused)
{
    size_t total = 0;
    for (int i = 0; i < tls_nkept && i < 64; i++)
        total += libc_usable_size(tls_kept[i]);
    return PyLong_FromSize_t(total);
}

static PyObject *py_start_allocating_forever(PyObject *self, PyObject *unused)
{
    pthread_t t;
    if (pthread_create(&t, NULL, forever, NULL) != 0)
        return PyErr_NoMemory();
    pthread_detach(t);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"alloc", py_alloc, METH_VARARGS, "alloc(api, nbytes) -> handle"},
    {"alloc_nogil", py_alloc_nogil, METH_VARARGS, "malloc with the GIL released"},
    {"alloc_in_native_thread", py_alloc_in_native_thread, METH_VARARGS,
     "alloc_in_native_thread(n, looked_up=0): malloc in a pthread created from C"},
    {"release", py_release, METH_VARARGS, "release(handle)"},
    {"usable", py_usable, METH_VARARGS, "usable(handle) -> bytes held"},
    {"churn", py_churn, METH_VARARGS, "churn(count, size, keep_every) -> bytes kept"},
    {"thread_with_tls_destructor", py_thread_with_tls_destructor, METH_VARARGS,
     "a thread whose TLS destructor allocates n bytes (and keeps them)"},
    {"tls_kept_bytes", py_tls_kept_bytes, METH_NOARGS, "usable bytes TLS destructors kept"},
    {"start_allocating_forever", py_start_allocating_forever, METH_NOARGS,
     "a detached native thread that allocates until the process ends"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "hmnative", NULL, -1, methods,
                                     NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_hmnative(void) { return PyModule_Create(&module); }
