/*
 * out_of_memory.c - budgets, threshold and the out-of-memory report (see out_of_memory.h).
 *
 * Owns: reading the budgets (text files: cgroup v2 memory.max and
 * memory.current, v1 memory.limit_in_bytes and memory.usage_in_bytes, both
 * less the reclaimable page cache in memory.stat; /proc/meminfo MemAvailable;
 * /proc/self/statm against RLIMIT_AS), turning them into a threshold in the profiler's own units
 * (tracked bytes now + the smallest headroom), and raising the alarm once.
 * Budgets are re-read by the monitor thread; between reads, the threshold
 * lets the allocation path notice at once an allocation that eats the
 * remaining headroom.
 * Raising it runs in the allocating thread: it releases the emergency
 * reserve, has the engine copy the tables, and wakes the monitor thread,
 * which writes the report (hm_oom_write_report).
 * Must never: raise the alarm twice, allocate from the tracked heap while
 * raising it (the copy is made with hm_tls.guard raised), or write a file,
 * touch SQLite or render a report inside the allocating call.
 */
#include "run/out_of_memory.h"
#include "run/engine.h"
#include "run/monitor.h"
#include "hotpath/call_tree.h"
#include "hotpath/recorder.h"
#include "common/ownmem.h"
#include "hotpath/stack_walk.h"
#include "hotpath/threads.h"
#include "hotpath/totals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define RESERVE_BYTES (4u << 20)
#define UNLIMITED (INT64_C(1) << 62)

static void alarm_crossed(int64_t now, int64_t bytes);
static void alarm_failed(size_t bytes);

static int64_t memory_limit;
static char root_dir[1024];
static char cgroup_dir[2048]; /* the memory controller's directory, "" if none */
static int cgroup_version;
static void *reserve;
static int raised;
static unsigned report_delay_ms;  /* HEAPMARK_TEST_OOM_REPORT_DELAY_MS: tests only */
static const char *threshold_why; /* the budget behind hm_alarm.threshold (a literal) */

static bool read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return true;
}

static int64_t read_number(const char *dir, const char *name)
{
    char path[3200], buf[64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!read_file(path, buf, sizeof buf))
        return -1;
    if (strncmp(buf, "max", 3) == 0)
        return UNLIMITED;
    return strtoll(buf, NULL, 10);
}

/* The value after "key" in a "key value" file (memory.stat, meminfo). */
static int64_t read_field(const char *path, const char *key)
{
    char buf[8192];
    if (!read_file(path, buf, sizeof buf))
        return -1;
    size_t n = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, n) == 0 && (line[n] == ' ' || line[n] == ':'))
            return strtoll(line + n + 1 + strspn(line + n + 1, " :"), NULL, 10);
    return -1;
}

static void find_cgroup(void)
{
    char path[1200], buf[4096];
    snprintf(path, sizeof path, "%s/proc/self/cgroup", root_dir);
    if (!read_file(path, buf, sizeof buf))
        return;
    /* v1: "N:memory:/path" (or "N:...,memory,...:/path"); v2: "0::/path". */
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *controllers = c1 + 1, *where = c2 + 1;
        if (strstr(controllers, "memory")) {
            snprintf(cgroup_dir, sizeof cgroup_dir, "%s/sys/fs/cgroup/memory%s", root_dir, where);
            cgroup_version = 1;
            return;
        }
        if (!controllers[0] && !cgroup_version) {
            snprintf(cgroup_dir, sizeof cgroup_dir, "%s/sys/fs/cgroup%s", root_dir, where);
            cgroup_version = 2;
        }
    }
}

void hm_oom_configure(int64_t limit, const char *root, unsigned delay_ms)
{
    memory_limit = limit;
    report_delay_ms = delay_ms;
    snprintf(root_dir, sizeof root_dir, "%s", root ? root : "");
    find_cgroup();
    reserve = hm_own_map(RESERVE_BYTES);
    __atomic_store_n(&hm_alarm.crossed, alarm_crossed, __ATOMIC_RELEASE);
    __atomic_store_n(&hm_alarm.failed, alarm_failed, __ATOMIC_RELEASE);
    if (memory_limit > 0)
        __atomic_store_n(&hm_alarm.threshold, memory_limit, __ATOMIC_RELAXED);
    hm_totals_refresh_attention();
}

/* Headroom left under each budget, in bytes; *why names the smallest. */
static int64_t headroom(const char **why)
{
    int64_t best = UNLIMITED;
    *why = NULL;
    if (cgroup_version) {
        bool v2 = cgroup_version == 2;
        int64_t max = read_number(cgroup_dir, v2 ? "memory.max" : "memory.limit_in_bytes");
        int64_t cur = read_number(cgroup_dir, v2 ? "memory.current" : "memory.usage_in_bytes");
        if (cur > 0) {
            /* The usage includes the page cache, which the kernel reclaims
             * before it kills anything (except tmpfs and shared memory):
             * a program reading big files is not running out. */
            char stat[3200];
            snprintf(stat, sizeof stat, "%s/memory.stat", cgroup_dir);
            int64_t cache = read_field(stat, v2 ? "file" : "total_cache");
            int64_t shmem = read_field(stat, v2 ? "shmem" : "total_shmem");
            int64_t reclaimable = cache - (shmem > 0 ? shmem : 0);
            if (cache > 0 && reclaimable > 0 && reclaimable < cur)
                cur -= reclaimable;
        }
        if (max > 0 && max < UNLIMITED && cur >= 0 && max / 10 * 9 - cur < best) {
            best = max / 10 * 9 - cur;
            *why = cgroup_version == 2 ? "the cgroup's memory.max" : "the cgroup's memory limit";
        }
    }
    char meminfo[1200];
    snprintf(meminfo, sizeof meminfo, "%s/proc/meminfo", root_dir);
    int64_t available = read_field(meminfo, "MemAvailable");
    int64_t total = read_field(meminfo, "MemTotal");
    if (available >= 0 && total > 0) {
        int64_t floor = total * 1024 / 50 > (100 << 20) ? total * 1024 / 50 : (100 << 20);
        if (available * 1024 - floor < best) {
            best = available * 1024 - floor;
            *why = "the memory available on this machine (MemAvailable)";
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        char statm[64];
        if (read_file("/proc/self/statm", statm, sizeof statm)) {
            int64_t vm = strtoll(statm, NULL, 10) * sysconf(_SC_PAGESIZE);
            int64_t room = (int64_t)(rl.rlim_cur / 10 * 9) - vm;
            if (room < best) {
                best = room;
                *why = "the address-space limit (RLIMIT_AS)";
            }
        }
    }
    return best;
}

/* Once: gives back the reserve, notes the report (engine.c copies the tables
 * as they stand at the crossing) and hands the writing to the monitor thread:
 * the allocation that raised the alarm returns as soon as the copy is taken. */
static void raise_alarm(const char *reason, int64_t bytes)
{
    if (__atomic_exchange_n(&raised, 1, __ATOMIC_ACQ_REL))
        return;
    __atomic_store_n(&hm_alarm.threshold, INT64_MAX, __ATOMIC_RELAXED);
    hm_totals_refresh_attention();
    size_t released = reserve ? RESERVE_BYTES : 0;
    if (reserve)
        hm_own_unmap(reserve, RESERVE_BYTES);
    reserve = NULL;
    hm_engine_note_out_of_memory(reason, bytes, released);
    /* No monitor thread (the interpreter is not ready yet): the end of the
     * run writes the report. */
    hm_monitor_wake_for_out_of_memory();
}

void hm_oom_write_report(void)
{
    if (report_delay_ms) {
        struct timespec delay = {report_delay_ms / 1000, (long)(report_delay_ms % 1000) * 1000000};
        nanosleep(&delay, NULL);
    }
    hm_engine_write_out_of_memory();
}

void hm_oom_poll(void)
{
    if (__atomic_load_n(&raised, __ATOMIC_RELAXED))
        return;
    const char *why;
    int64_t room = headroom(&why);
    int64_t tracked = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    int64_t threshold = memory_limit > 0 ? memory_limit : INT64_MAX;
    const char *threshold_from = memory_limit > 0 ? "--memory-limit" : NULL;
    if (why && room < UNLIMITED && tracked + room < threshold) {
        threshold = tracked + room;
        threshold_from = why;
    }
    __atomic_store_n(&threshold_why, threshold_from, __ATOMIC_RELAXED);
    __atomic_store_n(&hm_alarm.threshold, threshold, __ATOMIC_RELAXED);
    hm_totals_refresh_attention();
    if (why && room <= 0) {
        char reason[256];
        snprintf(reason, sizeof reason, "close to %s", why);
        raise_alarm(reason, 0);
    }
}

static void alarm_crossed(int64_t now, int64_t bytes)
{
    char reason[256];
    if (memory_limit > 0 && now > memory_limit)
        snprintf(reason, sizeof reason,
                 "tracked memory reached %lld bytes, over --memory-limit %lld", (long long)now,
                 (long long)memory_limit);
    else {
        const char *why = __atomic_load_n(&threshold_why, __ATOMIC_RELAXED);
        snprintf(reason, sizeof reason, "tracked memory reached %lld bytes, close to %s",
                 (long long)now, why ? why : "the memory the process may use");
    }
    raise_alarm(reason, bytes);
}

static void alarm_failed(size_t bytes)
{
    char reason[128];
    snprintf(reason, sizeof reason, "an allocation of %zu bytes failed", bytes);
    raise_alarm(reason, (int64_t)bytes);
}
