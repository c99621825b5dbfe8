/*
 * html.h - what the two halves of report.html share: the JSON text
 * escaping that keeps program text inert inside the page, and the page's
 * frame table (profile frames are renumbered to the few the page uses).
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

/* "lines" and "functions": the top of each snapshot by self and by total
 * bytes (a frame counted once per stack however deep its recursion). */
bool hm_html_top_tables(hm_buf *b, const hm_profile *p, hm_html_frames *fr);

/* "sources": the program's own files (not the standard library or installed
 * packages), most held at the peak first, at most max_files, each with its
 * lines' figures as `heapmark report --lines` sums them: [[line, peak bytes,
 * allocated bytes, allocations, text], ...] (source_lines.c); then
 * "sources_omitted", the number of files left out. */
bool hm_html_sources(hm_buf *b, const hm_profile *p, size_t max_files);

#endif
