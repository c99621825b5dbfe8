/*
 * elf_symbols.h - a loaded library's own definition of a symbol, read from
 * its dynamic symbol table in memory, without dlsym.
 *
 * Owns: the GNU-hash lookup, and heapmark's one way to reach the dynamic
 * loader's real dlsym, which run/dl_hooks.c interposes (a call to `dlsym`
 * from inside heapmark would reach that hook, and the hook hands out
 * heapmark's allocation hooks for allocation names).
 * Must never: allocate, lock (but dl_iterate_phdr's own), or call dlsym
 * from inside the object walk.
 */
#ifndef HM_ELF_SYMBOLS_H
#define HM_ELF_SYMBOLS_H

#include "common/common.h"

/* The default-version definition of `symbol` in the loaded object whose file
 * name ends in `soname` ("libc.so.6"), or NULL. */
void *hm_elf_symbol(const char *soname, const char *symbol);

/* The real dlsym, dlvsym and dlopen (glibc 2.34+ keeps them in libc,
 * earlier ones in libdl); NULL where neither is loaded. */
void *(*hm_real_dlsym(void))(void *, const char *);
void *(*hm_real_dlvsym(void))(void *, const char *, const char *);
void *(*hm_real_dlopen(void))(const char *, int);

/* dlsym(handle, name) as heapmark's own library asks it, past the hook
 * (RTLD_NEXT: the definition after heapmark's in the search order). */
void *hm_lookup(void *handle, const char *name);

#endif
