/*
 * schema.h - the profile file: one SQLite database per profiled process.
 *
 * Owns: the format's identity (application id, format version), the limits
 * the reader puts on a profile, and hm_run_info, what a run tells the writer.
 * The tables themselves are in schema.sql, the one source: setup.py compiles
 * it in (and refuses to build if its PRAGMAs and the two numbers below
 * differ), writer.c runs it, docs/profile-format.md describes it, and
 * tests/test_profile_format.py checks that description.
 * Must never: change a table's meaning without raising HM_STORE_FORMAT_VERSION
 * (here and in schema.sql), or accept in the reader what the writer could not
 * have written.
 */
#ifndef HM_STORE_H
#define HM_STORE_H

#include "common/common.h"

#define HM_STORE_APPLICATION_ID 0x484D4B31
#define HM_STORE_FORMAT_VERSION 1

#define HM_STORE_NUMERIC_META                                                                  \
    "format_version", "pid", "parent_pid", "start_unix", "duration_s", "sample_rate",          \
        "peak_bytes", "peak_at_s", "peak_rss_bytes", "end_bytes", "peak_pymalloc_free_bytes",  \
        "end_pymalloc_free_bytes", "heapmark_overhead_bytes", "pymalloc_layout_ok",            \
        "python_hooks_late", "oom_bytes", "oom_line", "timeline_interval_s", "gc_collections", \
        "gc_seconds", "phases_dropped", "job_start_s", "job_candidate_generation",             \
        "job_candidate_at_s", "job_peak_bytes", "job_peak_at_s", "job_peak_generation",        \
        "job_interval_s", "job_processes_dropped", "crash_signal", "crash_line", "crash_node"

/* Bounds the reader puts on the optional tables: far above what the engine
 * writes, low enough that a damaged file cannot make a report unreadable. */
#define HM_STORE_MAX_TIMELINE 100000
#define HM_STORE_MAX_GC_RUNS 1000000
#define HM_STORE_MAX_PHASES 100000
#define HM_STORE_MAX_NODE_KINDS 50000000
#define HM_STORE_MAX_PHASE_DEPTH 255
#define HM_STORE_MAX_GC_GENERATION 2
#define HM_STORE_MAX_SECONDS 3.2e9 /* a century */

#define HM_STORE_MAX_JOB_PROCESSES 100000
#define HM_STORE_MAX_JOB_ROWS 10000000

/* job-peak: what this process held at the combined peak of the run's
 * processes (run/job.c); only in profiles of a run with more than one. */
enum {
    HM_SNAP_PEAK = 1,
    HM_SNAP_END = 2,
    HM_SNAP_ALLOCATED = 3,
    HM_SNAP_JOB_PEAK = 4,
    HM_SNAP_COUNT = 4
};

/* The run's figures, as the writer puts them in meta (filled by run/engine.c). */
typedef struct {
    const char *profile_path;
    const char *status; /* how the run ended, or "checkpoint", "snapshot" */
    const char *command;
    const char *cwd;
    const char *python_version;
    int pid;
    int parent_pid; /* 0 for the process heapmark run started */
    bool exact;
    bool native_stacks; /* --native: native frames recorded */
    uint64_t sample_rate;
    uint64_t seed;
    double start_unix;
    double duration_s;
    int64_t peak_bytes;
    double peak_at_s;
    int64_t peak_pymalloc_free;
    int64_t end_bytes;
    int64_t end_pymalloc_free;
    int64_t peak_rss_bytes;
    uint64_t overhead_bytes; /* heapmark's own tables at their largest */
    uint64_t live_records_at_end;
    bool pymalloc_layout_ok;
    const char *oom_reason; /* an out-of-memory report: why, or NULL */
    int64_t oom_bytes;      /* the allocation that crossed the line or failed */
    uint32_t oom_node;      /* its stack (engine node), HM_NONE if unknown */
    bool python_hooks_late; /* PYTHONMALLOC replaced the hooks; put back at start-up */
    int crash_signal;       /* a fatal signal's profile (run/crash.c): its number, else 0 */
    uint32_t crash_node;    /* the crashed thread's stack (engine node), HM_NONE if unknown */
    const struct hm_timeline_data *timeline; /* memory over time, GC runs, phases */
    const struct hm_job_info *job;           /* the run's processes as one (run/job.h) */
    /* Libraries' own allocators (run/allocators.h): ARROW_DEFAULT_MEMORY_POOL
     * as the environment has it, what heapmark run did to it ("set", "kept",
     * "caller", ""), and which such libraries were loaded ("pyarrow,polars"). */
    const char *arrow_pool;
    const char *allocators;
    const char *own_allocators;
} hm_run_info;

struct hm_capture;
bool hm_store_write(const struct hm_capture *cap, const hm_run_info *info, char *err,
                    size_t errlen);

#endif
