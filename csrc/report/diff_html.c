/*
 * diff_html.c - diff.html: two runs compared, in one self-contained
 * page.
 *
 * Owns: the page (the runs, the tables of the biggest increases and
 * decreases by line, and two differential flamegraphs: the new run's tree
 * and the base run's, each frame red where its memory grew and blue where
 * it shrank), and the colours and tooltips given to svg.c.
 * Must never: load anything from the network, or put program text into the
 * page unescaped: every name, path and source line goes through
 * hm_buf_xml, and each flamegraph is the SVG document svg.c writes
 * (its text escaped there), base64-encoded into an iframe's data: URL.
 */
#include "report/diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const hm_diff *d;
    int64_t scale; /* the largest change of any frame below the root */
} colouring;

static int64_t node_change(const hm_profile *v, uint32_t node)
{
    return v->total[HM_DIFF_NEW - 1][node].bytes - v->total[HM_DIFF_BASE - 1][node].bytes;
}

/* Red for growth, blue for shrinkage, as deep as the change is large next
 * to the largest; grey when unchanged. */
static void diff_colour(void *ctx, uint32_t node, hm_buf *b)
{
    const colouring *c = ctx;
    int64_t delta = node_change(&c->d->view, node);
    double t = c->scale > 0 ? fabs((double)delta) / (double)c->scale : 0.0;
    if (t > 1)
        t = 1;
    if (delta == 0 || t < 0.002) {
        hm_buf_puts(b, "rgb(225,225,218)");
        return;
    }
    int fade = (int)(200.0 * (1.0 - (0.15 + 0.85 * t))); /* 170 (faint) .. 0 (full) */
    if (delta > 0)
        hm_buf_printf(b, "rgb(240,%d,%d)", 40 + fade, 40 + fade);
    else
        hm_buf_printf(b, "rgb(%d,%d,240)", 40 + fade, 90 + fade * 3 / 4);
}

static void diff_tooltip(void *ctx, uint32_t node, hm_buf *b)
{
    const colouring *c = ctx;
    const hm_profile *v = &c->d->view;
    int64_t before = v->total[HM_DIFF_BASE - 1][node].bytes;
    int64_t after = v->total[HM_DIFF_NEW - 1][node].bytes;
    hm_buf_puts(b, "\nbase ");
    hm_buf_bytes(b, before);
    hm_buf_puts(b, ", new ");
    hm_buf_bytes(b, after);
    hm_buf_puts(b, ": ");
    hm_diff_change(b, after - before);
    if (before > 0)
        hm_buf_printf(b, " (%+.1f%%)", 100.0 * (double)(after - before) / (double)before);
    else if (after > 0)
        hm_buf_puts(b, " (not in the base run)");
}

static const char style_sheet[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}"
    "table{border-collapse:collapse}th,td{padding:2px 10px;text-align:right;vertical-align:top}"
    "th{border-bottom:1px solid #bbb}td.l,th.l{text-align:left}code{font:13px monospace}"
    "td.grew{color:#b00020}td.shrank{color:#0645ad}.note{color:#555}"
    "iframe{border:1px solid #ddd;width:1202px;max-width:100%;display:block;margin-bottom:1em}"
    ".key span{display:inline-block;width:1em;height:1em;vertical-align:middle;margin:0 .3em}";

static void cell_bytes(hm_buf *b, int64_t bytes)
{
    hm_buf_printf(b, "<td data-bytes=\"%lld\">", (long long)bytes);
    hm_buf_bytes(b, bytes);
    hm_buf_puts(b, "</td>");
}

static void lines_table(hm_buf *b, const hm_diff *d, bool increases, size_t top)
{
    hm_buf_printf(b,
                  "<table class=\"lines\" id=\"%s\">\n<tr><th>change</th><th>base</th>"
                  "<th>new</th><th class=\"l\">line</th><th class=\"l\">source</th></tr>\n",
                  increases ? "increases" : "decreases");
    hm_buf label = {0};
    const hm_diff_line *l;
    size_t shown = 0;
    for (; shown < top && (l = hm_diff_row(d, increases, shown)); shown++) {
        int64_t delta = l->next - l->base;
        const hm_pframe *f = &d->view.frames[l->frame];
        hm_buf_puts(b, "<tr data-function=\"");
        hm_buf_xml(b, f->function);
        hm_buf_puts(b, "\" data-file=\"");
        hm_buf_xml(b, f->file);
        hm_buf_printf(b, "\" data-line=\"%d\"><td class=\"%s\" data-bytes=\"%lld\">", f->line,
                      delta > 0 ? "grew" : "shrank", (long long)delta);
        hm_diff_change(b, delta);
        hm_buf_puts(b, "</td>");
        cell_bytes(b, l->base);
        cell_bytes(b, l->next);
        label.len = 0;
        hm_frame_label(&label, &d->view, l->frame, true);
        hm_buf_puts(b, "<td class=\"l\">");
        hm_buf_xml(b, label.data ? label.data : "");
        hm_buf_puts(b, "</td><td class=\"l\"><code>");
        hm_buf_xml(b, f->source);
        hm_buf_puts(b, "</code></td></tr>\n");
    }
    if (shown == 0)
        hm_buf_puts(b, "<tr><td class=\"l\" colspan=\"5\">(none)</td></tr>\n");
    hm_buf_puts(b, "</table>\n");
    hm_buf_free(&label);
}

/* One flamegraph, as a document of its own: its script and ids stay apart
 * from the page's and the other graph's, and it works as peak.svg does. */
static void flamegraph(hm_buf *b, const hm_diff *d, colouring *c, int snapshot)
{
    bool of_new = snapshot == HM_DIFF_NEW;
    const hm_profile *run = of_new ? d->next : d->base;
    hm_buf title = {0}, subtitle = {0}, svg = {0};
    hm_buf_printf(&title, "%s run: memory %s: ", of_new ? "new" : "base",
                  hm_diff_snapshot_phrase(d->snapshot));
    hm_buf_bytes(&title, hm_diff_total(d, run));
    hm_buf_puts(&subtitle, hm_profile_meta(run, "command"));
    hm_buf_puts(&subtitle,
                hm_profile_is_exact(run) ? " \xc2\xb7 exact" : " \xc2\xb7 widths are estimates");
    hm_buf_puts(&subtitle, " \xc2\xb7 red: grew, blue: shrank");
    hm_svg_style style = {title.data, subtitle.data, diff_colour, diff_tooltip, c};
    int height = hm_svg_render(&d->view, snapshot, &style, &svg);
    hm_buf_printf(b, "<iframe sandbox=\"allow-scripts\" style=\"height:%dpx\" title=\"",
                  height + 4);
    hm_buf_xml(b, title.data ? title.data : "");
    hm_buf_puts(b, "\" src=\"data:image/svg+xml;base64,");
    hm_buf_base64(b, svg.data ? svg.data : "", svg.len);
    hm_buf_puts(b, "\"></iframe>\n");
    b->failed |= svg.failed || title.failed || subtitle.failed;
    hm_buf_free(&title);
    hm_buf_free(&subtitle);
    hm_buf_free(&svg);
}

void hm_diff_html(const hm_diff *d, size_t top, hm_buf *out)
{
    const char *phrase = hm_diff_snapshot_phrase(d->snapshot);
    colouring c = {d, 0};
    for (size_t n = 1; n < d->view.nnodes; n++) {
        int64_t delta = node_change(&d->view, (uint32_t)n);
        int64_t size = delta < 0 ? -delta : delta;
        if (size > c.scale)
            c.scale = size;
    }
    hm_buf_printf(out,
                  "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<title>heapmark diff: memory %s</title>\n<style>%s</style></head>"
                  "<body>\n<h1>heapmark diff: memory %s</h1>\n<table class=\"runs\">\n",
                  phrase, style_sheet, phrase);
    const hm_profile *run[2] = {d->base, d->next};
    for (int i = 0; i < 2; i++) {
        hm_buf_printf(out, "<tr><th class=\"l\">%s</th>", i ? "new" : "base");
        cell_bytes(out, hm_diff_total(d, run[i]));
        hm_buf_puts(out, "<td class=\"l\"><code>");
        hm_buf_xml(out, hm_profile_meta(run[i], "command"));
        hm_buf_puts(out, "</code></td><td class=\"l\">");
        hm_buf_xml(out, run[i]->path);
        if (run[i]->nprocesses > 1)
            hm_buf_printf(out, " (%zu processes, each at its own %s)", run[i]->nprocesses,
                          hm_snapshot_name(d->snapshot));
        hm_buf_puts(out, "</td></tr>\n");
    }
    int64_t before = hm_diff_total(d, d->base), after = hm_diff_total(d, d->next);
    hm_buf_printf(out, "<tr><th class=\"l\">change</th><td class=\"%s\" data-bytes=\"%lld\">",
                  after >= before ? "grew" : "shrank", (long long)(after - before));
    hm_diff_change(out, after - before);
    hm_buf_puts(out, "</td><td class=\"l\" colspan=\"2\">");
    if (before > 0)
        hm_buf_printf(out, "%+.1f%%", 100.0 * (double)(after - before) / (double)before);
    hm_buf_puts(out, "</td></tr>\n</table>\n<p class=\"note\">");
    hm_buf note = {0};
    hm_diff_estimate_note(&note, d);
    hm_buf_xml(out, note.data ? note.data : "");
    hm_buf_free(&note);
    hm_buf_printf(out, ". Lines are matched by function, file and line number; each "
                       "allocation is credited to the innermost line of the program's own "
                       "code.</p>\n<h2>Biggest increases by line</h2>\n");
    lines_table(out, d, true, top);
    hm_buf_puts(out, "<h2>Biggest decreases by line</h2>\n");
    lines_table(out, d, false, top);
    hm_buf_puts(out, "<h2>Flamegraphs</h2>\n<p class=\"key\">Stacks are matched by path. "
                     "Each frame is coloured by how much its memory (with everything it "
                     "called) changed:<span style=\"background:rgb(240,40,40)\"></span>grew"
                     "<span style=\"background:rgb(40,90,240)\"></span>shrank"
                     "<span style=\"background:rgb(225,225,218)\"></span>unchanged "
                     "(the deepest colour is the largest change). The new run's graph shows "
                     "what grew or appeared; the base run's, what shrank or went away. "
                     "Click a frame to zoom; hover for both runs' values.</p>\n");
    flamegraph(out, d, &c, HM_DIFF_NEW);
    flamegraph(out, d, &c, HM_DIFF_BASE);
    hm_buf_puts(out, "</body></html>\n");
}
