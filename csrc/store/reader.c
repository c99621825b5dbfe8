/*
 * reader.c - loads and validates a profile (schema in schema.h).
 *
 * Owns: every check that stands between a file on disk and the reports:
 * it is an SQLite database, it is a heapmark profile of a version this build
 * reads, and its rows are consistent (ids dense, parents before children,
 * references in range, timeline values finite and in order).  Anything
 * else is reported in one line.
 * Must never: trust a count or an id from the file before checking it, or
 * write to the file (it is opened read-only).
 */
#include "store/profile.h"
#include "store/job_tables.h"
#include "common/strbuf.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    sqlite3 *db;
    hm_profile *p;
    char *err;
    size_t errlen;
} reader;

static bool corrupt(reader *r, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* SQLite's messages quote names read from the file itself (a corrupt
     * schema's index name): a control byte there must not break the
     * one-line error. */
    for (char *c = what; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    snprintf(r->err, r->errlen, "'%s' is not a readable heapmark profile: %s", r->p->path, what);
    return false;
}

static bool sql_error(reader *r)
{
    int code = sqlite3_errcode(r->db);
    if (code == SQLITE_NOTADB)
        return corrupt(r, "not an SQLite database");
    return corrupt(r, "%s", sqlite3_errmsg(r->db));
}

static bool prepare(reader *r, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v2(r->db, sql, -1, st, NULL) == SQLITE_OK || sql_error(r);
}

static bool count_rows(reader *r, const char *table, size_t *n)
{
    char sql[128];
    sqlite3_stmt *st;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (!prepare(r, sql, &st))
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    *n = ok ? (size_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return ok || sql_error(r);
}

static bool check_header(reader *r)
{
    sqlite3_stmt *st;
    if (!prepare(r, "PRAGMA application_id", &st))
        return false;
    int rc = sqlite3_step(st);
    int64_t app = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return sql_error(r);
    if (app != HM_STORE_APPLICATION_ID)
        return corrupt(r, "not written by heapmark (application id %lld)", (long long)app);
    if (!prepare(r, "PRAGMA user_version", &st))
        return false;
    rc = sqlite3_step(st);
    int64_t version = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (version != HM_STORE_FORMAT_VERSION)
        return corrupt(r, "format version %lld, this heapmark reads version %d", (long long)version,
                       HM_STORE_FORMAT_VERSION);
    return true;
}

static bool load_strings(reader *r)
{
    hm_profile *p = r->p;
    if (!count_rows(r, "strings", &p->nstrings))
        return false;
    p->strings = calloc(p->nstrings + 1, sizeof *p->strings);
    if (!p->strings)
        return corrupt(r, "out of memory for %zu strings", p->nstrings);
    sqlite3_stmt *st;
    if (!prepare(r, "SELECT id, text FROM strings", &st))
        return false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id < 0 || (size_t)id >= p->nstrings || p->strings[id]) {
            sqlite3_finalize(st);
            return corrupt(r, "string id %lld out of range", (long long)id);
        }
        if (!(p->strings[id] = hm_valid_text_copy(sqlite3_column_text(st, 1)))) {
            sqlite3_finalize(st);
            return corrupt(r, "out of memory");
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sql_error(r);
    for (size_t i = 0; i < p->nstrings; i++)
        if (!p->strings[i])
            return corrupt(r, "string %zu is missing", i);
    return true;
}

static const char *string_at(reader *r, int64_t id, bool *ok)
{
    if (id < 0 || (size_t)id >= r->p->nstrings) {
        *ok = false;
        return "";
    }
    return r->p->strings[id];
}

static bool load_frames(reader *r)
{
    hm_profile *p = r->p;
    if (!count_rows(r, "frames", &p->nframes))
        return false;
    p->frames = calloc(p->nframes + 1, sizeof *p->frames);
    bool *seen = calloc(p->nframes + 1, 1);
    if (!p->frames || !seen) {
        free(seen);
        return corrupt(r, "out of memory for %zu frames", p->nframes);
    }
    sqlite3_stmt *st;
    if (!prepare(r, "SELECT id, function, file, line, source, pseudo FROM frames", &st)) {
        free(seen);
        return false;
    }
    int rc;
    bool ok = true;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id < 0 || (size_t)id >= p->nframes || seen[id]) {
            ok = corrupt(r, "frame id %lld out of range", (long long)id);
            break;
        }
        seen[id] = true;
        hm_pframe *f = &p->frames[id];
        f->function = string_at(r, sqlite3_column_int64(st, 1), &ok);
        f->file = string_at(r, sqlite3_column_int64(st, 2), &ok);
        f->line = sqlite3_column_int(st, 3);
        f->source = sqlite3_column_type(st, 4) == SQLITE_NULL
                        ? ""
                        : string_at(r, sqlite3_column_int64(st, 4), &ok);
        f->pseudo = sqlite3_column_int(st, 5) != 0;
        if (!ok)
            ok = corrupt(r, "frame %lld refers to a missing string", (long long)id);
    }
    sqlite3_finalize(st);
    for (size_t i = 0; ok && i < p->nframes; i++)
        if (!seen[i])
            ok = corrupt(r, "frame %zu is missing", i);
    free(seen);
    if (!ok)
        return false;
    return rc == SQLITE_DONE || sql_error(r);
}

static bool table_exists(reader *r, const char *name, bool *exists);

/* The job's tables (job_tables.c), and whether the job-peak snapshot this
 * profile holds is the job's: its candidate is of the final generation
 * (the main profile's; a child's is judged in merge.c). */
static bool load_job(reader *r)
{
    hm_profile *p = r->p;
    const char *bad = hm_job_tables_read(r->db, p);
    if (bad)
        return corrupt(r, "%s", bad);
    const char *candidate = hm_profile_meta(p, "job_candidate_generation");
    p->job_peak = p->njob_processes > 0 && candidate[0] &&
                  strcmp(candidate, hm_profile_meta(p, "job_peak_generation")) == 0;
    return true;
}

/* native_frames (optional): which frames are native, and their object. */
static bool load_native_frames(reader *r)
{
    hm_profile *p = r->p;
    bool exists;
    if (!table_exists(r, "native_frames", &exists))
        return false;
    if (!exists)
        return true;
    sqlite3_stmt *st;
    if (!prepare(r, "SELECT frame, library FROM native_frames", &st))
        return false;
    int rc;
    bool ok = true;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t frame = sqlite3_column_int64(st, 0);
        if (frame < 0 || (size_t)frame >= p->nframes || p->frames[frame].pseudo) {
            ok = corrupt(r, "native frame %lld is not a frame", (long long)frame);
            break;
        }
        p->frames[frame].library = string_at(r, sqlite3_column_int64(st, 1), &ok);
        if (!ok)
            ok = corrupt(r, "native frame %lld refers to a missing string", (long long)frame);
    }
    sqlite3_finalize(st);
    return ok && (rc == SQLITE_DONE || sql_error(r));
}

static bool load_nodes(reader *r)
{
    hm_profile *p = r->p;
    if (!count_rows(r, "nodes", &p->nnodes))
        return false;
    if (p->nnodes == 0)
        return corrupt(r, "the call tree is empty");
    p->nodes = malloc(p->nnodes * sizeof *p->nodes);
    if (!p->nodes)
        return corrupt(r, "out of memory for %zu nodes", p->nnodes);
    for (size_t i = 0; i < p->nnodes; i++)
        p->nodes[i] = (hm_pnode){HM_NONE - 1, HM_NONE, HM_NONE, HM_NONE, 0};
    sqlite3_stmt *st;
    if (!prepare(r, "SELECT id, parent, frame FROM nodes ORDER BY id", &st))
        return false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        bool root = sqlite3_column_type(st, 1) == SQLITE_NULL;
        int64_t parent = sqlite3_column_int64(st, 1);
        int64_t frame = sqlite3_column_int64(st, 2);
        const char *bad = NULL;
        if (id < 0 || (size_t)id >= p->nnodes || p->nodes[id].parent != HM_NONE - 1)
            bad = "node id out of range";
        else if (root != (id == 0))
            bad = "only node 0 may be the root";
        else if (!root && (parent < 0 || parent >= id))
            bad = "a node's parent must come before it";
        else if (!root && (frame < 0 || (size_t)frame >= p->nframes))
            bad = "a node refers to a missing frame";
        if (bad) {
            sqlite3_finalize(st);
            return corrupt(r, "%s (node %lld)", bad, (long long)id);
        }
        hm_pnode *n = &p->nodes[id];
        n->parent = root ? HM_NONE : (uint32_t)parent;
        n->frame = root ? HM_NONE : (uint32_t)frame;
        n->depth = root ? 0 : p->nodes[parent].depth + 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sql_error(r);
    for (size_t i = 0; i < p->nnodes; i++)
        if (p->nodes[i].parent == HM_NONE - 1)
            return corrupt(r, "node %zu is missing", i);
    return true;
}

static bool load_values(reader *r)
{
    hm_profile *p = r->p;
    for (int s = 0; s < HM_SNAP_COUNT; s++) {
        p->self[s] = calloc(p->nnodes, sizeof(hm_value));
        p->total[s] = calloc(p->nnodes, sizeof(hm_value));
        if (!p->self[s] || !p->total[s])
            return corrupt(r, "out of memory");
    }
    sqlite3_stmt *st;
    if (!prepare(r, "SELECT snapshot, node, bytes, count FROM node_values", &st))
        return false;
    /* Every subtree total is at most its snapshot's sum: if the sums fit,
     * so does everything the reports add up. */
    int64_t sum_bytes[HM_SNAP_COUNT] = {0}, sum_count[HM_SNAP_COUNT] = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t snap = sqlite3_column_int64(st, 0);
        int64_t node = sqlite3_column_int64(st, 1);
        int64_t bytes = sqlite3_column_int64(st, 2), count = sqlite3_column_int64(st, 3);
        const char *bad = NULL;
        if (snap < 1 || snap > HM_SNAP_COUNT || node < 0 || (size_t)node >= p->nnodes)
            bad = "a value refers to a missing node or snapshot";
        else if (bytes < 0 || count < 0 ||
                 __builtin_add_overflow(sum_bytes[snap - 1], bytes, &sum_bytes[snap - 1]) ||
                 __builtin_add_overflow(sum_count[snap - 1], count, &sum_count[snap - 1]))
            bad = "a value is out of range";
        if (bad) {
            sqlite3_finalize(st);
            return corrupt(r, "%s", bad);
        }
        p->self[snap - 1][node].bytes += bytes;
        p->self[snap - 1][node].count += count;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sql_error(r);
    if (!prepare(r, "SELECT id, total_bytes FROM snapshots", &st))
        return false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0), total = sqlite3_column_int64(st, 1);
        if (total < 0) {
            sqlite3_finalize(st);
            return corrupt(r, "a snapshot's total is out of range");
        }
        if (id >= 1 && id <= HM_SNAP_COUNT)
            p->snapshot_total[id - 1] = total;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || sql_error(r);
}

static bool load_meta(reader *r)
{
    hm_profile *p = r->p;
    if (!count_rows(r, "meta", &p->nmeta))
        return false;
    p->meta = calloc(p->nmeta + 1, sizeof *p->meta);
    if (!p->meta)
        return corrupt(r, "out of memory");
    sqlite3_stmt *st;
    if (!prepare(r, "SELECT key, CAST(value AS TEXT), value FROM meta", &st))
        return false;
    static const char *const numeric[] = {HM_STORE_NUMERIC_META};
    size_t i = 0;
    int rc;
    const char *bad = NULL;
    while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW && i < p->nmeta) {
        p->meta[i].key = hm_valid_text_copy(sqlite3_column_text(st, 0));
        p->meta[i].value = hm_valid_text_copy(sqlite3_column_text(st, 1));
        if (!p->meta[i].key || !p->meta[i].value) {
            bad = "out of memory";
            break;
        }
        int type = sqlite3_column_type(st, 2);
        double number = sqlite3_column_double(st, 2);
        for (size_t k = 0; k < HM_ARRAY_LEN(numeric); k++)
            if (strcmp(p->meta[i].key, numeric[k]) == 0 &&
                ((type != SQLITE_INTEGER && type != SQLITE_FLOAT) || !(number >= 0) ||
                 number > 9.2e18))
                bad = numeric[k];
        i++;
    }
    p->nmeta = i;
    sqlite3_finalize(st);
    if (bad)
        return corrupt(r, "run metadata '%s' is not a number heapmark writes", bad);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sql_error(r);
    if (!*hm_profile_meta(p, "peak_bytes") || !*hm_profile_meta(p, "mode"))
        return corrupt(r, "run metadata is missing");
    return true;
}

/* The timeline tables came after format version 1's first profiles, which
 * lack them: a missing table is an empty timeline, a damaged one is refused. */
static bool table_exists(reader *r, const char *name, bool *exists)
{
    sqlite3_stmt *st;
    if (!prepare(r, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", &st))
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *exists = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || sql_error(r);
}

/* Prepares sql, which reads an optional table, and allocates room for its
 * rows; *st stays NULL when there is nothing to read.  The statement is
 * prepared even for an empty table, so that wrong columns are refused
 * either way, and a count beyond max is refused before any allocation. */
static bool open_optional(reader *r, const char *table, size_t max, const char *sql,
                          size_t row_size, void **rows, size_t *n, sqlite3_stmt **st)
{
    bool exists;
    sqlite3_stmt *stmt;
    *st = NULL;
    *n = 0;
    if (!table_exists(r, table, &exists))
        return false;
    if (!exists)
        return true;
    if (!count_rows(r, table, n))
        return false;
    if (*n > max)
        return corrupt(r, "%zu rows in %s, more than the %zu heapmark writes", *n, table, max);
    if (!prepare(r, sql, &stmt))
        return false;
    if (*n > 0 && !(*rows = calloc(*n, row_size))) {
        sqlite3_finalize(stmt);
        return corrupt(r, "out of memory");
    }
    if (*n == 0)
        sqlite3_finalize(stmt);
    else
        *st = stmt;
    return true;
}

/* The end of reading an optional table: the row its loader refused, or
 * SQLite's error. */
static bool close_optional(reader *r, sqlite3_stmt *st, int rc, const char *bad)
{
    if (st)
        sqlite3_finalize(st);
    if (bad)
        return corrupt(r, "%s", bad);
    return rc == SQLITE_DONE || rc == SQLITE_ROW || sql_error(r);
}

static bool bytes_at(sqlite3_stmt *st, int col, int64_t *out)
{
    if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
        return false;
    *out = sqlite3_column_int64(st, col);
    return *out >= 0;
}

static bool load_timeline(reader *r)
{
    hm_profile *p = r->p;
    sqlite3_stmt *st;
    void *rows = NULL;
    size_t n;
    /* Storage order is the order written: it must already be ascending. */
    if (!open_optional(r, "timeline", HM_STORE_MAX_TIMELINE, "SELECT t, tracked, rss FROM timeline",
                       sizeof *p->timeline, &rows, &n, &st))
        return false;
    p->timeline = rows;
    int rc = SQLITE_DONE;
    const char *bad = NULL;
    while (st && !bad && (rc = sqlite3_step(st)) == SQLITE_ROW && p->ntimeline < n) {
        hm_tpoint *pt = &p->timeline[p->ntimeline];
        if (!hm_store_seconds_at(st, 0, &pt->t) || !bytes_at(st, 1, &pt->tracked) ||
            !bytes_at(st, 2, &pt->rss))
            bad = "a timeline value is out of range";
        else if (p->ntimeline > 0 && pt->t < p->timeline[p->ntimeline - 1].t)
            bad = "the timeline is not in time order";
        else
            p->ntimeline++;
    }
    return close_optional(r, st, rc, bad);
}

static bool load_gc_runs(reader *r)
{
    hm_profile *p = r->p;
    sqlite3_stmt *st;
    void *rows = NULL;
    size_t n;
    if (!open_optional(r, "gc_runs", HM_STORE_MAX_GC_RUNS,
                       "SELECT t_start, t_end, generation, tracked_before, tracked_after "
                       "FROM gc_runs ORDER BY t_start",
                       sizeof *p->gc_runs, &rows, &n, &st))
        return false;
    p->gc_runs = rows;
    int rc = SQLITE_DONE;
    const char *bad = NULL;
    while (st && !bad && (rc = sqlite3_step(st)) == SQLITE_ROW && p->ngc_runs < n) {
        hm_gc_run *g = &p->gc_runs[p->ngc_runs];
        int64_t generation = sqlite3_column_int64(st, 2);
        if (!hm_store_seconds_at(st, 0, &g->t_start) || !hm_store_seconds_at(st, 1, &g->t_end) ||
            g->t_end < g->t_start || sqlite3_column_type(st, 2) != SQLITE_INTEGER ||
            generation < 0 || generation > HM_STORE_MAX_GC_GENERATION ||
            !bytes_at(st, 3, &g->tracked_before) || !bytes_at(st, 4, &g->tracked_after)) {
            bad = "a GC run's values are out of range";
        } else {
            g->generation = (int)generation;
            p->ngc_runs++;
        }
    }
    return close_optional(r, st, rc, bad);
}

static bool load_phases(reader *r)
{
    hm_profile *p = r->p;
    sqlite3_stmt *st;
    void *rows = NULL;
    size_t n;
    if (!open_optional(r, "phases", HM_STORE_MAX_PHASES,
                       "SELECT name, t_start, t_end, depth FROM phases ORDER BY t_start, depth",
                       sizeof *p->phases, &rows, &n, &st))
        return false;
    p->phases = rows;
    double duration = hm_profile_meta_real(p, "duration_s");
    int rc = SQLITE_DONE;
    const char *bad = NULL;
    while (st && !bad && (rc = sqlite3_step(st)) == SQLITE_ROW && p->nphases < n) {
        hm_phase *ph = &p->phases[p->nphases];
        int64_t depth = sqlite3_column_int64(st, 3);
        ph->open = sqlite3_column_type(st, 2) == SQLITE_NULL;
        if (sqlite3_column_type(st, 0) != SQLITE_TEXT ||
            !hm_store_seconds_at(st, 1, &ph->t_start) ||
            (!ph->open && (!hm_store_seconds_at(st, 2, &ph->t_end) || ph->t_end < ph->t_start)) ||
            sqlite3_column_type(st, 3) != SQLITE_INTEGER || depth < 0 ||
            depth > HM_STORE_MAX_PHASE_DEPTH) {
            bad = "a phase's values are out of range";
            break;
        }
        if (ph->open)
            ph->t_end = duration > ph->t_start ? duration : ph->t_start;
        ph->depth = (int)depth;
        p->nphases++; /* counted before the copy, so that hm_profile_free frees it */
        if (!(ph->name = hm_valid_text_copy(sqlite3_column_text(st, 0))))
            bad = "out of memory";
    }
    return close_optional(r, st, rc, bad);
}

static int by_node(const void *a, const void *b)
{
    uint32_t x = ((const hm_node_kind *)a)->node, y = ((const hm_node_kind *)b)->node;
    return x < y ? -1 : x > y;
}

/* Kinds at the peak and end walks; absent tables are no kinds. */
static bool load_kinds(reader *r)
{
    hm_profile *p = r->p;
    sqlite3_stmt *st;
    void *rows = NULL;
    size_t n;
    if (!open_optional(r, "kind_walks", 2,
                       "SELECT snapshot, at_s, seconds, tracked_bytes, objects FROM kind_walks", 1,
                       &rows, &n, &st))
        return false;
    free(rows); /* only the count is used: the walks go into p->kinds */
    rows = NULL;
    int rc = SQLITE_DONE;
    const char *bad = NULL;
    while (st && !bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t snap = sqlite3_column_int64(st, 0);
        hm_kind_walk_data *w = snap == 1 || snap == 2 ? &p->kinds[snap - 1] : NULL;
        if (!w || w->present || !hm_store_seconds_at(st, 1, &w->at_s) ||
            !hm_store_seconds_at(st, 2, &w->seconds) ||
            (w->tracked_bytes = sqlite3_column_int64(st, 3)) < 0 ||
            (w->objects = sqlite3_column_int64(st, 4)) < 0)
            bad = "a kind walk's values are out of range";
        else
            w->present = true;
    }
    if (!close_optional(r, st, rc, bad))
        return false;
    size_t counts[2] = {0, 0};
    if (!open_optional(r, "node_kinds", HM_STORE_MAX_NODE_KINDS,
                       "SELECT snapshot, node, kind, bytes, count, attributes, float_items, "
                       "duplicate_bytes FROM node_kinds",
                       1, &rows, &n, &st))
        return false;
    free(rows);
    rows = NULL;
    for (int s = 0; s < 2 && n; s++)
        if (!(p->kinds[s].rows = calloc(n, sizeof *p->kinds[s].rows)))
            return close_optional(r, st, SQLITE_DONE, "out of memory");
    while (st && !bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t snap = sqlite3_column_int64(st, 0), node = sqlite3_column_int64(st, 1),
                kind = sqlite3_column_int64(st, 2);
        hm_node_kind row = {(uint32_t)node,
                            NULL,
                            sqlite3_column_int64(st, 3),
                            sqlite3_column_int64(st, 4),
                            sqlite3_column_int64(st, 5),
                            sqlite3_column_int64(st, 6),
                            sqlite3_column_int64(st, 7)};
        /* Not the root: it has no frame, and nothing is allocated there. */
        if (snap < 1 || snap > 2 || !p->kinds[snap - 1].present || node <= 0 ||
            (uint64_t)node >= p->nnodes || kind < 0 || (uint64_t)kind >= p->nstrings ||
            row.bytes < 0 || row.count < 0 || row.attributes < 0 || row.float_items < 0 ||
            row.duplicate_bytes < 0 || row.duplicate_bytes > row.bytes) {
            bad = "a node's kinds are out of range";
            break;
        }
        row.kind = p->strings[kind];
        p->kinds[snap - 1].rows[counts[snap - 1]++] = row;
    }
    for (int s = 0; s < 2; s++) {
        p->kinds[s].nrows = counts[s];
        if (p->kinds[s].rows)
            qsort(p->kinds[s].rows, counts[s], sizeof *p->kinds[s].rows, by_node);
    }
    return close_optional(r, st, rc, bad);
}

bool hm_profile_load(const char *path, hm_profile *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->path = path;
    reader r = {NULL, p, err, errlen};
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "cannot open profile '%s': %s", path, strerror(errno));
        return false;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "cannot open profile '%s': not a regular file", path);
        return false;
    }
    if (sb.st_size == 0)
        return corrupt(&r, "the file is empty");
    if (sqlite3_open_v2(path, &r.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open profile '%s': %s", path,
                 r.db ? sqlite3_errmsg(r.db) : "out of memory");
        sqlite3_close(r.db);
        return false;
    }
    bool ok = check_header(&r) && load_strings(&r) && load_frames(&r) && load_native_frames(&r) &&
              load_nodes(&r) && load_values(&r) && load_meta(&r) && load_timeline(&r) &&
              load_gc_runs(&r) && load_phases(&r) && load_kinds(&r) && load_job(&r);
    if (ok) { /* a crash's stack: a node of this profile, else none */
        int64_t crash = hm_profile_meta_int(p, "crash_node");
        p->crash_node = crash > 0 && (size_t)crash < p->nnodes ? (uint32_t)crash : 0;
    }
    if (ok && !hm_profile_index(p))
        ok = corrupt(&r, "out of memory");
    if (ok && !(p->processes = calloc(1, sizeof *p->processes)))
        ok = corrupt(&r, "out of memory");
    if (ok) {
        hm_process *proc = &p->processes[0];
        proc->path = path;
        proc->command = hm_profile_meta(p, "command");
        proc->status = hm_profile_meta(p, "status");
        proc->pid = (int)hm_profile_meta_int(p, "pid");
        proc->parent_pid = (int)hm_profile_meta_int(p, "parent_pid");
        proc->peak_bytes = hm_profile_meta_int(p, "peak_bytes");
        proc->peak_rss_bytes = hm_profile_meta_int(p, "peak_rss_bytes");
        proc->end_bytes = hm_profile_meta_int(p, "end_bytes");
        proc->duration_s = hm_profile_meta_real(p, "duration_s");
        p->nprocesses = 1;
    }
    sqlite3_close(r.db);
    if (!ok)
        hm_profile_free(p);
    return ok;
}

void hm_profile_free(hm_profile *p)
{
    free(p->processes);
    if (p->strings)
        for (size_t i = 0; i < p->nstrings; i++)
            free(p->strings[i]);
    free(p->strings);
    free(p->frames);
    free(p->nodes);
    for (int s = 0; s < HM_SNAP_COUNT; s++) {
        free(p->self[s]);
        free(p->total[s]);
    }
    if (p->meta && !p->merged) {
        for (size_t i = 0; i < p->nmeta; i++) {
            free(p->meta[i].key);
            free(p->meta[i].value);
        }
        free(p->meta);
    }
    for (int s = 0; s < 2; s++)
        free(p->kinds[s].rows);
    if (!p->merged) {
        hm_job_tables_free(p);
        free(p->timeline);
        free(p->gc_runs);
        for (size_t i = 0; p->phases && i < p->nphases; i++)
            free(p->phases[i].name);
        free(p->phases);
    }
    const char *path = p->path;
    memset(p, 0, sizeof *p);
    p->path = path;
}
