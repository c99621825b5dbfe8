/*
 * source_lines.c - `heapmark report PROFILE --lines FILE.py`: one source
 * file, line by line, with what each line holds at the peak, what it
 * allocated in all and how many allocations it made (memory_profiler's
 * layout, from the profile instead of RSS), then the file's functions.
 *
 * A line's figures are inclusive: the allocations made at that line or in
 * anything it called (as memory_profiler's increments are), each counted
 * once even where the line is on the stack more than once (recursion).
 * A function's figures are the same over all its lines.
 *
 * Owns: finding which of the profile's file names is FILE (same file on
 * disk, else the same path, else one unique path ending), the per-line and
 * per-function sums, and the text and JSON layouts.
 * Must never: present an estimate as exact (the header says which mode the
 * figures come from), or guess between two files that both match.
 */
#include "report/report.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hm_value peak, allocated; /* inclusive, each allocation once */
    int on_path;              /* frames of this line on the walk's path */
} line_sums;

typedef struct {
    const char *name;
    int32_t first_line, last_line;
    hm_value peak, allocated;
    int on_path;
} function_sums;

typedef struct {
    const char *file;           /* the profile's name for it */
    int32_t *function_of_frame; /* [frame]: index in functions, -1 if not in the file */
    int32_t nlines;             /* the highest line with a frame, or of the source */
    line_sums *lines;           /* [0 .. nlines] */
    function_sums *functions;
    size_t nfunctions;
    char *source; /* the file's text, NUL-separated lines; NULL if unreadable */
    const char **source_lines;
    int32_t nsource_lines;
} file_view;

/* ---- which of the profile's files is the one asked for ---- */

static bool same_file_on_disk(const hm_profile *p, const char *recorded, const char *wanted_real)
{
    if (!wanted_real)
        return false;
    char joined[PATH_MAX * 2], real[PATH_MAX];
    const char *cwd = hm_profile_meta(p, "cwd");
    if (recorded[0] == '/' || !cwd[0])
        snprintf(joined, sizeof joined, "%s", recorded);
    else
        snprintf(joined, sizeof joined, "%s/%s", cwd, recorded);
    return realpath(joined, real) && strcmp(real, wanted_real) == 0;
}

static bool ends_with_path(const char *path, const char *end)
{
    size_t n = strlen(path), m = strlen(end);
    return m > 0 && n >= m && strcmp(path + n - m, end) == 0 && (n == m || path[n - m - 1] == '/');
}

static const char *find_file(const hm_profile *p, const char *wanted, char *err, size_t errlen)
{
    char real_buf[PATH_MAX];
    const char *wanted_real = realpath(wanted, real_buf);
    const char *wanted_tail = wanted;
    while (wanted_tail[0] == '.' && wanted_tail[1] == '/')
        wanted_tail += 2;
    const char *exact = NULL, *tail = NULL;
    size_t ntail = 0;
    hm_buf known = {0};
    size_t nknown = 0;
    for (size_t i = 0; i < p->nframes; i++) {
        const hm_pframe *f = &p->frames[i];
        if (f->pseudo || !f->file[0])
            continue;
        bool seen = false; /* file names are few: a linear check is enough */
        for (size_t j = 0; j < i && !seen; j++)
            seen = !p->frames[j].pseudo && strcmp(p->frames[j].file, f->file) == 0;
        if (seen)
            continue;
        if (!hm_frame_is_library(f) && nknown < 8)
            hm_buf_printf(&known, "%s%s", nknown++ ? ", " : "", hm_short_path(p, f->file));
        if (!exact && (strcmp(f->file, wanted) == 0 || same_file_on_disk(p, f->file, wanted_real)))
            exact = f->file;
        else if (ends_with_path(f->file, wanted_tail) || ends_with_path(wanted_tail, f->file)) {
            if (tail && strcmp(tail, f->file) != 0)
                ntail++;
            else if (!tail)
                tail = f->file, ntail = 1;
        }
    }
    if (exact || ntail == 1) {
        hm_buf_free(&known);
        return exact ? exact : tail;
    }
    if (ntail > 1)
        snprintf(err, errlen, "'%s' matches %zu files of the profile: give more of its path",
                 wanted, ntail);
    else
        snprintf(err, errlen, "no allocation in this profile was made in '%s' (its files: %s)",
                 wanted, known.data ? known.data : "none");
    hm_buf_free(&known);
    return NULL;
}

/* ---- the sums ---- */

static function_sums *function_of(file_view *v, const char *name)
{
    for (size_t i = 0; i < v->nfunctions; i++)
        if (strcmp(v->functions[i].name, name) == 0)
            return &v->functions[i];
    return NULL;
}

static void add(hm_value *to, const hm_value *v)
{
    to->bytes += v->bytes;
    to->count += v->count;
}

/* enter = +1 when the walk reaches node, -1 when it leaves it. */
static void visit(file_view *v, const hm_profile *p, uint32_t node, int enter)
{
    uint32_t frame = p->nodes[node].frame;
    if (v->function_of_frame[frame] < 0)
        return;
    line_sums *l = &v->lines[p->frames[frame].line];
    function_sums *fn = &v->functions[v->function_of_frame[frame]];
    if (enter > 0 && l->on_path++ == 0) {
        add(&l->peak, &p->total[HM_SNAP_PEAK - 1][node]);
        add(&l->allocated, &p->total[HM_SNAP_ALLOCATED - 1][node]);
    } else if (enter < 0)
        l->on_path--;
    if (enter > 0 && fn->on_path++ == 0) {
        add(&fn->peak, &p->total[HM_SNAP_PEAK - 1][node]);
        add(&fn->allocated, &p->total[HM_SNAP_ALLOCATED - 1][node]);
    } else if (enter < 0)
        fn->on_path--;
}

static int by_first_line(const void *a, const void *b)
{
    const function_sums *x = a, *y = b;
    return x->first_line != y->first_line ? (x->first_line < y->first_line ? -1 : 1)
                                          : strcmp(x->name, y->name);
}

static bool sum_file(file_view *v, const hm_profile *p)
{
    /* Frames of the file: the line range and the functions. */
    for (size_t i = 0; i < p->nframes; i++) {
        const hm_pframe *f = &p->frames[i];
        if (f->pseudo || strcmp(f->file, v->file) != 0)
            continue;
        if (f->line > v->nlines)
            v->nlines = f->line;
    }
    if (v->nsource_lines > v->nlines)
        v->nlines = v->nsource_lines;
    v->lines = calloc((size_t)v->nlines + 1, sizeof *v->lines);
    v->functions = calloc(p->nframes, sizeof *v->functions);
    v->function_of_frame = malloc(p->nframes * sizeof *v->function_of_frame);
    if (!v->lines || !v->functions || !v->function_of_frame)
        return false;
    for (size_t i = 0; i < p->nframes; i++) {
        const hm_pframe *f = &p->frames[i];
        v->function_of_frame[i] = -1;
        if (f->pseudo || strcmp(f->file, v->file) != 0 || f->line <= 0)
            continue;
        function_sums *fn = function_of(v, f->function);
        if (!fn) {
            fn = &v->functions[v->nfunctions++];
            fn->name = f->function;
            fn->first_line = fn->last_line = f->line;
        }
        if (f->line < fn->first_line)
            fn->first_line = f->line;
        if (f->line > fn->last_line)
            fn->last_line = f->line;
        v->function_of_frame[i] = (int32_t)(fn - v->functions);
    }
    /* In the file's order, then every frame pointed at its function again. */
    qsort(v->functions, v->nfunctions, sizeof *v->functions, by_first_line);
    for (size_t i = 0; i < p->nframes; i++)
        if (v->function_of_frame[i] >= 0)
            v->function_of_frame[i] =
                (int32_t)(function_of(v, p->frames[i].function) - v->functions);
    /* Depth first over the tree, without a stack: parents and siblings are
     * links.  The root has no frame. */
    uint32_t n = 0;
    for (;;) {
        if (n != 0)
            visit(v, p, n, +1);
        if (p->nodes[n].first_child != HM_NONE) {
            n = p->nodes[n].first_child;
            continue;
        }
        for (;;) {
            if (n == 0)
                goto walked;
            visit(v, p, n, -1);
            if (p->nodes[n].next_sibling != HM_NONE) {
                n = p->nodes[n].next_sibling;
                break;
            }
            n = p->nodes[n].parent;
        }
    }
walked:
    return true;
}

static void read_source(file_view *v, const hm_profile *p, const char *wanted)
{
    FILE *f = fopen(wanted, "rb");
    if (!f) {
        char joined[PATH_MAX * 2];
        snprintf(joined, sizeof joined, "%s/%s", hm_profile_meta(p, "cwd"), v->file);
        f = fopen(v->file[0] == '/' ? v->file : joined, "rb");
    }
    if (!f)
        return;
    hm_buf text = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        hm_buf_putn(&text, chunk, got);
    fclose(f);
    if (text.failed || !text.data) {
        hm_buf_free(&text);
        return;
    }
    int32_t n = 1;
    for (size_t i = 0; i < text.len; i++)
        n += text.data[i] == '\n';
    v->source_lines = calloc((size_t)n + 2, sizeof *v->source_lines);
    if (!v->source_lines) {
        hm_buf_free(&text);
        return;
    }
    v->source = text.data;
    int32_t line = 1;
    v->source_lines[line] = text.data;
    for (size_t i = 0; i < text.len; i++) {
        if (text.data[i] == '\r' && i + 1 < text.len && text.data[i + 1] == '\n')
            text.data[i] = '\0';
        if (text.data[i] == '\n') {
            text.data[i] = '\0';
            if (i + 1 < text.len)
                v->source_lines[++line] = text.data + i + 1;
        }
    }
    v->nsource_lines = line;
}

/* The line's text: from the file, else as the profile recorded it. */
static const char *line_text(const file_view *v, const hm_profile *p, int32_t line)
{
    if (line <= v->nsource_lines && v->source_lines[line])
        return v->source_lines[line];
    for (size_t i = 0; i < p->nframes; i++) {
        const hm_pframe *f = &p->frames[i];
        if (!f->pseudo && f->line == line && f->source[0] && strcmp(f->file, v->file) == 0)
            return f->source;
    }
    return NULL;
}

/* ---- layouts ---- */

static void cell(hm_buf *out, int64_t bytes, int width)
{
    hm_buf c = {0};
    if (bytes)
        hm_buf_bytes(&c, bytes);
    hm_buf_printf(out, "%*s", width, c.data ? c.data : "");
    hm_buf_free(&c);
}

static void count_cell(hm_buf *out, int64_t count, int width)
{
    hm_buf c = {0};
    if (count)
        hm_buf_grouped(&c, count);
    hm_buf_printf(out, "%*s", width, c.data ? c.data : "");
    hm_buf_free(&c);
}

static void render_text(const file_view *v, const hm_profile *p, hm_buf *out)
{
    hm_buf_printf(out, "File: %s\n", hm_short_path(p, v->file));
    hm_buf_puts(out, "Peak tracked memory ");
    hm_buf_bytes(out, p->snapshot_total[HM_SNAP_PEAK - 1]);
    hm_buf_printf(out, " at %.2f s. ", hm_profile_meta_real(p, "peak_at_s"));
    if (hm_profile_is_exact(p)) {
        hm_buf_puts(out, "Exact: every allocation recorded.\n");
    } else {
        hm_buf_puts(out, "Sampled, one sample per ");
        hm_buf_bytes(out, hm_profile_meta_int(p, "sample_rate"));
        hm_buf_puts(out, " on average: the figures are unbiased estimates.\n");
    }
    hm_buf_puts(out, "A line's figures include what the functions it called allocated.\n\n");
    hm_buf_printf(out, "%6s %11s %11s %12s  %s\n", "Line #", "At peak", "Allocated", "Allocations",
                  "Line Contents");
    hm_buf_puts(out, "===================================================================\n");
    for (int32_t line = 1; line <= v->nlines; line++) {
        const line_sums *l = &v->lines[line];
        const char *text = line_text(v, p, line);
        if (!text && !l->allocated.count && !l->peak.bytes)
            continue; /* beyond the file, or unknown and empty */
        hm_buf_printf(out, "%6d ", line);
        cell(out, l->peak.bytes, 11);
        hm_buf_puts(out, " ");
        cell(out, l->allocated.bytes, 11);
        hm_buf_puts(out, " ");
        count_cell(out, l->allocated.count, 12);
        hm_buf_printf(out, "  %s\n", text ? text : "");
    }
    hm_buf_printf(out, "\n%-40s %11s %11s %12s\n", "Function (lines)", "At peak", "Allocated",
                  "Allocations");
    for (size_t i = 0; i < v->nfunctions; i++) {
        const function_sums *fn = &v->functions[i];
        hm_buf label = {0};
        hm_buf_printf(&label, "%s (%d-%d)", fn->name, fn->first_line, fn->last_line);
        hm_buf_fit(out, label.data ? label.data : "", 40, false);
        size_t shown = hm_text_width(label.data ? label.data : "");
        hm_buf_printf(out, "%*s ", shown < 40 ? (int)(40 - shown) : 0, "");
        hm_buf_free(&label);
        cell(out, fn->peak.bytes, 11);
        hm_buf_puts(out, " ");
        cell(out, fn->allocated.bytes, 11);
        hm_buf_puts(out, " ");
        count_cell(out, fn->allocated.count, 12);
        hm_buf_puts(out, "\n");
    }
}

static void render_json(const file_view *v, const hm_profile *p, hm_buf *out)
{
    hm_buf_puts(out, "{\"file\": ");
    hm_buf_json(out, v->file);
    hm_buf_printf(out, ", \"exact\": %s, \"peak_bytes\": %lld, \"lines\": [",
                  hm_profile_is_exact(p) ? "true" : "false",
                  (long long)p->snapshot_total[HM_SNAP_PEAK - 1]);
    bool first = true;
    for (int32_t line = 1; line <= v->nlines; line++) {
        const line_sums *l = &v->lines[line];
        if (!l->allocated.count && !l->peak.bytes)
            continue;
        const char *text = line_text(v, p, line);
        hm_buf_printf(out,
                      "%s\n  {\"line\": %d, \"peak_bytes\": %lld, \"peak_count\": %lld, "
                      "\"allocated_bytes\": %lld, \"allocations\": %lld, \"source\": ",
                      first ? "" : ",", line, (long long)l->peak.bytes, (long long)l->peak.count,
                      (long long)l->allocated.bytes, (long long)l->allocated.count);
        hm_buf_json(out, text ? text : "");
        hm_buf_puts(out, "}");
        first = false;
    }
    hm_buf_puts(out, "],\n \"functions\": [");
    for (size_t i = 0; i < v->nfunctions; i++) {
        const function_sums *fn = &v->functions[i];
        hm_buf_printf(out, "%s\n  {\"function\": ", i ? "," : "");
        hm_buf_json(out, fn->name);
        hm_buf_printf(out,
                      ", \"first_line\": %d, \"last_line\": %d, \"peak_bytes\": %lld, "
                      "\"allocated_bytes\": %lld, \"allocations\": %lld}",
                      fn->first_line, fn->last_line, (long long)fn->peak.bytes,
                      (long long)fn->allocated.bytes, (long long)fn->allocated.count);
    }
    hm_buf_puts(out, "]}\n");
}

bool hm_report_source_lines(const hm_profile *p, const char *wanted, bool json, hm_buf *out,
                            char *err, size_t errlen)
{
    file_view v = {0};
    v.file = find_file(p, wanted, err, errlen);
    if (!v.file)
        return false;
    read_source(&v, p, wanted);
    bool ok = sum_file(&v, p);
    if (!ok)
        snprintf(err, errlen, "out of memory summing the lines of %s", wanted);
    else if (json)
        render_json(&v, p, out);
    else
        render_text(&v, p, out);
    free(v.lines);
    free(v.functions);
    free(v.function_of_frame);
    free(v.source);
    free(v.source_lines);
    return ok;
}
