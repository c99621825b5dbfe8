/*
 * waiting_calls.h - Python threads waiting in a native call, so that a
 * native thread's allocation can be credited to the call that handed it
 * its work.
 *
 * A pool of native threads (OpenBLAS, OpenMP, a C++ std::thread pool) is
 * started once and then serves every later call; crediting its memory to
 * the line that started it (the import) is wrong for all the work after.
 * While a pool thread works, the Python thread that handed it the work is
 * usually waiting in the same extension call, with the GIL released: the
 * extension's Py_BEGIN_ALLOW_THREADS called PyEval_SaveThread, which
 * heapmark's relocations send to gil_hooks.c.  An allocation of a thread
 * with no Python frames is then credited to the stack of the thread that
 * released the GIL most recently and has not taken it back - a heuristic,
 * documented as one (docs/native-memory.md).
 *
 * Owns: one slot per Python thread seen releasing the GIL: its thread
 * state while it waits, when it began waiting, and whether another thread
 * is reading its frames.
 * Must never: let a waiting thread return to Python while its frames are
 * read (hm_waiting_leave waits for the reader), block a thread that
 * releases the GIL, or allocate.
 */
#ifndef HM_WAITING_CALLS_H
#define HM_WAITING_CALLS_H

#include "common/common.h"

/* The calling thread released the GIL; tstate is its thread state. */
void hm_waiting_enter(void *tstate);
/* The calling thread is about to take the GIL back. */
void hm_waiting_leave(void);
/* A new in-process start: marks left from an earlier one are ignored (a
 * thread that released the GIL through the hook may have taken it back
 * through the interpreter's own function after the slots were put back). */
void hm_waiting_new_session(void);
/* In a forked child, under the recorder lock: the other threads, and the
 * thread states their slots pointed to, are gone (CPython frees them). */
void hm_waiting_after_fork(void);
/* The calling thread ends: its slot is free for another. */
void hm_waiting_thread_exit(void);

typedef struct {
    int slot;
    void *tstate;
} hm_waiting_loan;

/* Under the recorder lock: the thread that began waiting last, its frames
 * held still until hm_waiting_return.  False if no thread waits. */
bool hm_waiting_borrow(hm_waiting_loan *loan);
void hm_waiting_return(const hm_waiting_loan *loan);

#endif
