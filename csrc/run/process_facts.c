/*
 * process_facts.c - small readings of the engine's own process (see
 * process_facts.h).
 *
 * Owns: the environment copies, /proc/self/cmdline, getrusage.
 * Must never: run inside a hook.
 */
#include "run/process_facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void hm_copy_env(char *dst, size_t size, const char *name)
{
    const char *v = getenv(name);
    snprintf(dst, size, "%s", v ? v : "");
}

void hm_expand_pid(char *path, size_t size)
{
    char *at = strstr(path, "%p");
    if (!at)
        return;
    char rest[4096];
    snprintf(rest, sizeof rest, "%s", at + 2);
    snprintf(at, size - (size_t)(at - path), "%d%s", (int)getpid(), rest);
}

void hm_read_command_line(char *dst, size_t size)
{
    FILE *f = fopen("/proc/self/cmdline", "rb");
    size_t n = f ? fread(dst, 1, size - 1, f) : 0;
    if (f)
        fclose(f);
    for (size_t i = 0; i + 1 < n; i++)
        if (dst[i] == '\0')
            dst[i] = ' ';
    dst[n] = '\0';
}

double hm_seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

int64_t hm_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (int64_t)ru.ru_maxrss * 1024;
}
