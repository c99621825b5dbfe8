/*
 * job_tables.c - the profile's part of a run of several processes: the
 * job_* meta keys, and the job_processes and job_timeline tables the main
 * profile holds (schema.sql, docs/profile-format.md), written and read.
 *
 * Owns: what a process's profile says of its place in the job (its t = 0 on
 * the job's clock, the generation and moment of its job-peak candidate) and,
 * in the first process's profile, the job's processes and combined samples.
 * Must never: write any of it for a run of one process (its profile stays
 * as it was), or accept rows the writer could not have written: the reader
 * bounds counts, times and bytes, and wants samples in time order.
 */
#include "store/job_tables.h"
#include "run/job.h"
#include "common/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool step_done(sqlite3_stmt *st)
{
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    return ok;
}

static bool meta_real(sqlite3_stmt *st, const char *key, double v)
{
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, v);
    return step_done(st);
}

static bool meta_int(sqlite3_stmt *st, const char *key, int64_t v)
{
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v);
    return step_done(st);
}

static bool write_meta(sqlite3 *db, const hm_job_info *job)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO meta VALUES(?,?)", -1, &st, NULL) != SQLITE_OK)
        return false;
    bool ok = meta_real(st, "job_start_s", job->start_s);
    if (ok && job->candidate)
        ok = meta_int(st, "job_candidate_generation", job->candidate_generation) &&
             meta_real(st, "job_candidate_at_s", job->candidate_at_s);
    const hm_job_data *d = job->data;
    if (ok && d)
        ok = meta_int(st, "job_peak_bytes", d->peak_bytes) &&
             meta_real(st, "job_peak_at_s", d->peak_at_s) &&
             meta_int(st, "job_peak_generation", d->generation) &&
             meta_real(st, "job_interval_s", d->interval_s) &&
             meta_int(st, "job_processes_dropped", d->dropped);
    sqlite3_finalize(st);
    return ok;
}

static bool write_processes(sqlite3 *db, const hm_job_data *d)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO job_processes VALUES(?,?,?,?,?)", -1, &st,
                           NULL) != SQLITE_OK)
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < d->nprocesses; i++) {
        const hm_job_process *p = &d->processes[i];
        sqlite3_bind_int(st, 1, p->pid);
        sqlite3_bind_int(st, 2, p->parent_pid);
        sqlite3_bind_text(st, 3, p->command, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, p->t_start);
        if (p->t_end >= 0)
            sqlite3_bind_double(st, 5, p->t_end);
        else
            sqlite3_bind_null(st, 5);
        ok = step_done(st);
    }
    sqlite3_finalize(st);
    return ok;
}

static bool write_samples(sqlite3 *db, const hm_job_data *d)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO job_timeline VALUES(?,?,?,?)", -1, &st,
                           NULL) != SQLITE_OK)
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < d->npoints; i++) {
        const hm_job_point *pt = &d->points[i];
        for (uint32_t k = 0; ok && k < pt->nrows && pt->first_row + k < d->nrows; k++) {
            const hm_job_row *row = &d->rows[pt->first_row + k];
            sqlite3_bind_double(st, 1, pt->t);
            sqlite3_bind_int(st, 2, row->pid);
            sqlite3_bind_int64(st, 3, row->tracked);
            sqlite3_bind_int64(st, 4, row->rss);
            ok = step_done(st);
        }
    }
    sqlite3_finalize(st);
    return ok;
}

bool hm_job_tables_write(sqlite3 *db, const struct hm_job_info *job)
{
    if (!job || !job->member)
        return true;
    return write_meta(db, job) &&
           (!job->data || (write_processes(db, job->data) && write_samples(db, job->data)));
}

bool hm_job_tables_peak_wanted(const struct hm_job_info *job)
{
    return job && job->member && job->candidate;
}

/* ---- reading ---- */

static bool table_present(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool present = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
    sqlite3_finalize(st);
    return present;
}

static bool count_of(sqlite3 *db, const char *sql, size_t *n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    *n = ok ? (size_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return ok;
}

bool hm_store_seconds_at(sqlite3_stmt *st, int col, double *out)
{
    int type = sqlite3_column_type(st, col);
    double v = sqlite3_column_double(st, col);
    if ((type != SQLITE_INTEGER && type != SQLITE_FLOAT) || !isfinite(v) || !(v >= 0) ||
        v > HM_STORE_MAX_SECONDS)
        return false;
    *out = v;
    return true;
}

static bool int_at(sqlite3_stmt *st, int col, int64_t lo, int64_t hi, int64_t *out)
{
    if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
        return false;
    *out = sqlite3_column_int64(st, col);
    return *out >= lo && *out <= hi;
}

static const char *read_processes(sqlite3 *db, hm_profile *p)
{
    size_t n;
    if (!count_of(db, "SELECT count(*) FROM job_processes", &n))
        return sqlite3_errmsg(db);
    if (n > HM_STORE_MAX_JOB_PROCESSES)
        return "more job processes than heapmark writes";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT pid, parent_pid, command, t_start, t_end FROM job_processes "
                           "ORDER BY t_start, pid",
                           -1, &st, NULL) != SQLITE_OK)
        return sqlite3_errmsg(db);
    p->job_processes = calloc(n + 1, sizeof *p->job_processes);
    if (!p->job_processes) {
        sqlite3_finalize(st);
        return "out of memory";
    }
    const char *bad = NULL;
    while (!bad && p->njob_processes < n && sqlite3_step(st) == SQLITE_ROW) {
        hm_job_proc *jp = &p->job_processes[p->njob_processes];
        int64_t pid, parent;
        const unsigned char *command = sqlite3_column_text(st, 2);
        if (!int_at(st, 0, 1, INT32_MAX, &pid) || !int_at(st, 1, 0, INT32_MAX, &parent) ||
            !command || !hm_store_seconds_at(st, 3, &jp->t_start)) {
            bad = "a job process's values are out of range";
            break;
        }
        jp->t_end = -1;
        if (sqlite3_column_type(st, 4) != SQLITE_NULL &&
            (!hm_store_seconds_at(st, 4, &jp->t_end) || jp->t_end < jp->t_start)) {
            bad = "a job process's end is out of range";
            break;
        }
        jp->pid = (int)pid;
        jp->parent_pid = (int)parent;
        jp->command = hm_valid_text_copy(command);
        if (!jp->command)
            bad = "out of memory";
        else
            p->njob_processes++;
    }
    sqlite3_finalize(st);
    return bad;
}

static const char *read_samples(sqlite3 *db, hm_profile *p)
{
    size_t n;
    if (!count_of(db, "SELECT count(*) FROM job_timeline", &n))
        return sqlite3_errmsg(db);
    if (n > HM_STORE_MAX_JOB_ROWS)
        return "more job timeline rows than heapmark writes";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT t, pid, tracked, rss FROM job_timeline ORDER BY t, pid", -1,
                           &st, NULL) != SQLITE_OK)
        return sqlite3_errmsg(db);
    p->job_samples = calloc(n + 1, sizeof *p->job_samples);
    if (!p->job_samples) {
        sqlite3_finalize(st);
        return "out of memory";
    }
    const char *bad = NULL;
    while (!bad && p->njob_samples < n && sqlite3_step(st) == SQLITE_ROW) {
        hm_job_sample *s = &p->job_samples[p->njob_samples];
        int64_t pid;
        if (!hm_store_seconds_at(st, 0, &s->t) || !int_at(st, 1, 1, INT32_MAX, &pid) ||
            !int_at(st, 2, 0, INT64_MAX / 4096, &s->tracked) ||
            !int_at(st, 3, 0, INT64_MAX / 4096, &s->rss))
            bad = "a job timeline value is out of range";
        else
            s->pid = (int)pid;
        p->njob_samples += !bad;
    }
    sqlite3_finalize(st);
    return bad;
}

const char *hm_job_tables_read(sqlite3 *db, hm_profile *p)
{
    if (!table_present(db, "job_processes") || !table_present(db, "job_timeline"))
        return NULL; /* written before jobs */
    const char *bad = read_processes(db, p);
    if (!bad)
        bad = read_samples(db, p);
    return bad;
}

void hm_job_tables_free(hm_profile *p)
{
    for (size_t i = 0; p->job_processes && i < p->njob_processes; i++)
        free(p->job_processes[i].command);
    free(p->job_processes);
    free(p->job_samples);
    p->job_processes = NULL;
    p->job_samples = NULL;
    p->njob_processes = p->njob_samples = 0;
}
