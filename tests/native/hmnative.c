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
#include <fcntl.h>
#include <linux/magic.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

void *hm_cxx_new(size_t n);
void hm_cxx_delete(void *p);

#define MAX_HANDLES 256
#define EXTRA_MAPPED (8u << 20)
#define SCATTERED_BLOCK (64u << 10) /* below glibc's mmap threshold: in the heap */
#define PAGE_ROUND(n) (((n) + 4095) & ~(size_t)4095)

typedef struct {
    void *ptr;
    size_t size;
    int kind;
    size_t counted; /* bytes heapmark should count, for the kinds after K_SCATTERED */
} handle_t;

/* From K_FIRST_MAPPED on, a handle is a range released with munmap; the
 * break kinds are released by moving the break back down. */
enum { K_MALLOC, K_CALLOC, K_REALLOC, K_REALLOCARRAY, K_POSIX_MEMALIGN, K_ALIGNED_ALLOC,
       K_MEMALIGN, K_VALLOC, K_PVALLOC, K_CXX_NEW, K_RTLD_NEXT, K_SCATTERED, K_SBRK, K_BRK, K_MMAP, K_MEMFD,
       K_MEMFD_TWICE, K_SHM_OPEN, K_FILE_PRIVATE, K_FILE_SHARED, K_COUNT };
#define K_FIRST_MAPPED K_MMAP
static const char *const kind_names[K_COUNT] = {
    "malloc",        "calloc",   "realloc",      "reallocarray", "posix_memalign",
    "aligned_alloc", "memalign", "valloc",       "pvalloc",      "cxx_new",
    "rtld_next",     "scattered", "sbrk",    "brk",          "mmap",         "memfd",
    "memfd_twice",   "shm_open", "file_private", "file_shared"};

static handle_t handles[MAX_HANDLES];

/* Whether fd's pages are RAM (a regular file on tmpfs, hugetlbfs or ramfs):
 * heapmark counts writable shared mappings of those, and only those. */
static int file_in_memory(int fd)
{
    struct stat st;
    struct statfs fs;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fstatfs(fd, &fs) == 0 &&
           (fs.f_type == TMPFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC || fs.f_type == RAMFS_MAGIC);
}

/* n bytes of fd mapped writable (shared or private), the fd closed. */
static void *map_file(int fd, size_t n, int flags, size_t *counted)
{
    if (fd < 0)
        return NULL;
    void *p = NULL;
    if (ftruncate(fd, (off_t)n) == 0) {
        p = mmap(NULL, n, PROT_READ | PROT_WRITE, flags, fd, 0);
        if (p == MAP_FAILED)
            p = NULL;
        else if (flags & MAP_SHARED)
            *counted = file_in_memory(fd) ? PAGE_ROUND(n) : 0;
    }
    close(fd);
    return p;
}

/* A file of the current directory, unlinked at once: the mapping keeps it. */
static int scratch_file(void)
{
    static int serial;
    char name[64];
    snprintf(name, sizeof name, "hmnative-%d-%d", (int)getpid(), serial++);
    int fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0)
        unlink(name);
    return fd;
}

static int scratch_shm(void)
{
    static int serial;
    char name[64];
    snprintf(name, sizeof name, "/hmnative-%d-%d", (int)getpid(), serial++);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0)
        shm_unlink(name);
    return fd;
}

/* The same memfd mapped writable twice, back to back (a ring buffer's
 * layout), in a PROT_NONE reservation of 2n (which holds nothing). */
static void *map_memfd_twice(size_t n, size_t *counted)
{
    int fd = memfd_create("hmnative-ring", 0);
    if (fd < 0)
        return NULL;
    char *ring = mmap(NULL, 2 * n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ok = ring != MAP_FAILED && ftruncate(fd, (off_t)n) == 0 &&
             mmap(ring, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED &&
             mmap(ring + n, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED;
    close(fd);
    if (!ok) {
        if (ring != MAP_FAILED)
            munmap(ring, 2 * n);
        return NULL;
    }
    *counted = 2 * n; /* each mapping counts, though the RAM is n */
    return ring;
}

/* n bytes in SCATTERED_BLOCK blocks of glibc's heap, every other one freed
 * at once: holes that malloc_trim can give back.  The handle is the array of
 * the kept blocks (NULL-terminated). */
static void **allocate_scattered(size_t n)
{
    size_t count = n / SCATTERED_BLOCK;
    void **all = malloc(count * sizeof *all);
    void **kept = calloc(count / 2 + 1, sizeof *kept);
    if (!all || !kept) {
        free(all);
        free(kept);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        all[i] = malloc(SCATTERED_BLOCK);
        if (all[i])
            memset(all[i], 1, SCATTERED_BLOCK);
    }
    for (size_t i = 0; i < count; i++) {
        if (i % 2)
            free(all[i]);
        else if (all[i])
            kept[k++] = all[i];
    }
    free(all);
    return kept;
}

/* The break moved up by n + EXTRA_MAPPED, then down by EXTRA_MAPPED: what
 * is held is n, and heapmark must have seen both moves. */
static void *grow_break(int kind, size_t n)
{
    if (kind == K_SBRK) {
        char *p = sbrk((intptr_t)(n + EXTRA_MAPPED));
        if (p == (void *)-1 || sbrk(-(intptr_t)EXTRA_MAPPED) == (void *)-1)
            return NULL;
        return p;
    }
    char *p = sbrk(0);
    if (p == (void *)-1 || brk(p + n + EXTRA_MAPPED) != 0 || brk(p + n) != 0)
        return NULL;
    return p;
}

static void *allocate(int kind, size_t n, size_t *counted)
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
    case K_SCATTERED: return allocate_scattered(n);
    case K_RTLD_NEXT: {
        /* malloc as C code takes it around the preload: the next definition. */
        void *(*next_malloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
        p = next_malloc ? next_malloc(n) : NULL;
        break;
    }
    case K_SBRK:
    case K_BRK:
        p = grow_break(kind, n);
        *counted = n;
        break;
    case K_MEMFD: p = map_file(memfd_create("hmnative", 0), n, MAP_SHARED, counted); break;
    case K_MEMFD_TWICE:
        p = map_memfd_twice(n, counted);
        if (p)
            memset(p, 1, n); /* the second view shows the same bytes */
        return p;
    case K_SHM_OPEN: p = map_file(scratch_shm(), n, MAP_SHARED, counted); break;
    case K_FILE_PRIVATE:
        /* written all over: every page is a private copy, held by the
         * program, and still not counted */
        p = map_file(scratch_file(), n, MAP_PRIVATE, counted);
        *counted = 0;
        break;
    case K_FILE_SHARED: p = map_file(scratch_file(), n, MAP_SHARED, counted); break;
    }
    if (kind == K_MMAP)
        *counted = PAGE_ROUND(n);
    if (p)
        memset(p, 1, n);
    return p;
}

/* Returns whether the memory went back: a break can only come down if
 * nothing moved it further up since (glibc's malloc may have). */
static int release(handle_t *h)
{
    int released = 1;
    if (h->kind == K_MEMFD_TWICE)
        munmap(h->ptr, 2 * h->size);
    else if (h->kind >= K_FIRST_MAPPED)
        munmap(h->ptr, h->size);
    else if (h->kind == K_SBRK || h->kind == K_BRK)
        released = sbrk(0) == (char *)h->ptr + h->size && sbrk(-(intptr_t)h->size) != (void *)-1;
    else if (h->kind == K_CXX_NEW)
        hm_cxx_delete(h->ptr);
    else if (h->kind == K_SCATTERED) {
        for (void **kept = h->ptr; *kept; kept++)
            free(*kept);
        free(h->ptr);
    } else
        free(h->ptr);
    h->ptr = NULL;
    return released;
}

static int store(void *p, size_t n, int kind, size_t counted)
{
    for (int i = 0; i < MAX_HANDLES; i++)
        if (!handles[i].ptr) {
            handles[i] = (handle_t){p, n, kind, counted};
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
    size_t counted = 0;
    void *p = allocate(kind, (size_t)n, &counted);
    if (!p)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(store(p, (size_t)n, kind, counted));
}

static PyObject *py_alloc_nogil(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "n", &n))
        return NULL;
    void *p;
    size_t counted = 0;
    Py_BEGIN_ALLOW_THREADS
    p = allocate(K_MALLOC, (size_t)n, &counted);
    Py_END_ALLOW_THREADS
    if (!p)
        return PyErr_NoMemory();
    return PyLong_FromLong(store(p, (size_t)n, K_MALLOC, 0));
}

static void *thread_body(void *arg)
{
    size_t n = *(size_t *)arg, counted = 0;
    return allocate(K_MALLOC, n, &counted);
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
    return PyLong_FromLong(store(p, size, K_MALLOC, 0));
}

static PyObject *py_release(PyObject *self, PyObject *args)
{
    int h;
    if (!PyArg_ParseTuple(args, "i", &h))
        return NULL;
    if (h < 0 || h >= MAX_HANDLES || !handles[h].ptr)
        return PyErr_Format(PyExc_ValueError, "bad handle %d", h);
    return PyBool_FromLong(release(&handles[h]));
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
    if (handles[h].kind == K_SCATTERED) {
        size_t total = libc_usable_size(handles[h].ptr);
        for (void **kept = handles[h].ptr; *kept; kept++)
            total += libc_usable_size(*kept);
        return PyLong_FromSize_t(total);
    }
    if (handles[h].kind > K_SCATTERED)
        return PyLong_FromSize_t(handles[h].counted);
    return PyLong_FromSize_t(libc_usable_size(handles[h].ptr));
}

/* trim() -> (rss_before, rss_after): malloc_trim(0), with the resident bytes
 * around it (/proc/self/statm), for the record: heapmark's figures must not
 * move. */
static size_t resident_bytes(void)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%*d %ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

static PyObject *py_trim(PyObject *self, PyObject *unused)
{
    size_t before = resident_bytes();
    malloc_trim(0);
    return Py_BuildValue("nn", (Py_ssize_t)before, (Py_ssize_t)resident_bytes());
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
    {"release", py_release, METH_VARARGS, "release(handle) -> whether the memory went back"},
    {"trim", py_trim, METH_NOARGS, "malloc_trim(0) -> (rss_before, rss_after)"},
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
