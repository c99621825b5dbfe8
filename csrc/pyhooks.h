/*
 * pyhooks.h - heapmark's Python allocators (MEM and OBJ domains, arenas).
 *
 * Owns: wrappers installed with PyMem_SetAllocator and
 * PyObject_SetArenaAllocator around the interpreter's own allocators,
 * pymalloc left on.
 * Must never: change what the wrapped allocators return, or count a byte the
 * native hooks also count.
 */
#ifndef HM_PYHOOKS_H
#define HM_PYHOOKS_H

#include "common.h"

/* Safe before Py_Initialize (the allocator tables are static data). */
void hm_pyhooks_install(void);
/* Under the GIL after start-up: checks that pymalloc's pool layout is the one
 * this build expects; on mismatch returns false (and accounting of small
 * objects falls back to arena level). */
bool hm_pyhooks_selfcheck(void);

#endif
