/*
 * report.h - reports rendered from a loaded profile.
 *
 * The reports (this folder) run in the heapmark process, or in heapmark's
 * own thread, never on a profiled program's allocation path: each renders
 * a profile loaded by the store (store/profile.h) - text.c, svg.c,
 * folded.c, pprof.c, speedscope.c, tree_json.c, html.c with its table
 * (html_top_table.c), its kinds (html_kinds.c) and its page (html/), diff.c
 * and diff_html.c, source_lines.c (one source file line by line), kinds.c
 * (kinds at the peak, as every report says them) and advice.c (what to
 * change, with predicted savings) - and labels.c holds what they share.  They include only the store's read side,
 * each other and common/.
 *
 * Owns: the report entry points and the conventions they share: a frame is
 * labelled "function (file:line)", pseudo frames by their bracketed name,
 * and paths are shown relative to the run's directory or package root.
 * Must never: recompute what the profile stores (reports are views), or
 * leave a half-written file (strbuf writes through a temporary name).
 */
#ifndef HM_REPORT_H
#define HM_REPORT_H

#include "store/profile.h"
#include "common/strbuf.h"

/* Path as shown to people: relative to the run's cwd, or from the package
 * root for site-packages and the standard library.  Points into file. */
const char *hm_short_path(const hm_profile *p, const char *file);
void hm_frame_label(hm_buf *b, const hm_profile *p, uint32_t frame, bool short_path);
/* "exact (every allocation recorded)", or the sample rate and which
 * figures are estimates: how every text report names the mode. */
void hm_report_mode(hm_buf *b, const hm_profile *p);
/* The short label in at most width columns, the path shortened first. */
void hm_frame_label_fit(hm_buf *b, const hm_profile *p, uint32_t frame, size_t width);
/* The last cell of a terminal table row: the fitted label, then the line's
 * source under it, indented to the cell's column; ends the row. */
void hm_frame_table_cell(hm_buf *b, const hm_profile *p, uint32_t frame, size_t indent,
                         size_t width);

bool hm_report_folded(const hm_profile *p, int snapshot, const char *path, char *err,
                      size_t errlen);
bool hm_report_svg(const hm_profile *p, int snapshot, const char *path, char *err, size_t errlen);

/* What a view other than a plain snapshot changes in the flamegraph. */
typedef struct {
    const char *title;    /* replaces "heapmark: memory at the peak: ..." */
    const char *subtitle; /* replaces the command and the mode */
    /* The fill of node's frame, an SVG colour written into b. */
    void (*colour)(void *ctx, uint32_t node, hm_buf *b);
    /* More tooltip text for node, after its bytes and count. */
    void (*tooltip)(void *ctx, uint32_t node, hm_buf *b);
    void *ctx;
} hm_svg_style;

/* The flamegraph SVG document into out; returns its height in pixels.
 * style may be NULL. */
int hm_svg_render(const hm_profile *p, int snapshot, const hm_svg_style *style, hm_buf *out);
bool hm_report_text(const hm_profile *p, const char *path, char *err, size_t errlen);

/* Kinds at the peak (kinds.c).  The walk standing for a snapshot (0 peak,
 * 1 end), or -1 if the profile has none; where it comes from, in words;
 * the table of kinds; a line's kinds ("57% dict of __main__.Line, 20%
 * str"), false if it has none; and JSON (credited: hm_profile_credited_frames,
 * NULL with frame HM_NONE for every node). */
int hm_kinds_walk_for(const hm_profile *p, int snapshot);
void hm_kinds_walk_note(hm_buf *b, const hm_profile *p, int walk);
void hm_kinds_table(hm_buf *b, const hm_profile *p, int walk, size_t max, size_t width);
bool hm_kinds_inline(hm_buf *b, const hm_profile *p, int walk, const uint32_t *credited,
                     uint32_t frame, size_t max);
void hm_kinds_json(hm_buf *b, const hm_profile *p, const uint32_t *credited, uint32_t frame,
                   int walk);
void hm_kinds_walks_json(hm_buf *b, const hm_profile *p);
/* The kinds of each line 1..nlines of file (inclusive: what the line and
 * everything it called allocated, each byte once), largest first; and a
 * line's in a few words. */
typedef struct {
    hm_kind_total *kinds;
    size_t n, cap;
    int64_t total;
} hm_line_kinds;
/* What to change (advice.c): predicted savings from the profile's numbers. */
typedef enum {
    HM_ADVICE_SLOTS,      /* a class's instances -> __slots__ */
    HM_ADVICE_ARRAY,      /* lists of floats -> array.array('d') */
    HM_ADVICE_TEMPORARY,  /* a line's memory at the peak was temporary */
    HM_ADVICE_FREE_SPACE, /* pymalloc free space kept at the end */
    HM_ADVICE_INTERN,     /* strings whose texts other strings hold too -> sys.intern */
} hm_advice_type;
typedef struct {
    hm_advice_type type;
    const char *kind;  /* the class, or "list"; NULL otherwise */
    uint32_t frame;    /* the line, or HM_NONE */
    int64_t count;     /* instances, or floats */
    double attributes; /* per instance; for a temporary, seconds until memory fell */
    int64_t current, predicted, saving; /* bytes */
} hm_advice;
typedef struct {
    hm_advice *items; /* largest saving first */
    size_t n, cap;
} hm_advice_list;
bool hm_advise(const hm_profile *p, hm_advice_list *out);
void hm_advice_free(hm_advice_list *l);
void hm_advice_text(hm_buf *b, const hm_profile *p, const hm_advice_list *l);
/* "slots", "array", "temporary", "free_space", "intern": the JSON's names. */
const char *hm_advice_type_name(hm_advice_type type);
void hm_advice_item_text(hm_buf *b, const hm_profile *p, const hm_advice *a);
void hm_advice_json(hm_buf *b, const hm_profile *p, const hm_advice_list *l);

/* The kinds of a walk by line of one file: slot_of_frame maps each frame to
 * its line's slot in [0, nslots), or -1 for frames of other files. */
hm_line_kinds *hm_kinds_by_line(const hm_profile *p, int walk, const int32_t *slot_of_frame,
                                int32_t nslots);
void hm_line_kinds_free(hm_line_kinds *lines, int32_t nslots);
void hm_line_kinds_text(hm_buf *b, const hm_line_kinds *lk, size_t max);

/* How much of the call tree report.html keeps: nodes whose total reaches
 * html_min_bytes in some snapshot, or (html_min_bytes < 0) html_min_share of
 * that snapshot's total, raised until at most html_max_nodes remain (0: no
 * limit).  The rest is folded into an "other" node per parent. */
typedef struct {
    int64_t html_min_bytes;
    double html_min_share;
    size_t html_max_nodes;
} hm_report_options;
#define HM_REPORT_DEFAULTS \
    {                      \
        -1, 0.0001, 30000  \
    }

/* report.html: flamegraph, top lines and functions, timeline, run metadata
 * (opts NULL: the defaults). */
bool hm_report_html(const hm_profile *p, const hm_report_options *opts, const char *path, char *err,
                    size_t errlen);

/* How the run ended, for people; NULL for a normal end. */
const char *hm_report_ending(const hm_profile *p, char *buf, size_t size);
/* How the memory of libraries with allocators of their own (pyarrow,
 * polars) is seen, in one line; NULL if the process loaded none. */
const char *hm_report_allocators(const hm_profile *p, char *buf, size_t size);

/* "heapmark: "-prefixed lines for the end of heapmark run. */
void hm_report_summary(const hm_profile *p, size_t top, hm_buf *out);
/* What `heapmark report` prints: the run in a few lines and the top lines at
 * the peak, fitted to a terminal of the given width. */
void hm_report_terminal(const hm_profile *p, size_t top, size_t columns, hm_buf *out);
/* heapmark top: the top lines holding memory at the profile's end (for a
 * profile written on request while the program runs: now), fitted to a
 * terminal of the given width. */
void hm_report_now(const hm_profile *p, size_t top, size_t columns, hm_buf *out);
/* heapmark report --lines: the source file the profile calls wanted (or
 * whose path ends so), line by line with each line's inclusive figures at
 * the peak and in all, then its functions; text, or JSON. */
bool hm_report_source_lines(const hm_profile *p, const char *wanted, bool json, hm_buf *out,
                            char *err, size_t errlen);
/* Machine-readable summary (see docs/profile-format.md). */
void hm_report_json(const hm_profile *p, size_t top, hm_buf *out);

/* [{"pid": ..., "command": ..., ...}]: a (merged) profile's processes. */
void hm_json_processes(hm_buf *out, const hm_profile *p);

/* peak.svg, peak.folded, end.folded, peak.txt, report.html into dir. */
bool hm_report_all(const hm_profile *p, const char *dir, char *err, size_t errlen);
bool hm_report_all_with(const hm_profile *p, const char *dir, const hm_report_options *opts,
                        char *err, size_t errlen);

/* ---- heapmark export: one snapshot (or, for json, all) rendered whole ---- */

typedef enum {
    HM_EXPORT_FOLDED,
    HM_EXPORT_PPROF,
    HM_EXPORT_SPEEDSCOPE,
    HM_EXPORT_JSON
} hm_export_format;

/* "folded", "pprof", "speedscope", "json"; false for anything else. */
bool hm_export_format_named(const char *name, hm_export_format *format);
/* The export in out (gzipped protobuf for pprof, text for the rest). */
/* True, with err filled, if p lacks snapshot (job-peak in a run of one). */
bool hm_snapshot_missing(const hm_profile *p, int snapshot, char *err, size_t errlen);
bool hm_export(const hm_profile *p, hm_export_format format, int snapshot, hm_buf *out, char *err,
               size_t errlen);

void hm_render_folded(const hm_profile *p, int snapshot, hm_buf *out);
bool hm_render_pprof(const hm_profile *p, int snapshot, hm_buf *out, char *err, size_t errlen);
void hm_render_speedscope(const hm_profile *p, int snapshot, hm_buf *out);
void hm_render_tree_json(const hm_profile *p, hm_buf *out);

#endif
