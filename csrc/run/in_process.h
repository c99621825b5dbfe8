/*
 * in_process.h - tracking started and stopped by the program itself
 * (heapmark.track(), heapmark.start()/stop(), the Jupyter magic), in an
 * interpreter heapmark run did not launch.
 *
 * Owns: the order in which an in-process run switches on and off: the
 * engine's tables, the Python allocator hooks, the relocations of every
 * loaded object, the monitor thread (timeline and checkpoints; no signal
 * handlers: the host's signals are its own).
 * Must never: be called without the GIL, or leave a hook installed after a
 * stop that it could put back.
 */
#ifndef HM_IN_PROCESS_H
#define HM_IN_PROCESS_H

#include "common/common.h"
#include "store/schema.h"

typedef struct {
    const char *profile_path;
    uint64_t sample_rate; /* 1: exact */
    uint64_t seed;        /* 0: random */
    unsigned checkpoint_seconds;
} hm_track_config;

/* False with err filled: under heapmark run, already tracking, an allocator
 * that is not glibc's.  Nothing stays installed then. */
bool hm_track_start(const hm_track_config *config, char *err, size_t errlen);
/* One of run/engine.h's HM_END_*; *info holds the run's figures. */
int hm_track_stop(hm_run_info *info, char *err, size_t errlen);

#endif
