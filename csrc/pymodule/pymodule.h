/*
 * pymodule.h - the Python module heapmark._heapmark: the layer on top.
 *
 * The folders of csrc/, in the order an allocation flows through them:
 *   common/   what every layer may use: branch hints, memory outside the
 *             tracked heap (ownmem), the hash map, string buffers, interning
 *   hotpath/  inside the program's malloc, PyMem and mmap calls: hooks,
 *             sampler, stack walk, call tree, node values, live table, totals
 *   run/      one profiling run: start and finish, the monitor thread,
 *             memory budgets, following children, the timeline, the capture
 *   store/    the SQLite profile: schema, writer, reader, the loaded model
 *   report/   every report and export, rendered from a loaded profile
 *   census/   the heap census (objects by kind), with the GIL held
 *   pymodule/ this layer: the functions the Python skin calls
 * Lower layers never include a higher one's headers (tests/test_layers.py
 * checks it); this one may include any.
 *
 * Owns: what the module's files share.
 * Must never: hold logic beyond argument conversion and error mapping.
 */
#ifndef HM_PYMODULE_H
#define HM_PYMODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>

/* Adds CensusBase, _heap, _setref and _sizeof to the engine's module
 * (census_api.c). */
int hm_census_add_to_module(PyObject *m);
/* Adds TrackingError and _track_start, _track_stop, _track_state
 * (tracking_api.c). */
int hm_tracking_add_to_module(PyObject *m);
/* Adds _watch_read and _watch_request (watch_api.c). */
int hm_watch_add_to_module(PyObject *m);
/* True for a census result (census_api.c): walks leave them out. */
bool hm_census_is_result(PyObject *o);
/* Kinds at the peak (kind_walk_api.c): installs the scheduler the monitor
 * thread calls; and the walk at the end of a run (GIL held). */
void hm_kind_walk_install(void);
/* Creates what walks need before recording starts (type names from the
 * types module): a walk itself creates no Python object, so that it never
 * adds allocations to the line it interrupts. */
void hm_kind_walk_prepare(void);
void hm_kind_walk_at_end(void);
/* Tests only: the opcodes after which a walk is put off (see
 * kind_walk_api.c), as a list of ints. */
PyObject *hm_kind_walk_result_opcodes(void);
/* Makes the main thread run its pending calls at its next check
 * (wake_main.c): Py_AddPendingCall alone does not, from another thread,
 * on 3.9-3.12. */
void hm_wake_main_thread(void);

#endif
