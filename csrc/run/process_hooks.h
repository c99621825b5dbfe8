/*
 * process_hooks.h - the exits, exec and posix_spawn, as the run sees them.
 *
 * Owns: the start-up of the real execve and posix_spawn functions.
 * Must never: be needed by the hot path (allocation hooks are hotpath/).
 */
#ifndef HM_PROCESS_HOOKS_H
#define HM_PROCESS_HOOKS_H

#include "common/common.h"

/* Once, at engine start-up (before that, exec goes to the system call and
 * posix_spawn answers ENOSYS: no program spawns before the constructor). */
void hm_process_hooks_resolve(void);

#endif
