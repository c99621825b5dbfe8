/*
 * html_kinds.c - kinds at the peak in report.html.
 *
 * Owns: the page's "kinds": for the walks of the heap standing for the peak
 * and the end, when each ran and kinds.c's sentence saying where its kinds
 * come from, the kind names it found (largest first), and its rows moved
 * onto the page's pruned tree: a profile node's rows go to the page node
 * that stands for it (a folded node's, with everything under it, to its
 * "other" node), summed per page node and kind.  And, for the table of top
 * lines, a line's kinds at a walk: each node's own rows credited to its own
 * frame, as the table credits self bytes.
 * Must never: lose or count twice a byte in moving rows (a walk's rows on
 * the page sum to its rows in the profile), or give kinds for a snapshot
 * without a walk standing for it (the allocated snapshot has none).
 */
#include "report/html.h"

#include <stdlib.h>
#include <string.h>

/* A line's kinds in the table: its largest few. */
#define LINE_KINDS 3

static bool same_kind(const char *a, const char *b)
{
    /* Names are shared within a profile, equal by text across a merged
     * profile's parts. */
    return a == b || strcmp(a, b) == 0;
}

static int row_by_kind(const void *a, const void *b, void *rows)
{
    const hm_node_kind *r = rows;
    uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
    int c = r[ia].kind == r[ib].kind ? 0 : strcmp(r[ia].kind, r[ib].kind);
    return c ? c : (ia > ib) - (ia < ib);
}

typedef struct {
    const char *name;
    int64_t bytes;
    uint32_t id; /* before ranking */
} ranked_name;

static int name_by_bytes_desc(const void *a, const void *b)
{
    const ranked_name *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Names of the walk's kinds, most bytes first, and each row's name. */
static bool name_rows(const hm_kind_walk_data *w, hm_html_walk_kinds *out)
{
    size_t n = w->nrows;
    uint32_t *order = malloc((n + 1) * sizeof *order);
    ranked_name *names = malloc((n + 1) * sizeof *names);
    uint32_t *rank = malloc((n + 1) * sizeof *rank);
    out->name_of = malloc((n + 1) * sizeof *out->name_of);
    out->names = malloc((n + 1) * sizeof *out->names);
    bool ok = order && names && rank && out->name_of && out->names;
    size_t k = 0;
    if (ok) {
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        qsort_r(order, n, sizeof *order, row_by_kind, w->rows);
        for (size_t i = 0; i < n; i++) {
            const hm_node_kind *r = &w->rows[order[i]];
            if (k == 0 || !same_kind(names[k - 1].name, r->kind)) {
                names[k] = (ranked_name){r->kind, 0, (uint32_t)k};
                k++;
            }
            names[k - 1].bytes += r->bytes;
            out->name_of[order[i]] = (uint32_t)(k - 1);
        }
        qsort(names, k, sizeof *names, name_by_bytes_desc);
        for (size_t i = 0; i < k; i++) {
            rank[names[i].id] = (uint32_t)i;
            out->names[i] = names[i].name;
        }
        for (size_t i = 0; i < n; i++)
            out->name_of[i] = rank[out->name_of[i]];
        out->nnames = k;
    }
    free(order);
    free(names);
    free(rank);
    return ok;
}

static int sum_by_key_and_name(const void *a, const void *b)
{
    const hm_html_kind_sum *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->name > y->name) - (x->name < y->name);
}

static int sum_by_key_then_bytes(const void *a, const void *b)
{
    const hm_html_kind_sum *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return (x->name > y->name) - (x->name < y->name);
}

/* The walk's rows summed per (key of their node, name), by key and then
 * most bytes first; rows whose node has no key (HM_NONE) are left out. */
static hm_html_kind_sum *sum_rows(const hm_kind_walk_data *w, const hm_html_walk_kinds *names,
                                  const uint32_t *key_of, size_t *count)
{
    hm_html_kind_sum *s = malloc((w->nrows + 1) * sizeof *s);
    *count = 0;
    if (!s)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < w->nrows; i++) {
        uint32_t key = key_of[w->rows[i].node];
        if (key != HM_NONE)
            s[n++] = (hm_html_kind_sum){key, names->name_of[i], w->rows[i].bytes, w->rows[i].count};
    }
    qsort(s, n, sizeof *s, sum_by_key_and_name);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && s[k - 1].key == s[i].key && s[k - 1].name == s[i].name) {
            s[k - 1].bytes += s[i].bytes;
            s[k - 1].count += s[i].count;
        } else {
            s[k++] = s[i];
        }
    }
    qsort(s, k, sizeof *s, sum_by_key_then_bytes);
    *count = k;
    return s;
}

bool hm_html_kinds_prepare(hm_html_kinds *k, const hm_profile *p)
{
    memset(k, 0, sizeof *k);
    k->p = p;
    uint32_t *frame_of = malloc((p->nnodes + 1) * sizeof *frame_of);
    bool ok = frame_of != NULL;
    for (size_t n = 0; ok && n < p->nnodes; n++)
        frame_of[n] = n ? p->nodes[n].frame : HM_NONE;
    for (int walk = 0; ok && walk < 2; walk++) {
        const hm_kind_walk_data *w = &p->kinds[walk];
        hm_html_walk_kinds *out = &k->walk[walk];
        if (!w->present)
            continue;
        out->present = true;
        ok = name_rows(w, out);
        if (ok)
            ok = (out->lines = sum_rows(w, out, frame_of, &out->nlines)) != NULL;
    }
    free(frame_of);
    if (!ok)
        hm_html_kinds_free(k);
    return ok;
}

void hm_html_kinds_free(hm_html_kinds *k)
{
    for (int walk = 0; walk < 2; walk++) {
        free(k->walk[walk].names);
        free(k->walk[walk].name_of);
        free(k->walk[walk].lines);
    }
    memset(k, 0, sizeof *k);
}

void hm_html_line_kinds(hm_buf *b, const hm_html_kinds *k, int snapshot, uint32_t frame)
{
    int walk = hm_kinds_walk_for(k->p, snapshot);
    if (walk < 0)
        return;
    const hm_html_walk_kinds *w = &k->walk[walk];
    size_t lo = 0, hi = w->nlines;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->lines[mid].key < frame)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t total = 0;
    for (size_t i = lo; i < w->nlines && w->lines[i].key == frame; i++)
        total += w->lines[i].bytes;
    hm_buf_printf(b, ",%lld,[", (long long)total);
    for (size_t i = lo; i < w->nlines && w->lines[i].key == frame && i - lo < LINE_KINDS; i++)
        hm_buf_printf(b, "%s[%u,%lld]", i > lo ? "," : "", w->lines[i].name,
                      (long long)w->lines[i].bytes);
    hm_buf_puts(b, "]");
}

static bool put_walk(hm_buf *b, const hm_html_kinds *k, int walk, const uint32_t *page_of)
{
    const hm_profile *p = k->p;
    const hm_kind_walk_data *w = &p->kinds[walk];
    const hm_html_walk_kinds *names = &k->walk[walk];
    if (!names->present) {
        hm_buf_puts(b, "null");
        return true;
    }
    size_t n;
    hm_html_kind_sum *rows = sum_rows(w, names, page_of, &n);
    if (!rows)
        return false;
    hm_buf note = {0};
    hm_kinds_walk_note(&note, p, walk);
    hm_buf_printf(b,
                  "{\"at_s\":%.6f,\"seconds\":%.6f,\"tracked_bytes\":%lld,\"objects\":%lld,"
                  "\"note\":",
                  w->at_s, w->seconds, (long long)w->tracked_bytes, (long long)w->objects);
    hm_html_json_text(b, note.data ? note.data : "");
    hm_buf_puts(b, ",\"names\":[");
    for (size_t i = 0; i < names->nnames; i++) {
        if (i)
            hm_buf_puts(b, ",");
        hm_html_json_text(b, names->names[i]);
    }
    hm_buf_puts(b, "],\"rows\":[");
    for (size_t i = 0; i < n; i++)
        hm_buf_printf(b, "%s[%u,%u,%lld,%lld]", i ? "," : "", rows[i].key, rows[i].name,
                      (long long)rows[i].bytes, (long long)rows[i].count);
    hm_buf_puts(b, "]}");
    bool ok = !note.failed;
    hm_buf_free(&note);
    free(rows);
    return ok;
}

bool hm_html_put_kinds(hm_buf *b, const hm_html_kinds *k, const uint32_t *page_of)
{
    hm_buf_puts(b, "\"kinds\":{\"peak\":");
    bool ok = put_walk(b, k, 0, page_of);
    hm_buf_puts(b, ",\"end\":");
    ok = ok && put_walk(b, k, 1, page_of);
    hm_buf_puts(b, "}");
    return ok;
}
