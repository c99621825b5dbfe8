/*
 * module.c - the Python face of the C engine (module heapmark._heapmark).
 *
 * Owns: argument parsing and error conversion for the functions the Python
 * skin calls: the boot and finish of a run inside the profiled process, and
 * report rendering in the heapmark process.
 * Must never: hold logic of its own beyond conversion; report and engine
 * code stays in their modules.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "engine.h"
#include "profile.h"
#include "report.h"

/* Weak, so that the preloaded library also loads into a process without a
 * Python runtime (a data symbol must otherwise be resolved at load time). */
#pragma weak _Py_NoneStruct

static PyObject *ProfileError;

static void raise_profile_error(const char *message)
{
    PyObject *text = PyUnicode_DecodeUTF8(message, (Py_ssize_t)strlen(message), "replace");
    if (text) {
        PyErr_SetObject(ProfileError, text);
        Py_DECREF(text);
    }
}

static PyObject *py_boot(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!hm_engine_configured())
        Py_RETURN_NONE;
    bool layout_ok = true;
    const char *pythonpath = hm_engine_python_ready(&layout_ok);
    if (!layout_ok)
        PySys_WriteStderr("heapmark: this Python's small-object allocator has an unexpected "
                          "layout; small objects are counted per arena only\n");
    if (!pythonpath)
        Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(pythonpath);
}

static PyObject *py_finish(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    char err[1024];
    bool ok;
    Py_BEGIN_ALLOW_THREADS
    ok = hm_engine_finish("exit", err, sizeof err);
    Py_END_ALLOW_THREADS
    if (!ok)
        PySys_WriteStderr("heapmark: %s\n", err);
    Py_RETURN_NONE;
}

static PyObject *py_active(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(hm_engine_configured());
}

/* Loads the profile named by a path object, or sets ProfileError. */
static bool load(PyObject *path_obj, hm_profile *p, PyObject **bytes)
{
    if (!PyUnicode_FSConverter(path_obj, bytes))
        return false;
    char err[1024];
    bool ok;
    const char *path = PyBytes_AS_STRING(*bytes);
    Py_BEGIN_ALLOW_THREADS
    ok = hm_profile_load(path, p, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (!ok) {
        raise_profile_error(err);
        Py_CLEAR(*bytes);
    }
    return ok;
}

static PyObject *py_write_reports(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *profile_obj, *dir_obj, *profile_bytes = NULL, *dir_bytes = NULL;
    Py_ssize_t top = 5;
    if (!PyArg_ParseTuple(args, "OO|n", &profile_obj, &dir_obj, &top))
        return NULL;
    if (!PyUnicode_FSConverter(dir_obj, &dir_bytes))
        return NULL;
    hm_profile p;
    if (!load(profile_obj, &p, &profile_bytes)) {
        Py_DECREF(dir_bytes);
        return NULL;
    }
    char err[1024];
    bool ok;
    hm_buf summary = {0};
    const char *dir = PyBytes_AS_STRING(dir_bytes);
    Py_BEGIN_ALLOW_THREADS
    ok = hm_report_all(&p, dir, err, sizeof err);
    if (ok)
        hm_report_summary(&p, top > 0 ? (size_t)top : 0, &summary);
    Py_END_ALLOW_THREADS
    hm_profile_free(&p);
    Py_DECREF(profile_bytes);
    Py_DECREF(dir_bytes);
    if (!ok) {
        hm_buf_free(&summary);
        raise_profile_error(err);
        return NULL;
    }
    PyObject *text = PyUnicode_DecodeUTF8(summary.data ? summary.data : "",
                                          (Py_ssize_t)summary.len, "replace");
    hm_buf_free(&summary);
    return text;
}

static PyObject *render_text(PyObject *args, void (*render)(const hm_profile *, size_t, hm_buf *))
{
    PyObject *profile_obj, *profile_bytes = NULL;
    Py_ssize_t top = 5;
    if (!PyArg_ParseTuple(args, "O|n", &profile_obj, &top))
        return NULL;
    hm_profile p;
    if (!load(profile_obj, &p, &profile_bytes))
        return NULL;
    hm_buf out = {0};
    render(&p, top > 0 ? (size_t)top : 0, &out);
    hm_profile_free(&p);
    Py_DECREF(profile_bytes);
    if (out.failed) {
        hm_buf_free(&out);
        return PyErr_NoMemory();
    }
    PyObject *text = PyUnicode_DecodeUTF8(out.data ? out.data : "", (Py_ssize_t)out.len, "replace");
    hm_buf_free(&out);
    return text;
}

static PyObject *py_summary(PyObject *self, PyObject *args)
{
    (void)self;
    return render_text(args, hm_report_summary);
}

static PyObject *py_summary_json(PyObject *self, PyObject *args)
{
    (void)self;
    return render_text(args, hm_report_json);
}

static PyMethodDef methods[] = {
    {"_boot", py_boot, METH_NOARGS,
     "Called once in the profiled process when the interpreter runs; returns the "
     "PYTHONPATH to restore."},
    {"_finish", py_finish, METH_NOARGS, "Stops recording and writes the profile (atexit)."},
    {"is_active", py_active, METH_NOARGS, "True inside a process heapmark is profiling."},
    {"write_reports", py_write_reports, METH_VARARGS,
     "write_reports(profile, directory, top=5) -> summary: writes peak.svg, peak.folded, "
     "end.folded and peak.txt, and returns the summary text (as summary())."},
    {"summary", py_summary, METH_VARARGS, "summary(profile, top=5) -> text for stderr."},
    {"summary_json", py_summary_json, METH_VARARGS, "summary_json(profile, top=10) -> JSON text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "heapmark._heapmark",
    "heapmark's C engine: allocation hooks, profile store and reports.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__heapmark(void)
{
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    ProfileError = PyErr_NewExceptionWithDoc("heapmark._heapmark.ProfileError",
                                             "A profile cannot be read or written.", NULL, NULL);
    if (!ProfileError || PyModule_AddObject(m, "ProfileError", ProfileError) < 0) {
        Py_XDECREF(ProfileError);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(ProfileError);
    PyModule_AddStringConstant(m, "__version__", HM_VERSION);
    return m;
}
