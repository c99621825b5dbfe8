/*
 * writer.c - writes the run's profile (schema in schema.h).
 *
 * Owns: turning the engine's in-memory tables into the SQLite file: frames
 * are merged by (function, file, line) - two code objects of the same source
 * become one frame - and nodes by (parent, frame); source line text is read
 * now, while the files are as the program saw them.  The file is written
 * under a temporary name and renamed, so a reader never sees half a profile.
 * Must never: read the engine's live tables (it writes from a capture, see
 * capture.h), or run without hm_tls.guard (SQLite's allocations are not the
 * program's).
 */
#include "store/schema.h"
#include "run/timeline.h"
#include "run/capture.h"
#include "common/hashmap.h"
#include "common/contract.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HM_VERSION
#define HM_VERSION "0"
#endif

#define MAX_SOURCE_LINE 300
#define MAX_SOURCE_FILE (32u << 20)

/* ---- string interning ---------------------------------------------------- */

typedef struct str_entry {
    struct str_entry *next;
    uint32_t id;
    char text[];
} str_entry;

typedef struct {
    str_entry **buckets;
    size_t nbuckets;
    str_entry **by_id;
    uint32_t count, cap;
} strtab;

static int64_t strtab_id(strtab *t, const char *s)
{
    if (!t->buckets) {
        t->nbuckets = 1 << 14;
        t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
        if (!t->buckets)
            return -1;
    }
    size_t b = hm_hash_text(s) & (t->nbuckets - 1);
    for (str_entry *e = t->buckets[b]; e; e = e->next)
        if (strcmp(e->text, s) == 0)
            return e->id;
    if (t->count == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 1024;
        str_entry **grown = realloc(t->by_id, cap * sizeof *grown);
        if (!grown)
            return -1;
        t->by_id = grown;
        t->cap = cap;
    }
    size_t len = strlen(s);
    str_entry *e = malloc(sizeof *e + len + 1);
    if (!e)
        return -1;
    memcpy(e->text, s, len + 1);
    e->id = t->count;
    e->next = t->buckets[b];
    t->buckets[b] = e;
    t->by_id[t->count++] = e;
    return e->id;
}

static void strtab_free(strtab *t)
{
    for (uint32_t i = 0; i < t->count; i++)
        free(t->by_id[i]);
    free(t->by_id);
    free(t->buckets);
}

/* ---- source lines -------------------------------------------------------- */

typedef struct {
    int64_t file_sid;
    char *text;           /* whole file, NULL if unreadable */
    size_t *line_starts;  /* line n (1-based) starts at line_starts[n-1] */
    size_t nlines;
} source_file;

typedef struct {
    source_file *files;
    size_t count, cap;
} source_cache;

/* path as the program named it; relative paths are from its start directory
 * (the program may have changed directory since). */
static source_file *source_load(source_cache *c, int64_t sid, const char *path,
                                const char *start_dir)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->files[i].file_sid == sid)
            return &c->files[i];
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        source_file *grown = realloc(c->files, cap * sizeof *grown);
        if (!grown)
            return NULL;
        c->files = grown;
        c->cap = cap;
    }
    source_file *f = &c->files[c->count++];
    *f = (source_file){sid, NULL, NULL, 0};
    if (path[0] == '<' || path[0] == '\0')
        return f;
    char joined[8192];
    if (path[0] != '/' && start_dir && start_dir[0]) {
        snprintf(joined, sizeof joined, "%s/%s", start_dir, path);
        path = joined;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return f;
    char *text = NULL;
    size_t len = 0;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long size = ftell(fp);
        if (size >= 0 && (size_t)size <= MAX_SOURCE_FILE && fseek(fp, 0, SEEK_SET) == 0) {
            text = malloc((size_t)size + 1);
            if (text)
                len = fread(text, 1, (size_t)size, fp);
        }
    }
    fclose(fp);
    if (!text)
        return f;
    text[len] = '\0';
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    f->line_starts = malloc(n * sizeof *f->line_starts);
    if (!f->line_starts) {
        free(text);
        return f;
    }
    f->line_starts[0] = 0;
    f->nlines = 1;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n')
            f->line_starts[f->nlines++] = i + 1;
    f->text = text;
    return f;
}

/* The stripped text of a line into buf; false if unknown. */
static bool source_line(const source_file *f, int line, char *buf, size_t size)
{
    if (!f || !f->text || line < 1 || (size_t)line > f->nlines)
        return false;
    const char *s = f->text + f->line_starts[line - 1];
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = 0;
    while (s[n] && s[n] != '\n' && s[n] != '\r' && n + 1 < size)
        n++;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return n > 0;
}

static void source_cache_free(source_cache *c)
{
    for (size_t i = 0; i < c->count; i++) {
        free(c->files[i].text);
        free(c->files[i].line_starts);
    }
    free(c->files);
}

/* ---- writing -------------------------------------------------------------- */

typedef struct {
    int64_t function, file, source;   /* string ids; source -1 if none */
    int32_t line;
    bool pseudo;
} canon_frame;

typedef struct {
    sqlite3 *db;
    strtab strings;
    source_cache sources;
    canon_frame *frames;
    uint32_t nframes;
    uint32_t *frame_map;        /* engine frame -> canonical frame */
    uint32_t *node_parent, *node_frame;
    uint32_t nnodes;
    hm_amount (*values)[HM_SNAP_COUNT];
    char *err;
    size_t errlen;
    const char *start_dir;
    const hm_capture *cap;
    const char *path;
} writer;

/* what: the step that failed, for whoever debugs heapmark; the user is told
 * the file and SQLite's reason (e.g. "database or disk is full"). */
static bool fail(writer *w, const char *what)
{
    snprintf(w->err, w->errlen, "cannot write %s: %s (%s)", w->path,
             w->db ? sqlite3_errmsg(w->db) : "out of memory", what);
    return false;
}

static bool exec_sql(writer *w, const char *sql)
{
    return sqlite3_exec(w->db, sql, NULL, NULL, NULL) == SQLITE_OK || fail(w, "schema");
}

static const char schema[] =
    "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE strings(id INTEGER PRIMARY KEY, text TEXT NOT NULL);"
    "CREATE TABLE frames(id INTEGER PRIMARY KEY, function INTEGER NOT NULL,"
    " file INTEGER NOT NULL, line INTEGER NOT NULL, source INTEGER, pseudo INTEGER NOT NULL);"
    "CREATE TABLE nodes(id INTEGER PRIMARY KEY, parent INTEGER, frame INTEGER);"
    "CREATE TABLE snapshots(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " at_s REAL, total_bytes INTEGER);"
    "CREATE TABLE node_values(snapshot INTEGER NOT NULL, node INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(snapshot, node)) WITHOUT ROWID;"
    "CREATE TABLE timeline(t REAL NOT NULL, tracked INTEGER NOT NULL, rss INTEGER NOT NULL);"
    "CREATE TABLE gc_runs(t_start REAL NOT NULL, t_end REAL NOT NULL, generation INTEGER NOT NULL,"
    " tracked_before INTEGER NOT NULL, tracked_after INTEGER NOT NULL);"
    "CREATE TABLE phases(name TEXT NOT NULL, t_start REAL NOT NULL, t_end REAL,"
    " depth INTEGER NOT NULL);"
    "CREATE VIEW frame_text AS SELECT f.id AS id, fn.text AS function, fl.text AS file,"
    " f.line AS line, src.text AS source FROM frames f JOIN strings fn ON fn.id = f.function"
    " JOIN strings fl ON fl.id = f.file LEFT JOIN strings src ON src.id = f.source;";

static uint64_t frame_hash(const canon_frame *c)
{
    return hm_hash64(((uint64_t)c->function << 40) ^ ((uint64_t)c->file << 20) ^
                     (uint64_t)(uint32_t)c->line);
}

static bool canonical_frames(writer *w)
{
    const hm_capture *cap = w->cap;
    uint32_t n = cap->nframes;
    size_t slots = 16;
    while (slots < (size_t)n * 2)
        slots *= 2;
    uint32_t *index = calloc(slots, sizeof *index);   /* canonical id + 1, 0 = empty */
    w->frame_map = calloc(n ? n : 1, sizeof *w->frame_map);
    w->frames = calloc(n ? n : 1, sizeof *w->frames);
    if (!index || !w->frame_map || !w->frames) {
        free(index);
        return fail(w, "frames");
    }
    char line_text[MAX_SOURCE_LINE + 1];
    for (uint32_t i = 0; i < n; i++) {
        const hm_frame *f = &cap->frames[i];
        const hm_code *code = &cap->codes[f->code];
        canon_frame c = {strtab_id(&w->strings, code->function),
                         strtab_id(&w->strings, code->file), -1, f->line,
                         code->ptr == NULL && code->file[0] == '\0'};
        if (c.function < 0 || c.file < 0) {
            free(index);
            return fail(w, "strings");
        }
        size_t slot = frame_hash(&c) & (slots - 1);
        while (index[slot]) {
            canon_frame *o = &w->frames[index[slot] - 1];
            if (o->function == c.function && o->file == c.file && o->line == c.line)
                break;
            slot = (slot + 1) & (slots - 1);
        }
        if (!index[slot]) {
            if (!c.pseudo) {
                source_file *sf = source_load(&w->sources, c.file, code->file, w->start_dir);
                if (source_line(sf, c.line, line_text, sizeof line_text))
                    c.source = strtab_id(&w->strings, line_text);
            }
            w->frames[w->nframes] = c;
            index[slot] = ++w->nframes;
        }
        w->frame_map[i] = index[slot] - 1;
    }
    free(index);
    return true;
}

static bool canonical_nodes(writer *w, const hm_run_info *info)
{
    const hm_capture *c = w->cap;
    uint32_t n = c->nnodes;
    size_t cap = (size_t)n + 2;
    uint32_t *map = calloc(cap, sizeof *map);
    w->node_parent = calloc(cap, sizeof *w->node_parent);
    w->node_frame = calloc(cap, sizeof *w->node_frame);
    w->values = calloc(cap, sizeof *w->values);
    if (!map || !w->node_parent || !w->node_frame || !w->values) {
        free(map);
        return fail(w, "nodes");
    }
    hm_map index = {0};
    w->nnodes = 1;
    w->node_parent[0] = w->node_frame[0] = HM_NONE;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t id = 0;
        if (i > 0) {
            const hm_node *node = &c->nodes[i];
            uint32_t parent = map[node->parent];
            uint32_t frame = w->frame_map[node->frame];
            uint64_t key = (((uint64_t)parent << 32) | frame) + 1;
            id = hm_map_get(&index, key);
            if (id == UINT32_MAX) {
                id = w->nnodes++;
                w->node_parent[id] = parent;
                w->node_frame[id] = frame;
                hm_map_put(&index, key, id);
            }
        }
        map[i] = id;
        for (int s = 0; s < HM_SNAP_COUNT; s++) {
            w->values[id][s].bytes += c->values[i][s].bytes;
            w->values[id][s].count += c->values[i][s].count;
        }
    }
    hm_map_free(&index);
    free(map);

    /* Arena space no live object occupies, computed from the exact counters. */
    uint32_t free_frame = w->frame_map[c->pymalloc_free_frame];
    uint32_t id = w->nnodes++;
    w->node_parent[id] = 0;
    w->node_frame[id] = free_frame;
    w->values[id][HM_SNAP_PEAK - 1].bytes = info->peak_pymalloc_free;
    w->values[id][HM_SNAP_END - 1].bytes = info->end_pymalloc_free;
    return true;
}

/* In a function with locals db, st and w: one statement, stepped per row. */
#define PREPARE(sql) \
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return fail(w, "prepare")
#define STEP(what) \
    if (sqlite3_step(st) != SQLITE_DONE) { sqlite3_finalize(st); return fail(w, what); } \
    sqlite3_reset(st)

static bool insert_rows(writer *w)
{
    sqlite3_stmt *st = NULL;
    sqlite3 *db = w->db;

    PREPARE("INSERT INTO strings VALUES(?,?)");
    for (uint32_t i = 0; i < w->strings.count; i++) {
        sqlite3_bind_int64(st, 1, i);
        sqlite3_bind_text(st, 2, w->strings.by_id[i]->text, -1, SQLITE_STATIC);
        STEP("strings");
    }
    sqlite3_finalize(st);

    PREPARE("INSERT INTO frames VALUES(?,?,?,?,?,?)");
    for (uint32_t i = 0; i < w->nframes; i++) {
        canon_frame *f = &w->frames[i];
        sqlite3_bind_int64(st, 1, i);
        sqlite3_bind_int64(st, 2, f->function);
        sqlite3_bind_int64(st, 3, f->file);
        sqlite3_bind_int(st, 4, f->line);
        if (f->source >= 0)
            sqlite3_bind_int64(st, 5, f->source);
        else
            sqlite3_bind_null(st, 5);
        sqlite3_bind_int(st, 6, f->pseudo);
        STEP("frames");
    }
    sqlite3_finalize(st);

    PREPARE("INSERT INTO nodes VALUES(?,?,?)");
    for (uint32_t i = 0; i < w->nnodes; i++) {
        sqlite3_bind_int64(st, 1, i);
        if (i == 0) {
            sqlite3_bind_null(st, 2);
            sqlite3_bind_null(st, 3);
        } else {
            sqlite3_bind_int64(st, 2, w->node_parent[i]);
            sqlite3_bind_int64(st, 3, w->node_frame[i]);
        }
        STEP("nodes");
    }
    sqlite3_finalize(st);

    PREPARE("INSERT INTO node_values VALUES(?,?,?,?)");
    for (int s = 0; s < HM_SNAP_COUNT; s++) {
        for (uint32_t i = 0; i < w->nnodes; i++) {
            hm_amount v = w->values[i][s];
            if (v.bytes == 0 && v.count == 0)
                continue;
            sqlite3_bind_int(st, 1, s + 1);
            sqlite3_bind_int64(st, 2, i);
            sqlite3_bind_int64(st, 3, v.bytes);
            sqlite3_bind_int64(st, 4, v.count);
            STEP("values");
        }
    }
    sqlite3_finalize(st);
    return true;
}

/* Memory over time, the collector's runs and the phases (timeline.c);
 * an open phase has a NULL end. */
static bool insert_timeline(writer *w, const hm_timeline_data *tl)
{
    if (!tl)
        return true;
    sqlite3_stmt *st = NULL;
    sqlite3 *db = w->db;
    PREPARE("INSERT INTO timeline VALUES(?,?,?)");
    for (size_t i = 0; i < tl->npoints; i++) {
        sqlite3_bind_double(st, 1, tl->points[i].t);
        sqlite3_bind_int64(st, 2, tl->points[i].tracked);
        sqlite3_bind_int64(st, 3, tl->points[i].rss);
        STEP("timeline");
    }
    sqlite3_finalize(st);
    PREPARE("INSERT INTO gc_runs VALUES(?,?,?,?,?)");
    for (size_t i = 0; i < tl->ngc; i++) {
        const hm_tl_gc *g = &tl->gc[i];
        sqlite3_bind_double(st, 1, g->t_start);
        sqlite3_bind_double(st, 2, g->t_end);
        sqlite3_bind_int(st, 3, g->generation);
        sqlite3_bind_int64(st, 4, g->tracked_before);
        sqlite3_bind_int64(st, 5, g->tracked_after);
        STEP("gc_runs");
    }
    sqlite3_finalize(st);
    PREPARE("INSERT INTO phases VALUES(?,?,?,?)");
    for (size_t i = 0; i < tl->nphases; i++) {
        const hm_tl_phase *ph = &tl->phases[i];
        sqlite3_bind_text(st, 1, ph->name, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 2, ph->t_start);
        if (ph->t_end >= 0)
            sqlite3_bind_double(st, 3, ph->t_end);
        else
            sqlite3_bind_null(st, 3);
        sqlite3_bind_int(st, 4, ph->depth);
        STEP("phases");
    }
    sqlite3_finalize(st);
    return true;
}

/* oom_reason, oom_bytes, and where the allocation was: the frame of its
 * stack's node (engine node ids map to frames through the capture). */
static bool insert_oom(writer *w, const hm_run_info *info)
{
    const char *function = "", *file = "";
    int line = 0;
    const hm_capture *c = w->cap;
    if (info->oom_node != HM_NONE && info->oom_node > 0 && info->oom_node < c->nnodes) {
        const canon_frame *f = &w->frames[w->frame_map[c->nodes[info->oom_node].frame]];
        function = w->strings.by_id[f->function]->text;
        file = w->strings.by_id[f->file]->text;
        line = f->line;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(w->db, "INSERT INTO meta VALUES(?,?)", -1, &st, NULL) != SQLITE_OK)
        return fail(w, "meta");
    const char *keys[] = {"oom_reason", "oom_bytes", "oom_function", "oom_file", "oom_line"};
    for (int i = 0; i < 5; i++) {
        sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
        if (i == 0)
            sqlite3_bind_text(st, 2, info->oom_reason, -1, SQLITE_STATIC);
        else if (i == 1)
            sqlite3_bind_int64(st, 2, info->oom_bytes);
        else if (i == 2)
            sqlite3_bind_text(st, 2, function, -1, SQLITE_STATIC);
        else if (i == 3)
            sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int(st, 2, line);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_finalize(st);
            return fail(w, "meta");
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return true;
}

static bool insert_meta(writer *w, const hm_run_info *info)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(w->db, "INSERT INTO meta VALUES(?,?)", -1, &st, NULL) != SQLITE_OK)
        return fail(w, "meta");
    struct { const char *key; int type; const char *text; int64_t i; double d; } rows[] = {
        {"format_version", 1, NULL, HM_STORE_FORMAT_VERSION, 0},
        {"heapmark_version", 0, HM_VERSION, 0, 0},
        {"status", 0, info->status, 0, 0},
        {"command", 0, info->command, 0, 0},
        {"cwd", 0, info->cwd, 0, 0},
        {"pid", 1, NULL, info->pid, 0},
        {"parent_pid", 1, NULL, info->parent_pid, 0},
        {"python", 0, info->python_version, 0, 0},
        {"start_unix", 2, NULL, 0, info->start_unix},
        {"duration_s", 2, NULL, 0, info->duration_s},
        {"mode", 0, info->exact ? "exact" : "sampled", 0, 0},
        {"sample_rate", 1, NULL, (int64_t)info->sample_rate, 0},
        {"seed", 1, NULL, (int64_t)info->seed, 0},
        {"peak_bytes", 1, NULL, info->peak_bytes, 0},
        {"peak_at_s", 2, NULL, 0, info->peak_at_s},
        {"peak_rss_bytes", 1, NULL, info->peak_rss_bytes, 0},
        {"end_bytes", 1, NULL, info->end_bytes, 0},
        {"peak_pymalloc_free_bytes", 1, NULL, info->peak_pymalloc_free, 0},
        {"end_pymalloc_free_bytes", 1, NULL, info->end_pymalloc_free, 0},
        {"heapmark_overhead_bytes", 1, NULL, (int64_t)info->overhead_bytes, 0},
        {"pymalloc_layout_ok", 1, NULL, info->pymalloc_layout_ok, 0},
        {"python_hooks_late", 1, NULL, info->python_hooks_late, 0},
        {"timeline_interval_s", 2, NULL, 0, info->timeline ? info->timeline->interval_s : 0},
        {"gc_collections", 1, NULL, info->timeline ? info->timeline->gc_collections : 0, 0},
        {"gc_seconds", 2, NULL, 0, info->timeline ? info->timeline->gc_seconds : 0},
        {"phases_dropped", 1, NULL, info->timeline ? info->timeline->phases_dropped : 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        sqlite3_bind_text(st, 1, rows[i].key, -1, SQLITE_STATIC);
        if (rows[i].type == 0)
            sqlite3_bind_text(st, 2, rows[i].text ? rows[i].text : "", -1, SQLITE_STATIC);
        else if (rows[i].type == 1)
            sqlite3_bind_int64(st, 2, rows[i].i);
        else
            sqlite3_bind_double(st, 2, rows[i].d);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_finalize(st);
            return fail(w, "meta");
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (info->oom_reason && !insert_oom(w, info))
        return false;

    if (sqlite3_prepare_v2(w->db, "INSERT INTO snapshots VALUES(?,?,?,?)", -1, &st, NULL) !=
        SQLITE_OK)
        return fail(w, "snapshots");
    int64_t allocated = 0;
    for (uint32_t i = 0; i < w->nnodes; i++)
        allocated += w->values[i][HM_SNAP_ALLOCATED - 1].bytes;
    struct { const char *name; double at; int64_t total; } snaps[HM_SNAP_COUNT] = {
        {"peak", info->peak_at_s, info->peak_bytes},
        {"end", info->duration_s, info->end_bytes},
        {"allocated", info->duration_s, allocated},
    };
    for (int s = 0; s < HM_SNAP_COUNT; s++) {
        sqlite3_bind_int(st, 1, s + 1);
        sqlite3_bind_text(st, 2, snaps[s].name, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, snaps[s].at);
        sqlite3_bind_int64(st, 4, snaps[s].total);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_finalize(st);
            return fail(w, "snapshots");
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return true;
}

bool hm_store_write(const struct hm_capture *cap, const hm_run_info *info, char *err,
                    size_t errlen)
{
    writer w = {.err = err, .errlen = errlen, .start_dir = info->cwd, .cap = cap,
                .path = info->profile_path};
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s%s", info->profile_path,
             hm_series_suffix(HM_SERIES_TEMPORARY));
    remove(tmp);
    bool ok = false;
    if (sqlite3_open_v2(tmp, &w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot create %s: %s", tmp,
                 w.db ? sqlite3_errmsg(w.db) : "out of memory");
        goto done;
    }
    char header[128];
    snprintf(header, sizeof header, "PRAGMA application_id=%d; PRAGMA user_version=%d;",
             HM_STORE_APPLICATION_ID, HM_STORE_FORMAT_VERSION);
    ok = exec_sql(&w, header) && exec_sql(&w, schema) && exec_sql(&w, "BEGIN") && canonical_frames(&w) &&
         canonical_nodes(&w, info) && insert_rows(&w) && insert_meta(&w, info) &&
         insert_timeline(&w, info->timeline) &&
         exec_sql(&w, "COMMIT");
done:
    if (w.db && sqlite3_close(w.db) != SQLITE_OK && ok)
        ok = fail(&w, "close");
    if (ok && rename(tmp, info->profile_path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, info->profile_path,
                 strerror(errno));
        ok = false;
    }
    if (!ok)
        remove(tmp);
    strtab_free(&w.strings);
    source_cache_free(&w.sources);
    free(w.frames);
    free(w.frame_map);
    free(w.node_parent);
    free(w.node_frame);
    free(w.values);
    return ok;
}
