/*
 * profile.c - questions every report asks of a loaded profile.
 *
 * Owns: metadata lookup, snapshot names, and the ranking of lines.
 * Must never: change the profile, or print (reports decide the layout).
 */
#include "store/profile.h"

#include <stdlib.h>
#include <string.h>

static const char *const snapshot_names[HM_SNAP_COUNT + 1] = {"", "peak", "end", "allocated",
                                                              "job-peak"};

const char *hm_snapshot_name(int snapshot)
{
    return snapshot >= 1 && snapshot <= HM_SNAP_COUNT ? snapshot_names[snapshot] : "";
}

bool hm_profile_has_snapshot(const hm_profile *p, int snapshot)
{
    return snapshot >= 1 && snapshot <= HM_SNAP_COUNT &&
           (snapshot != HM_SNAP_JOB_PEAK || p->job_peak);
}

int hm_snapshot_named(const char *name)
{
    for (int s = 1; s <= HM_SNAP_COUNT; s++)
        if (strcmp(name, snapshot_names[s]) == 0)
            return s;
    return 0;
}

const char *hm_profile_meta(const hm_profile *p, const char *key)
{
    for (size_t i = 0; i < p->nmeta; i++)
        if (strcmp(p->meta[i].key, key) == 0)
            return p->meta[i].value;
    return "";
}

int64_t hm_profile_meta_int(const hm_profile *p, const char *key)
{
    return strtoll(hm_profile_meta(p, key), NULL, 10);
}

double hm_profile_meta_real(const hm_profile *p, const char *key)
{
    return strtod(hm_profile_meta(p, key), NULL);
}

bool hm_profile_is_exact(const hm_profile *p)
{
    return strcmp(hm_profile_meta(p, "mode"), "exact") == 0;
}

bool hm_file_is_library(const char *file)
{
    return file[0] == '<' || strstr(file, "/site-packages/") || strstr(file, "/dist-packages/") ||
           strstr(file, "/lib/python3");
}

/* A native frame is never the program's line: lines are credited to the
 * Python line that called into the extension, as without --native. */
bool hm_frame_is_library(const hm_pframe *f)
{
    return f->library || hm_file_is_library(f->file);
}

/* Children sorted by decreasing peak total, so reports draw big first. */
static const hm_profile *sort_profile;
static int by_peak_desc(const void *a, const void *b)
{
    int64_t x = sort_profile->total[HM_SNAP_PEAK - 1][*(const uint32_t *)a].bytes;
    int64_t y = sort_profile->total[HM_SNAP_PEAK - 1][*(const uint32_t *)b].bytes;
    if (x != y)
        return x < y ? 1 : -1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

bool hm_profile_index(hm_profile *p)
{
    /* Parents come before children: one backward pass sums subtrees. */
    for (int s = 0; s < HM_SNAP_COUNT; s++) {
        memcpy(p->total[s], p->self[s], p->nnodes * sizeof(hm_value));
        for (size_t i = p->nnodes - 1; i > 0; i--) {
            uint32_t parent = p->nodes[i].parent;
            p->total[s][parent].bytes += p->total[s][i].bytes;
            p->total[s][parent].count += p->total[s][i].count;
        }
    }
    uint32_t *order = malloc(p->nnodes * sizeof *order);
    if (!order)
        return false;
    for (size_t i = 0; i < p->nnodes; i++) {
        order[i] = (uint32_t)i;
        p->nodes[i].first_child = p->nodes[i].next_sibling = HM_NONE;
    }
    sort_profile = p;
    qsort(order + 1, p->nnodes - 1, sizeof *order, by_peak_desc);
    /* Prepending in reverse order leaves each list in sorted order. */
    for (size_t k = p->nnodes - 1; k > 0; k--) {
        hm_pnode *n = &p->nodes[order[k]];
        n->next_sibling = p->nodes[n->parent].first_child;
        p->nodes[n->parent].first_child = order[k];
    }
    free(order);
    return true;
}

static int by_bytes_desc(const void *a, const void *b)
{
    const hm_line_total *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->frame < y->frame ? -1 : (x->frame > y->frame);
}

uint32_t *hm_profile_credited_frames(const hm_profile *p, hm_line_key key)
{
    uint32_t *owner = malloc(p->nnodes * sizeof *owner);
    if (!owner)
        return NULL;
    /* Parents precede children, so a node inherits its parent's program frame. */
    owner[0] = HM_NONE;
    for (size_t n = 1; n < p->nnodes; n++) {
        uint32_t frame = p->nodes[n].frame;
        const hm_pframe *f = &p->frames[frame];
        if (key == HM_BY_INNERMOST || (!f->pseudo && !hm_frame_is_library(f)))
            owner[n] = frame;
        else
            owner[n] = owner[p->nodes[n].parent];
    }
    /* A node with no program frame above it is credited to its own. */
    for (size_t n = 1; n < p->nnodes; n++)
        if (owner[n] == HM_NONE)
            owner[n] = p->nodes[n].frame;
    return owner;
}

size_t hm_profile_top_lines(const hm_profile *p, int snapshot, hm_line_key key, hm_line_total *out,
                            size_t max)
{
    hm_line_total *all = calloc(p->nframes + 1, sizeof *all);
    uint32_t *owner = hm_profile_credited_frames(p, key);
    if (!all || !owner) {
        free(all);
        free(owner);
        return 0;
    }
    const hm_value *self = p->self[snapshot - 1];
    for (size_t i = 0; i < p->nframes; i++)
        all[i].frame = (uint32_t)i;
    for (size_t n = 1; n < p->nnodes; n++) {
        all[owner[n]].bytes += self[n].bytes;
        all[owner[n]].count += self[n].count;
    }
    free(owner);
    qsort(all, p->nframes, sizeof *all, by_bytes_desc);
    size_t k = 0;
    while (k < max && k < p->nframes && all[k].bytes > 0) {
        out[k] = all[k];
        k++;
    }
    free(all);
    return k;
}

static int kind_by_bytes_desc(const void *a, const void *b)
{
    const hm_kind_total *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return strcmp(x->kind, y->kind);
}

size_t hm_profile_kinds(const hm_profile *p, int walk, const uint32_t *credited, uint32_t frame,
                        hm_kind_total *out, size_t max, int64_t *total)
{
    const hm_kind_walk_data *w = &p->kinds[walk];
    *total = 0;
    hm_kind_total *all = NULL;
    size_t n = 0, cap = 0, last = 0;
    for (size_t i = 0; i < w->nrows; i++) {
        const hm_node_kind *r = &w->rows[i];
        if (frame != HM_NONE && credited[r->node] != frame)
            continue;
        /* Few kinds, and rows of one kind in runs: a linear search from
         * the last match (names are shared within a profile, compared by
         * text across a merged profile's parts). */
        size_t pos = n;
        if (n && (all[last].kind == r->kind || strcmp(all[last].kind, r->kind) == 0))
            pos = last;
        for (size_t k = 0; pos == n && k < n; k++)
            if (all[k].kind == r->kind || strcmp(all[k].kind, r->kind) == 0)
                pos = k;
        if (pos == n) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                hm_kind_total *grown = realloc(all, cap * sizeof *all);
                if (!grown)
                    break;
                all = grown;
            }
            all[n++] = (hm_kind_total){r->kind, 0, 0, 0, 0, 0};
        }
        last = pos;
        all[pos].bytes += r->bytes;
        all[pos].count += r->count;
        all[pos].attributes += r->attributes;
        all[pos].float_items += r->float_items;
        all[pos].duplicate_bytes += r->duplicate_bytes;
        *total += r->bytes;
    }
    if (n)
        qsort(all, n, sizeof *all, kind_by_bytes_desc);
    size_t k = n < max ? n : max;
    if (k)
        memcpy(out, all, k * sizeof *out);
    free(all);
    return k;
}
