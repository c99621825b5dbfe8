/*
 * source_lines.c - source files line by line: `heapmark report PROFILE
 * --lines FILE.py` (one file, memory_profiler's layout, from the profile
 * instead of RSS) and report.html's "Source files" view (the program's own
 * files, as JSON).
 *
 * A line's figures are inclusive: the allocations made at that line or in
 * anything it called (as memory_profiler's increments are), each counted
 * once even where the line is on the stack more than once (recursion).
 * A function's and a file's figures are the same over all their lines.
 *
 * Owns: finding which of the profile's file names is FILE (the same file on
 * disk, else the same path, else one unique path ending), the per-line,
 * per-function and per-file sums (one walk of the tree for every file
 * asked for), and the text and JSON layouts.
 * Must never: present an estimate as exact (both layouts say which mode the
 * figures come from), or guess between two files that both match; or size
 * anything by a line number: a file's lines are slots (its source's lines,
 * then the lines beyond them that frames name), so a frame at line 2^31 - 1
 * (generated code, or a damaged profile) costs one slot, not gigabytes.
 */
#include "report/html.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hm_value peak, allocated; /* inclusive, each allocation once */
    int on_path;              /* frames here on the walk's path */
} sums;

typedef struct {
    const char *name;
    int32_t file; /* index in files */
    int32_t first_line, last_line;
    sums s;
} function_sums;

typedef struct {
    const char *name;      /* the profile's name for it */
    int32_t nslots;        /* lines shown: the source's, then frames' beyond it */
    int32_t *line_of_slot; /* [0 .. nslots): ascending line numbers */
    sums *lines;           /* [slot] */
    const char **recorded; /* [slot]: the text the profile recorded, or NULL */
    sums s;
    const char **source_lines; /* [1 .. nsource_lines], from the file; may be NULL */
    int32_t nsource_lines;
    char *source;
} file_sums;

typedef struct {
    file_sums *files;
    size_t nfiles;
    function_sums *functions;
    size_t nfunctions;
    int32_t *file_of_frame;     /* [frame]: index in files, -1 if none */
    int32_t *slot_of_frame;     /* [frame]: its line's slot in its file */
    int32_t *function_of_frame; /* [frame]: index in functions */
} source_set;

/* ---- which files ---- */

static int by_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct file names of the profile's Python code frames, sorted; *n
 * set.  Native frames' sources (--native) are not the program's lines. */
static const char **distinct_files(const hm_profile *p, size_t *n)
{
    const char **names = malloc((p->nframes + 1) * sizeof *names);
    size_t k = 0;
    if (!names)
        return NULL;
    for (size_t i = 0; i < p->nframes; i++)
        if (!p->frames[i].pseudo && !p->frames[i].library && p->frames[i].file[0])
            names[k++] = p->frames[i].file;
    qsort(names, k, sizeof *names, by_text);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(names[u - 1], names[i]) != 0)
            names[u++] = names[i];
    *n = u;
    return names;
}

/* Where the profiled program found recorded: relative to its directory. */
static void run_path(const hm_profile *p, const char *recorded, char *out, size_t size)
{
    const char *cwd = hm_profile_meta(p, "cwd");
    if (recorded[0] == '/' || !cwd[0])
        snprintf(out, size, "%s", recorded);
    else
        snprintf(out, size, "%s/%s", cwd, recorded);
}

static bool same_file_on_disk(const hm_profile *p, const char *recorded, const char *wanted_real)
{
    char path[PATH_MAX * 2], real[PATH_MAX];
    if (!wanted_real)
        return false;
    run_path(p, recorded, path, sizeof path);
    return realpath(path, real) && strcmp(real, wanted_real) == 0;
}

static bool ends_with_path(const char *path, const char *end)
{
    size_t n = strlen(path), m = strlen(end);
    return m > 0 && n >= m && strcmp(path + n - m, end) == 0 && (n == m || path[n - m - 1] == '/');
}

static const char *find_file(const hm_profile *p, const char *wanted, char *err, size_t errlen)
{
    size_t nnames;
    const char **names = distinct_files(p, &nnames);
    if (!names) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char real_buf[PATH_MAX];
    const char *wanted_real = realpath(wanted, real_buf);
    const char *wanted_tail = wanted;
    while (wanted_tail[0] == '.' && wanted_tail[1] == '/')
        wanted_tail += 2;
    const char *exact = NULL, *tail = NULL;
    size_t ntail = 0;
    hm_buf known = {0};
    size_t nknown = 0;
    for (size_t i = 0; i < nnames && !exact; i++) {
        const char *name = names[i];
        if (!hm_file_is_library(name) && nknown < 8)
            hm_buf_printf(&known, "%s%s", nknown++ ? ", " : "", hm_short_path(p, name));
        if (strcmp(name, wanted) == 0 || same_file_on_disk(p, name, wanted_real))
            exact = name;
        else if (ends_with_path(name, wanted_tail) || ends_with_path(wanted_tail, name))
            tail = ntail++ ? tail : name;
    }
    free(names);
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

static void add(sums *to, const hm_profile *p, uint32_t node)
{
    to->peak.bytes += p->total[HM_SNAP_PEAK - 1][node].bytes;
    to->peak.count += p->total[HM_SNAP_PEAK - 1][node].count;
    to->allocated.bytes += p->total[HM_SNAP_ALLOCATED - 1][node].bytes;
    to->allocated.count += p->total[HM_SNAP_ALLOCATED - 1][node].count;
}

/* The walk reaches (delta +1) or leaves (-1) node: the first frame of a
 * line, function or file on the path counts the node's subtree. */
static void visit(source_set *set, const hm_profile *p, uint32_t node, int delta)
{
    uint32_t frame = p->nodes[node].frame;
    int32_t file = set->file_of_frame[frame];
    if (file < 0)
        return;
    sums *counted[3] = {&set->files[file].lines[set->slot_of_frame[frame]], &set->files[file].s,
                        &set->functions[set->function_of_frame[frame]].s};
    for (int i = 0; i < 3; i++) {
        if (delta > 0 && counted[i]->on_path++ == 0)
            add(counted[i], p, node);
        else if (delta < 0)
            counted[i]->on_path--;
    }
}

/* What qsort's comparisons read (reports run one at a time). */
static const source_set *sort_set;
static const hm_profile *sort_profile;

/* Frames by file, then function name. */
static int by_file_and_function(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int32_t fx = sort_set->file_of_frame[x], fy = sort_set->file_of_frame[y];
    if (fx != fy)
        return fx < fy ? -1 : 1;
    return strcmp(sort_profile->frames[x].function, sort_profile->frames[y].function);
}

/* Functions by file, then first line. */
static int by_file_then_line(const void *a, const void *b)
{
    const function_sums *x = &sort_set->functions[*(const uint32_t *)a];
    const function_sums *y = &sort_set->functions[*(const uint32_t *)b];
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->first_line != y->first_line)
        return x->first_line < y->first_line ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int32_t file_index(const source_set *set, const char *name)
{
    size_t lo = 0, hi = set->nfiles; /* files are sorted by name */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(set->files[mid].name, name);
        if (c == 0)
            return (int32_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* set->functions: one per (file, function name), in each file's order of
 * first line; set->function_of_frame filled.  O(frames log frames). */
static bool find_functions(source_set *set, const hm_profile *p)
{
    uint32_t *frames = malloc((p->nframes + 1) * sizeof *frames);
    uint32_t *order = malloc((p->nframes + 1) * sizeof *order);
    int32_t *renamed = malloc((p->nframes + 1) * sizeof *renamed);
    function_sums *sorted = calloc(p->nframes + 1, sizeof *sorted);
    bool ok = frames && order && renamed && sorted;
    size_t n = 0;
    for (size_t i = 0; ok && i < p->nframes; i++)
        if (set->file_of_frame[i] >= 0)
            frames[n++] = (uint32_t)i;
    sort_set = set;
    sort_profile = p;
    if (ok)
        qsort(frames, n, sizeof *frames, by_file_and_function);
    for (size_t k = 0; ok && k < n; k++) {
        const hm_pframe *f = &p->frames[frames[k]];
        int32_t file = set->file_of_frame[frames[k]];
        function_sums *last = set->nfunctions ? &set->functions[set->nfunctions - 1] : NULL;
        if (!last || last->file != file || strcmp(last->name, f->function) != 0) {
            last = &set->functions[set->nfunctions++];
            *last = (function_sums){f->function, file, f->line, f->line, {{0, 0}, {0, 0}, 0}};
        }
        last->first_line = f->line < last->first_line ? f->line : last->first_line;
        last->last_line = f->line > last->last_line ? f->line : last->last_line;
        set->function_of_frame[frames[k]] = (int32_t)(set->nfunctions - 1);
    }
    for (size_t k = 0; ok && k < set->nfunctions; k++)
        order[k] = (uint32_t)k;
    if (ok)
        qsort(order, set->nfunctions, sizeof *order, by_file_then_line);
    for (size_t k = 0; ok && k < set->nfunctions; k++) {
        sorted[k] = set->functions[order[k]];
        renamed[order[k]] = (int32_t)k;
    }
    for (size_t k = 0; ok && k < n; k++)
        set->function_of_frame[frames[k]] = renamed[set->function_of_frame[frames[k]]];
    if (ok) {
        free(set->functions);
        set->functions = sorted;
        sorted = NULL;
    }
    free(frames);
    free(order);
    free(renamed);
    free(sorted);
    return ok;
}

/* Frames by file, then line. */
static int by_file_and_line(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int32_t fx = sort_set->file_of_frame[x], fy = sort_set->file_of_frame[y];
    if (fx != fy)
        return fx < fy ? -1 : 1;
    int32_t lx = sort_profile->frames[x].line, ly = sort_profile->frames[y].line;
    return (lx > ly) - (lx < ly);
}

/* Each file's slots: lines 1 .. nsource_lines, then the distinct lines
 * beyond them that its frames name, ascending; set->slot_of_frame filled.
 * frames: the frames with a file, n of them, sorted by file then line. */
static bool number_slots(source_set *set, const hm_profile *p, const uint32_t *frames, size_t n)
{
    size_t k = 0;
    for (size_t file = 0; file < set->nfiles; file++) {
        file_sums *fs = &set->files[file];
        size_t first = k, beyond = 0;
        for (; k < n && set->file_of_frame[frames[k]] == (int32_t)file; k++) {
            int32_t line = p->frames[frames[k]].line;
            beyond +=
                line > fs->nsource_lines && (k == first || line != p->frames[frames[k - 1]].line);
        }
        size_t nslots = (size_t)fs->nsource_lines + beyond;
        fs->line_of_slot = malloc((nslots + 1) * sizeof *fs->line_of_slot);
        fs->lines = calloc(nslots + 1, sizeof *fs->lines);
        fs->recorded = calloc(nslots + 1, sizeof *fs->recorded);
        if (!fs->line_of_slot || !fs->lines || !fs->recorded)
            return false;
        fs->nslots = (int32_t)nslots;
        int32_t slot = 0;
        for (; slot < fs->nsource_lines; slot++)
            fs->line_of_slot[slot] = slot + 1;
        for (size_t j = first; j < k; j++) {
            int32_t line = p->frames[frames[j]].line;
            if (line <= fs->nsource_lines) {
                set->slot_of_frame[frames[j]] = line - 1;
                continue;
            }
            if (slot == fs->nsource_lines || fs->line_of_slot[slot - 1] != line)
                fs->line_of_slot[slot++] = line;
            set->slot_of_frame[frames[j]] = slot - 1;
        }
    }
    return true;
}

/* set->files (sorted by name, source lines read or not) must be filled. */
static bool sum_files(source_set *set, const hm_profile *p)
{
    set->file_of_frame = malloc((p->nframes + 1) * sizeof *set->file_of_frame);
    set->slot_of_frame = malloc((p->nframes + 1) * sizeof *set->slot_of_frame);
    set->function_of_frame = malloc((p->nframes + 1) * sizeof *set->function_of_frame);
    set->functions = calloc(p->nframes + 1, sizeof *set->functions);
    uint32_t *frames = malloc((p->nframes + 1) * sizeof *frames);
    if (!set->file_of_frame || !set->slot_of_frame || !set->function_of_frame || !set->functions ||
        !frames) {
        free(frames);
        return false;
    }
    size_t nfile_frames = 0;
    for (size_t i = 0; i < p->nframes; i++) {
        const hm_pframe *f = &p->frames[i];
        int32_t file = f->pseudo || f->line <= 0 ? -1 : file_index(set, f->file);
        set->file_of_frame[i] = file;
        if (file >= 0)
            frames[nfile_frames++] = (uint32_t)i;
    }
    sort_set = set;
    sort_profile = p;
    qsort(frames, nfile_frames, sizeof *frames, by_file_and_line);
    bool numbered = number_slots(set, p, frames, nfile_frames);
    free(frames);
    if (!numbered)
        return false;
    if (!find_functions(set, p))
        return false;
    /* The recorded text of each line, where the file could not be read. */
    for (size_t i = 0; i < p->nframes; i++) {
        int32_t file = set->file_of_frame[i];
        const hm_pframe *f = &p->frames[i];
        if (file >= 0 && f->source[0] && !set->files[file].recorded[set->slot_of_frame[i]])
            set->files[file].recorded[set->slot_of_frame[i]] = f->source;
    }
    /* Depth first over the tree without a stack: parents and siblings are
     * links.  The root has no frame. */
    uint32_t n = 0;
    for (;;) {
        if (n != 0)
            visit(set, p, n, +1);
        if (p->nodes[n].first_child != HM_NONE) {
            n = p->nodes[n].first_child;
            continue;
        }
        for (;;) {
            if (n == 0)
                return true;
            visit(set, p, n, -1);
            if (p->nodes[n].next_sibling != HM_NONE) {
                n = p->nodes[n].next_sibling;
                break;
            }
            n = p->nodes[n].parent;
        }
    }
}

static void free_set(source_set *set)
{
    for (size_t k = 0; k < set->nfiles; k++) {
        free(set->files[k].line_of_slot);
        free(set->files[k].lines);
        free(set->files[k].recorded);
        free(set->files[k].source);
        free(set->files[k].source_lines);
    }
    free(set->files);
    free(set->functions);
    free(set->file_of_frame);
    free(set->slot_of_frame);
    free(set->function_of_frame);
}

/* The file the profile names first (wanted may be another file that only
 * ends the same way), else wanted: the profiled file moved since the run. */
static void read_source(file_sums *fs, const hm_profile *p, const char *wanted)
{
    char path[PATH_MAX * 2];
    run_path(p, fs->name, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        f = fopen(wanted, "rb");
    if (!f)
        return;
    hm_buf text = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        hm_buf_putn(&text, chunk, got);
    fclose(f);
    int32_t n = 1;
    for (size_t i = 0; i < text.len; i++)
        n += text.data[i] == '\n';
    fs->source_lines = text.failed || !text.data ? NULL : calloc((size_t)n + 2, sizeof(char *));
    if (!fs->source_lines) {
        hm_buf_free(&text);
        return;
    }
    fs->source = text.data;
    int32_t line = 1;
    fs->source_lines[line] = text.data;
    for (size_t i = 0; i < text.len; i++) {
        if (text.data[i] == '\r' && i + 1 < text.len && text.data[i + 1] == '\n')
            text.data[i] = '\0';
        if (text.data[i] == '\n') {
            text.data[i] = '\0';
            if (i + 1 < text.len)
                fs->source_lines[++line] = text.data + i + 1;
        }
    }
    fs->nsource_lines = line;
}

/* A slot's text: the file's line, else as the profile recorded it. */
static const char *line_text(const file_sums *fs, int32_t slot)
{
    if (slot < fs->nsource_lines && fs->source_lines[slot + 1])
        return fs->source_lines[slot + 1];
    return fs->recorded[slot];
}

/* The first slot after `slot` whose line allocated or held anything; -1 if
 * none (next_slot(fs, -1) is the first). */
static int32_t next_slot(const file_sums *fs, int32_t slot)
{
    while (++slot < fs->nslots)
        if (fs->lines[slot].allocated.count || fs->lines[slot].peak.bytes)
            return slot;
    return -1;
}

/* The kinds at the peak's walk of fs's slots; NULL when there is no walk.
 * *walk set (or -1). */
static hm_line_kinds *slot_kinds(const source_set *set, const hm_profile *p, const file_sums *fs,
                                 int *walk)
{
    *walk = hm_kinds_walk_for(p, HM_SNAP_PEAK);
    if (*walk < 0)
        return NULL;
    int32_t file = (int32_t)(fs - set->files);
    int32_t *slots = malloc((p->nframes + 1) * sizeof *slots);
    if (!slots)
        return NULL;
    for (size_t f = 0; f < p->nframes; f++)
        slots[f] = set->file_of_frame[f] == file ? set->slot_of_frame[f] : -1;
    hm_line_kinds *kinds = hm_kinds_by_line(p, *walk, slots, fs->nslots);
    free(slots);
    return kinds;
}

/* ---- heapmark report --lines ---- */

#define KINDS_WIDTH 26

static void cell(hm_buf *out, int64_t n, bool as_bytes, int width)
{
    hm_buf c = {0};
    if (n && as_bytes)
        hm_buf_bytes(&c, n);
    else if (n)
        hm_buf_grouped(&c, n);
    hm_buf_printf(out, " %*s", width, c.data ? c.data : "");
    hm_buf_free(&c);
}

static void figures(hm_buf *out, const sums *s)
{
    cell(out, s->peak.bytes, true, 11);
    cell(out, s->allocated.bytes, true, 11);
    cell(out, s->allocated.count, false, 12);
}

static void render_text(const source_set *set, const hm_profile *p, hm_buf *out)
{
    const file_sums *fs = &set->files[0];
    hm_buf_printf(out, "File: %s\n", hm_short_path(p, fs->name));
    hm_buf_puts(out, "Peak tracked memory ");
    hm_buf_bytes(out, p->snapshot_total[HM_SNAP_PEAK - 1]);
    hm_buf_printf(out, " at %.2f s; ", hm_profile_meta_real(p, "peak_at_s"));
    hm_report_mode(out, p);
    hm_buf_puts(out, ".\n");
    hm_buf_puts(out, "A line's figures include what the functions it called allocated.\n");
    int walk;
    hm_line_kinds *kinds = slot_kinds(set, p, fs, &walk);
    if (kinds) {
        hm_buf_puts(out, "Kinds: what those bytes were, ");
        hm_kinds_walk_note(out, p, walk);
        hm_buf_puts(out, ".\n");
    }
    hm_buf_printf(out, "\n%6s %11s %11s %12s  ", "Line #", "At peak", "Allocated", "Allocations");
    if (kinds)
        hm_buf_printf(out, "%-*s  ", KINDS_WIDTH, "Kinds");
    hm_buf_puts(out, "Line Contents\n");
    hm_buf_puts(out, "===================================================================");
    hm_buf_puts(out, kinds ? "============================\n" : "\n");
    hm_buf cell = {0};
    for (int32_t slot = 0; slot < fs->nslots; slot++) {
        const sums *l = &fs->lines[slot];
        const char *text = line_text(fs, slot);
        if (!text && !l->allocated.count && !l->peak.bytes)
            continue; /* unknown and empty */
        hm_buf_printf(out, "%6d", fs->line_of_slot[slot]);
        figures(out, l);
        hm_buf_puts(out, "  ");
        if (kinds) {
            cell.len = 0;
            hm_line_kinds_text(&cell, &kinds[slot], 2);
            const char *k = cell.data && cell.len ? cell.data : "";
            hm_buf_fit(out, k, KINDS_WIDTH, false);
            size_t shown = hm_text_width(k) < KINDS_WIDTH ? hm_text_width(k) : KINDS_WIDTH;
            hm_buf_printf(out, "%*s  ", (int)(KINDS_WIDTH - shown), "");
        }
        hm_buf_printf(out, "%s\n", text ? text : "");
    }
    hm_buf_free(&cell);
    hm_line_kinds_free(kinds, fs->nslots);
    hm_buf_printf(out, "\n%-40s %11s %11s %12s\n", "Function (lines)", "At peak", "Allocated",
                  "Allocations");
    for (size_t i = 0; i < set->nfunctions; i++) {
        const function_sums *fn = &set->functions[i];
        hm_buf label = {0};
        hm_buf_printf(&label, "%s (%d-%d)", fn->name, fn->first_line, fn->last_line);
        const char *text = label.data ? label.data : "";
        hm_buf_fit(out, text, 40, false);
        size_t shown = hm_text_width(text) < 40 ? hm_text_width(text) : 40;
        hm_buf_printf(out, "%*s", (int)(40 - shown), "");
        hm_buf_free(&label);
        figures(out, &fn->s);
        hm_buf_puts(out, "\n");
    }
}

static void json_sums(hm_buf *out, const sums *s)
{
    hm_buf_printf(out,
                  "\"peak_bytes\": %lld, \"peak_count\": %lld, \"allocated_bytes\": %lld, "
                  "\"allocations\": %lld",
                  (long long)s->peak.bytes, (long long)s->peak.count, (long long)s->allocated.bytes,
                  (long long)s->allocated.count);
}

static void render_json(const source_set *set, const hm_profile *p, hm_buf *out)
{
    const file_sums *fs = &set->files[0];
    hm_buf_puts(out, "{\"file\": ");
    hm_buf_json(out, fs->name);
    hm_buf_printf(out, ", \"exact\": %s, \"peak_bytes\": %lld, \"lines\": [",
                  hm_profile_is_exact(p) ? "true" : "false",
                  (long long)p->snapshot_total[HM_SNAP_PEAK - 1]);
    int walk;
    hm_line_kinds *kinds = slot_kinds(set, p, fs, &walk);
    int32_t first = next_slot(fs, -1);
    for (int32_t slot = first; slot >= 0; slot = next_slot(fs, slot)) {
        const sums *l = &fs->lines[slot];
        const char *text = line_text(fs, slot);
        hm_buf_printf(out, "%s\n  {\"line\": %d, ", slot == first ? "" : ",",
                      fs->line_of_slot[slot]);
        json_sums(out, l);
        hm_buf_puts(out, ", \"source\": ");
        hm_buf_json(out, text ? text : "");
        if (kinds) {
            hm_buf_puts(out, ", \"kinds\": {");
            for (size_t k = 0; k < kinds[slot].n; k++) {
                hm_buf_puts(out, k ? ", " : "");
                hm_buf_json(out, kinds[slot].kinds[k].kind);
                hm_buf_printf(out, ": %lld", (long long)kinds[slot].kinds[k].bytes);
            }
            hm_buf_puts(out, "}");
        }
        hm_buf_puts(out, "}");
    }
    hm_line_kinds_free(kinds, fs->nslots);
    hm_buf_puts(out, "],\n \"functions\": [");
    for (size_t i = 0; i < set->nfunctions; i++) {
        const function_sums *fn = &set->functions[i];
        hm_buf_printf(out, "%s\n  {\"function\": ", i ? "," : "");
        hm_buf_json(out, fn->name);
        hm_buf_printf(out, ", \"first_line\": %d, \"last_line\": %d, ", fn->first_line,
                      fn->last_line);
        json_sums(out, &fn->s);
        hm_buf_puts(out, "}");
    }
    hm_buf_puts(out, "]}\n");
}

bool hm_report_source_lines(const hm_profile *p, const char *wanted, bool json, hm_buf *out,
                            char *err, size_t errlen)
{
    source_set set = {calloc(1, sizeof(file_sums)), 1, NULL, 0, NULL, NULL};
    if (!set.files) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    set.files[0].name = find_file(p, wanted, err, errlen);
    if (!set.files[0].name) {
        free_set(&set);
        return false;
    }
    read_source(&set.files[0], p, wanted);
    bool ok = sum_files(&set, p);
    if (!ok)
        snprintf(err, errlen, "out of memory summing the lines of %s", wanted);
    else if (json)
        render_json(&set, p, out);
    else
        render_text(&set, p, out);
    free_set(&set);
    return ok;
}

/* ---- report.html's "Source files" ---- */

static int by_file_peak_desc(const void *a, const void *b)
{
    const file_sums *x = &sort_set->files[*(const size_t *)a];
    const file_sums *y = &sort_set->files[*(const size_t *)b];
    if (x->s.peak.bytes != y->s.peak.bytes)
        return x->s.peak.bytes > y->s.peak.bytes ? -1 : 1;
    if (x->s.allocated.bytes != y->s.allocated.bytes)
        return x->s.allocated.bytes > y->s.allocated.bytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

bool hm_html_sources(hm_buf *out, const hm_profile *p, size_t max_files)
{
    size_t nnames;
    const char **names = distinct_files(p, &nnames);
    source_set set = {0};
    set.files = names ? calloc(nnames + 1, sizeof *set.files) : NULL;
    size_t *order = names ? malloc((nnames + 1) * sizeof *order) : NULL;
    bool ok = names && set.files && order;
    for (size_t i = 0; ok && i < nnames; i++) {
        if (!hm_file_is_library(names[i])) /* the program's own files, in name order */
            set.files[set.nfiles++].name = names[i];
    }
    ok = ok && sum_files(&set, p);
    hm_buf_puts(out, "\"sources\":[");
    if (ok) {
        for (size_t k = 0; k < set.nfiles; k++)
            order[k] = k;
        sort_set = &set;
        qsort(order, set.nfiles, sizeof *order, by_file_peak_desc);
        size_t shown = set.nfiles < max_files ? set.nfiles : max_files;
        for (size_t r = 0; r < shown; r++) {
            const file_sums *fs = &set.files[order[r]];
            hm_buf_puts(out, r ? ",{\"file\":" : "{\"file\":");
            hm_html_json_text(out, hm_short_path(p, fs->name));
            hm_buf_printf(out, ",\"peak\":%lld,\"allocated\":%lld,\"lines\":[",
                          (long long)fs->s.peak.bytes, (long long)fs->s.allocated.bytes);
            int walk;
            hm_line_kinds *kinds = slot_kinds(&set, p, fs, &walk);
            hm_buf cell = {0};
            int32_t first = next_slot(fs, -1);
            for (int32_t slot = first; slot >= 0; slot = next_slot(fs, slot)) {
                const sums *l = &fs->lines[slot];
                const char *text = line_text(fs, slot);
                hm_buf_printf(out, "%s[%d,%lld,%lld,%lld,", slot == first ? "" : ",",
                              fs->line_of_slot[slot], (long long)l->peak.bytes,
                              (long long)l->allocated.bytes, (long long)l->allocated.count);
                hm_html_json_text(out, text ? text : "");
                /* The line's kinds at the peak's walk, in a few words. */
                cell.len = 0;
                if (kinds)
                    hm_line_kinds_text(&cell, &kinds[slot], 3);
                hm_buf_puts(out, ",");
                hm_html_json_text(out, cell.data && cell.len ? cell.data : "");
                hm_buf_puts(out, "]");
            }
            hm_buf_free(&cell);
            hm_line_kinds_free(kinds, fs->nslots);
            hm_buf_puts(out, "]}");
        }
    }
    hm_buf_printf(out, "],\"sources_omitted\":%zu",
                  ok && set.nfiles > max_files ? set.nfiles - max_files : 0);
    free(order);
    free(names);
    free_set(&set);
    return ok && !out->failed;
}
