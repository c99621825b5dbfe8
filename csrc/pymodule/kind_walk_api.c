/*
 * kind_walk_api.c - the walks of the heap that give kinds at the peak, run
 * where they can run: on the interpreter's main thread, with the GIL.
 *
 * Owns: the pending call the monitor thread schedules (run/kind_walks.c
 * decides when) and the walk at the end of a run; each copies the recorded
 * blocks (run), joins them with a census walk (census/join.c) and hands the
 * kinds back (run).
 * Must never: raise into the program (a failed walk is dropped: the profile
 * then has no kinds, or older ones), or walk once recording has stopped.
 *
 * Why a walk is put off: the pending call runs between two instructions of
 * the innermost frame, whose value stack cannot be read (its top is saved
 * only when the frame calls out).  Most often it runs right after the call
 * that made the new high returned, so the object that made it is on that
 * stack, not yet stored: a walk then would count the peak's largest block
 * as native.  After such an instruction the walk waits for the monitor's
 * next tick, when the program is somewhere else (put_off_here).
 */
#include "pymodule/pymodule.h"
#if PY_VERSION_HEX >= 0x030b0000
#    ifndef Py_BUILD_CORE
#        define Py_BUILD_CORE 1
#    endif
#    include <internal/pycore_frame.h>
#endif
#include <frameobject.h>

#include "census/census.h"
#include "common/pyframes.h"
#include "hotpath/recorder.h"
#include "run/kind_walks.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PUT_OFF 8

static bool prepared;
/* The opcodes (specialised and instrumented forms too) after which a new
 * object may be on the value stack: calls, and the operators and builders
 * after which 3.9 runs pending calls.  setup.py writes them at build time,
 * from the building interpreter's opcode module (a minor version's opcodes
 * never change; importing the module at every start cost 1 ms), as
 * HM_RESULT_OPCODES_FOR and hm_result_opcodes[]. */
#include HM_RESULT_OPCODES
#if HM_RESULT_OPCODES_FOR != (PY_VERSION_HEX >> 16)
#    error "the generated opcode table is another Python version's"
#endif
static bool leaves_result[256];

static void note_result_opcodes(void)
{
    for (size_t i = 0; i < sizeof hm_result_opcodes / sizeof *hm_result_opcodes; i++)
        leaves_result[hm_result_opcodes[i]] = true;
}

/* Where the innermost frame of this thread is: the frame, the instruction
 * it last ran, and that instruction's opcode. */
typedef struct {
    const void *frame;
    int at, opcode;
} position;

static bool innermost_position(position *p)
{
    PyThreadState *ts = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030b0000
    _PyInterpreterFrame *f = hm_innermost_frame(ts);
    if (!f || !hm_frame_runs_code(f))
        return false;
    PyCodeObject *co = hm_frame_code(f);
    int at = hm_position_lasti(co, hm_frame_position(f));
    if (at < 0 || at >= (int)Py_SIZE(co))
        return false;
#    if PY_VERSION_HEX >= 0x030c0000
    *p = (position){f, at, _PyCode_CODE(co)[at].op.code};
#    else
    *p = (position){f, at, _Py_OPCODE(_PyCode_CODE(co)[at])};
#    endif
#else
    PyFrameObject *f = ts->frame;
    if (!f || f->f_lasti < 0 || !PyBytes_Check(f->f_code->co_code))
        return false;
#    if PY_VERSION_HEX >= 0x030a0000
    Py_ssize_t at = (Py_ssize_t)f->f_lasti * 2; /* 3.10 counts code units */
#    else
    Py_ssize_t at = f->f_lasti;
#    endif
    if (at >= PyBytes_GET_SIZE(f->f_code->co_code))
        return false;
    *p = (position){f, (int)at, (unsigned char)PyBytes_AS_STRING(f->f_code->co_code)[at]};
#endif
    return true;
}

/* Where the walk was put off since it last ran. */
static position put_off_at[MAX_PUT_OFF];
static int put_off;

/* Whether to put the walk off here: after an instruction that leaves a
 * result, unless the walk was put off here before (a loop: what this
 * instruction leaves is one iteration's, the walk runs) or MAX_PUT_OFF
 * times already. */
static bool put_off_here(void)
{
    position now;
    if (!innermost_position(&now) || !leaves_result[now.opcode] || put_off == MAX_PUT_OFF)
        return false;
    for (int i = 0; i < put_off; i++)
        if (put_off_at[i].frame == now.frame && put_off_at[i].at == now.at)
            return false;
    put_off_at[put_off++] = now;
    return true;
}

PyObject *hm_kind_walk_result_opcodes(void)
{
    if (!prepared)
        note_result_opcodes();
    PyObject *list = PyList_New(0);
    for (int op = 0; list && op < 256; op++) {
        PyObject *n = leaves_result[op] ? PyLong_FromLong(op) : NULL;
        if (n && PyList_Append(list, n) != 0)
            Py_CLEAR(list);
        Py_XDECREF(n);
    }
    return list;
}

void hm_kind_walk_prepare(void)
{
    prepared = hm_census_join_prepare();
    PyErr_Clear();
    note_result_opcodes();
}

static void walk(bool final)
{
    /* Not prepared (the types module failed to import): no kinds, rather
     * than objects made on the program's line. */
    if (!prepared || !hm_recording() || !hm_kind_walks_enabled())
        return;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    hm_kind_blocks b;
    if (hm_kind_walks_take_blocks(&b)) {
        hm_join_blocks join = {.start = b.start,
                               .size = b.size,
                               .n = b.n,
                               .sorted = b.sorted,
                               .kind = b.kind,
                               .object = b.object,
                               .attributes = b.attributes,
                               .float_items = b.float_items,
                               .text_group = b.text_group};
        uint64_t objects;
        hm_kinds *kinds = hm_census_join(&join, hm_census_is_result, &objects);
        const char **names = kinds ? malloc((kinds->n ? kinds->n : 1) * sizeof *names) : NULL;
        if (names) {
            for (size_t i = 0; i < kinds->n; i++)
                names[i] = kinds->items[i].name;
            hm_kind_walks_publish(&b, names, (uint32_t)kinds->n, objects, final);
        }
        free(names);
        hm_kinds_decref(kinds);
        hm_kind_walks_end(&b);
    }
    PyErr_Clear();
    PyErr_Restore(type, value, traceback);
}

static int pending_walk(void *unused)
{
    (void)unused;
    if (put_off_here()) {
        hm_kind_walks_defer();
        return 0;
    }
    put_off = 0;
    walk(false);
    return 0;
}

static bool schedule(void)
{
    if (Py_AddPendingCall(pending_walk, NULL) != 0)
        return false;
    hm_wake_main_thread();
    return true;
}

void hm_kind_walk_install(void)
{
    hm_kind_walks_set_scheduler(schedule, hm_wake_main_thread);
}

void hm_kind_walk_at_end(void)
{
    if (hm_kind_walks_end_due())
        walk(true);
}
