/*
 * gil_hooks.h - PyEval_SaveThread and PyEval_RestoreThread as extensions
 * call them (Py_BEGIN/END_ALLOW_THREADS), for waiting_calls.h.
 *
 * Owns: the two hooks and the interpreter's functions they forward to.
 * The hooks are not exported: an interpreter linked statically defines the
 * names in the executable, ahead of any preload, so run/relocations.c
 * writes them into the extensions' relocation slots instead.
 * Must never: do more than mark the thread (no lock, no stack walk): every
 * GIL release of every extension call passes here.
 */
#ifndef HM_GIL_HOOKS_H
#define HM_GIL_HOOKS_H

#include "common/common.h"

typedef struct {
    const char *name;
    void *hook;
} hm_gil_hook_entry;

/* The interpreter's functions, found once; false in a process with no
 * interpreter.  Before that the hooks are never installed. */
bool hm_gil_hooks_resolve(void);
extern const hm_gil_hook_entry hm_gil_hooks[];
extern const size_t hm_gil_hook_count;

#endif
