/*
 * tracking_api.c - the module's face for in-process tracking
 * (heapmark.track(), heapmark.start()/stop(): src/heapmark/tracking.py).
 *
 * Owns: argument conversion for run/in_process.h and its error type,
 * heapmark._heapmark.TrackingError (a RuntimeError).
 * Must never: decide anything itself: which directory, which rate, what a
 * nested start means are the Python skin's; what is safe is the engine's.
 */
#include "pymodule/pymodule.h"
#include "run/engine.h"
#include "run/in_process.h"
#include "run/kind_walks.h"
#include "run/relocations.h"

/* Weak: the library must also load where Python is absent (see _heapmark.c). */
#pragma weak PyExc_RuntimeError
#pragma weak _Py_NoneStruct

static PyObject *TrackingError;

static PyObject *py_track_start(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *path_obj, *path_bytes = NULL;
    unsigned long long rate, seed;
    unsigned int checkpoint_seconds;
    double kinds_percent = 10.0;
    if (!PyArg_ParseTuple(args, "OKKI|d", &path_obj, &rate, &seed, &checkpoint_seconds,
                          &kinds_percent) ||
        !PyUnicode_FSConverter(path_obj, &path_bytes))
        return NULL;
    hm_kind_walks_configure(kinds_percent / 100, 0.05, 0.05);
    hm_kind_walk_prepare();
    hm_track_config config = {PyBytes_AS_STRING(path_bytes), rate, seed, checkpoint_seconds};
    char err[1024];
    bool ok = hm_track_start(&config, err, sizeof err);
    Py_DECREF(path_bytes);
    if (!ok) {
        PyErr_SetString(TrackingError, err);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* (status, figures): status "written", or "not ours" in a forked child of
 * the process that started (nothing was written). */
static PyObject *py_track_stop(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    hm_run_info info;
    char err[1024];
    hm_kind_walk_at_end();
    int result = hm_track_stop(&info, err, sizeof err);
    if (result == HM_END_FAILED) {
        PyErr_SetString(TrackingError, err);
        return NULL;
    }
    return Py_BuildValue("(s{s:L,s:L,s:d,s:d,s:L})",
                         result == HM_END_WRITTEN ? "written" : "not ours", "peak_bytes",
                         (long long)info.peak_bytes, "end_bytes", (long long)info.end_bytes,
                         "duration_s", info.duration_s, "peak_at_s", info.peak_at_s,
                         "overhead_bytes", (long long)info.overhead_bytes);
}

static PyObject *py_track_state(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    /* PyBool_FromLong, not Py_True: the preloaded library must load where
     * Python's data symbols are absent (see _heapmark.c). */
    return Py_BuildValue("{s:N,s:N,s:n,s:n}", "preloaded", PyBool_FromLong(hm_engine_preloaded()),
                         "tracking",
                         PyBool_FromLong(hm_engine_profiling() && !hm_engine_preloaded()),
                         "redirected_slots", (Py_ssize_t)hm_relocations_redirected(),
                         "foreign_objects", (Py_ssize_t)hm_relocations_foreign());
}

static PyMethodDef tracking_methods[] = {
    {"_track_start", py_track_start, METH_VARARGS,
     "_track_start(profile_path, sample_rate, seed, checkpoint_seconds, kinds_percent=10): "
     "starts tracking; kinds_percent: share of the span's time walks for kinds may take."},
    {"_track_stop", py_track_stop, METH_NOARGS,
     "_track_stop() -> (status, figures): stops tracking, writes the profile."},
    {"_track_state", py_track_state, METH_NOARGS,
     "_track_state() -> dict: whether tracking, and how many slots are redirected."},
    {NULL, NULL, 0, NULL},
};

int hm_tracking_add_to_module(PyObject *m)
{
    TrackingError = PyErr_NewExceptionWithDoc(
        "heapmark.TrackingError",
        "In-process tracking cannot start or stop as asked (nested, not started, "
        "under heapmark run, an unwritable directory).",
        PyExc_RuntimeError, NULL);
    if (!TrackingError || PyModule_AddObject(m, "TrackingError", TrackingError) < 0)
        return -1;
    Py_INCREF(TrackingError);
    return PyModule_AddFunctions(m, tracking_methods);
}
