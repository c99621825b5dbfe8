/*
 * job.h - a run's processes as one job: one clock, their combined total over
 * time, and what each held when the total peaked (see job.c).
 *
 * Owns: the job table (a small file mapped shared by every profiled process
 * of the run), the combined timeline the run's first process keeps, and this
 * process's job-peak candidate (its node values at the latest combined high).
 * Must never: be called from an allocation hook: the monitor thread publishes
 * the totals and takes the candidates, so the allocation path pays nothing.
 */
#ifndef HM_JOB_H
#define HM_JOB_H

#include "common/common.h"
#include "hotpath/node_values.h"

#include <time.h>

#define HM_JOB_SLOTS 1024  /* processes a job table has room for; more are counted as dropped */
#define HM_JOB_POINTS 4096 /* combined samples kept; thinned as the timeline's are */

typedef struct {
    int pid, parent_pid;
    char command[96];
    double t_start, t_end; /* on the job's clock; t_end < 0: alive when copied */
} hm_job_process;

typedef struct {
    double t;
    uint32_t first_row, nrows; /* its rows in hm_job_data.rows, one per live process */
} hm_job_point;

typedef struct {
    int pid;
    int64_t tracked, rss;
} hm_job_row;

/* The first process's copy of the job, for its profile. */
typedef struct hm_job_data {
    hm_job_process *processes;
    size_t nprocesses;
    hm_job_point *points;
    size_t npoints;
    hm_job_row *rows;
    size_t nrows;
    double interval_s;
    int64_t peak_bytes; /* the largest combined total sampled */
    double peak_at_s;
    uint32_t generation; /* bumped at each new combined high */
    int64_t dropped;     /* processes beyond HM_JOB_SLOTS */
} hm_job_data;

/* What a profile says of this process's place in the job. */
typedef struct hm_job_info {
    bool member;    /* the job has had more than one process */
    double start_s; /* this process's t = 0 on the job's clock */
    bool candidate; /* a job-peak candidate was taken */
    uint32_t candidate_generation;
    double candidate_at_s;   /* on the job's clock */
    const hm_job_data *data; /* the first process only */
} hm_job_info;

/* The run's first process creates the table in dir; a process started by
 * exec (spawn, forkserver) opens it there.  start: the process's t = 0. */
void hm_job_create(const char *dir, const struct timespec *start, const char *command);
void hm_job_join(const char *dir, const struct timespec *start, int parent_pid,
                 const char *command);
/* A forked child that is profiled: a slot of its own (the mapping is
 * inherited).  Called with the recorder lock held, so no candidate moves. */
void hm_job_after_fork(const struct timespec *start, int parent_pid, const char *command);
/* A forked child that is not profiled: it never touches the table. */
void hm_job_disown(void);
/* The monitor thread, at each tick: publishes this process's total and RSS;
 * in the first process, samples the combined total and marks new highs; in
 * every process, takes a candidate when a new high was marked. */
void hm_job_tick(int64_t tracked);
/* The process is about to exec: its slot ends (the program it becomes, if
 * followed, joins anew under the same pid).  Nothing in the child of a
 * vfork, whose slot is its parent's. */
void hm_job_before_exec(void);
/* The end of this process's recording (recorder lock not held): a last
 * candidate if a high was marked since, then the slot is closed.  In the
 * first process, the last sample is taken and the table's file removed. */
void hm_job_leave(int64_t tracked, int64_t rss);
/* The run's first process, which no other profiled process ever joined:
 * its profile is the run's only one. */
bool hm_job_alone(void);
/* Under the recorder lock (capture.c): the candidate's value of node. */
hm_amount hm_job_candidate_value(uint32_t node);
/* This process's place in the job, and (first process) a copy of the job's
 * data; release with hm_job_info_free. */
bool hm_job_describe(hm_job_info *out);
void hm_job_info_free(hm_job_info *info);

#endif
