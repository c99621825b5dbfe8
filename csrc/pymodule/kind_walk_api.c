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
 */
#include "pymodule/pymodule.h"
#include "census/census.h"
#include "hotpath/recorder.h"
#include "run/kind_walks.h"

#include <stdlib.h>

static bool prepared;

void hm_kind_walk_prepare(void)
{
    prepared = hm_census_join_prepare();
    PyErr_Clear();
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
