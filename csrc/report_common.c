/*
 * report_common.c - labels and paths shared by every report.
 *
 * Owns: how a frame is named to people, and hm_report_all.
 * Must never: depend on one output format.
 */
#include "report.h"

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
    hm_buf_printf(b, "%s (%s:%d)", f->function,
                  short_path ? hm_short_path(p, f->file) : f->file, f->line);
}

bool hm_report_all_with(const hm_profile *p, const char *dir, const hm_report_options *opts,
                        char *err, size_t errlen)
{
    char path[4200];
#define OUT(name) (snprintf(path, sizeof path, "%s/%s", dir, name), path)
    return hm_report_svg(p, HM_SNAP_PEAK, OUT("peak.svg"), err, errlen) &&
           hm_report_folded(p, HM_SNAP_PEAK, OUT("peak.folded"), err, errlen) &&
           hm_report_folded(p, HM_SNAP_END, OUT("end.folded"), err, errlen) &&
           hm_report_text(p, OUT("peak.txt"), err, errlen) &&
           hm_report_html(p, opts, OUT("report.html"), err, errlen);
#undef OUT
}

bool hm_report_all(const hm_profile *p, const char *dir, char *err, size_t errlen)
{
    return hm_report_all_with(p, dir, NULL, err, errlen);
}
