/*
 * pyframes.h - a thread's interpreter frames on CPython 3.11 and later.
 *
 * Owns: which frame is a thread's innermost, and which frames run Python
 * code (the per-version rules of FIELD-NOTES section 3), for the stack walk
 * (stack_walk.c) and the census's roots (roots.c).
 * Must never: allocate or call the C API: the stack walk runs inside
 * allocation hooks.  Include after <internal/pycore_frame.h>.
 */
#ifndef HM_PYFRAMES_H
#define HM_PYFRAMES_H

#if PY_VERSION_HEX >= 0x030b0000
static inline _PyInterpreterFrame *hm_innermost_frame(PyThreadState *ts)
{
#    if PY_VERSION_HEX >= 0x030d0000
    return ts->current_frame;
#    else
    return ts->cframe ? ts->cframe->current_frame : NULL;
#    endif
}

/* False for a C stack's entry frame (3.12: skipped explicitly, 3.12.1's
 * _PyFrame_IsIncomplete misses it) and, on 3.13, a frame whose executable
 * is not a code object. */
static inline int hm_frame_runs_code(const _PyInterpreterFrame *f)
{
#    if PY_VERSION_HEX >= 0x030c0000
    if (f->owner == FRAME_OWNED_BY_CSTACK)
        return 0;
#    endif
#    if PY_VERSION_HEX >= 0x030d0000
    if (!f->f_executable || !PyCode_Check(f->f_executable))
        return 0;
#    endif
    return 1;
}

/* The object in f's code field: its code object wherever hm_frame_runs_code
 * (3.13 names the field f_executable and lets it hold other objects). */
static inline PyCodeObject *hm_frame_code(const _PyInterpreterFrame *f)
{
#    if PY_VERSION_HEX >= 0x030d0000
    return (PyCodeObject *)f->f_executable;
#    else
    return f->f_code;
#    endif
}

/* Where f is in its code, as a raw instruction pointer (what
 * _PyInterpreterFrame_LASTI subtracts the code's start from). */
static inline uintptr_t hm_frame_position(const _PyInterpreterFrame *f)
{
#    if PY_VERSION_HEX >= 0x030d0000
    return (uintptr_t)f->instr_ptr;
#    else
    return (uintptr_t)f->prev_instr;
#    endif
}

/* The instruction index of a position hm_frame_position read in co. */
static inline int hm_position_lasti(PyCodeObject *co, uintptr_t pos)
{
    return (int)((const _Py_CODEUNIT *)pos - _PyCode_CODE(co));
}
#endif

#endif
