/*
 * profile.h - a stored profile loaded for reporting.
 *
 * Owns: the in-memory model every report reads: frames with their strings,
 * the call tree with children lists, self and total values per snapshot, the
 * run metadata, and the timeline (memory over time, GC runs, phases).
 * Must never: be used inside a profiled process's hooks (it uses the
 * ordinary heap), or be modified by a report.
 */
#ifndef HM_PROFILE_H
#define HM_PROFILE_H

#include "common/common.h"
#include "store/schema.h"

typedef struct {
    const char *function;
    const char *file;
    const char *source;  /* stripped source line, "" if unknown */
    const char *library; /* a native frame's object (--native); NULL for others */
    int32_t line;
    bool pseudo;
} hm_pframe;

typedef struct {
    uint32_t parent;      /* HM_NONE for the root */
    uint32_t frame;       /* HM_NONE for the root */
    uint32_t first_child; /* HM_NONE if leaf; children by decreasing peak total */
    uint32_t next_sibling;
    uint32_t depth;
} hm_pnode;

typedef struct {
    int64_t bytes;
    int64_t count;
} hm_value;

typedef struct {
    char *key;
    char *value;
} hm_meta;

/* Memory over time (optional tables; a profile without them has none). */
typedef struct {
    double t;        /* seconds since the run started, ascending */
    int64_t tracked; /* exact tracked bytes */
    int64_t rss;     /* resident set bytes */
} hm_tpoint;

typedef struct {
    double t_start, t_end;
    int generation;
    int64_t tracked_before, tracked_after;
} hm_gc_run;

typedef struct {
    char *name;
    double t_start;
    double t_end; /* the run's duration for a phase still open at the end */
    int depth;    /* nesting level, 0 outermost */
    bool open;    /* t_end was NULL: still open when the profile was written */
} hm_phase;

/* A run of several processes on one clock (job_tables.c): the main
 * profile's job_processes and job_timeline. */
typedef struct {
    int pid, parent_pid;
    char *command;
    double t_start;
    double t_end; /* < 0: still running when written */
} hm_job_proc;

typedef struct {
    double t; /* on the job's clock */
    int pid;
    int64_t tracked, rss;
} hm_job_sample;

/* One profiled process (a profile merged from several has one per part). */
/* A node's bytes of one kind at a walk (kind_walks, node_kinds). */
typedef struct {
    uint32_t node;
    const char *kind; /* one of the profile's strings */
    int64_t bytes, count;
    int64_t attributes, float_items, duplicate_bytes; /* for advice (schema.sql) */
} hm_node_kind;

typedef struct {
    bool present;
    double at_s, seconds;
    int64_t tracked_bytes, objects;
    hm_node_kind *rows; /* by node */
    size_t nrows;
} hm_kind_walk_data;

typedef struct {
    const char *path;
    const char *command;
    const char *status;
    int pid;
    int parent_pid;
    int64_t peak_bytes;
    int64_t peak_rss_bytes;
    int64_t end_bytes;
    double duration_s;
} hm_process;

typedef struct hm_profile_s {
    char **strings;
    size_t nstrings;
    hm_pframe *frames;
    size_t nframes;
    hm_pnode *nodes;
    size_t nnodes;
    hm_value *self[HM_SNAP_COUNT]; /* indexed [snapshot - 1][node] */
    hm_value *total[HM_SNAP_COUNT];
    int64_t snapshot_total[HM_SNAP_COUNT]; /* exact totals from the snapshots table */
    hm_meta *meta;                         /* the (main) process's run metadata */
    size_t nmeta;
    const char *path;
    hm_process *processes; /* the main process first */
    size_t nprocesses;
    bool merged;         /* strings, meta and timeline belong to the merged parts */
    hm_tpoint *timeline; /* the (main) process's; empty for profiles without one */
    size_t ntimeline;
    hm_gc_run *gc_runs; /* by t_start */
    size_t ngc_runs;
    hm_phase *phases; /* by t_start, outer before inner */
    size_t nphases;
    /* Kinds at the walks standing for the peak [0] and the end [1]; merged:
     * each process's rows (its own walk), the main process's walk times. */
    hm_kind_walk_data kinds[2];
    /* The job (main profile of a run of several processes; else empty):
     * its processes by start, its samples by time then pid.  job_peak: the
     * job-peak snapshot holds the values of the job's final generation (in
     * a merged view, of every part alive at the combined peak). */
    hm_job_proc *job_processes;
    size_t njob_processes;
    hm_job_sample *job_samples;
    size_t njob_samples;
    bool job_peak;
    /* A crash's profile: the crashed thread's stack (meta crash_node, in
     * this view's numbering); 0 if none. */
    uint32_t crash_node;
    /* A merged view: the parts it was made of (their own timelines and
     * phases, each on its own clock: job_start_s in its meta); else NULL. */
    const struct hm_profile_s *parts; /* hm_profile */
    size_t nparts;
} hm_profile;

/* Returns false with a one-line reason in err (no trailing newline). */
bool hm_profile_load(const char *path, hm_profile *p, char *err, size_t errlen);
void hm_profile_free(hm_profile *p);
/* Subtree totals and sorted children, from nodes and self values. */
bool hm_profile_index(hm_profile *p);

/* The profiles of one run's processes as one: the root has a frame
 * "[process PID: command]" per part (parts[0], the main process, first),
 * holding that process's tree with its own values - each process at its own
 * peak.  parts must outlive out; free out before them. */
bool hm_profile_merge(hm_profile *parts, size_t n, hm_profile *out, char *err, size_t errlen);

const char *hm_profile_meta(const hm_profile *p, const char *key); /* "" if absent */
int64_t hm_profile_meta_int(const hm_profile *p, const char *key);
double hm_profile_meta_real(const hm_profile *p, const char *key);
bool hm_profile_is_exact(const hm_profile *p);
const char *hm_snapshot_name(int snapshot);
/* Whether the profile has snapshot s: job-peak only where job_peak is set. */
bool hm_profile_has_snapshot(const hm_profile *p, int snapshot);
int hm_snapshot_named(const char *name); /* 0 if not a snapshot's name */

/* Library code: the standard library, installed packages, frozen modules. */
bool hm_file_is_library(const char *file);
bool hm_frame_is_library(const hm_pframe *f);

typedef struct {
    uint32_t frame;
    int64_t bytes;
    int64_t count;
} hm_line_total;

typedef enum {
    HM_BY_PROGRAM_LINE, /* innermost frame in the program's own code (else innermost) */
    HM_BY_INNERMOST,    /* the frame that allocated, library or not */
} hm_line_key;

/* Lines ranked by bytes, largest first; fills up to max; returns how many. */
size_t hm_profile_top_lines(const hm_profile *p, int snapshot, hm_line_key key, hm_line_total *out,
                            size_t max);
/* The frame each node's self bytes are credited to as a line (malloc'd,
 * indexed by node; [0] is HM_NONE). */
uint32_t *hm_profile_credited_frames(const hm_profile *p, hm_line_key key);

/* Kinds summed over the rows of walk (0: the peak's, 1: the end's) whose
 * node is credited to frame (HM_NONE: every node), largest first: up to max
 * into out, their number returned; *total: the bytes of all of them. */
typedef struct {
    const char *kind;
    int64_t bytes, count;
    int64_t attributes, float_items, duplicate_bytes;
} hm_kind_total;
size_t hm_profile_kinds(const hm_profile *p, int walk, const uint32_t *credited, uint32_t frame,
                        hm_kind_total *out, size_t max, int64_t *total);

#endif
