/*
 * labels.c - labels and paths shared by every report.
 *
 * Owns: how a frame is named to people, hm_report_all (the reports' file names
 * are common/contract.h's), and which renderer each export format is.
 * Must never: depend on one output format.
 */
#include "report/report.h"
#include "common/contract.h"

#include <stdio.h>
#include <string.h>

const char *hm_short_path(const hm_profile *p, const char *file)
{
    const char *cwd = hm_profile_meta(p, "cwd");
    size_t n = strlen(cwd);
    if (n > 1 && strncmp(file, cwd, n) == 0 && file[n] == '/')
        return file + n + 1;
    const char *markers[] = {"/site-packages/", "/dist-packages/"};
    for (size_t i = 0; i < 2; i++) {
        const char *m = strstr(file, markers[i]);
        if (m)
            return m + strlen(markers[i]);
    }
    const char *lib = strstr(file, "/lib/python3");
    if (lib) {
        const char *slash = strchr(lib + 12, '/');
        if (slash)
            return slash + 1;
    }
    return file;
}

void hm_frame_label(hm_buf *b, const hm_profile *p, uint32_t frame, bool short_path)
{
    const hm_pframe *f = &p->frames[frame];
    if (f->pseudo) {
        hm_buf_puts(b, f->function);
        return;
    }
    const char *file = short_path ? hm_short_path(p, f->file) : f->file;
    hm_buf_puts(b, f->function);
    hm_buf_puts(b, " (");
    hm_buf_puts(b, file);
    if (!(f->library && f->line == 0)) { /* a native frame without line tables: its object */
        hm_buf_putn(b, ":", 1);
        hm_buf_int(b, f->line);
    }
    hm_buf_putn(b, ")", 1);
}

void hm_frame_label_fit(hm_buf *b, const hm_profile *p, uint32_t frame, size_t width)
{
    const hm_pframe *f = &p->frames[frame];
    hm_buf full = {0};
    hm_frame_label(&full, p, frame, true);
    const char *text = full.data ? full.data : "";
    if (hm_text_width(text) <= width || f->pseudo) {
        hm_buf_fit(b, text, width, false);
        hm_buf_free(&full);
        return;
    }
    /* The path gives way first, keeping its end (the file name); then the
     * function, so that the line number always shows. */
    char line[32];
    if (f->library && f->line == 0)
        snprintf(line, sizeof line, ")");
    else
        snprintf(line, sizeof line, ":%d)", f->line);
    const char *path = hm_short_path(p, f->file);
    size_t fixed = 2 + strlen(line), function = hm_text_width(f->function);
    size_t path_room = hm_text_width(path) < 16 ? hm_text_width(path) : 16;
    if (function + fixed + path_room <= width)
        path_room = width - function - fixed;
    else if (width >= fixed + path_room + 8)
        function = width - fixed - path_room;
    else {
        hm_buf_fit(b, text, width, false);
        hm_buf_free(&full);
        return;
    }
    hm_buf_fit(b, f->function, function, false);
    hm_buf_puts(b, " (");
    hm_buf_fit(b, path, path_room, true);
    hm_buf_puts(b, line);
    hm_buf_free(&full);
}

void hm_frame_table_cell(hm_buf *b, const hm_profile *p, uint32_t frame, size_t indent,
                         size_t width)
{
    hm_frame_label_fit(b, p, frame, width);
    const char *source = p->frames[frame].source;
    if (source[0]) {
        hm_buf_printf(b, "\n%*s", (int)indent, "");
        hm_buf_fit(b, source, width, false);
    }
    hm_buf_puts(b, "\n");
}

bool hm_report_all_with(const hm_profile *p, const char *dir, const hm_report_options *opts,
                        char *err, size_t errlen)
{
    char path[4200];
#define OUT(id) (snprintf(path, sizeof path, "%s/%s", dir, hm_result_file(HM_RESULT_##id)), path)
    return hm_report_svg(p, HM_SNAP_PEAK, OUT(PEAK_SVG), err, errlen) &&
           hm_report_folded(p, HM_SNAP_PEAK, OUT(PEAK_FOLDED), err, errlen) &&
           hm_report_folded(p, HM_SNAP_END, OUT(END_FOLDED), err, errlen) &&
           hm_report_text(p, OUT(PEAK_TXT), err, errlen) &&
           hm_report_html(p, opts, OUT(REPORT_HTML), err, errlen);
#undef OUT
}

static const char *const export_names[] = {"folded", "pprof", "speedscope", "json"};

bool hm_export_format_named(const char *name, hm_export_format *format)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(export_names); i++)
        if (strcmp(name, export_names[i]) == 0) {
            *format = (hm_export_format)i;
            return true;
        }
    return false;
}

bool hm_snapshot_missing(const hm_profile *p, int snapshot, char *err, size_t errlen)
{
    if (hm_profile_has_snapshot(p, snapshot))
        return false;
    snprintf(err, errlen,
             "'%s' has no job-peak snapshot: it is what each process held at the combined peak "
             "of a run of several processes (heapmark run follows multiprocessing's workers), "
             "and this profile is of one process",
             p->path);
    return true;
}

bool hm_export(const hm_profile *p, hm_export_format format, int snapshot, hm_buf *out, char *err,
               size_t errlen)
{
    if (hm_snapshot_missing(p, snapshot, err, errlen))
        return false;
    switch (format) {
    case HM_EXPORT_PPROF: return hm_render_pprof(p, snapshot, out, err, errlen);
    case HM_EXPORT_FOLDED: hm_render_folded(p, snapshot, out); break;
    case HM_EXPORT_SPEEDSCOPE: hm_render_speedscope(p, snapshot, out); break;
    case HM_EXPORT_JSON: hm_render_tree_json(p, out); break;
    }
    if (out->failed)
        snprintf(err, errlen, "out of memory while rendering the %s export", export_names[format]);
    return !out->failed;
}

bool hm_report_all(const hm_profile *p, const char *dir, char *err, size_t errlen)
{
    return hm_report_all_with(p, dir, NULL, err, errlen);
}

void hm_report_mode(hm_buf *b, const hm_profile *p)
{
    if (hm_profile_is_exact(p)) {
        hm_buf_puts(b, "exact (every allocation recorded)");
    } else {
        hm_buf_puts(b, "sampled, one sample per ");
        hm_buf_bytes(b, hm_profile_meta_int(p, "sample_rate"));
        hm_buf_puts(b, " allocated on average (per-line figures are unbiased estimates; "
                       "totals are exact)");
    }
}
