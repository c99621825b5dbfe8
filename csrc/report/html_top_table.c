/*
 * html_top_table.c - the top lines and functions of report.html's table.
 *
 * Owns: per line (frame) and per function (name and file), in every
 * snapshot: self bytes (allocated by that line itself, as the innermost
 * frame), total bytes (by it and everything it called), and their
 * allocation counts; and the choice of rows: the largest by self and by
 * total.  Figures come from the whole call tree, not the pruned one the
 * flamegraph draws.  A line's kinds at a walk come from html_kinds.c.
 * Must never: count a subtree twice: under recursion a line's total takes
 * each stack once, at the outermost occurrence.
 */
#include "report/html.h"

#include <stdlib.h>
#include <string.h>

/* Rows kept per table and snapshot, by self and by total (their union). */
#define TOP_ROWS 150

typedef struct {
    int64_t self, total, self_count, total_count;
} usage;

/* Sorting with qsort_r: reports may be rendered by two threads at once (a
 * snapshot and an out-of-memory report), so no comparator state is global. */
static int by_function(const void *a, const void *b, void *profile)
{
    const hm_profile *p = profile;
    uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
    const hm_pframe *x = &p->frames[ia], *y = &p->frames[ib];
    int c = strcmp(x->function, y->function);
    if (!c)
        c = strcmp(x->file, y->file);
    if (!c)
        c = (int)x->pseudo - (int)y->pseudo;
    if (!c)
        c = (x->line > y->line) - (x->line < y->line);
    return c ? c : (ia > ib) - (ia < ib);
}

/* func[f]: the function of frame f; rep[u]: a frame naming function u (its
 * first line, closest to the definition). Returns the number of functions. */
static size_t group_functions(const hm_profile *p, uint32_t *func, uint32_t *rep)
{
    uint32_t *order = malloc((p->nframes + 1) * sizeof *order);
    if (!order)
        return 0;
    for (uint32_t i = 0; i < p->nframes; i++)
        order[i] = i;
    qsort_r(order, p->nframes, sizeof *order, by_function, (void *)p);
    size_t n = 0;
    for (size_t i = 0; i < p->nframes; i++) {
        const hm_pframe *f = &p->frames[order[i]];
        const hm_pframe *prev = i ? &p->frames[order[i - 1]] : NULL;
        if (!prev || strcmp(f->function, prev->function) || strcmp(f->file, prev->file) ||
            f->pseudo != prev->pseudo)
            rep[n++] = order[i];
        func[order[i]] = (uint32_t)(n - 1);
    }
    free(order);
    return n;
}

/* One walk of the tree, entering and leaving each node: a frame's total is
 * added only where no caller above already has the same frame. */
static bool tally(const hm_profile *p, const uint32_t *func, size_t nfuncs, usage *lines,
                  usage *funcs)
{
    uint32_t *stack = malloc((p->nnodes + 1) * sizeof *stack);
    uint8_t *entered = calloc(p->nnodes, 1);
    uint32_t *open_line = calloc(p->nframes + 1, sizeof *open_line);
    uint32_t *open_func = calloc(nfuncs + 1, sizeof *open_func);
    bool ok = stack && entered && open_line && open_func;
    size_t top = 0;
    if (ok)
        stack[top++] = 0;
    while (top) {
        uint32_t n = stack[top - 1];
        uint32_t f = p->nodes[n].frame, u = n ? func[f] : 0;
        if (entered[n]) {
            top--;
            if (n) {
                open_line[f]--;
                open_func[u]--;
            }
            continue;
        }
        entered[n] = 1;
        if (n) {
            bool line_first = open_line[f]++ == 0, func_first = open_func[u]++ == 0;
            for (int s = 0; s < HM_SNAP_COUNT; s++) {
                const hm_value *self = &p->self[s][n], *total = &p->total[s][n];
                usage *l = &lines[(size_t)f * HM_SNAP_COUNT + s];
                usage *g = &funcs[(size_t)u * HM_SNAP_COUNT + s];
                l->self += self->bytes;
                l->self_count += self->count;
                g->self += self->bytes;
                g->self_count += self->count;
                if (line_first) {
                    l->total += total->bytes;
                    l->total_count += total->count;
                }
                if (func_first) {
                    g->total += total->bytes;
                    g->total_count += total->count;
                }
            }
        }
        for (uint32_t c = p->nodes[n].first_child; c != HM_NONE; c = p->nodes[c].next_sibling)
            stack[top++] = c;
    }
    free(stack);
    free(entered);
    free(open_line);
    free(open_func);
    return ok;
}

typedef struct {
    const usage *u;
    int snapshot;
    bool by_total;
} usage_order;

static int by_usage_desc(const void *a, const void *b, void *order)
{
    const usage_order *o = order;
    const usage *x = &o->u[*(const uint32_t *)a * HM_SNAP_COUNT + o->snapshot];
    const usage *y = &o->u[*(const uint32_t *)b * HM_SNAP_COUNT + o->snapshot];
    int64_t vx = o->by_total ? x->total : x->self, vy = o->by_total ? y->total : y->self;
    if (vx != vy)
        return vx < vy ? 1 : -1;
    uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
    return (ia > ib) - (ia < ib);
}

/* "name":{"peak":[[frame,self,total,self count,total count],...],...};
 * with kinds (the lines), each row continued by hm_html_line_kinds. */
static void put_table(hm_buf *b, const char *name, const usage *u, size_t n,
                      const uint32_t *frame_of, hm_html_frames *fr, uint32_t *order,
                      uint8_t *chosen, const hm_html_kinds *kinds)
{
    hm_buf_printf(b, "\"%s\":{", name);
    for (int s = 0; s < hm_html_snapshots(fr->p); s++) {
        memset(chosen, 0, n);
        for (int by_total = 0; by_total < 2; by_total++) {
            for (uint32_t i = 0; i < n; i++)
                order[i] = i;
            usage_order o = {u, s, by_total};
            qsort_r(order, n, sizeof *order, by_usage_desc, &o);
            for (size_t i = 0; i < n && i < TOP_ROWS; i++) {
                const usage *x = &u[(size_t)order[i] * HM_SNAP_COUNT + s];
                if ((by_total ? x->total : x->self) > 0)
                    chosen[order[i]] = 1;
            }
        }
        hm_buf_printf(b, "%s\"%s\":[", s ? "," : "", hm_snapshot_name(s + 1));
        bool first = true;
        for (uint32_t i = 0; i < n; i++) {
            if (!chosen[i])
                continue;
            const usage *x = &u[(size_t)i * HM_SNAP_COUNT + s];
            int64_t cells[5] = {hm_html_frame(fr, frame_of ? frame_of[i] : i), x->self, x->total,
                                x->self_count, x->total_count};
            hm_buf_puts(b, first ? "[" : ",[");
            for (int c = 0; c < 5; c++) {
                if (c)
                    hm_buf_putn(b, ",", 1);
                hm_buf_int(b, cells[c]);
            }
            if (kinds)
                hm_html_line_kinds(b, kinds, s + 1, frame_of ? frame_of[i] : i);
            hm_buf_puts(b, "]");
            first = false;
        }
        hm_buf_puts(b, "]");
    }
    hm_buf_puts(b, "}");
}

bool hm_html_top_tables(hm_buf *b, const hm_profile *p, hm_html_frames *fr,
                        const hm_html_kinds *kinds)
{
    size_t nf = p->nframes + 1;
    uint32_t *func = malloc(nf * sizeof *func), *rep = malloc(nf * sizeof *rep);
    uint32_t *order = malloc(nf * sizeof *order);
    uint8_t *chosen = malloc(nf);
    usage *lines = calloc(nf * HM_SNAP_COUNT, sizeof *lines);
    usage *funcs = calloc(nf * HM_SNAP_COUNT, sizeof *funcs);
    bool ok = func && rep && order && chosen && lines && funcs;
    size_t nfuncs = ok && p->nframes ? group_functions(p, func, rep) : 0;
    ok = ok && (nfuncs > 0 || p->nframes == 0) && tally(p, func, nfuncs, lines, funcs);
    if (ok) {
        put_table(b, "lines", lines, p->nframes, NULL, fr, order, chosen, kinds);
        hm_buf_puts(b, ",");
        put_table(b, "functions", funcs, nfuncs, rep, fr, order, chosen, NULL);
    }
    free(func);
    free(rep);
    free(order);
    free(chosen);
    free(lines);
    free(funcs);
    return ok;
}
