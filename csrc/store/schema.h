/*
 * schema.h - the profile file: one SQLite database per profiled process.
 *
 * Owns: the schema, written by writer.c and read by reader.c.
 * The same schema, with examples, is in docs/profile-format.md; change both.
 * Must never: change a table's meaning without raising HM_STORE_FORMAT_VERSION,
 * or accept in the reader what the writer could not have written.
 *
 *   PRAGMA application_id = 0x484D4B31 ("HMK1");  PRAGMA user_version = 1
 *
 *   meta(key TEXT PRIMARY KEY, value)            run metadata, one row per key:
 *       format_version, heapmark_version, status ('exit', 'os._exit',
 *       'signal SIGTERM', 'exec', 'checkpoint', 'snapshot', 'out of memory'), command,
 *       cwd, pid, parent_pid (0: the run's main process), python, start_unix,
 *       duration_s, mode ('sampled'|'exact'), sample_rate (bytes; 1 = exact),
 *       seed, peak_bytes, peak_at_s, peak_rss_bytes, end_bytes,
 *       peak_pymalloc_free_bytes, end_pymalloc_free_bytes,
 *       heapmark_overhead_bytes, pymalloc_layout_ok, python_hooks_late;
 *       out-of-memory reports add oom_reason, oom_bytes, oom_function,
 *       oom_file, oom_line.  The keys in HM_STORE_NUMERIC_META hold
 *       non-negative numbers; the reader refuses a profile where they do not.
 *   strings(id INTEGER PRIMARY KEY, text TEXT)   every name, file and source line
 *   frames(id, function, file, line, source, pseudo)
 *       function/file/source -> strings.id (source may be NULL);
 *       pseudo = 1 for heapmark's own entries such as [pymalloc free space]
 *   nodes(id INTEGER PRIMARY KEY, parent, frame)
 *       the call tree; node 0 is the root (parent and frame NULL); a node's
 *       parent always has a smaller id; siblings have distinct frames
 *   snapshots(id INTEGER PRIMARY KEY, name, at_s, total_bytes)
 *       1 'peak' (total_bytes = exact peak), 2 'end' (exact total at exit),
 *       3 'allocated' (total_bytes = sum of the estimates)
 *   node_values(snapshot, node, bytes, count)   PRIMARY KEY (snapshot, node)
 *       bytes and allocation count attributed to exactly this node ("self");
 *       a node's total is the sum over its subtree.  Estimates in sampled
 *       mode, exact in exact mode; absent rows are zero.
 *   timeline(t, tracked, rss)                   memory over time (timeline.c): seconds
 *       since start, exact tracked bytes, resident bytes; at most 4096 rows
 *   gc_runs(t_start, t_end, generation, tracked_before, tracked_after)
 *       the collector's longest runs (all are counted in meta gc_collections)
 *   phases(name, t_start, t_end, depth)          heapmark.phase(); t_end NULL if open
 *   meta adds timeline_interval_s, gc_collections, gc_seconds, phases_dropped
 *   view frame_text(id, function, file, line, source): frames with strings resolved
 *
 * Optional tables (profiles written before the timeline have none; the
 * reader then has an empty timeline):
 *   timeline(t REAL NOT NULL, tracked INTEGER NOT NULL, rss INTEGER NOT NULL)
 *       seconds since the start (ascending in storage order), exact tracked
 *       bytes, resident set bytes; at most HM_STORE_MAX_TIMELINE rows
 *   gc_runs(t_start REAL NOT NULL, t_end REAL NOT NULL, generation INTEGER NOT NULL,
 *           tracked_before INTEGER NOT NULL, tracked_after INTEGER NOT NULL)
 *       one row per collection, generation 0..HM_STORE_MAX_GC_GENERATION
 *   phases(name TEXT NOT NULL, t_start REAL NOT NULL, t_end REAL, depth INTEGER NOT NULL)
 *       heapmark.phase(): t_end NULL for a phase still open at the end (the
 *       reader takes duration_s); depth 0 is the outermost
 */
#ifndef HM_STORE_H
#define HM_STORE_H

#include "common/common.h"

#define HM_STORE_APPLICATION_ID 0x484D4B31
#define HM_STORE_FORMAT_VERSION 1

#define HM_STORE_NUMERIC_META                                                              \
    "format_version", "pid", "parent_pid", "start_unix", "duration_s", "sample_rate",    \
        "peak_bytes", "peak_at_s", "peak_rss_bytes", "end_bytes", "peak_pymalloc_free_bytes", \
        "end_pymalloc_free_bytes", "heapmark_overhead_bytes", "pymalloc_layout_ok",       \
        "python_hooks_late", "oom_bytes", "oom_line", "timeline_interval_s", "gc_collections", \
        "gc_seconds", "phases_dropped"

/* Bounds the reader puts on the optional tables: far above what the engine
 * writes, low enough that a damaged file cannot make a report unreadable. */
#define HM_STORE_MAX_TIMELINE 100000
#define HM_STORE_MAX_GC_RUNS 1000000
#define HM_STORE_MAX_PHASES 100000
#define HM_STORE_MAX_PHASE_DEPTH 255
#define HM_STORE_MAX_GC_GENERATION 2
#define HM_STORE_MAX_SECONDS 3.2e9     /* a century */

enum { HM_SNAP_PEAK = 1, HM_SNAP_END = 2, HM_SNAP_ALLOCATED = 3, HM_SNAP_COUNT = 3 };

/* The run's figures, as the writer puts them in meta (filled by run/engine.c). */
typedef struct {
    const char *profile_path;
    const char *status;            /* how the run ended, or "checkpoint", "snapshot" */
    const char *command;
    const char *cwd;
    const char *python_version;
    int pid;
    int parent_pid;                /* 0 for the process heapmark run started */
    bool exact;
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
    uint64_t overhead_bytes;       /* heapmark's own tables at their largest */
    uint64_t live_records_at_end;
    bool pymalloc_layout_ok;
    const char *oom_reason;        /* an out-of-memory report: why, or NULL */
    int64_t oom_bytes;             /* the allocation that crossed the line or failed */
    uint32_t oom_node;             /* its stack (engine node), HM_NONE if unknown */
    bool python_hooks_late;         /* PYTHONMALLOC replaced the hooks; put back at start-up */
    const struct hm_timeline_data *timeline;   /* memory over time, GC runs, phases */
} hm_run_info;

struct hm_capture;
bool hm_store_write(const struct hm_capture *cap, const hm_run_info *info, char *err,
                    size_t errlen);

#endif
