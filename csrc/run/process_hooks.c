/*
 * process_hooks.c - interposed _exit/_Exit, execve/execv and
 * posix_spawn/posix_spawnp: the moments a process ends or becomes another
 * program, which the run must see.
 *
 * Owns: writing the profile before os._exit ends the process without exit
 * handlers, the profile before an exec, and the environment that makes a
 * followed child profile itself (follow.c builds it).
 * Must never: allocate or lock in the child of a vfork (it borrows the
 * parent's memory until it execs), or touch a process heapmark is not
 * profiling.  These are not allocation hooks: they live with the run, and
 * the hot path knows nothing of them.
 */
#include "run/process_hooks.h"
#include "run/engine.h"
#include "run/follow.h"

#include "common/elf_symbols.h"

#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*posix_spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                              const posix_spawnattr_t *, char *const[], char *const[]);

static execve_fn real_execve;
static posix_spawn_fn real_posix_spawn, real_posix_spawnp;

void hm_process_hooks_resolve(void)
{
    real_execve = (execve_fn)hm_lookup(RTLD_NEXT, "execve");
    real_posix_spawn = (posix_spawn_fn)hm_lookup(RTLD_NEXT, "posix_spawn");
    real_posix_spawnp = (posix_spawn_fn)hm_lookup(RTLD_NEXT, "posix_spawnp");
}

/* ---- process exit --------------------------------------------------------- */

/* os._exit() ends the process without exit handlers (multiprocessing's forked
 * children end this way): write the profile first.  In a vfork child, or any
 * process heapmark is not profiling, hm_engine_finish does nothing. */
HM_EXPORT void _exit(int status)
{
    char err[512];
    if (!hm_engine_finish("os._exit", err, sizeof err))
        fprintf(stderr, "heapmark: error: %s\n", err);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

HM_EXPORT void _Exit(int status)
{
    _exit(status);
}

/* ---- exec ---------------------------------------------------------------- */

/* Often called in the child of a vfork: nothing here allocates. */
static int exec_real(const char *path, char *const argv[], char *const envp[])
{
    if (real_execve)
        return real_execve(path, argv, envp);
    return (int)syscall(SYS_execve, path, argv, envp);
}

HM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    /* In the child of a vfork the pid is the child's but the memory, and so
     * the engine's state, the parent's: ask whether this memory profiles. */
    hm_engine_before_exec();
    if (!hm_engine_profiling() || !hm_follow_wanted(path, argv))
        return exec_real(path, argv, envp);
    size_t n = 0;
    while (envp && envp[n])
        n++;
    char *env[n + HM_FOLLOW_VARS + 1];
    char space[hm_follow_space(envp)];
    hm_follow_env(envp, env, space, (int)getppid());
    return exec_real(path, argv, env);
}

HM_EXPORT int execv(const char *path, char *const argv[])
{
    extern char **environ;
    return execve(path, argv, environ);
}

/* glibc's posix_spawn execs with its internal execve, which no hook sees;
 * subprocess uses it from Python 3.13 on.  This runs in the parent. */
static int spawn_followed(posix_spawn_fn real, bool file_search, pid_t *pid, const char *path,
                          const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
                          char *const argv[], char *const envp[])
{
    if (!real) {
        /* In the parent (posix_spawn is no vfork child): a process whose
         * engine never started - the heapmark command itself, a wrapper -
         * still spawns through libc's. */
        hm_process_hooks_resolve();
        real = file_search ? real_posix_spawnp : real_posix_spawn;
    }
    if (!real)
        return ENOSYS;
    if (!hm_engine_profiling() || !hm_follow_wanted(path, argv))
        return real(pid, path, actions, attr, argv, envp);
    size_t n = 0;
    while (envp && envp[n])
        n++;
    char *env[n + HM_FOLLOW_VARS + 1];
    char space[hm_follow_space(envp)];
    hm_follow_env(envp, env, space, (int)getpid());
    return real(pid, path, actions, attr, argv, env);
}

HM_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return spawn_followed(real_posix_spawn, false, pid, path, actions, attr, argv, envp);
}

HM_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return spawn_followed(real_posix_spawnp, true, pid, file, actions, attr, argv, envp);
}
