/*
 * html.c - report.html: one self-contained page (flamegraph, top
 * lines and functions, timeline, run metadata) for a browser.
 *
 * Owns: the data the page embeds, as one JSON document inside
 * <script type="application/json">: run metadata, the call tree pruned to a
 * size a browser opens at once (small nodes folded into an "other" node per
 * parent, so every total still adds up to the byte) and which page node
 * stands for each profile node (html_kinds.c moves kinds with it), the
 * timeline thinned for drawing (a job's: html_job.c), and the frames and
 * strings they refer to.
 * The page itself (csrc/html/: template, stylesheet, script) is embedded by
 * setup.py into the generated report_html_assets.h.
 * Must never: put program text anywhere but that JSON (escaped so that no
 * file name or source line can close the script element), load anything
 * from the network, or present an estimate as exact (the page is told the
 * mode and says which numbers are estimates).
 */
#include "report/html.h"
#include "report_html_assets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beyond this many points the chart cannot show more than a pixel holds. */
#define PAGE_TIMELINE_POINTS 4000
#define PAGE_GC_RUNS 5000
#define PAGE_PHASES 5000
/* The "Source files" view: the program's files holding the most. */
#define PAGE_SOURCE_FILES 30

void hm_html_json_text(hm_buf *b, const char *s)
{
    hm_buf_putn(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned char c = *u;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            hm_buf_putn(b, esc, 2);
            u++;
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f) {
            hm_buf_printf(b, "\\u%04x", c);
            u++;
        } else if (c < 0x80) {
            hm_buf_putn(b, (const char *)u, 1);
            u++;
        } else {
            /* The reader made text valid UTF-8, but labels built since (cut
             * with %.80s) may not be: check every sequence. */
            size_t n = hm_utf8_sequence(u);
            if (!n) {
                hm_buf_puts(b, "\\ufffd");
                u++;
            } else if (n == 3 && c == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9)) {
                /* Line and paragraph separators end a line in older JS. */
                hm_buf_puts(b, u[2] == 0xA8 ? "\\u2028" : "\\u2029");
                u += 3;
            } else {
                hm_buf_putn(b, (const char *)u, n);
                u += n;
            }
        }
    }
    hm_buf_putn(b, "\"", 1);
}

uint32_t hm_html_frame(hm_html_frames *fr, uint32_t f)
{
    if (fr->page_id[f] == HM_NONE) {
        fr->page_id[f] = (uint32_t)fr->n;
        fr->frames[fr->n++] = f;
    }
    return fr->page_id[f];
}

int hm_html_snapshots(const hm_profile *p)
{
    _Static_assert(HM_SNAP_JOB_PEAK == HM_SNAP_COUNT, "job-peak is the last snapshot");
    return hm_profile_has_snapshot(p, HM_SNAP_JOB_PEAK) ? HM_SNAP_JOB_PEAK : HM_SNAP_ALLOCATED;
}

/* ---- pruning ------------------------------------------------------------ */

/* A node stays on the page if its total reaches the bar in any snapshot.
 * Totals never grow from parent to child, so what stays is a tree. */
static bool stays(const hm_profile *p, const int64_t *min, uint32_t n)
{
    if (n == 0)
        return true;
    for (int s = 0; s < hm_html_snapshots(p); s++)
        if (p->total[s][n].bytes >= min[s])
            return true;
    return false;
}

static bool has_values(const hm_profile *p, uint32_t n)
{
    for (int s = 0; s < hm_html_snapshots(p); s++)
        if (p->total[s][n].bytes || p->total[s][n].count)
            return true;
    return false;
}

/* Nodes the page would hold: those that stay, and an "other" node under each
 * of them that loses a child with something in it. */
static size_t page_nodes(const hm_profile *p, const int64_t *min, uint8_t *has_other)
{
    size_t n = 1;
    memset(has_other, 0, p->nnodes);
    for (uint32_t i = 1; i < p->nnodes; i++) {
        if (stays(p, min, i)) {
            n++;
        } else {
            uint32_t parent = p->nodes[i].parent;
            if (stays(p, min, parent) && !has_other[parent] && has_values(p, i)) {
                has_other[parent] = 1;
                n++;
            }
        }
    }
    return n;
}

typedef struct {
    int64_t min[HM_SNAP_COUNT];
    double share; /* of each snapshot's total; 0 when given in bytes */
    size_t page_nodes;
} prune_rule;

static void bars_for_share(const hm_profile *p, double share, int64_t *min)
{
    for (int s = 0; s < hm_html_snapshots(p); s++) {
        double bar = ceil(share * (double)p->total[s][0].bytes);
        min[s] = bar < 1 ? 1 : bar > 9.2e18 ? INT64_MAX : (int64_t)bar;
    }
}

static void choose_rule(const hm_profile *p, const hm_report_options *o, prune_rule *r,
                        uint8_t *scratch)
{
    if (o->html_min_bytes >= 0) {
        for (int s = 0; s < hm_html_snapshots(p); s++)
            r->min[s] = o->html_min_bytes;
        r->share = 0;
        r->page_nodes = page_nodes(p, r->min, scratch);
        return;
    }
    /* A share of each snapshot, raised until the page fits its budget. */
    r->share = o->html_min_share > 0 ? o->html_min_share : 0;
    for (;;) {
        bars_for_share(p, r->share, r->min);
        r->page_nodes = page_nodes(p, r->min, scratch);
        if (!o->html_max_nodes || r->page_nodes <= o->html_max_nodes || r->share >= 1)
            return;
        r->share = r->share > 0 ? r->share * 2 : 1e-6;
    }
}

/* ---- the call tree ------------------------------------------------------- */

typedef struct {
    hm_buf parent, frame, total[HM_SNAP_COUNT], count[HM_SNAP_COUNT];
    size_t n;
    int nsnap; /* the page's snapshots (hm_html_snapshots) */
} tree_columns;

static void put_node(tree_columns *c, size_t parent_delta, const char *frame,
                     const hm_value *const values[HM_SNAP_COUNT])
{
    /* Eight numbers per node of a tree of up to 30,000: without printf. */
    size_t sep = c->n ? 1 : 0;
    hm_buf_putn(&c->parent, ",", sep);
    hm_buf_int(&c->parent, (int64_t)parent_delta);
    hm_buf_putn(&c->frame, ",", sep);
    hm_buf_puts(&c->frame, frame);
    for (int s = 0; s < c->nsnap; s++) {
        hm_buf_putn(&c->total[s], ",", sep);
        hm_buf_int(&c->total[s], values[s]->bytes);
        hm_buf_putn(&c->count[s], ",", sep);
        hm_buf_int(&c->count[s], values[s]->count);
    }
    c->n++;
}

static void put_array(hm_buf *b, const char *name, const hm_buf *column, bool last)
{
    hm_buf_printf(b, "\"%s\":[", name);
    hm_buf_putn(b, column->data ? column->data : "", column->len);
    hm_buf_puts(b, last ? "]" : "],");
}

static void put_snapshot_arrays(hm_buf *b, const char *name, const hm_buf *cols, int nsnap)
{
    hm_buf_printf(b, "\"%s\":{", name);
    for (int s = 0; s < nsnap; s++)
        put_array(b, hm_snapshot_name(s + 1), &cols[s], s == nsnap - 1);
    hm_buf_puts(b, "}");
}

/* Depth first, parents before children: each node says how many places
 * back its parent is (small numbers), and its page frame; an "other" node
 * follows its parent at once, with frame -k for k folded children.
 * page_index[n]: the page node standing for profile node n (for a folded
 * node and everything under it, its caller's "other" node; for a node with
 * nothing in any snapshot, neither kept nor folded, its caller's). */
static bool put_tree(hm_buf *b, const hm_profile *p, const prune_rule *rule, hm_html_frames *fr,
                     uint32_t *page_index)
{
    uint32_t *stack = malloc((p->nnodes + 1) * sizeof *stack);
    tree_columns c = {0};
    c.nsnap = hm_html_snapshots(p);
    if (!stack)
        return false;
    for (size_t n = 0; n < p->nnodes; n++)
        page_index[n] = HM_NONE;
    size_t top = 0, folded = 0, others = 0;
    stack[top++] = 0;
    while (top) {
        uint32_t n = stack[--top];
        page_index[n] = (uint32_t)c.n;
        const hm_value *values[HM_SNAP_COUNT];
        for (int s = 0; s < HM_SNAP_COUNT; s++)
            values[s] = &p->total[s][n];
        char frame[24] = "null";
        if (n)
            snprintf(frame, sizeof frame, "%u", hm_html_frame(fr, p->nodes[n].frame));
        put_node(&c, n ? c.n - page_index[p->nodes[n].parent] : 0, frame, values);

        hm_value other[HM_SNAP_COUNT] = {{0, 0}};
        size_t nfolded = 0, first = top;
        for (uint32_t ch = p->nodes[n].first_child; ch != HM_NONE; ch = p->nodes[ch].next_sibling) {
            if (stays(p, rule->min, ch)) {
                stack[top++] = ch;
            } else if (has_values(p, ch)) {
                page_index[ch] = (uint32_t)c.n; /* the "other" node, put next */
                nfolded++;
                for (int s = 0; s < HM_SNAP_COUNT; s++) {
                    other[s].bytes += p->total[s][ch].bytes;
                    other[s].count += p->total[s][ch].count;
                }
            }
        }
        if (nfolded) {
            for (int s = 0; s < HM_SNAP_COUNT; s++)
                values[s] = &other[s];
            snprintf(frame, sizeof frame, "-%zu", nfolded);
            put_node(&c, 1, frame, values);
            folded += nfolded;
            others++;
        }
        /* Reversed, so that the largest child comes off the stack first. */
        for (size_t a = first, z = top; a + 1 < z; a++, z--) {
            uint32_t t = stack[a];
            stack[a] = stack[z - 1];
            stack[z - 1] = t;
        }
    }
    free(stack);
    for (size_t n = 1; n < p->nnodes; n++)
        if (page_index[n] == HM_NONE)
            page_index[n] = page_index[p->nodes[n].parent];
    hm_buf_puts(b, "\"tree\":{");
    put_array(b, "parent", &c.parent, false);
    put_array(b, "frame", &c.frame, false);
    put_snapshot_arrays(b, "total", c.total, c.nsnap);
    hm_buf_puts(b, ",");
    put_snapshot_arrays(b, "count", c.count, c.nsnap);
    hm_buf_puts(b, "},\"prune\":{\"min_bytes\":[");
    for (int s = 0; s < c.nsnap; s++)
        hm_buf_printf(b, "%s%lld", s ? "," : "", (long long)rule->min[s]);
    hm_buf_printf(b,
                  "],\"share\":%.9g,\"profile_nodes\":%zu,\"page_nodes\":%zu,"
                  "\"other_nodes\":%zu,\"folded_children\":%zu}",
                  rule->share, p->nnodes, c.n, others, folded);
    bool failed = c.parent.failed || c.frame.failed;
    hm_buf_free(&c.parent);
    hm_buf_free(&c.frame);
    for (int s = 0; s < HM_SNAP_COUNT; s++) {
        failed = failed || c.total[s].failed || c.count[s].failed;
        hm_buf_free(&c.total[s]);
        hm_buf_free(&c.count[s]);
    }
    return !failed;
}

/* ---- frames and their strings ------------------------------------------- */

/* A frame's texts, deduplicated by address (the loaded profile interns
 * them) and numbered in order of first use, so that the same profile always
 * gives the same page. */
typedef struct {
    const char *s;
    size_t first; /* position of first use; after numbering, the string's id */
} text_ref;

static int by_address(const void *a, const void *b)
{
    const text_ref *x = a, *y = b;
    if (x->s != y->s)
        return (uintptr_t)x->s < (uintptr_t)y->s ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int by_first_use(const void *a, const void *b)
{
    const text_ref *const *x = a, *const *y = b;
    return (*x)->first < (*y)->first ? -1 : (*x)->first > (*y)->first;
}

static size_t text_id(const text_ref *refs, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)refs[mid].s < (uintptr_t)s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return refs[lo].first;
}

static const char *frame_text(const hm_profile *p, const hm_pframe *f, int k)
{
    return k == 0 ? f->function : k == 1 ? f->file : k == 2 ? hm_short_path(p, f->file) : f->source;
}

/* frames: [function, file, short file, line, source, kind] with strings by
 * index (kind 0: the program's code, 1: library, 2: heapmark's own entry). */
static bool put_frames(hm_buf *b, const hm_profile *p, const hm_html_frames *fr)
{
    text_ref *refs = malloc((fr->n * 4 + 1) * sizeof *refs);
    text_ref **by_use = malloc((fr->n * 4 + 1) * sizeof *by_use);
    if (!refs || !by_use) {
        free(refs);
        free(by_use);
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < fr->n; i++)
        for (int k = 0; k < 4; k++, n++)
            refs[n] = (text_ref){frame_text(p, &p->frames[fr->frames[i]], k), n};
    qsort(refs, n, sizeof *refs, by_address);
    size_t unique = 0;
    for (size_t i = 0; i < n; i++)
        if (unique == 0 || refs[unique - 1].s != refs[i].s)
            refs[unique++] = refs[i];
    for (size_t i = 0; i < unique; i++)
        by_use[i] = &refs[i];
    qsort(by_use, unique, sizeof *by_use, by_first_use);
    hm_buf_puts(b, "\"strings\":[");
    for (size_t i = 0; i < unique; i++) {
        if (i)
            hm_buf_puts(b, ",");
        hm_html_json_text(b, by_use[i]->s);
        by_use[i]->first = i;
    }
    hm_buf_puts(b, "],\"frames\":[");
    for (size_t i = 0; i < fr->n; i++) {
        const hm_pframe *f = &p->frames[fr->frames[i]];
        int kind = f->pseudo ? 2 : hm_frame_is_library(f) ? 1 : 0;
        hm_buf_printf(b, "%s[%zu,%zu,%zu,%d,%zu,%d]", i ? "," : "",
                      text_id(refs, unique, f->function), text_id(refs, unique, f->file),
                      text_id(refs, unique, hm_short_path(p, f->file)), f->line,
                      text_id(refs, unique, f->source), kind);
    }
    hm_buf_puts(b, "]");
    free(refs);
    free(by_use);
    return true;
}

/* ---- run metadata --------------------------------------------------------- */

static void put_text(hm_buf *b, const char *key, const char *value)
{
    hm_buf_printf(b, ",\"%s\":", key);
    hm_html_json_text(b, value);
}

static void put_meta(hm_buf *b, const hm_profile *p)
{
    hm_buf_printf(b, "\"meta\":{\"exact\":%s", hm_profile_is_exact(p) ? "true" : "false");
    static const char *const texts[] = {"command", "python",           "mode",
                                        "status",  "heapmark_version", "cwd"};
    for (size_t i = 0; i < HM_ARRAY_LEN(texts); i++)
        put_text(b, texts[i], hm_profile_meta(p, texts[i]));
    static const char *const ints[] = {"sample_rate", "peak_bytes", "peak_rss_bytes",
                                       "end_bytes",   "pid",        "heapmark_overhead_bytes"};
    for (size_t i = 0; i < HM_ARRAY_LEN(ints); i++)
        hm_buf_printf(b, ",\"%s\":%lld", ints[i], (long long)hm_profile_meta_int(p, ints[i]));
    static const char *const reals[] = {"duration_s", "peak_at_s", "start_unix"};
    for (size_t i = 0; i < HM_ARRAY_LEN(reals); i++) {
        double v = hm_profile_meta_real(p, reals[i]);
        hm_buf_printf(b, ",\"%s\":%.6f", reals[i], isfinite(v) ? v : 0.0);
    }
    char note[1024];
    put_text(b, "note", hm_report_ending(p, note, sizeof note) ? note : "");
    hm_buf_puts(b, ",\"snapshot_totals\":[");
    for (int s = 0; s < hm_html_snapshots(p); s++)
        hm_buf_printf(b, "%s%lld", s ? "," : "", (long long)p->snapshot_total[s]);
    hm_buf_puts(b, "],\"processes\":[");
    for (size_t i = 0; p->nprocesses > 1 && i < p->nprocesses; i++) {
        const hm_process *proc = &p->processes[i];
        hm_buf_printf(b,
                      "%s{\"pid\":%d,\"parent_pid\":%d,\"peak_bytes\":%lld,"
                      "\"peak_rss_bytes\":%lld,\"duration_s\":%.6f",
                      i ? "," : "", proc->pid, proc->parent_pid, (long long)proc->peak_bytes,
                      (long long)proc->peak_rss_bytes, proc->duration_s);
        put_text(b, "status", proc->status);
        put_text(b, "command", proc->command);
        hm_buf_puts(b, "}");
    }
    hm_buf_puts(b, "]}");
}

/* ---- the timeline -------------------------------------------------------- */

static void put_timeline(hm_buf *b, const hm_profile *p)
{
    /* Thinned by buckets of consecutive points, each kept as its highest
     * tracked point (with the bucket's highest RSS): peaks survive thinning. */
    size_t n = p->ntimeline, buckets = n > PAGE_TIMELINE_POINTS ? PAGE_TIMELINE_POINTS : n;
    hm_buf t = {0}, tracked = {0}, rss = {0};
    for (size_t k = 0; k < buckets; k++) {
        size_t lo = k * n / buckets, hi = (k + 1) * n / buckets, best = lo;
        int64_t max_rss = 0;
        for (size_t i = lo; i < hi; i++) {
            if (p->timeline[i].tracked > p->timeline[best].tracked)
                best = i;
            if (p->timeline[i].rss > max_rss)
                max_rss = p->timeline[i].rss;
        }
        if (k) {
            hm_buf_putn(&t, ",", 1);
            hm_buf_putn(&tracked, ",", 1);
            hm_buf_putn(&rss, ",", 1);
        }
        hm_buf_fixed(&t, p->timeline[best].t, 4);
        hm_buf_int(&tracked, p->timeline[best].tracked);
        hm_buf_int(&rss, max_rss);
    }
    hm_buf_puts(b, "\"timeline\":{");
    put_array(b, "t", &t, false);
    put_array(b, "tracked", &tracked, false);
    put_array(b, "rss", &rss, false);
    hm_buf_printf(b, "\"rows\":%zu}", n);
    b->failed = b->failed || t.failed || tracked.failed || rss.failed;
    hm_buf_free(&t);
    hm_buf_free(&tracked);
    hm_buf_free(&rss);
}

static int by_weight_desc(const void *a, const void *b)
{
    const hm_html_weighted *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight < y->weight ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_index(const void *a, const void *b)
{
    const hm_html_weighted *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

size_t hm_html_keep_heaviest(hm_html_weighted *w, size_t n, size_t keep)
{
    if (n <= keep)
        return n;
    qsort(w, n, sizeof *w, by_weight_desc);
    qsort(w, keep, sizeof *w, by_index);
    return keep;
}

static bool put_gc_and_phases(hm_buf *b, const hm_profile *p)
{
    size_t most = p->ngc_runs > p->nphases ? p->ngc_runs : p->nphases;
    hm_html_weighted *w = malloc((most + 1) * sizeof *w);
    if (!w)
        return false;
    /* Too many GC runs to draw: the ones that freed most. */
    for (size_t i = 0; i < p->ngc_runs; i++)
        w[i] = (hm_html_weighted){
            (double)p->gc_runs[i].tracked_before - (double)p->gc_runs[i].tracked_after, i};
    size_t k = hm_html_keep_heaviest(w, p->ngc_runs, PAGE_GC_RUNS);
    hm_buf_puts(b, "\"gc\":{\"runs\":[");
    for (size_t i = 0; i < k; i++) {
        const hm_gc_run *g = &p->gc_runs[w[i].index];
        hm_buf_printf(b, "%s[%.6f,%.6f,%d,%lld,%lld]", i ? "," : "", g->t_start, g->t_end,
                      g->generation, (long long)g->tracked_before, (long long)g->tracked_after);
    }
    hm_buf_printf(b, "],\"total\":%zu},", p->ngc_runs);
    /* Too many phases: the longest. */
    for (size_t i = 0; i < p->nphases; i++)
        w[i] = (hm_html_weighted){p->phases[i].t_end - p->phases[i].t_start, i};
    k = hm_html_keep_heaviest(w, p->nphases, PAGE_PHASES);
    hm_buf_puts(b, "\"phases\":{\"list\":[");
    for (size_t i = 0; i < k; i++) {
        const hm_phase *ph = &p->phases[w[i].index];
        hm_buf_puts(b, i ? ",[" : "[");
        hm_html_json_text(b, ph->name);
        hm_buf_printf(b, ",%.6f,%.6f,%d,%d]", ph->t_start, ph->t_end, ph->depth, ph->open);
    }
    hm_buf_printf(b, "],\"total\":%zu}", p->nphases);
    free(w);
    return true;
}

/* "advice":{"items":[{"type","saving","text"}],"source":"..."}: what
 * advice.c says, as text, largest saving first. */
static void put_advice(hm_buf *b, const hm_profile *p)
{
    hm_advice_list advice;
    hm_advise(p, &advice);
    hm_buf_puts(b, "\"advice\":{\"items\":[");
    hm_buf text = {0};
    for (size_t i = 0; i < advice.n; i++) {
        text.len = 0;
        hm_advice_item_text(&text, p, &advice.items[i]);
        hm_buf_printf(b, "%s{\"type\":\"%s\",\"saving\":%lld,\"text\":", i ? "," : "",
                      hm_advice_type_name(advice.items[i].type), (long long)advice.items[i].saving);
        hm_html_json_text(b, text.data ? text.data : "");
        hm_buf_puts(b, "}");
    }
    hm_buf_puts(b, "],\"source\":");
    int walk = hm_kinds_walk_for(p, HM_SNAP_PEAK);
    text.len = 0;
    if (walk >= 0)
        hm_kinds_walk_note(&text, p, walk);
    hm_html_json_text(b, text.data ? text.data : "");
    hm_buf_puts(b, "}");
    hm_buf_free(&text);
    hm_advice_free(&advice);
}

/* ---- the page ------------------------------------------------------------ */

bool hm_report_html(const hm_profile *p, const hm_report_options *opts, const char *path, char *err,
                    size_t errlen)
{
    hm_report_options defaults = HM_REPORT_DEFAULTS;
    if (!opts)
        opts = &defaults;
    uint8_t *scratch = malloc(p->nnodes);
    uint32_t *page_of = malloc((p->nnodes + 1) * sizeof *page_of);
    hm_html_frames fr = {p, malloc((p->nframes + 1) * sizeof(uint32_t)),
                         malloc((p->nframes + 1) * sizeof(uint32_t)), 0};
    hm_html_kinds kinds;
    hm_buf data = {0};
    bool ok = scratch && page_of && fr.page_id && fr.frames && hm_html_kinds_prepare(&kinds, p);
    if (ok) {
        for (size_t i = 0; i < p->nframes; i++)
            fr.page_id[i] = HM_NONE;
        prune_rule rule;
        choose_rule(p, opts, &rule, scratch);
        hm_buf_puts(&data, "{\"format\":1,");
        put_meta(&data, p);
        hm_buf_puts(&data, ",");
        ok = put_tree(&data, p, &rule, &fr, page_of);
        hm_buf_puts(&data, ",");
        ok = ok && hm_html_put_kinds(&data, &kinds, page_of);
        hm_buf_puts(&data, ",");
        put_advice(&data, p);
        hm_buf_puts(&data, ",");
        ok = ok && hm_html_top_tables(&data, p, &fr, &kinds);
        hm_buf_puts(&data, ",");
        ok = ok && hm_html_sources(&data, p, PAGE_SOURCE_FILES);
        hm_buf_puts(&data, ",");
        put_timeline(&data, p);
        ok = ok && hm_html_job(&data, p, PAGE_TIMELINE_POINTS);
        hm_buf_puts(&data, ",");
        ok = ok && put_gc_and_phases(&data, p);
        hm_buf_puts(&data, ",");
        ok = ok && put_frames(&data, p, &fr);
        hm_buf_puts(&data, "}");
        hm_html_kinds_free(&kinds);
    }
    free(scratch);
    free(page_of);
    free(fr.page_id);
    free(fr.frames);
    hm_buf page = {0};
    if (ok && !data.failed) {
        hm_buf_puts(&page, hm_html_before_data);
        hm_buf_putn(&page, data.data, data.len);
        hm_buf_puts(&page, hm_html_after_data);
    }
    hm_buf_free(&data);
    if (!ok)
        page.failed = true;
    ok = hm_buf_write_file(&page, path, err, errlen);
    hm_buf_free(&page);
    return ok;
}
