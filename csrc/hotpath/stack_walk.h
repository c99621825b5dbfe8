/*
 * stack_walk.h - the Python stack of the current thread, as a call-tree node.
 *
 * Owns: walking the interpreter's frames (no profile or trace hook), the
 * code descriptors that outlive code objects, resolving (code, instruction)
 * to a line once per pair, and the pseudo frames ([no Python frame], ...).
 * Must never: call Python API that can allocate, run Python code, raise or
 * touch a reference count - it runs inside allocation hooks, on any thread,
 * with or without the GIL - or walk frames once hm_pystack_stop was called.
 */
#ifndef HM_PYSTACK_H
#define HM_PYSTACK_H

#include "common/common.h"

typedef struct {
    const void *ptr;      /* the code object while alive; NULL once freed and for pseudo frames */
    const char *function; /* qualified name on 3.11+, plain name before */
    const char *file;     /* "" for pseudo frames */
    int32_t first_line;
    const void *name_obj; /* the code's name and file objects, to tell a code object */
    const void *file_obj; /* from one freed unseen at the same address (stack_walk.c) */
    uintptr_t native_ip;  /* a native frame's return address (native_stack.h); else 0 */
    const char *library;  /* a native frame's object, once named; else NULL */
} hm_code;

typedef enum {
    HM_PSEUDO_PYMALLOC_FREE, /* arena space not occupied by live objects */
    HM_PSEUDO_NO_PYTHON,     /* a thread with no Python frame and no creator */
    HM_PSEUDO_THREAD,        /* below a thread creator's stack */
    HM_PSEUDO_TRUNCATED,     /* root of a stack deeper than HM_MAX_DEPTH */
    HM_PSEUDO_STARTUP,       /* allocated before recording started */
    HM_PSEUDO_COUNT
} hm_pseudo;

/* All below require the recorder lock. */
bool hm_pystack_init(void);
uint32_t hm_pseudo_frame(hm_pseudo which);
uint32_t hm_stack_node(void);
void hm_pystack_stop(void);
/* Under the lock, for another start in the same process: walks again, and
 * code descriptors are made afresh. */
void hm_pystack_restart(void);
/* The allocation at ptr, marked by hm_live_mark_code, was freed. */
void hm_code_freed(uintptr_t ptr);

/* A descriptor for the native frame at return address ip, named when a
 * profile is written (function and file "" until then). */
uint32_t hm_native_code(uintptr_t ip);

uint32_t hm_code_count(void); /* ids are 1 .. count-1 */
const hm_code *hm_code_get(uint32_t id);

#endif
