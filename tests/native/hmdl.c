/*
 * hmdl.c - a library that reaches glibc's allocator around the preload, as
 * some C code does: malloc by dlsym(RTLD_NEXT) and dlvsym, and glibc's
 * internal name __libc_malloc (tests/test_dl_routes.py).  Built with
 * HMDL_DEEP it is instead a plain library that tests/programs/dl_routes.py
 * loads with RTLD_DEEPBIND, so that its malloc calls bind to glibc's first.
 * It also checks that heapmark's dlsym and dlopen leave the caller's own
 * answers alone: RTLD_NEXT searches after *this* library, and a bare file
 * name is searched in *this* library's RUNPATH.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef void *(*alloc_fn)(size_t);
typedef void (*free_fn)(void *);

static void *touched(void *p, size_t n)
{
    if (p)
        memset(p, 1, n);
    return p;
}

#ifdef HMDL_DEEP
void *deep_alloc(size_t n)
{
    return touched(malloc(n), n);
}

void deep_free(void *p)
{
    free(p);
}
#else
int hmdl_target(void); /* libhmdl_target.so, a dependency */

void *next_alloc(size_t n)
{
    alloc_fn m = (alloc_fn)dlsym(RTLD_NEXT, "malloc");
    return m ? touched(m(n), n) : NULL;
}

void next_free(void *p)
{
    free_fn f = (free_fn)dlsym(RTLD_NEXT, "free");
    if (f)
        f(p);
}

void *versioned_alloc(size_t n)
{
    alloc_fn m = (alloc_fn)dlvsym(RTLD_NEXT, "malloc", "GLIBC_2.2.5");
    return m ? touched(m(n), n) : NULL;
}

void *internal_name_alloc(size_t n)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    alloc_fn m = libc ? (alloc_fn)dlsym(libc, "__libc_malloc") : NULL;
    return m ? touched(m(n), n) : NULL;
}

/* 1 when RTLD_NEXT, asked from here, finds the dependency's function. */
int next_finds_dependency(void)
{
    int (*f)(void) = (int (*)(void))dlsym(RTLD_NEXT, "hmdl_target");
    return f && f() == 42 && f == hmdl_target;
}

/* 1 when a bare name is found through this library's RUNPATH ($ORIGIN). */
int opens_by_runpath(void)
{
    void *h = dlopen("libhmdl_runpath.so", RTLD_NOW | RTLD_LOCAL);
    return h != NULL;
}
#endif
