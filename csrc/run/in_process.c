/*
 * in_process.c - switching an in-process run on and off (see in_process.h).
 *
 * Owns: the order of the steps, which is what keeps the totals true:
 *   start: the engine first (tables cleared, recording on, known_blocks
 *   marking), then the hooks - so that no hooked call happens while not
 *   recording, which would leave its thread's sampler idle;
 *   stop: the monitor thread parked (no tick, no checkpoint racing the
 *   last write, nothing left running after the stop), the final profile,
 *   with the hooks still in place (the span ends at the call), then the
 *   relocations and the Python allocators are put back.
 * Must never: run Python code, or stay half-started: a start that fails
 * after the engine began ends it without writing.
 */
#include "run/in_process.h"
#include "hotpath/python_hooks.h"
#include "run/engine.h"
#include "run/monitor.h"
#include "run/relocations.h"
#include "run/watch.h"
#include "hotpath/waiting_calls.h"

#include <stdio.h>

bool hm_track_start(const hm_track_config *c, char *err, size_t errlen)
{
    err[0] = '\0';
    if (!hm_engine_begin_in_process(c->profile_path, c->sample_rate, c->seed, c->checkpoint_seconds,
                                    err, errlen))
        return false;
    hm_pyhooks_install_in_process();
    hm_engine_note_pool_layout(hm_pyhooks_selfcheck());
    hm_waiting_new_session();
    if (!hm_relocations_redirect(err, errlen)) {
        hm_pyhooks_uninstall();
        hm_engine_abandon_in_process();
        return false;
    }
    hm_monitor_start(c->checkpoint_seconds, false);
    return true;
}

int hm_track_stop(hm_run_info *info, char *err, size_t errlen)
{
    hm_monitor_pause();
    int result = hm_engine_end_in_process(info, err, errlen);
    hm_watch_close();
    hm_relocations_restore();
    hm_pyhooks_uninstall();
    return result;
}
