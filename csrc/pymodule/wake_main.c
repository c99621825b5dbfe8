/*
 * wake_main.c - makes the interpreter's main thread look at its pending
 * calls now.
 *
 * Owns: the one write heapmark makes into the interpreter's evaluation
 * state.  On 3.9-3.12, Py_AddPendingCall from a thread without a Python
 * thread state (heapmark's monitor thread) queues the call but computes
 * the "eval breaker" as that thread sees it, where pending calls are not
 * its to run: the flag stays clear, and a single-threaded program runs the
 * call only when something else breaks into its loop (a signal, a GIL
 * switch), possibly never before it ends.  Setting the flag makes the main
 * thread stop at its next check: it runs the pending call and computes the
 * flag again (bpo-42296), and any other thread that stops computes it for
 * itself and goes on.  3.13 keeps the flag per thread and sets the main
 * thread's itself.
 * Must never: clear the flag (another request may be behind it), or be
 * called after the interpreter began to finalize.
 */
#include <patchlevel.h>
#if PY_VERSION_HEX < 0x030d0000
#    ifndef Py_BUILD_CORE
#        define Py_BUILD_CORE 1
#    endif
#    include "pymodule/pymodule.h"
#    include <internal/pycore_atomic.h>
#    include <internal/pycore_interp.h>
#else
#    include "pymodule/pymodule.h"
#endif

void hm_wake_main_thread(void)
{
#if PY_VERSION_HEX < 0x030d0000
    PyInterpreterState *interp = PyInterpreterState_Main();
    if (interp)
        _Py_atomic_store_relaxed(&interp->ceval.eval_breaker, 1);
#endif
}
