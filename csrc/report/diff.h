/*
 * diff.h - two runs compared: one call tree holding both.
 *
 * Owns: the diff view shared by the text (diff.c) and the HTML page
 * (diff_html.c).
 * Must never: outlive the two profiles it was built from (it borrows their
 * strings).
 */
#ifndef HM_REPORT_DIFF_H
#define HM_REPORT_DIFF_H

#include "report/report.h"

/* The view's snapshots: the new run's values, then the base run's. */
enum { HM_DIFF_NEW = 1, HM_DIFF_BASE = 2 };

typedef struct {
    uint32_t frame;     /* in the view */
    int64_t base, next; /* bytes credited to the line in each run */
    int64_t base_count, next_count;
} hm_diff_line;

typedef struct {
    hm_profile view; /* frames and nodes of both trees, matched by path */
    const hm_profile *base, *next;
    int snapshot;        /* the runs' snapshot compared */
    hm_diff_line *lines; /* every line with bytes in either run, largest increase first */
    size_t nlines;
} hm_diff;

bool hm_diff_build(const hm_profile *base, const hm_profile *next, int snapshot, hm_diff *d,
                   char *err, size_t errlen);
void hm_diff_free(hm_diff *d);

/* The k-th biggest increase (or decrease), NULL when there are no more. */
const hm_diff_line *hm_diff_row(const hm_diff *d, bool increases, size_t k);
/* The exact totals of the compared snapshot in each run. */
int64_t hm_diff_total(const hm_diff *d, const hm_profile *run);
/* "at the peak", "at the end", "allocated in total". */
const char *hm_diff_snapshot_phrase(int snapshot);
/* The change as people read it: "+1.5 MiB", "-812 B", "0 B". */
void hm_diff_change(hm_buf *b, int64_t delta);
/* Whether the figures are estimates, and from what, in a sentence. */
void hm_diff_estimate_note(hm_buf *b, const hm_diff *d);

/* The tables of the biggest increases and decreases by line, on stdout. */
void hm_diff_text(const hm_diff *d, size_t top, size_t columns, hm_buf *out);
/* diff.html: the same tables and flamegraphs of both runs coloured by change. */
void hm_diff_html(const hm_diff *d, size_t top, hm_buf *out);

#endif
