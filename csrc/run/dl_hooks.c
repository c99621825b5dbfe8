/*
 * dl_hooks.c - dlsym, dlvsym and dlopen (see dl_hooks.h).
 *
 * Owns: the three exported entry points, written as small assembly stubs,
 * and the table of names whose lookup is answered with a hook.
 * Must never: call the real function on the program's behalf with a call
 * instruction when the answer does not change: glibc reads the caller from
 * the return address (dlsym(RTLD_NEXT) searches after the caller's object;
 * dlopen searches the caller's RUNPATH and namespace), so the stubs jump.
 *
 * Why these hooks exist: the preload only catches calls that the dynamic
 * linker binds to heapmark's symbols.  ctypes.CDLL("libc.so.6").malloc is
 * dlsym(libc's handle, "malloc"), which is glibc's malloc itself; a library
 * that takes malloc through dlsym(RTLD_NEXT) gets glibc's too; and a
 * library loaded with RTLD_DEEPBIND binds its own calls to glibc's malloc
 * before the preload.  The first two are answered here with the hook; the
 * third is redirected after the load (relocations.c), as an in-process
 * start redirects every object.  A lookup that finds another allocator
 * (jemalloc linked into one library) is left alone: its blocks are not
 * glibc's.  dlmopen is not hooked: a new namespace has its own copy of
 * glibc and its own heap, which the hooks, forwarding to the main glibc,
 * must not be mixed with (docs/native-memory.md).
 */
#include "run/dl_hooks.h"
#include "run/relocations.h"
#include "common/elf_symbols.h"
#include "hotpath/malloc_hooks.h"
#include "hotpath/recorder.h"

#include <dlfcn.h>
#include <string.h>

/* glibc's internal names for the same functions: a lookup of these gets
 * the hook of the public name. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"__libc_malloc", "malloc"},     {"__libc_calloc", "calloc"},
    {"__libc_realloc", "realloc"},   {"__libc_free", "free"},
    {"__libc_memalign", "memalign"}, {"__libc_valloc", "valloc"},
    {"__libc_pvalloc", "pvalloc"},   {"__mmap", "mmap"},
    {"__munmap", "munmap"},
};

#define MAX_NAMES 48
/* glibc's definition of each hooked name and alias, found on first use
 * (every thread finds the same address). */
static void *libc_definitions[MAX_NAMES];
static bool libc_definition_looked_up[MAX_NAMES];

static void *libc_definition(size_t slot, const char *name)
{
    if (!__atomic_load_n(&libc_definition_looked_up[slot], __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&libc_definitions[slot], hm_elf_symbol("libc.so.6", name),
                         __ATOMIC_RELAXED);
        __atomic_store_n(&libc_definition_looked_up[slot], true, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&libc_definitions[slot], __ATOMIC_RELAXED);
}

static void *hook_named(const char *name)
{
    for (size_t i = 0; i < hm_native_hook_count; i++)
        if (strcmp(hm_native_hooks[i].name, name) == 0)
            return hm_native_hooks[i].hook;
    return NULL;
}

void *hm_dl_substitute(const char *name, void *found)
{
    if (!found || !name)
        return found;
    size_t slot = 0;
    for (size_t i = 0; i < hm_native_hook_count; i++, slot++)
        if (strcmp(hm_native_hooks[i].name, name) == 0)
            return found == libc_definition(slot, name) ? hm_native_hooks[i].hook : found;
    for (size_t i = 0; i < HM_ARRAY_LEN(aliases) && slot < MAX_NAMES; i++, slot++)
        if (strcmp(aliases[i].alias, name) == 0)
            return found == libc_definition(slot, name) ? hook_named(aliases[i].name) : found;
    return found;
}

/* Whether a lookup of `name` is answered from here (its result may be
 * replaced); any other lookup goes to the loader as the caller made it. */
static bool hooked_name(const char *name)
{
    if (!name)
        return false;
    if (hook_named(name))
        return true;
    for (size_t i = 0; i < HM_ARRAY_LEN(aliases); i++)
        if (strcmp(aliases[i].alias, name) == 0)
            return true;
    return false;
}

/* ---- what the stubs call ---------------------------------------------- */

/* The real functions, for the stubs' jumps; set by hm_dl_prepare_*. */
__attribute__((visibility("hidden"))) void *hm_dl_real_dlsym;
__attribute__((visibility("hidden"))) void *hm_dl_real_dlvsym;
__attribute__((visibility("hidden"))) void *hm_dl_real_dlopen;

/* Nonzero: the stub calls hm_dl_dlsym_substituting instead of jumping. */
__attribute__((visibility("hidden"))) int hm_dl_prepare_dlsym(void *handle, const char *name)
{
    (void)handle;
    if (!hm_dl_real_dlsym)
        hm_dl_real_dlsym = (void *)hm_real_dlsym();
    return hooked_name(name) || !hm_dl_real_dlsym;
}

__attribute__((visibility("hidden"))) int hm_dl_prepare_dlvsym(void *handle, const char *name)
{
    (void)handle;
    if (!hm_dl_real_dlvsym)
        hm_dl_real_dlvsym = (void *)hm_real_dlvsym();
    return hooked_name(name) || !hm_dl_real_dlvsym;
}

/* A dlopen is answered here (called, not jumped to) when it must be
 * followed by a redirection pass: RTLD_DEEPBIND, or a file given by its
 * path while recording (an extension module being imported: its calls
 * that release the GIL are redirected before it runs).  A path with a
 * slash does not depend on the caller's RUNPATH. */
__attribute__((visibility("hidden"))) int hm_dl_prepare_dlopen(const char *file, int mode)
{
    if (!hm_dl_real_dlopen)
        hm_dl_real_dlopen = (void *)hm_real_dlopen();
    return (mode & RTLD_DEEPBIND) || !hm_dl_real_dlopen ||
           (file && strchr(file, '/') && hm_recording());
}

/* The lookup made from here has heapmark as its caller; for the names
 * answered with a hook that is what RTLD_NEXT means anyway: the next
 * definition after the preload is glibc's, as it is after any library
 * loaded later. */
__attribute__((visibility("hidden"))) void *hm_dl_dlsym_substituting(void *handle, const char *name)
{
    void *(*real)(void *, const char *) = (void *(*)(void *, const char *))hm_dl_real_dlsym;
    if (!real)
        return NULL;
    return hm_dl_substitute(name, real(handle, name));
}

__attribute__((visibility("hidden"))) void *hm_dl_dlvsym_substituting(void *handle,
                                                                      const char *name,
                                                                      const char *version)
{
    void *(*real)(void *, const char *, const char *) =
        (void *(*)(void *, const char *, const char *))hm_dl_real_dlvsym;
    if (!real)
        return NULL;
    return hm_dl_substitute(name, real(handle, name, version));
}

/* A library and what it needs: a library loaded with RTLD_DEEPBIND binds
 * its allocation calls to glibc's, ahead of the preload, and an extension
 * calls the interpreter's PyEval_SaveThread: both are redirected.  The
 * loader sees heapmark as the caller, so a bare file name with
 * RTLD_DEEPBIND is not searched in the caller's RUNPATH. */
__attribute__((visibility("hidden"))) void *hm_dl_dlopen_deepbind(const char *file, int mode)
{
    void *(*real)(const char *, int) = (void *(*)(const char *, int))hm_dl_real_dlopen;
    if (!real)
        return NULL;
    void *handle = real(file, mode);
    if (handle)
        hm_relocations_after_load();
    return handle;
}

/* ---- the stubs ----------------------------------------------------------
 * Each saves the argument registers, asks its prepare function whether the
 * answer may change, and then either jumps to the real function (the
 * caller's return address still on the stack, so the loader sees the
 * caller) or jumps to the C function that answers.  Three pushes keep the
 * stack 16-byte aligned at the call. */
#define DL_STUB(name)                         \
    ".globl " #name "\n"                      \
    ".type " #name ", @function\n"            \
    ".globl hm_hook_" #name "\n"              \
    ".hidden hm_hook_" #name "\n" #name ":\n" \
    "hm_hook_" #name ":\n"                    \
    "    .cfi_startproc\n"                    \
    "    endbr64\n"                           \
    "    push %rdi\n"                         \
    "    .cfi_adjust_cfa_offset 8\n"          \
    "    push %rsi\n"                         \
    "    .cfi_adjust_cfa_offset 8\n"          \
    "    push %rdx\n"                         \
    "    .cfi_adjust_cfa_offset 8\n"          \
    "    call hm_dl_prepare_" #name "\n"      \
    "    pop %rdx\n"                          \
    "    .cfi_adjust_cfa_offset -8\n"         \
    "    pop %rsi\n"                          \
    "    .cfi_adjust_cfa_offset -8\n"         \
    "    pop %rdi\n"                          \
    "    .cfi_adjust_cfa_offset -8\n"         \
    "    test %eax, %eax\n"                   \
    "    jnz hm_dl_" #name "_answer\n"        \
    "    jmp *hm_dl_real_" #name "(%rip)\n"   \
    "    .cfi_endproc\n"                      \
    ".size " #name ", .-" #name "\n"

/* The C functions the stubs jump to, under the names the macro builds. */
__attribute__((visibility("hidden"), alias("hm_dl_dlsym_substituting"))) void *hm_dl_dlsym_answer(
    void *, const char *);
__attribute__((visibility("hidden"), alias("hm_dl_dlvsym_substituting"))) void *hm_dl_dlvsym_answer(
    void *, const char *, const char *);
__attribute__((visibility("hidden"), alias("hm_dl_dlopen_deepbind"))) void *hm_dl_dlopen_answer(
    const char *, int);

__asm__(".text\n" DL_STUB(dlsym) DL_STUB(dlvsym) DL_STUB(dlopen));

extern char hm_hook_dlsym[], hm_hook_dlvsym[];
const char *const hm_dl_hook_names[] = {"dlsym", "dlvsym"};
void *const hm_dl_hook_addresses[] = {hm_hook_dlsym, hm_hook_dlvsym};
const size_t hm_dl_hook_count = HM_ARRAY_LEN(hm_dl_hook_names);
