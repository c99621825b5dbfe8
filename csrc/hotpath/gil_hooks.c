/*
 * gil_hooks.c - the GIL's release and return around an extension's call
 * (see gil_hooks.h).
 *
 * Owns: forwarding to the interpreter's PyEval_SaveThread and
 * PyEval_RestoreThread, marking the thread as waiting in between.
 * Must never: be called before hm_gil_hooks_resolve found the real
 * functions (relocations.c writes the hooks only after), or mark a thread
 * while recording is off.
 */
#include "hotpath/gil_hooks.h"
#include "hotpath/recorder.h"
#include "hotpath/waiting_calls.h"
#include "common/elf_symbols.h"

#include <dlfcn.h>

static void *(*real_save)(void);
static void (*real_restore)(void *);

bool hm_gil_hooks_resolve(void)
{
    if (real_save && real_restore)
        return true;
    real_save = (void *(*)(void))hm_lookup(RTLD_DEFAULT, "PyEval_SaveThread");
    real_restore = (void (*)(void *))hm_lookup(RTLD_DEFAULT, "PyEval_RestoreThread");
    return real_save && real_restore;
}

static void *save_thread(void)
{
    void *tstate = real_save();
    if (tstate && hm_recording())
        hm_waiting_enter(tstate);
    return tstate;
}

static void restore_thread(void *tstate)
{
    hm_waiting_leave();
    real_restore(tstate);
}

const hm_gil_hook_entry hm_gil_hooks[] = {
    {"PyEval_SaveThread", (void *)save_thread},
    {"PyEval_RestoreThread", (void *)restore_thread},
};
const size_t hm_gil_hook_count = HM_ARRAY_LEN(hm_gil_hooks);
