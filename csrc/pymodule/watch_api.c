/*
 * watch_api.c - the module's face for `heapmark top PID`
 * (src/heapmark/cli/top.py): reading a profiled process's live files and
 * asking it for fresh ones (run/watch.h).
 *
 * Owns: argument conversion only.
 * Must never: decide anything: what a state means to the user, and how
 * often to ask, are the command's; the format is run/watch.c's.
 */
#include "pymodule/pymodule.h"
#include "run/watch.h"

/* (status, state): status "ok" with a dict, "ended", "not profiled", or
 * "unreadable" with the reason. */
static PyObject *py_watch_read(PyObject *self, PyObject *args)
{
    (void)self;
    int pid;
    if (!PyArg_ParseTuple(args, "i", &pid))
        return NULL;
    hm_watch_state *s = PyMem_Malloc(sizeof *s);
    if (!s)
        return PyErr_NoMemory();
    char err[1024];
    int status;
    Py_BEGIN_ALLOW_THREADS status = hm_watch_read(pid, s, err, sizeof err);
    Py_END_ALLOW_THREADS PyObject *result = NULL;
    if (status == HM_WATCHED_ENDED) {
        result = Py_BuildValue("(sz)", "ended", NULL);
    } else if (status == HM_WATCHED_NOT_PROFILED) {
        result = Py_BuildValue("(sz)", "not profiled", NULL);
    } else if (status == HM_WATCHED_UNREADABLE) {
        result = Py_BuildValue("(ss)", "unreadable", err);
    } else {
        PyObject *points = PyList_New((Py_ssize_t)s->npoints);
        for (size_t i = 0; points && i < s->npoints; i++) {
            PyObject *point =
                Py_BuildValue("(dLL)", s->points[i].t, (long long)s->points[i].tracked,
                              (long long)s->points[i].rss);
            if (!point) {
                Py_CLEAR(points);
                break;
            }
            PyList_SET_ITEM(points, (Py_ssize_t)i, point);
        }
        if (points)
            result = Py_BuildValue("(s{s:i,s:d,s:L,s:L,s:L,s:L,s:K,s:K,s:d,s:s,s:s,s:s,s:N})", "ok",
                                   "pid", s->pid, "t", s->t, "tracked", (long long)s->tracked,
                                   "peak", (long long)s->peak, "rss", (long long)s->rss, "peak_rss",
                                   (long long)s->peak_rss, "seq", (unsigned long long)s->seq,
                                   "now_seq", (unsigned long long)s->now_seq, "now_ms", s->now_ms,
                                   "profile", s->profile, "command", s->command, "now_profile",
                                   s->now_path, "timeline", points);
    }
    PyMem_Free(s);
    return result;
}

static PyObject *py_watch_request(PyObject *self, PyObject *args)
{
    (void)self;
    int pid;
    if (!PyArg_ParseTuple(args, "i", &pid))
        return NULL;
    return PyBool_FromLong(hm_watch_request(pid));
}

static PyMethodDef watch_methods[] = {
    {"_watch_read", py_watch_read, METH_VARARGS,
     "_watch_read(pid) -> (status, state): a profiled process's live file, for heapmark top."},
    {"_watch_request", py_watch_request, METH_VARARGS,
     "_watch_request(pid) -> bool: asks the process for fresh live files."},
    {NULL, NULL, 0, NULL},
};

int hm_watch_add_to_module(PyObject *m)
{
    return PyModule_AddFunctions(m, watch_methods);
}
