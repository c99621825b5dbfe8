/*
 * follow.c - the environment of a followed exec'd child (see follow.h).
 *
 * Owns: the strings prepared at start-up (engine library, boot directory,
 * profile template, settings) and their combination, at exec time, with the
 * LD_PRELOAD and PYTHONPATH the child would have had: the engine goes in
 * front and the originals are passed on (HEAPMARK_PRELOAD,
 * HEAPMARK_PYTHONPATH) for the child to restore, as heapmark run does.  Every
 * HEAPMARK_* variable of the caller's environment is dropped; the names are
 * common/contract.h's.
 * Must never: call malloc, stdio or anything that locks: everything at exec
 * time is copied by hand into the caller's stack buffer.
 */
#include "run/follow.h"
#include "run/kind_walks.h"
#include "run/allocators.h"
#include "common/contract.h"

#include <dlfcn.h>
#include "run/timeline.h"

#include <stdio.h>
#include <string.h>

static bool follow_spawn = true, follow_exec;
static char engine_path[4096];
static char boot_dir[4096];
static char fixed[10][4200]; /* PROFILE, RATE, SEED, CHECKPOINT, FOLLOW, BOOT, TIMELINE_MS,
                                    KINDS, NATIVE, ALLOCATORS (common/contract.h) */
static int nfixed;

void hm_follow_configure(const char *follow, const char *boot, const char *results_dir,
                         uint64_t rate, uint64_t seed, unsigned checkpoint_seconds, bool native)
{
    follow_spawn = !follow || strstr(follow, "spawn") != NULL;
    follow_exec = follow && strstr(follow, "exec") != NULL;
    Dl_info info;
    if (dladdr((void *)hm_follow_configure, &info) && info.dli_fname)
        snprintf(engine_path, sizeof engine_path, "%s", info.dli_fname);
    snprintf(boot_dir, sizeof boot_dir, "%s", boot ? boot : "");
    nfixed = 0;
#define FIXED(id, format, ...) \
    snprintf(fixed[nfixed++], sizeof fixed[0], "%s=" format, hm_env_name(HM_ENV_##id), __VA_ARGS__)
    FIXED(PROFILE, "%s/%s%%p%s", results_dir, hm_series_prefix(HM_SERIES_CHILD_PROFILE),
          hm_series_suffix(HM_SERIES_CHILD_PROFILE));
    FIXED(RATE, "%llu", (unsigned long long)rate);
    FIXED(SEED, "%llu", (unsigned long long)seed);
    FIXED(CHECKPOINT, "%u", checkpoint_seconds);
    FIXED(FOLLOW, "%s", follow ? follow : "fork,spawn");
    FIXED(BOOT, "%s", boot_dir);
    FIXED(TIMELINE_MS, "%u", hm_timeline_interval_ms());
    FIXED(KINDS, "%g", 100 * hm_kind_walks_share());
    FIXED(NATIVE, "%d", native ? 1 : 0);
    if (hm_allocators_run_did()[0])
        FIXED(ALLOCATORS, "%s", hm_allocators_run_did());
#undef FIXED
}

static bool contains(const char *s, const char *part)
{
    return s && strstr(s, part) != NULL;
}

bool hm_follow_wanted(const char *path, char *const argv[])
{
    (void)path;
    if (!engine_path[0] || !boot_dir[0])
        return false;
    if (follow_exec)
        return true;
    if (!follow_spawn || !argv)
        return false;
    /* multiprocessing's spawn children and its fork server (whose workers are
     * forked from it, and followed as forks); not its resource tracker. */
    for (size_t i = 0; argv[i]; i++)
        if (strcmp(argv[i], "--multiprocessing-fork") == 0 ||
            contains(argv[i], "multiprocessing.forkserver import main"))
            return true;
    return false;
}

static const char *value_of(char *const envp[], const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

static bool ours(const char *entry)
{
    return strncmp(entry, HM_ENV_PREFIX, sizeof HM_ENV_PREFIX - 1) == 0 ||
           strncmp(entry, "LD_PRELOAD=", 11) == 0 || strncmp(entry, "PYTHONPATH=", 11) == 0;
}

size_t hm_follow_space(char *const envp[])
{
    const char *preload = value_of(envp, "LD_PRELOAD");
    const char *pythonpath = value_of(envp, "PYTHONPATH");
    size_t p = preload ? strlen(preload) : 0, pp = pythonpath ? strlen(pythonpath) : 0;
    /* LD_PRELOAD=engine:preload, HEAPMARK_PRELOAD=preload, PYTHONPATH=boot:pp,
     * HEAPMARK_PYTHONPATH=pp, HEAPMARK_PARENT=pid */
    return 2 * p + 2 * pp + strlen(engine_path) + strlen(boot_dir) + 160;
}

/* Appends the NUL-terminated concatenation of parts into *space; returns it. */
static char *join(char **space, const char *a, const char *b, const char *c)
{
    char *start = *space, *o = start;
    for (const char *parts[3] = {a, b, c}, **q = parts; q < parts + 3; q++)
        for (const char *s = *q; s && *s; s++)
            *o++ = *s;
    *o++ = '\0';
    *space = o;
    return start;
}

void hm_follow_env(char *const envp[], char **out, char *space, int pid)
{
    const char *preload = value_of(envp, "LD_PRELOAD");
    const char *pythonpath = value_of(envp, "PYTHONPATH");
    size_t n = 0;
    for (size_t i = 0; envp && envp[i]; i++)
        if (!ours(envp[i]))
            out[n++] = envp[i];
    /* A variable set to "" is passed on as set: the child restores it so. */
    out[n++] = join(&space, "LD_PRELOAD=", engine_path, preload && *preload ? ":" : "");
    if (preload) {
        space--; /* continue the same string */
        join(&space, preload, NULL, NULL);
        out[n++] = join(&space, hm_env_name(HM_ENV_PRELOAD), "=", preload);
    }
    out[n++] = join(&space, "PYTHONPATH=", boot_dir, pythonpath && *pythonpath ? ":" : "");
    if (pythonpath) {
        space--;
        join(&space, pythonpath, NULL, NULL);
        out[n++] = join(&space, hm_env_name(HM_ENV_PYTHONPATH), "=", pythonpath);
    }
    for (int i = 0; i < nfixed; i++)
        out[n++] = fixed[i];
    char digits[24], *d = digits + sizeof digits - 1;
    *d = '\0';
    unsigned v = (unsigned)pid;
    do
        *--d = (char)('0' + v % 10);
    while (v /= 10);
    out[n++] = join(&space, hm_env_name(HM_ENV_PARENT), "=", d);
    out[n] = NULL;
}
