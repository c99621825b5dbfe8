/*
 * python_hooks.h - heapmark's Python allocators (MEM and OBJ domains, arenas).
 *
 * Owns: wrappers installed with PyMem_SetAllocator and
 * PyObject_SetArenaAllocator around the interpreter's own allocators,
 * pymalloc left on.
 * Must never: change what the wrapped allocators return, or count a byte the
 * native hooks also count.
 */
#ifndef HM_PYHOOKS_H
#define HM_PYHOOKS_H

#include "common/common.h"

/* Safe before Py_Initialize (the allocator tables are static data). */
void hm_pyhooks_install(void);
/* In a running interpreter (with the GIL): installs the hooks counting small
 * objects alone (python_hooks.c); false if they are installed already. */
bool hm_pyhooks_install_in_process(void);
/* Puts the allocators found at installation back, if ours are still the
 * current ones (with the GIL). */
void hm_pyhooks_uninstall(void);
/* Under the GIL once the interpreter runs.  PYTHONMALLOC makes CPython's
 * pre-initialisation replace the hooks installed before it; they are put back
 * on top of what it installed (objects allocated in between, a few MB of
 * start-up objects, were not seen).  Returns true if that happened. */
bool hm_pyhooks_reinstall_if_replaced(void);
/* Checks that pymalloc's pool layout is the one this build expects and
 * whether the allocator under the hooks is plain pymalloc or a debug wrapper;
 * false if the layout is not recognised (small objects are then counted per
 * arena only). */
bool hm_pyhooks_selfcheck(void);

/* Marks the allocation of code object co so that its free retires its
 * descriptor (stack_walk.c); recorder lock held. */
void hm_pyhooks_mark_code(void *co);

#endif
