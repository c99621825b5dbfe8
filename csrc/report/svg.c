/*
 * svg.c - the flamegraph (root at the top, as Fil draws it).
 *
 * Owns: layout (width by a node's total bytes in the snapshot, one row per
 * depth), pruning of frames too narrow to see, colours, tooltips, and the
 * small script that zooms, resets and searches.  The file is plain SVG 1.1
 * and valid XML: every text from the program goes through hm_buf_xml.
 * Other views (the diff) bring their own colours, tooltip lines and titles
 * through hm_svg_style.
 * Must never: draw a frame wider than its parent, or show an estimate
 * without saying so.
 */
#include "report/report.h"
#include "common/hashmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_WIDTH 1200
#define PAD 10
#define FRAME_HEIGHT 18
#define TOP 64
#define CHAR_WIDTH 7.4
#define MAX_DRAWN 20000

typedef struct {
    uint32_t node;
    int64_t offset; /* bytes from the left edge of the root */
} placed;

static void frame_colour(hm_buf *b, const hm_profile *p, uint32_t frame)
{
    const hm_pframe *f = &p->frames[frame];
    uint32_t h = (uint32_t)(hm_hash_text(f->function) >> 32);
    int v1 = (int)(h % 55), v2 = (int)((h >> 8) % 80);
    int rgb[3];
    if (f->pseudo) {
        rgb[0] = rgb[1] = rgb[2] = 190 + v1 / 4;
    } else if (strstr(f->file, "/site-packages/") || strstr(f->file, "/lib/python3") ||
               f->file[0] == '<') {
        rgb[0] = 80 + v1, rgb[1] = 150 + v2 / 2, rgb[2] = 200 + v1 / 2; /* libraries */
    } else {
        rgb[0] = 205 + v1, rgb[1] = 90 + v2, rgb[2] = 40 + v1 / 2; /* the program */
    }
    hm_buf_puts(b, "rgb(");
    for (int i = 0; i < 3; i++) {
        if (i)
            hm_buf_putn(b, ",", 1);
        hm_buf_int(b, rgb[i]);
    }
    hm_buf_putn(b, ")", 1);
}

/* Full label: "function (file:line) - source". */
static void full_label(hm_buf *b, const hm_profile *p, uint32_t frame)
{
    hm_frame_label(b, p, frame, true);
    const char *src = p->frames[frame].source;
    if (src[0]) {
        hm_buf_puts(b, " \xc2\xb7 ");
        hm_buf_puts(b, src);
    }
}

/* Characters of a UTF-8 string that fit in width pixels, "..." if cut. */
static void fitted_text(hm_buf *b, const char *s, double width)
{
    int room = (int)((width - 6) / CHAR_WIDTH);
    if (room < 3)
        return;
    size_t chars = 0, i = 0, cut = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80)
            continue;
        if ((int)chars == room - 2)
            cut = i;
        chars++;
    }
    if ((int)chars <= room) {
        hm_buf_xml(b, s);
        return;
    }
    hm_buf cut_text = {0};
    hm_buf_putn(&cut_text, s, cut);
    hm_buf_xml(b, cut_text.data ? cut_text.data : "");
    hm_buf_puts(b, "..");
    hm_buf_free(&cut_text);
}

static int64_t min_drawn_bytes(const hm_profile *p, int snap, int64_t root_total)
{
    /* Start at a tenth of a pixel; raise the bar until few enough frames remain. */
    double px = 0.1;
    for (;;) {
        int64_t min_bytes = (int64_t)ceil(px * (double)root_total / (IMAGE_WIDTH - 2 * PAD));
        size_t drawn = 0;
        for (size_t n = 1; n < p->nnodes && drawn <= MAX_DRAWN; n++)
            drawn += p->total[snap][n].bytes >= min_bytes && p->total[snap][n].bytes > 0;
        if (drawn <= MAX_DRAWN)
            return min_bytes > 0 ? min_bytes : 1;
        px *= 2;
    }
}

static const char script[] =
    "<script type=\"text/ecmascript\"><![CDATA[\n"
    "var W="
    "1180"
    ",PAD=10,CW=7.4,frames=[],status,root;\n"
    "function fit(l,w){var n=Math.floor((w-6)/CW);if(n<3)return '';"
    "var c=Array.from(l);return c.length<=n?l:c.slice(0,n-2).join('')+'..';}\n"
    "function init(){status=document.getElementById('status');"
    "var gs=document.querySelectorAll('g.f');for(var i=0;i<gs.length;i++){var g=gs[i];"
    "var "
    "f={g:g,x:+g.getAttribute('data-x'),w:+g.getAttribute('data-w'),d:+g.getAttribute('data-d'),"
    "l:g.getAttribute('data-l'),r:g.querySelector('rect'),t:g.querySelector('text')};"
    "f.fill=f.r.getAttribute('fill');frames.push(f);g.onclick=(function(f){return "
    "function(){zoom(f);};})(f);}"
    "root=frames[0];document.getElementById('reset').onclick=function(){zoom(root);};"
    "document.getElementById('search').onclick=function(){search();};"
    "document.addEventListener('keydown',function(e){if((e.ctrlKey||e.metaKey)&&e.key=='f'){e."
    "preventDefault();search();}"
    "else if(e.key=='Escape'){zoom(root);}});}\n"
    "function zoom(z){var s=W/z.w;for(var i=0;i<frames.length;i++){var f=frames[i];"
    "var inside=f.d>=z.d&&f.x>=z.x-1e-9*z.w&&f.x+f.w<=z.x+z.w*(1+1e-9);"
    "var above=f.d<z.d&&f.x<=z.x&&f.x+f.w>=z.x+z.w;"
    "if(inside&&f.w*s>=0.5){var x=PAD+(f.x-z.x)*s,w=f.w*s;place(f,x,w,1);}"
    "else if(above){place(f,PAD,W,0.55);}else{f.g.style.display='none';}}"
    "document.getElementById('reset').style.opacity=z===root?0.3:1;}\n"
    "function place(f,x,w,o){f.g.style.display='';f.g.style.opacity=o;f.r.setAttribute('x',x);"
    "f.r.setAttribute('width',Math.max(w-1,0.5));f.t.setAttribute('x',x+3);f.t.textContent=fit(f.l,"
    "w);}\n"
    "function search(){var term=prompt('Highlight frames matching (regular expression):','');"
    "if(term===null)return;var re;try{re=new RegExp(term);}catch(e){status.textContent='bad "
    "expression';return;}"
    "var hits=[];for(var i=0;i<frames.length;i++){var f=frames[i],m=term!==''&&re.test(f.l);"
    "f.r.setAttribute('fill',m?'rgb(230,0,230)':f.fill);if(m)hits.push(f);}"
    "hits.sort(function(a,b){return a.x-b.x||a.d-b.d;});var sum=0,end=-1;"
    "for(var j=0;j<hits.length;j++){var h=hits[j];if(h.x>=end-1e-9*root.w){sum+=h.w;end=h.x+h.w;}"
    "else if(h.x+h.w>end){sum+=h.x+h.w-end;end=h.x+h.w;}}"
    "status.textContent=term===''?'':'Matched: '+(100*sum/root.w).toFixed(1)+'% of '+"
    "document.documentElement.getAttribute('data-total')+' ('+hits.length+' frames)';}\n"
    "]]></script>\n";

int hm_svg_render(const hm_profile *p, int snapshot, const hm_svg_style *style, hm_buf *out)
{
    int snap = snapshot - 1;
    const hm_value *total = p->total[snap];
    int64_t root_total = total[0].bytes > 0 ? total[0].bytes : 1;
    int64_t min_bytes = min_drawn_bytes(p, snap, root_total);
    double scale = (double)(IMAGE_WIDTH - 2 * PAD) / (double)root_total;
    bool exact = hm_profile_is_exact(p);

    placed *stack = malloc((p->nnodes + 1) * sizeof *stack);
    placed *order = malloc((p->nnodes + 1) * sizeof *order);
    if (!stack || !order) {
        free(stack);
        free(order);
        out->failed = true;
        return 0;
    }
    /* Depth-first, keeping the frames wide enough to see. */
    size_t ndrawn = 0, top = 0;
    uint32_t max_depth = 0;
    stack[top++] = (placed){0, 0};
    while (top) {
        placed cur = stack[--top];
        order[ndrawn++] = cur;
        if (p->nodes[cur.node].depth > max_depth)
            max_depth = p->nodes[cur.node].depth;
        int64_t x = cur.offset;
        size_t first = top;
        for (uint32_t c = p->nodes[cur.node].first_child; c != HM_NONE;
             c = p->nodes[c].next_sibling) {
            if (total[c].bytes >= min_bytes && total[c].bytes > 0)
                stack[top++] = (placed){c, x};
            if (total[c].bytes > 0)
                x += total[c].bytes;
        }
        /* Reverse so the largest child is drawn first. */
        for (size_t a = first, z = top; a + 1 < z; a++, z--) {
            placed t = stack[a];
            stack[a] = stack[z - 1];
            stack[z - 1] = t;
        }
    }
    free(stack);

    int height = TOP + (int)(max_depth + 1) * FRAME_HEIGHT + 2 * PAD;
    hm_buf b = {0};
    hm_buf total_text = {0};
    hm_buf_bytes(&total_text, root_total);
    hm_buf_puts(&b, "<?xml version=\"1.0\" standalone=\"no\"?>\n");
    hm_buf_printf(&b,
                  "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                  "onload=\"init()\" xmlns=\"http://www.w3.org/2000/svg\" data-total=\"",
                  IMAGE_WIDTH, height, IMAGE_WIDTH, height);
    hm_buf_xml(&b, total_text.data ? total_text.data : "");
    hm_buf_puts(&b, "\">\n<style>text{font:12px monospace;fill:#000}g.f{cursor:pointer}"
                    "g.f:hover rect{stroke:#000;stroke-width:0.5}.ui{cursor:pointer;fill:#0645ad}"
                    "</style>\n");
    hm_buf_puts(&b, script);
    hm_buf_printf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#f8f8f4\"/>\n");
    if (style && style->title) {
        hm_buf_printf(&b, "<text x=\"%d\" y=\"24\" style=\"font-size:17px\">", PAD);
        hm_buf_xml(&b, style->title);
    } else if (p->nprocesses > 1 && snapshot != HM_SNAP_JOB_PEAK)
        hm_buf_printf(&b,
                      "<text x=\"%d\" y=\"24\" style=\"font-size:17px\">heapmark: %zu "
                      "processes, each at its own %s: ",
                      PAD, p->nprocesses, hm_snapshot_name(snapshot));
    else
        hm_buf_printf(&b,
                      "<text x=\"%d\" y=\"24\" style=\"font-size:17px\">heapmark: memory "
                      "at the %s: ",
                      PAD, hm_snapshot_name(snapshot));
    if (!style || !style->title) {
        hm_buf_bytes(&b, snapshot == HM_SNAP_ALLOCATED ? root_total : p->snapshot_total[snap]);
        hm_buf_puts(&b, snapshot == HM_SNAP_ALLOCATED ? " allocated in total"
                        : p->nprocesses > 1           ? " tracked in all"
                                                      : " tracked");
    }
    hm_buf_puts(&b, "</text>\n");
    hm_buf_printf(&b, "<text x=\"%d\" y=\"44\">", PAD);
    hm_buf_xml(&b, style && style->subtitle ? style->subtitle : hm_profile_meta(p, "command"));
    if (style && style->subtitle) {
        /* the view said what its numbers are */
    } else if (exact) {
        hm_buf_puts(&b, " \xc2\xb7 exact: every allocation recorded");
    } else {
        hm_buf_puts(&b, " \xc2\xb7 widths are estimates from samples every ");
        hm_buf_bytes(&b, hm_profile_meta_int(p, "sample_rate"));
    }
    hm_buf_puts(&b, " \xc2\xb7 click to zoom</text>\n");
    hm_buf_printf(
        &b,
        "<text id=\"search\" class=\"ui\" x=\"%d\" y=\"24\" text-anchor=\"end\">Search</text>\n",
        IMAGE_WIDTH - PAD);
    hm_buf_printf(&b,
                  "<text id=\"reset\" class=\"ui\" x=\"%d\" y=\"24\" text-anchor=\"end\" "
                  "style=\"opacity:0.3\">Reset zoom</text>\n",
                  IMAGE_WIDTH - PAD - 70);
    hm_buf_printf(&b, "<text id=\"status\" x=\"%d\" y=\"%d\"> </text>\n", PAD, height - 6);

    hm_buf label = {0}, tip = {0};
    for (size_t i = 0; i < ndrawn; i++) {
        uint32_t n = order[i].node;
        const hm_value *v = &total[n];
        double x = PAD + (double)order[i].offset * scale;
        double w = (double)v->bytes * scale;
        int y = TOP + (int)p->nodes[n].depth * FRAME_HEIGHT;
        label.len = 0;
        tip.len = 0;
        if (n == 0) {
            hm_buf_puts(&label, "all: ");
            hm_buf_bytes(&label, v->bytes);
        } else {
            full_label(&label, p, p->nodes[n].frame);
        }
        const char *label_text = label.data ? label.data : "";
        if (n == 0) {
            hm_buf_puts(&tip, "all: ");
        } else {
            hm_frame_label(&tip, p, p->nodes[n].frame, false);
            const char *src = p->frames[p->nodes[n].frame].source;
            if (src[0])
                hm_buf_printf(&tip, "\n    %s", src);
            hm_buf_puts(&tip, "\n");
        }
        hm_buf_puts(&tip, exact ? "" : "\xe2\x89\x88 ");
        hm_buf_bytes(&tip, v->bytes);
        hm_buf_puts(&tip, " (");
        hm_buf_grouped(&tip, v->bytes);
        hm_buf_puts(&tip, " bytes), ");
        hm_buf_fixed(&tip, 100.0 * (double)v->bytes / (double)root_total, 2);
        hm_buf_puts(&tip, exact ? "% of this graph, " : "% of this graph, \xe2\x89\x88 ");
        hm_buf_int(&tip, v->count);
        hm_buf_puts(&tip, v->count == 1 ? " allocation" : " allocations");
        if (style && style->tooltip)
            style->tooltip(style->ctx, n, &tip);
        /* Per node, without printf (its %.2f was most of the rendering). */
        hm_buf_puts(&b, "<g class=\"f\" data-x=\"");
        hm_buf_int(&b, order[i].offset);
        hm_buf_puts(&b, "\" data-w=\"");
        hm_buf_int(&b, v->bytes);
        hm_buf_puts(&b, "\" data-d=\"");
        hm_buf_int(&b, p->nodes[n].depth);
        hm_buf_puts(&b, "\" data-l=\"");
        hm_buf_xml(&b, label_text);
        hm_buf_puts(&b, "\"><title>");
        hm_buf_xml(&b, tip.data ? tip.data : "");
        hm_buf_puts(&b, "</title><rect x=\"");
        hm_buf_fixed2(&b, x);
        hm_buf_puts(&b, "\" y=\"");
        hm_buf_int(&b, y);
        hm_buf_puts(&b, "\" width=\"");
        hm_buf_fixed2(&b, w > 1 ? w - 1 : (w > 0.5 ? w : 0.5));
        hm_buf_puts(&b, "\" height=\"");
        hm_buf_int(&b, FRAME_HEIGHT - 1);
        hm_buf_puts(&b, "\" rx=\"2\" fill=\"");
        if (style && style->colour)
            style->colour(style->ctx, n, &b);
        else if (n == 0)
            hm_buf_puts(&b, "rgb(220,220,210)");
        else
            frame_colour(&b, p, p->nodes[n].frame);
        hm_buf_puts(&b, "\"/><text x=\"");
        hm_buf_fixed2(&b, x + 3);
        hm_buf_puts(&b, "\" y=\"");
        hm_buf_int(&b, y + FRAME_HEIGHT - 5);
        hm_buf_puts(&b, "\">");
        fitted_text(&b, label_text, w);
        hm_buf_puts(&b, "</text></g>\n");
    }
    hm_buf_puts(&b, "</svg>\n");
    hm_buf_free(&label);
    hm_buf_free(&tip);
    hm_buf_free(&total_text);
    free(order);
    hm_buf_putn(out, b.data ? b.data : "", b.len);
    out->failed |= b.failed;
    hm_buf_free(&b);
    return height;
}

bool hm_report_svg(const hm_profile *p, int snapshot, const char *path, char *err, size_t errlen)
{
    hm_buf b = {0};
    hm_svg_render(p, snapshot, NULL, &b);
    bool ok = hm_buf_write_file(&b, path, err, errlen);
    hm_buf_free(&b);
    return ok;
}
