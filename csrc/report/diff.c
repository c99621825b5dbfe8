/*
 * diff.c - heapmark diff: what changed from a base run to a new one.
 *
 * Owns: matching the two call trees by path (a frame is keyed by function,
 * file as shown to people and line, so that runs from two checkouts of a
 * program still match; a process frame by its place in the run, main
 * first), the change credited to each line, and the text printed on stdout.
 * Must never: match by frame or node id (ids belong to one profile), or
 * present a change between sampled figures as exact.
 */
#include "report/diff.h"
#include "common/intern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What makes two frames of different runs the same frame. */
static void frame_key(hm_buf *key, const hm_profile *p, const hm_pframe *f)
{
    key->len = 0;
    int pid;
    if (f->pseudo && sscanf(f->function, "[process %d:", &pid) == 1) {
        /* Pids differ from run to run: the nth process matches the nth. */
        for (size_t k = 0; k < p->nprocesses; k++)
            if (p->processes[k].pid == pid) {
                hm_buf_printf(key, "P%zu", k);
                return;
            }
    }
    hm_buf_puts(key, f->pseudo ? "S" : "F");
    hm_buf_puts(key, f->function);
    hm_buf_putn(key, "", 1);
    if (!f->pseudo)
        hm_buf_puts(key, hm_short_path(p, f->file));
    hm_buf_printf(key, "%c%d", 0, f->line);
}

typedef struct {
    hm_intern frames, nodes;
    hm_buf key;
} matcher;

/* Adds run p's tree to the view, its snapshot values going to slot. */
static bool add_run(hm_diff *d, matcher *m, const hm_profile *p, int slot)
{
    hm_profile *v = &d->view;
    uint32_t *frame_map = malloc((p->nframes + 1) * sizeof *frame_map);
    uint32_t *node_map = malloc((p->nnodes + 1) * sizeof *node_map);
    bool ok = frame_map && node_map;
    for (size_t f = 0; ok && f < p->nframes; f++) {
        bool added;
        frame_key(&m->key, p, &p->frames[f]);
        frame_map[f] = hm_intern_put(&m->frames, m->key.data, m->key.len, &added);
        ok = frame_map[f] != UINT32_MAX && !m->key.failed;
        if (ok && added)
            v->frames[v->nframes++] = p->frames[f];
    }
    const hm_value *values = p->self[d->snapshot - 1];
    if (ok) {
        node_map[0] = 0;
        v->self[slot - 1][0] = values[0];
    }
    for (size_t n = 1; ok && n < p->nnodes; n++) {
        uint32_t pair[2] = {node_map[p->nodes[n].parent], frame_map[p->nodes[n].frame]};
        bool added;
        uint32_t id = hm_intern_put(&m->nodes, pair, sizeof pair, &added);
        ok = id != UINT32_MAX;
        if (!ok)
            break;
        uint32_t node = id + 1; /* 0 is the root */
        if (added) {
            v->nodes[node] =
                (hm_pnode){pair[0], pair[1], HM_NONE, HM_NONE, v->nodes[pair[0]].depth + 1};
            v->nnodes = node + 1;
        }
        node_map[n] = node;
        /* Two frames of one run can share a key (the same short path); add. */
        v->self[slot - 1][node].bytes += values[n].bytes;
        v->self[slot - 1][node].count += values[n].count;
    }
    free(frame_map);
    free(node_map);
    return ok;
}

static int by_change(const void *a, const void *b)
{
    const hm_diff_line *x = a, *y = b;
    int64_t dx = x->next - x->base, dy = y->next - y->base;
    if (dx != dy)
        return dx < dy ? 1 : -1;
    return x->frame < y->frame ? -1 : (x->frame > y->frame);
}

/* The bytes of each line in both runs (innermost line of the program's own
 * code, as the other reports credit them), ranked by change. */
static bool rank_lines(hm_diff *d)
{
    const hm_profile *v = &d->view;
    hm_line_total *got = calloc(v->nframes + 1, sizeof *got);
    d->lines = calloc(v->nframes + 1, sizeof *d->lines);
    if (!got || !d->lines) {
        free(got);
        return false;
    }
    for (size_t f = 0; f < v->nframes; f++)
        d->lines[f].frame = (uint32_t)f;
    size_t n = hm_profile_top_lines(v, HM_DIFF_NEW, HM_BY_PROGRAM_LINE, got, v->nframes);
    for (size_t i = 0; i < n; i++) {
        d->lines[got[i].frame].next = got[i].bytes;
        d->lines[got[i].frame].next_count = got[i].count;
    }
    n = hm_profile_top_lines(v, HM_DIFF_BASE, HM_BY_PROGRAM_LINE, got, v->nframes);
    for (size_t i = 0; i < n; i++) {
        d->lines[got[i].frame].base = got[i].bytes;
        d->lines[got[i].frame].base_count = got[i].count;
    }
    free(got);
    size_t kept = 0;
    for (size_t f = 0; f < v->nframes; f++)
        if (d->lines[f].base || d->lines[f].next)
            d->lines[kept++] = d->lines[f];
    d->nlines = kept;
    qsort(d->lines, kept, sizeof *d->lines, by_change);
    return true;
}

bool hm_diff_build(const hm_profile *base, const hm_profile *next, int snapshot, hm_diff *d,
                   char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (hm_snapshot_missing(base, snapshot, err, errlen) ||
        hm_snapshot_missing(next, snapshot, err, errlen))
        return false;
    d->base = base;
    d->next = next;
    d->snapshot = snapshot;
    hm_profile *v = &d->view;
    /* Borrowed strings and metadata: hm_profile_free leaves those alone. */
    v->merged = true;
    v->meta = next->meta;
    v->nmeta = next->nmeta;
    v->path = next->path;
    size_t nframes = base->nframes + next->nframes, nnodes = base->nnodes + next->nnodes;
    v->frames = calloc(nframes + 1, sizeof *v->frames);
    v->nodes = calloc(nnodes + 1, sizeof *v->nodes);
    bool ok = v->frames && v->nodes;
    for (int s = 0; ok && s < HM_SNAP_COUNT; s++) {
        v->self[s] = calloc(nnodes + 1, sizeof(hm_value));
        v->total[s] = calloc(nnodes + 1, sizeof(hm_value));
        ok = v->self[s] && v->total[s];
    }
    v->snapshot_total[HM_DIFF_NEW - 1] = next->snapshot_total[snapshot - 1];
    v->snapshot_total[HM_DIFF_BASE - 1] = base->snapshot_total[snapshot - 1];
    matcher m = {{0}, {0}, {0}};
    if (ok) {
        v->nodes[0] = (hm_pnode){HM_NONE, HM_NONE, HM_NONE, HM_NONE, 0};
        v->nnodes = 1;
        /* The new run first: its frames' labels are the ones shown. */
        ok = add_run(d, &m, next, HM_DIFF_NEW) && add_run(d, &m, base, HM_DIFF_BASE);
    }
    hm_intern_free(&m.frames);
    hm_intern_free(&m.nodes);
    hm_buf_free(&m.key);
    ok = ok && hm_profile_index(v) && rank_lines(d);
    if (!ok) {
        snprintf(err, errlen, "out of memory while comparing %s with %s", base->path, next->path);
        hm_diff_free(d);
    }
    return ok;
}

void hm_diff_free(hm_diff *d)
{
    hm_profile_free(&d->view);
    free(d->lines);
    memset(d, 0, sizeof *d);
}

int64_t hm_diff_total(const hm_diff *d, const hm_profile *run)
{
    /* "allocated" has no separate exact total: it is the sum of the tree. */
    return d->snapshot == HM_SNAP_ALLOCATED ? run->total[d->snapshot - 1][0].bytes
                                            : run->snapshot_total[d->snapshot - 1];
}

const char *hm_diff_snapshot_phrase(int snapshot)
{
    return snapshot == HM_SNAP_PEAK       ? "at the peak"
           : snapshot == HM_SNAP_END      ? "at the end"
           : snapshot == HM_SNAP_JOB_PEAK ? "at the job's combined peak"
                                          : "allocated in total";
}

void hm_diff_change(hm_buf *b, int64_t delta)
{
    if (delta > 0)
        hm_buf_puts(b, "+");
    hm_buf_bytes(b, delta);
}

const hm_diff_line *hm_diff_row(const hm_diff *d, bool increases, size_t k)
{
    if (k >= d->nlines)
        return NULL;
    const hm_diff_line *l = &d->lines[increases ? k : d->nlines - 1 - k];
    int64_t delta = l->next - l->base;
    return (increases ? delta > 0 : delta < 0) ? l : NULL;
}

static void mode_of(hm_buf *b, const hm_profile *p)
{
    if (hm_profile_is_exact(p)) {
        hm_buf_puts(b, "exact");
    } else {
        hm_buf_puts(b, "samples every ");
        hm_buf_bytes(b, hm_profile_meta_int(p, "sample_rate"));
    }
}

void hm_diff_estimate_note(hm_buf *b, const hm_diff *d)
{
    if (hm_profile_is_exact(d->base) && hm_profile_is_exact(d->next)) {
        hm_buf_puts(b, "per-line figures are exact in both runs (every allocation recorded)");
        return;
    }
    hm_buf_puts(b, "per-line figures are estimated (base: ");
    mode_of(b, d->base);
    hm_buf_puts(b, "; new: ");
    mode_of(b, d->next);
    hm_buf_puts(b, "); a change of a few sample intervals can be noise; the totals are exact");
}

/* "base 12.3 MiB python app.py (path)" and the same for new, then the change. */
static void runs(hm_buf *b, const hm_diff *d)
{
    const hm_profile *run[2] = {d->base, d->next};
    for (int i = 0; i < 2; i++) {
        hm_buf_puts(b, i ? "new:  " : "base: ");
        hm_buf_bytes(b, hm_diff_total(d, run[i]));
        hm_buf_printf(b, " %s, %s (%s)", hm_diff_snapshot_phrase(d->snapshot),
                      hm_profile_meta(run[i], "command"), run[i]->path);
        if (run[i]->nprocesses > 1)
            hm_buf_printf(b, ", %zu processes", run[i]->nprocesses);
        hm_buf_puts(b, "\n");
    }
    int64_t before = hm_diff_total(d, d->base), after = hm_diff_total(d, d->next);
    hm_buf_puts(b, "change: ");
    hm_diff_change(b, after - before);
    if (before > 0)
        hm_buf_printf(b, " (%+.1f%%)", 100.0 * (double)(after - before) / (double)before);
    hm_buf_puts(b, "\n");
}

static void table(hm_buf *out, const hm_diff *d, bool increases, size_t top, size_t columns)
{
    bool with_base = columns >= 70;
    size_t fixed = 11 + (with_base ? 11 : 0) + 11 + 2;
    size_t room = columns > fixed + 12 ? columns - fixed : 12;
    hm_buf_printf(out, "%11s", "change");
    if (with_base)
        hm_buf_printf(out, " %10s", "base");
    hm_buf_printf(out, " %10s  line\n", "new");
    hm_buf cell = {0};
    const hm_diff_line *l;
    size_t shown = 0;
    for (; shown < top && (l = hm_diff_row(d, increases, shown)); shown++) {
        int64_t delta = l->next - l->base;
        cell.len = 0;
        hm_diff_change(&cell, delta);
        hm_buf_printf(out, "%11s", cell.data ? cell.data : "");
        if (with_base) {
            cell.len = 0;
            hm_buf_bytes(&cell, l->base);
            hm_buf_printf(out, " %10s", cell.data ? cell.data : "");
        }
        cell.len = 0;
        hm_buf_bytes(&cell, l->next);
        hm_buf_printf(out, " %10s  ", cell.data ? cell.data : "");
        hm_frame_table_cell(out, &d->view, l->frame, fixed, room);
    }
    if (shown == 0)
        hm_buf_puts(out, "  (none)\n");
    hm_buf_free(&cell);
}

void hm_diff_text(const hm_diff *d, size_t top, size_t columns, hm_buf *out)
{
    hm_buf text = {0};
    hm_buf_printf(&text, "heapmark diff: memory %s, base -> new\n",
                  hm_diff_snapshot_phrase(d->snapshot));
    runs(&text, d);
    hm_diff_estimate_note(&text, d);
    hm_buf_printf(&text,
                  "\n\nbiggest increases %s, by line (the innermost line of the "
                  "program's own code is credited):\n",
                  hm_diff_snapshot_phrase(d->snapshot));
    hm_buf_wrap(out, text.data ? text.data : "", columns, "    ");
    hm_buf_free(&text);
    table(out, d, true, top, columns);
    hm_buf_printf(out, "\nbiggest decreases %s, by line:\n", hm_diff_snapshot_phrase(d->snapshot));
    table(out, d, false, top, columns);
}
