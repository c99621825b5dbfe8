/*
 * kinds.c - kinds at the peak, as every report says them.
 *
 * Owns: the sentence that says where a profile's kinds come from (which
 * walk, when, how much of the peak was allocated then, estimate or exact),
 * the table of kinds, a line's kinds in a few words, and their JSON.
 * Must never: show kinds without saying which walk they come from: a walk
 * ran near the peak, rarely at it, and its bytes are the blocks recorded
 * then, not the peak's.
 */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KINDS 4096

int hm_kinds_walk_for(const hm_profile *p, int snapshot)
{
    int walk = snapshot == HM_SNAP_PEAK ? 0 : snapshot == HM_SNAP_END ? 1 : -1;
    return walk >= 0 && p->kinds[walk].present ? walk : -1;
}

static double share(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

void hm_kinds_walk_note(hm_buf *b, const hm_profile *p, int walk)
{
    const hm_kind_walk_data *w = &p->kinds[walk];
    int64_t total = p->snapshot_total[(walk == 0 ? HM_SNAP_PEAK : HM_SNAP_END) - 1];
    hm_buf_printf(b, "from a walk of the heap at %.2f s (%.2f s long), when ", w->at_s, w->seconds);
    hm_buf_bytes(b, w->tracked_bytes);
    if (walk == 0)
        hm_buf_printf(b, " was allocated: %.0f%% of the peak", share(w->tracked_bytes, total));
    else
        hm_buf_puts(b, " was allocated");
    if (p->merged)
        hm_buf_puts(b, " (each process's own walk)");
    hm_buf_puts(b, hm_profile_is_exact(p) ? "; bytes of the blocks recorded then"
                                          : "; estimates from the sampled blocks recorded then");
}

void hm_kinds_table(hm_buf *b, const hm_profile *p, int walk, size_t max, size_t width)
{
    hm_kind_total *kinds = calloc(max ? max : 1, sizeof *kinds);
    int64_t total;
    size_t n = kinds ? hm_profile_kinds(p, walk, NULL, HM_NONE, kinds, max, &total) : 0;
    hm_buf_printf(b, "%10s %6s %10s  %s\n", "bytes", "%", "objects", "kind");
    for (size_t i = 0; i < n; i++) {
        hm_buf cell = {0};
        hm_buf_bytes(&cell, kinds[i].bytes);
        hm_buf_printf(b, "%10s %5.1f%% %10lld  ", cell.data ? cell.data : "",
                      share(kinds[i].bytes, total), (long long)kinds[i].count);
        /* The name takes what is left of width (0: no limit). */
        hm_buf_fit(b, kinds[i].kind, width > 42 ? width - 30 : width ? 12 : SIZE_MAX / 2, false);
        hm_buf_puts(b, "\n");
        hm_buf_free(&cell);
    }
    if (n == 0)
        hm_buf_puts(b, "  (no recorded block was live at the walk)\n");
    free(kinds);
}

bool hm_kinds_inline(hm_buf *b, const hm_profile *p, int walk, const uint32_t *credited,
                     uint32_t frame, size_t max)
{
    hm_kind_total kinds[8];
    int64_t total;
    size_t n = hm_profile_kinds(p, walk, credited, frame, kinds, max < 8 ? max : 8, &total);
    for (size_t i = 0; i < n; i++) {
        double pct = share(kinds[i].bytes, total);
        if (i > 0 && pct < 1.0)
            break;
        hm_buf_printf(b, "%s%.0f%% %s", i ? ", " : "", pct, kinds[i].kind);
    }
    return n > 0;
}

void hm_kinds_json(hm_buf *b, const hm_profile *p, const uint32_t *credited, uint32_t frame,
                   int walk)
{
    hm_kind_total *kinds = calloc(MAX_KINDS, sizeof *kinds);
    int64_t total = 0;
    size_t n = kinds ? hm_profile_kinds(p, walk, credited, frame, kinds, MAX_KINDS, &total) : 0;
    hm_buf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        hm_buf_puts(b, i ? ", {\"kind\": " : "{\"kind\": ");
        hm_buf_json(b, kinds[i].kind);
        hm_buf_printf(b, ", \"bytes\": %lld, \"count\": %lld}", (long long)kinds[i].bytes,
                      (long long)kinds[i].count);
    }
    hm_buf_puts(b, "]");
    free(kinds);
}

void hm_kinds_walks_json(hm_buf *b, const hm_profile *p)
{
    hm_buf_puts(b, "{");
    for (int walk = 0; walk < 2; walk++) {
        const hm_kind_walk_data *w = &p->kinds[walk];
        hm_buf_printf(b, "%s\"%s\": ", walk ? ", " : "", walk ? "end" : "peak");
        if (!w->present) {
            hm_buf_puts(b, "null");
            continue;
        }
        hm_buf_printf(b,
                      "{\"at_s\": %.6f, \"seconds\": %.6f, \"tracked_bytes\": %lld, "
                      "\"objects\": %lld, \"kinds\": ",
                      w->at_s, w->seconds, (long long)w->tracked_bytes, (long long)w->objects);
        hm_kinds_json(b, p, NULL, HM_NONE, walk);
        hm_buf_puts(b, "}");
    }
    hm_buf_puts(b, "}");
}

/* ---- by line of one file (heapmark report --lines) ---- */

static void tally(hm_line_kinds *lk, const char *kind, int64_t bytes)
{
    for (size_t i = 0; i < lk->n; i++) {
        if (lk->kinds[i].kind == kind || strcmp(lk->kinds[i].kind, kind) == 0) {
            lk->kinds[i].bytes += bytes;
            lk->total += bytes;
            return;
        }
    }
    if (lk->n == lk->cap) {
        size_t cap = lk->cap ? lk->cap * 2 : 4;
        hm_kind_total *grown = realloc(lk->kinds, cap * sizeof *grown);
        if (!grown)
            return;
        lk->kinds = grown;
        lk->cap = cap;
    }
    lk->kinds[lk->n++] = (hm_kind_total){kind, bytes, 0, 0, 0, 0};
    lk->total += bytes;
}

static int kind_total_desc(const void *a, const void *b)
{
    const hm_kind_total *x = a, *y = b;
    return x->bytes != y->bytes ? (x->bytes < y->bytes ? 1 : -1) : strcmp(x->kind, y->kind);
}

hm_line_kinds *hm_kinds_by_line(const hm_profile *p, int walk, const int32_t *slot_of_frame,
                                int32_t nslots)
{
    hm_line_kinds *lines = calloc((size_t)nslots + 1, sizeof *lines);
    if (!lines)
        return NULL;
    const hm_kind_walk_data *w = &p->kinds[walk];
    int32_t seen[256];
    for (size_t r = 0; r < w->nrows; r++) {
        /* Up the stack: each line of the file once, however often it recurs. */
        size_t nseen = 0;
        for (uint32_t n = w->rows[r].node; n != 0 && n != HM_NONE; n = p->nodes[n].parent) {
            int32_t slot = slot_of_frame[p->nodes[n].frame];
            if (slot < 0 || slot >= nslots)
                continue;
            bool again = false;
            for (size_t k = 0; k < nseen && !again; k++)
                again = seen[k] == slot;
            if (again)
                continue;
            if (nseen < sizeof seen / sizeof *seen)
                seen[nseen++] = slot;
            tally(&lines[slot], w->rows[r].kind, w->rows[r].bytes);
        }
    }
    for (int32_t slot = 0; slot < nslots; slot++)
        if (lines[slot].n > 1)
            qsort(lines[slot].kinds, lines[slot].n, sizeof *lines[slot].kinds, kind_total_desc);
    return lines;
}

void hm_line_kinds_free(hm_line_kinds *lines, int32_t nslots)
{
    for (int32_t slot = 0; lines && slot < nslots; slot++)
        free(lines[slot].kinds);
    free(lines);
}

void hm_line_kinds_text(hm_buf *b, const hm_line_kinds *lk, size_t max)
{
    for (size_t i = 0; i < lk->n && i < max; i++) {
        double pct = share(lk->kinds[i].bytes, lk->total);
        if (i > 0 && pct < 1.0)
            break;
        hm_buf_printf(b, "%s%.0f%% %s", i ? ", " : "", pct, lk->kinds[i].kind);
    }
}
