/*
 * _heapmark.c - the Python face of the C engine (module heapmark._heapmark).
 *
 * Owns: argument parsing and error conversion for the functions the Python
 * skin calls: the boot and finish of a run inside the profiled process, and
 * report rendering in the heapmark process.  The heap census's functions
 * and type come from census_api.c.  It exports common/contract.h's tables
 * (ENVIRONMENT, RESULT_FILES, RESULT_SERIES) for the command line.
 * Must never: hold logic of its own beyond conversion; report and engine
 * code stays in their modules.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "pymodule/pymodule.h"
#include "common/contract.h"
#include "run/engine.h"
#include "store/profile.h"
#include "report/report.h"
#include "run/timeline.h"
#include "hotpath/recorder.h"
#include "report/diff.h"

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
    hm_kind_walk_prepare();
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
    hm_kind_walk_at_end();
    Py_BEGIN_ALLOW_THREADS ok = hm_engine_finish("exit", err, sizeof err);
    Py_END_ALLOW_THREADS if (!ok) PySys_WriteStderr("heapmark: error: %s\n", err);
    Py_RETURN_NONE;
}

static PyObject *py_after_fork(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    hm_engine_after_fork_in_child();
    Py_RETURN_NONE;
}

static PyObject *py_active(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(hm_engine_configured());
}

/* gc.callbacks entry (installed by the boot): the collector's runs for the
 * timeline.  Never raises: an error here would be printed by the collector. */
static PyObject *py_gc_callback(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *phase, *info;
    if (!PyArg_ParseTuple(args, "OO", &phase, &info) || !PyUnicode_Check(phase) ||
        !PyDict_Check(info)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *generation = PyDict_GetItemString(info, "generation"); /* borrowed */
    long gen = generation && PyLong_Check(generation) ? PyLong_AsLong(generation) : -1;
    if (gen == -1 && PyErr_Occurred())
        PyErr_Clear(); /* our own overflow error, nothing the collector had */
    hm_timeline_gc(PyUnicode_CompareWithASCIIString(phase, "stop") == 0, (int)gen);
    Py_RETURN_NONE;
}

static PyObject *py_phase_begin(PyObject *self, PyObject *args)
{
    (void)self;
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    return PyLong_FromLong(hm_timeline_phase_begin(name));
}

static PyObject *phase_call(PyObject *args, void (*call)(int))
{
    int id;
    if (!PyArg_ParseTuple(args, "i", &id))
        return NULL;
    call(id);
    Py_RETURN_NONE;
}

static PyObject *py_phase_enter(PyObject *self, PyObject *args)
{
    (void)self;
    return phase_call(args, hm_timeline_phase_enter);
}

static PyObject *py_phase_end(PyObject *self, PyObject *args)
{
    (void)self;
    return phase_call(args, hm_timeline_phase_end);
}

/* The profiles of one run: a single path, or a list of paths (the main
 * process first), merged into one view.  Owns everything it loaded. */
typedef struct {
    hm_profile *parts;
    size_t nparts;
    hm_profile merged;
    hm_profile *view; /* parts[0], or &merged */
    PyObject *paths;  /* bytes objects keeping the paths alive */
} loaded_profiles;

static void unload(loaded_profiles *l)
{
    if (l->view == &l->merged)
        hm_profile_free(&l->merged);
    for (size_t i = 0; i < l->nparts; i++)
        hm_profile_free(&l->parts[i]);
    PyMem_Free(l->parts);
    Py_XDECREF(l->paths);
    memset(l, 0, sizeof *l);
}

/* Loads what obj names, or sets ProfileError (or another exception). */
static bool load(PyObject *obj, loaded_profiles *l)
{
    memset(l, 0, sizeof *l);
    PyObject *items = PyUnicode_Check(obj) || PyBytes_Check(obj) || !PySequence_Check(obj)
                          ? PyTuple_Pack(1, obj)
                          : PySequence_Tuple(obj);
    if (!items)
        return false;
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    l->paths = PyList_New(0);
    l->parts = PyMem_Calloc(n ? (size_t)n : 1, sizeof *l->parts);
    if (n == 0 || !l->paths || !l->parts) {
        Py_DECREF(items);
        if (n == 0)
            PyErr_SetString(ProfileError, "no profile given");
        else
            PyErr_NoMemory();
        unload(l);
        return false;
    }
    char err[1024];
    bool ok = true;
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        PyObject *bytes = NULL;
        if (!PyUnicode_FSConverter(PyTuple_GET_ITEM(items, i), &bytes)) {
            ok = false;
            break;
        }
        PyList_Append(l->paths, bytes);
        Py_DECREF(bytes);
        const char *path = PyBytes_AS_STRING(bytes);
        Py_BEGIN_ALLOW_THREADS ok = hm_profile_load(path, &l->parts[i], err, sizeof err);
        Py_END_ALLOW_THREADS if (ok) l->nparts++;
        else raise_profile_error(err);
    }
    Py_DECREF(items);
    if (ok && l->nparts > 1) {
        ok = hm_profile_merge(l->parts, l->nparts, &l->merged, err, sizeof err);
        if (ok)
            l->view = &l->merged;
        else
            raise_profile_error(err);
    } else if (ok) {
        l->view = &l->parts[0];
    }
    if (!ok)
        unload(l);
    return ok;
}

static PyObject *py_write_reports(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *profile_obj, *dir_obj, *dir_bytes = NULL;
    Py_ssize_t top = 5, columns = 0;
    long long html_min_bytes = -1;
    double html_min_share = -1;
    if (!PyArg_ParseTuple(args, "OO|nnLd", &profile_obj, &dir_obj, &top, &columns, &html_min_bytes,
                          &html_min_share))
        return NULL;
    /* Either bar given is the user's: it is kept, however large the page. */
    hm_report_options opts = HM_REPORT_DEFAULTS;
    if (html_min_bytes >= 0)
        opts = (hm_report_options){html_min_bytes, 0, 0};
    else if (html_min_share >= 0)
        opts = (hm_report_options){-1, html_min_share, 0};
    if (!PyUnicode_FSConverter(dir_obj, &dir_bytes))
        return NULL;
    loaded_profiles l;
    if (!load(profile_obj, &l)) {
        Py_DECREF(dir_bytes);
        return NULL;
    }
    char err[1024];
    bool ok;
    hm_buf summary = {0};
    const char *dir = PyBytes_AS_STRING(dir_bytes);
    Py_BEGIN_ALLOW_THREADS ok = hm_report_all_with(l.view, dir, &opts, err, sizeof err);
    if (ok && columns > 0)
        hm_report_terminal(l.view, top > 0 ? (size_t)top : 0, (size_t)columns, &summary);
    else if (ok)
        hm_report_summary(l.view, top > 0 ? (size_t)top : 0, &summary);
    Py_END_ALLOW_THREADS Py_DECREF(dir_bytes);
    if (!ok) {
        unload(&l);
        hm_buf_free(&summary);
        raise_profile_error(err);
        return NULL;
    }
    /* How the first (main) profile ended, for the command line's notes. */
    const char *status = hm_profile_meta(&l.parts[0], "status");
    PyObject *text =
        PyUnicode_DecodeUTF8(summary.data ? summary.data : "", (Py_ssize_t)summary.len, "replace");
    PyObject *result = text ? Py_BuildValue("(Nsd)", text, status ? status : "",
                                            hm_profile_meta_real(&l.parts[0], "duration_s"))
                            : NULL;
    unload(&l);
    hm_buf_free(&summary);
    return result;
}

/* Parses a snapshot's name, or raises ProfileError and returns 0.  (Not
 * ValueError: the preloaded library must not need Python's data symbols.) */
static int snapshot_arg(const char *name)
{
    int snapshot = hm_snapshot_named(name);
    if (!snapshot) {
        char message[160];
        snprintf(message, sizeof message,
                 "unknown snapshot '%.40s': expected peak, end, allocated or job-peak", name);
        raise_profile_error(message);
    }
    return snapshot;
}

static PyObject *py_export(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *profile_obj, *path_obj, *path_bytes = NULL;
    const char *format_name, *snapshot_name;
    if (!PyArg_ParseTuple(args, "OssO", &profile_obj, &format_name, &snapshot_name, &path_obj))
        return NULL;
    hm_export_format format;
    if (!hm_export_format_named(format_name, &format)) {
        char message[160];
        snprintf(message, sizeof message, "unknown export format '%.40s'", format_name);
        raise_profile_error(message);
        return NULL;
    }
    int snapshot = snapshot_arg(snapshot_name);
    if (!snapshot)
        return NULL;
    if (path_obj != Py_None && !PyUnicode_FSConverter(path_obj, &path_bytes))
        return NULL;
    loaded_profiles l;
    if (!load(profile_obj, &l)) {
        Py_XDECREF(path_bytes);
        return NULL;
    }
    char err[1024];
    bool ok;
    hm_buf out = {0};
    Py_BEGIN_ALLOW_THREADS ok = hm_export(l.view, format, snapshot, &out, err, sizeof err);
    if (ok && path_bytes)
        ok = hm_buf_write_file(&out, PyBytes_AS_STRING(path_bytes), err, sizeof err);
    Py_END_ALLOW_THREADS unload(&l);
    PyObject *result = NULL;
    if (!ok)
        raise_profile_error(err);
    else if (path_bytes) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else
        result = PyBytes_FromStringAndSize(out.data ? out.data : "", (Py_ssize_t)out.len);
    Py_XDECREF(path_bytes);
    hm_buf_free(&out);
    return result;
}

static PyObject *py_diff(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *base_obj, *next_obj, *html_obj, *html_bytes = NULL;
    const char *snapshot_name;
    Py_ssize_t top, columns;
    if (!PyArg_ParseTuple(args, "OOsnnO", &base_obj, &next_obj, &snapshot_name, &top, &columns,
                          &html_obj))
        return NULL;
    int snapshot = snapshot_arg(snapshot_name);
    if (!snapshot)
        return NULL;
    if (html_obj != Py_None && !PyUnicode_FSConverter(html_obj, &html_bytes))
        return NULL;
    loaded_profiles base, next;
    if (!load(base_obj, &base)) {
        Py_XDECREF(html_bytes);
        return NULL;
    }
    if (!load(next_obj, &next)) {
        unload(&base);
        Py_XDECREF(html_bytes);
        return NULL;
    }
    char err[1024];
    bool ok;
    hm_diff d;
    hm_buf text = {0}, html = {0};
    size_t rows = top > 0 ? (size_t)top : 0;
    Py_BEGIN_ALLOW_THREADS ok = hm_diff_build(base.view, next.view, snapshot, &d, err, sizeof err);
    if (ok) {
        hm_diff_text(&d, rows, columns > 20 ? (size_t)columns : 20, &text);
        if (html_bytes) {
            hm_diff_html(&d, rows, &html);
            ok = hm_buf_write_file(&html, PyBytes_AS_STRING(html_bytes), err, sizeof err);
        }
        hm_diff_free(&d);
    }
    Py_END_ALLOW_THREADS unload(&base);
    unload(&next);
    Py_XDECREF(html_bytes);
    hm_buf_free(&html);
    PyObject *result = NULL;
    if (!ok)
        raise_profile_error(err);
    else if (text.failed)
        PyErr_NoMemory();
    else
        result = PyUnicode_DecodeUTF8(text.data ? text.data : "", (Py_ssize_t)text.len, "replace");
    hm_buf_free(&text);
    return result;
}

static PyObject *render_text(PyObject *args, void (*render)(const hm_profile *, size_t, hm_buf *))
{
    PyObject *profile_obj;
    Py_ssize_t top = 5;
    if (!PyArg_ParseTuple(args, "O|n", &profile_obj, &top))
        return NULL;
    loaded_profiles l;
    if (!load(profile_obj, &l))
        return NULL;
    hm_buf out = {0};
    render(l.view, top > 0 ? (size_t)top : 0, &out);
    unload(&l);
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

static PyObject *py_source_lines(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *profile_obj, *file_obj, *file_bytes = NULL;
    int json = 0;
    if (!PyArg_ParseTuple(args, "OO|p", &profile_obj, &file_obj, &json) ||
        !PyUnicode_FSConverter(file_obj, &file_bytes))
        return NULL;
    loaded_profiles l;
    if (!load(profile_obj, &l)) {
        Py_DECREF(file_bytes);
        return NULL;
    }
    char err[1024];
    hm_buf out = {0};
    bool ok;
    Py_BEGIN_ALLOW_THREADS ok =
        hm_report_source_lines(l.view, PyBytes_AS_STRING(file_bytes), json, &out, err, sizeof err);
    Py_END_ALLOW_THREADS unload(&l);
    Py_DECREF(file_bytes);
    PyObject *text = NULL;
    if (!ok)
        raise_profile_error(err);
    else if (out.failed)
        PyErr_NoMemory();
    else
        text = PyUnicode_DecodeUTF8(out.data ? out.data : "", (Py_ssize_t)out.len, "replace");
    hm_buf_free(&out);
    return text;
}

/* heapmark top's table of the lines holding memory now (report/text.c). */
static PyObject *py_watch_now(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *profile_obj;
    Py_ssize_t top, columns;
    if (!PyArg_ParseTuple(args, "Onn", &profile_obj, &top, &columns))
        return NULL;
    loaded_profiles l;
    if (!load(profile_obj, &l))
        return NULL;
    hm_buf out = {0};
    Py_BEGIN_ALLOW_THREADS hm_report_now(l.view, top > 0 ? (size_t)top : 0,
                                         columns > 20 ? (size_t)columns : 20, &out);
    Py_END_ALLOW_THREADS unload(&l);
    PyObject *text =
        out.failed ? PyErr_NoMemory()
                   : PyUnicode_DecodeUTF8(out.data ? out.data : "", (Py_ssize_t)out.len, "replace");
    hm_buf_free(&out);
    return text;
}

/* Tests only: a crash inside heapmark's own code, with the recorder lock
 * held (run/crash.c must then go on to the signal at once, not wait for a
 * write that needs the lock). */
static PyObject *py_crash_holding_lock(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    hm_lock();
    *(volatile int *)(uintptr_t)16 = 0;
    hm_unlock();
    Py_RETURN_NONE;
}

static PyObject *py_result_opcodes(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return hm_kind_walk_result_opcodes();
}

static PyMethodDef methods[] = {
    {"_result_opcodes", py_result_opcodes, METH_NOARGS,
     "Tests only: the opcodes after which a kinds walk waits for the next tick."},
    {"_crash_holding_lock", py_crash_holding_lock, METH_NOARGS,
     "Tests only: dies of SIGSEGV inside heapmark's code, holding its lock."},
    {"_boot", py_boot, METH_NOARGS,
     "Called once in the profiled process when the interpreter runs; returns the "
     "PYTHONPATH to restore."},
    {"_finish", py_finish, METH_NOARGS, "Stops recording and writes the profile (atexit)."},
    {"_after_fork", py_after_fork, METH_NOARGS,
     "os.register_at_fork hook in a child: restarts heapmark's monitor thread."},
    {"is_active", py_active, METH_NOARGS, "True inside a process heapmark is profiling."},
    {"_gc_callback", py_gc_callback, METH_VARARGS,
     "gc.callbacks entry: records the collector's runs in the timeline."},
    {"_phase_begin", py_phase_begin, METH_VARARGS,
     "_phase_begin(name) -> id: a phase of the program starts (-1: not recorded)."},
    {"_phase_enter", py_phase_enter, METH_VARARGS,
     "_phase_enter(id): the phase is a with block; it ends at _phase_end."},
    {"_phase_end", py_phase_end, METH_VARARGS,
     "_phase_end(id): the phase and every phase begun inside it end."},
    {"write_reports", py_write_reports, METH_VARARGS,
     "write_reports(profile, directory, top=5, columns=0, html_min_bytes=-1, html_min_share=-1) -> "
     "(text, status, duration_s): writes peak.svg, peak.folded, end.folded, peak.txt and "
     "report.html (folding call-tree nodes under html_min_bytes, or under html_min_share of "
     "each snapshot's total; both negative: heapmark's default), and returns the summary text "
     "(as summary(); with columns, the terminal report fitted to that width) with how the "
     "first profile ended and its run time.  profile: a "
     "path, or a list of the paths of one run's processes, the main one first."},
    {"diff", py_diff, METH_VARARGS,
     "diff(base, new, snapshot, top, columns, html_path) -> text: the change from base to new by "
     "line, fitted to columns; writes diff.html to html_path unless it is None."},
    {"export", py_export, METH_VARARGS,
     "export(profile, format, snapshot, path) -> None, or the bytes when path is None: "
     "format is folded, pprof, speedscope or json; snapshot peak, end, allocated or job-peak."},
    {"summary", py_summary, METH_VARARGS, "summary(profile, top=5) -> text for stderr."},
    {"summary_json", py_summary_json, METH_VARARGS, "summary_json(profile, top=10) -> JSON text."},
    {"_watch_now", py_watch_now, METH_VARARGS,
     "_watch_now(profile, top, columns) -> text: the top lines holding memory at the profile's "
     "end, fitted to the width (heapmark top)."},
    {"source_lines", py_source_lines, METH_VARARGS,
     "source_lines(profile, file, json=False) -> text: the file line by line with what each "
     "line held at the peak, allocated and how often (heapmark report --lines)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "heapmark._heapmark",
    "heapmark's C engine: allocation hooks, profile store and reports.",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* The engine's renderer (run/engine.h): the run includes no report code. */
static bool render_reports(const char *profile_path, const char *dir, char *err, size_t errlen)
{
    hm_profile p;
    bool ok = hm_profile_load(profile_path, &p, err, errlen) && hm_report_all(&p, dir, err, errlen);
    hm_profile_free(&p);
    return ok;
}

/* common/contract.h's tables as tuples of tuples of str, in the tables' order. */
static int add_table(PyObject *m, const char *name, const char *format, const char *const *rows,
                     size_t nrows, size_t width)
{
    PyObject *table = PyTuple_New((Py_ssize_t)nrows);
    for (size_t i = 0; table && i < nrows; i++) {
        const char *const *r = rows + i * width;
        PyObject *row = width == 4 ? Py_BuildValue(format, r[0], r[1], r[2], r[3])
                                   : Py_BuildValue(format, r[0], r[1], r[2], r[3], r[4]);
        if (!row) {
            Py_CLEAR(table);
            break;
        }
        PyTuple_SET_ITEM(table, (Py_ssize_t)i, row);
    }
    if (!table || PyModule_AddObject(m, name, table) < 0) {
        Py_XDECREF(table);
        return -1;
    }
    return 0;
}

static int add_contract(PyObject *m)
{
#define ROW4(id, name, kind, meaning) #id, name, #kind, meaning,
#define ROW5(id, prefix, suffix, kind, meaning) #id, prefix, suffix, #kind, meaning,
    static const char *const environment[] = {HM_ENVIRONMENT(ROW4)};
    static const char *const files[] = {HM_RESULT_FILES(ROW4)};
    static const char *const series[] = {HM_RESULT_SERIES(ROW5)};
    static const char *const watch[] = {HM_WATCH_FILES(ROW4)};
#undef ROW4
#undef ROW5
    return add_table(m, "ENVIRONMENT", "(ssss)", environment, HM_ENV_COUNT, 4) < 0 ||
                   add_table(m, "RESULT_FILES", "(ssss)", files, HM_RESULT_COUNT, 4) < 0 ||
                   add_table(m, "RESULT_SERIES", "(sssss)", series, HM_SERIES_COUNT, 5) < 0 ||
                   add_table(m, "WATCH_FILES", "(ssss)", watch, HM_WATCH_COUNT, 4) < 0
               ? -1
               : 0;
}

PyMODINIT_FUNC PyInit__heapmark(void)
{
    hm_engine_set_renderer(render_reports);
    hm_kind_walk_install();
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
    if (hm_census_add_to_module(m) < 0 || hm_tracking_add_to_module(m) < 0 ||
        hm_watch_add_to_module(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (add_contract(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddStringConstant(m, "__version__", HM_VERSION);
    return m;
}
