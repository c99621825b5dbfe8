/*
 * native_unwind.c - the unwinder behind --native (see native_unwind.h).
 *
 * Owns: the dlopen of libunwind (RTLD_LOCAL), its per-thread cache, and the
 * code ranges of heapmark's own library and of the interpreter.
 * Must never: run after recording started (the hot path reads the ranges
 * without a lock: they are set once, before the unwinder is published).
 *
 * Why libunwind: CPython, glibc and most wheels are built without frame
 * pointers, so a frame-pointer walk stops at the first of their frames;
 * the stack has to be unwound from the DWARF call-frame information every
 * shared object carries (.eh_frame).  libunwind does that in process and
 * caches each code address's unwind rule per thread, so a repeated stack
 * (the common case: the same call sites allocate again and again) costs
 * little; elfutils' libdw unwinder is built for other processes and core
 * files and re-reads the tables on each walk, and glibc's backtrace() goes
 * through libgcc's unwinder, which may load libgcc_s (and allocate) on its
 * first call.  Debian ships libunwind as libunwind8; memray uses it too.
 */
#include "run/native_unwind.h"
#include "hotpath/native_stack.h"
#include "hotpath/threads.h"
#include "common/elf_symbols.h"

#include <Python.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>

#pragma weak PyMem_SetAllocator

#define UNW_CACHE_PER_THREAD 2 /* libunwind.h's unw_caching_policy_t */

typedef struct {
    uintptr_t base;
    hm_code_range ranges[16];
    size_t count;
} object_code;

static int collect_code(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    object_code *o = data;
    if (info->dlpi_addr != o->base)
        return 0;
    for (int i = 0; i < info->dlpi_phnum && o->count < HM_ARRAY_LEN(o->ranges); i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
            o->ranges[o->count++] = (hm_code_range){lo, lo + ph->p_memsz};
        }
    }
    return 1;
}

/* The executable segments of the object that holds `address`. */
static void code_of(const void *address, object_code *o)
{
    Dl_info info;
    o->count = 0;
    if (!address || !dladdr(address, &info))
        return;
    o->base = (uintptr_t)info.dli_fbase;
    /* dli_fbase is the object's lowest mapped address; dlpi_addr its load
     * bias: equal for a shared object, 0 against the base for a fixed
     * executable. */
    dl_iterate_phdr(collect_code, o);
    if (!o->count) {
        o->base = 0;
        dl_iterate_phdr(collect_code, o);
    }
}

/* The eval loop's code: where an unwind from Python code's own allocation
 * meets the interpreter.  Exported (PEP 523 frame evaluators call it). */
static hm_code_range eval_loop(void)
{
    void *f = hm_lookup(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!f || !dladdr1(f, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym)
        return (hm_code_range){0, 0};
    return (hm_code_range){(uintptr_t)f, (uintptr_t)f + sym->st_size};
}

bool hm_native_unwind_start(char *err, size_t errlen)
{
    hm_tls.guard++;
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    hm_unwind_fn backtrace = lib ? (hm_unwind_fn)hm_lookup(lib, "unw_backtrace") : NULL;
    if (!backtrace) {
        snprintf(err, errlen,
                 "--native needs libunwind (on Debian: apt-get install libunwind8): %s",
                 lib ? "it has no unw_backtrace" : dlerror());
        hm_tls.guard--;
        return false;
    }
    int (*set_caching)(void *, int) =
        (int (*)(void *, int))hm_lookup(lib, "_ULx86_64_set_caching_policy");
    void **local_space = (void **)hm_lookup(lib, "_ULx86_64_local_addr_space");
    if (set_caching && local_space)
        set_caching(*local_space, UNW_CACHE_PER_THREAD);
    object_code own, interpreter;
    code_of((const void *)hm_native_unwind_start, &own);
    code_of(&PyMem_SetAllocator ? (const void *)PyMem_SetAllocator : NULL, &interpreter);
    hm_native_configure(backtrace, own.ranges, own.count, interpreter.ranges, interpreter.count,
                        eval_loop());
    hm_tls.guard--;
    return true;
}
