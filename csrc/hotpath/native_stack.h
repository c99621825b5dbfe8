/*
 * native_stack.h - the C/C++ call stack of a recorded allocation (--native),
 * hung under its Python stack.
 *
 * Owns: the unwind at a recorded allocation (through a function the run
 * loads: libunwind's unw_backtrace), which of its frames are kept, and the
 * native frames of the call tree (one code descriptor per return address;
 * run/native_symbols.c names them when a profile is written).
 * Must never: load a library, read debug information or take a lock while
 * unwinding - it runs inside the program's malloc, before the recorder lock
 * is taken - or unwind with recording off.
 *
 * Which frames: heapmark's own are dropped wherever they are; the
 * interpreter's own frames (CPython's allocator, the eval loop) are hidden:
 * those before the first frame of other code, and from the first after it on,
 * which is where the Python line that called into the extension takes over.
 * So the kept frames are the extension's (and the libraries it called) from
 * its entry point down to the allocation.  An unwind that reaches the eval
 * loop before any other code is an allocation of Python code itself: it
 * keeps no frame; so does one whose kept frames are the outermost with the
 * interpreter between them and the allocation (main()'s callers in libc
 * under the interpreter's own start-up).
 */
#ifndef HM_NATIVE_STACK_H
#define HM_NATIVE_STACK_H

#include "common/common.h"

#define HM_NATIVE_MAX 64 /* kept frames per stack, innermost first */
#define HM_NATIVE_RAW 128
#define HM_NATIVE_SHORT 32 /* the first unwind's depth (native_stack.c) */

typedef int (*hm_unwind_fn)(void **ips, int max);

/* An address range of code, [lo, hi). */
typedef struct {
    uintptr_t lo, hi;
} hm_code_range;

/* Set by the run before recording starts; unwinder NULL: --native is off. */
void hm_native_configure(hm_unwind_fn unwinder, const hm_code_range *own, size_t nown,
                         const hm_code_range *interpreter, size_t ninterpreter,
                         hm_code_range eval_loop);
extern hm_unwind_fn hm_native_unwinder;

/* The kept frames of the calling thread's native stack, innermost first;
 * returns how many.  Outside the lock, with the guard raised by the caller. */
int hm_native_unwind(uintptr_t *ips);

/* Under the recorder lock: node, extended by the frames (outermost
 * first); stops early, at the deepest node it could make, when out of
 * memory. */
uint32_t hm_native_extend(uint32_t node, const uintptr_t *ips, int n);

#endif
