/*
 * hmcrash - a test extension that dies of a fatal signal on request, as a
 * buggy extension or library would: crash(kind, in_thread).
 *
 * kinds: "segv" (a write through NULL), "bus" (a read of a mapped file's
 * page past its end), "ill" (an undefined instruction), "fpe" (an integer
 * division by zero), "abrt" (abort()), "overflow" (a C recursion that runs
 * off the end of the thread's stack: SIGSEGV).  in_thread: the crash happens in a
 * native thread the extension starts (no Python frames), the calling
 * thread waiting for it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile int zero = 0, seven = 7;

static int deeper(volatile char *above)
{
    volatile char frame[1024];
    frame[0] = above ? above[0] : 1;
    if (zero == 0) /* always: the compiler need not know */
        return deeper(frame) + frame[1];
    return frame[0];
}

static void crash(const char *kind)
{
    if (strcmp(kind, "segv") == 0) {
        *(volatile int *)(uintptr_t)zero = 1;
    } else if (strcmp(kind, "bus") == 0) {
        FILE *f = tmpfile();
        if (!f)
            abort();
        volatile char *page =
            mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fileno(f), 0); /* 0 bytes long */
        if (page == MAP_FAILED)
            abort();
        page[0] = 1;
    } else if (strcmp(kind, "ill") == 0) {
        __builtin_trap();
    } else if (strcmp(kind, "overflow") == 0) {
        deeper(NULL);
    } else if (strcmp(kind, "fpe") == 0) {
        volatile int n = seven / zero; /* not 1 / x, which gcc turns into a comparison */
        (void)n;
    } else {
        abort();
    }
}

static void *crash_thread(void *kind)
{
    crash(kind);
    return NULL;
}

static PyObject *py_crash(PyObject *self, PyObject *args)
{
    const char *kind;
    int in_thread = 0;
    if (!PyArg_ParseTuple(args, "s|p", &kind, &in_thread))
        return NULL;
    static char copy[16];
    snprintf(copy, sizeof copy, "%s", kind);
    if (!in_thread) {
        crash(copy);
        Py_RETURN_NONE;
    }
    pthread_t t;
    Py_BEGIN_ALLOW_THREADS
    if (pthread_create(&t, NULL, crash_thread, copy) == 0)
        pthread_join(t, NULL);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"crash", py_crash, METH_VARARGS, "crash(kind, in_thread=False): dies of a fatal signal."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "hmcrash", NULL, -1, methods};

PyMODINIT_FUNC PyInit_hmcrash(void)
{
    return PyModule_Create(&module);
}
