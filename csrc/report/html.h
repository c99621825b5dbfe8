/*
 * html.h - what the two halves of report.html share: the JSON text
 * escaping that keeps program text inert inside the page, the page's
 * frame table (profile frames are renumbered to the few the page uses), and
 * kinds at the peak as the page holds them.
 *
 * Owns: nothing but these declarations.
 * Must never: be included outside html*.c and source_lines.c (the rest of
 * the program sees report.h).
 */
#ifndef HM_REPORT_HTML_H
#define HM_REPORT_HTML_H

#include "report/report.h"

/* A quoted JSON string that is safe inside <script type="application/json">:
 * < > & and U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD. */
void hm_html_json_text(hm_buf *b, const char *s);

/* Profile frames as the page numbers them, in order of first use. */
typedef struct {
    const hm_profile *p;
    uint32_t *page_id; /* profile frame -> page frame, HM_NONE if unused */
    uint32_t *frames;  /* page frame -> profile frame */
    size_t n;
} hm_html_frames;

/* The page's id of profile frame f, giving it one on first use. */
uint32_t hm_html_frame(hm_html_frames *fr, uint32_t f);

/* The page's snapshots are 1..hm_html_snapshots(p): peak, end, allocated,
 * and job-peak only where the profile has it (a run of one process's page
 * holds three, as before jobs). */
int hm_html_snapshots(const hm_profile *p);

/* Items to keep the heaviest of: hm_html_keep_heaviest keeps the `keep`
 * heaviest of w[0..n) (ties: the earlier), then puts them back in index
 * order; returns how many remain. */
typedef struct {
    double weight;
    size_t index;
} hm_html_weighted;
size_t hm_html_keep_heaviest(hm_html_weighted *w, size_t n, size_t keep);

/* Kinds at the walks of the heap standing for the peak and the end, made
 * ready for the page (html_kinds.c): a walk's kind names, most bytes first,
 * each row's name, and its rows summed per line (key: the row's node's own
 * frame), by line and then most bytes first. */
typedef struct {
    uint32_t key, name;
    int64_t bytes, count;
} hm_html_kind_sum;

typedef struct {
    bool present;
    const char **names;
    size_t nnames;
    uint32_t *name_of; /* walk row -> name */
    hm_html_kind_sum *lines;
    size_t nlines;
} hm_html_walk_kinds;

typedef struct {
    const hm_profile *p;
    hm_html_walk_kinds walk[2]; /* [0] the peak's, [1] the end's */
} hm_html_kinds;

bool hm_html_kinds_prepare(hm_html_kinds *k, const hm_profile *p);
void hm_html_kinds_free(hm_html_kinds *k);
/* A row of the lines table, continued: ",B,[[name,bytes],...]", the bytes
 * of frame's own nodes at the walk standing for snapshot and their largest
 * kinds; nothing when no walk stands for snapshot. */
void hm_html_line_kinds(hm_buf *b, const hm_html_kinds *k, int snapshot, uint32_t frame);
/* "kinds":{"peak":null|{"at_s","seconds","tracked_bytes","objects","note",
 * "names","rows":[[page node,name,bytes,count],...]},"end":...}, the rows on
 * page nodes (page_of: profile node -> page node). */
bool hm_html_put_kinds(hm_buf *b, const hm_html_kinds *k, const uint32_t *page_of);

/* "lines" and "functions": the top of each snapshot by self and by total
 * bytes (a frame counted once per stack however deep its recursion); each
 * line continued with its kinds (hm_html_line_kinds) in the snapshots a
 * walk stands for. */
bool hm_html_top_tables(hm_buf *b, const hm_profile *p, hm_html_frames *fr,
                        const hm_html_kinds *kinds);

/* "sources": the program's own files (not the standard library or installed
 * packages), most held at the peak first, at most max_files, each with its
 * lines' figures as `heapmark report --lines` sums them: [[line, peak bytes,
 * allocated bytes, allocations, text], ...] (source_lines.c); then
 * "sources_omitted", the number of files left out. */
bool hm_html_sources(hm_buf *b, const hm_profile *p, size_t max_files);

/* ",\"job\":{...}": a run of several processes drawn as one (html_job.c),
 * at most max_points samples; nothing for a profile without job tables. */
bool hm_html_job(hm_buf *b, const hm_profile *p, size_t max_points);

#endif
