/*
 * job_tables.h - a run of several processes in the profile (job_tables.c).
 *
 * Owns: the job_* meta keys and the job_processes and job_timeline tables.
 * Must never: write anything for a run of one process.
 */
#ifndef HM_JOB_TABLES_H
#define HM_JOB_TABLES_H

#include "store/profile.h"

#include <sqlite3.h>

struct hm_job_info;
/* The job's meta keys and (the first process) tables; nothing for one process. */
bool hm_job_tables_write(sqlite3 *db, const struct hm_job_info *job);
/* Whether the profile gets a job-peak snapshot (a candidate was taken). */
bool hm_job_tables_peak_wanted(const struct hm_job_info *job);
/* A column read as seconds since a start: finite, not negative, at most
 * HM_STORE_MAX_SECONDS (the reader's check for every table's times). */
bool hm_store_seconds_at(sqlite3_stmt *st, int col, double *out);
/* Loads the tables where they exist: NULL, or why they cannot be read. */
const char *hm_job_tables_read(sqlite3 *db, hm_profile *p);
void hm_job_tables_free(hm_profile *p);

#endif
