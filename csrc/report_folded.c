/*
 * report_folded.c - folded ("collapsed") stacks.
 *
 * Owns: one line per node with bytes of its own: frames root first joined
 * by ';', a space, the bytes as an integer.  Read by flamegraph.pl, inferno
 * and speedscope.
 * Must never: emit a ';' or a newline inside a frame (they would split it).
 */
#include "report.h"

#include <stdlib.h>

static void put_frame(hm_buf *b, const hm_profile *p, uint32_t frame)
{
    hm_buf label = {0};
    hm_frame_label(&label, p, frame, false);
    for (size_t i = 0; i < label.len; i++)
        if (label.data[i] == ';' || label.data[i] == '\n' || label.data[i] == '\r')
            label.data[i] = ',';
    hm_buf_putn(b, label.data ? label.data : "", label.len);
    hm_buf_free(&label);
}

void hm_render_folded(const hm_profile *p, int snapshot, hm_buf *out)
{
    const hm_value *self = p->self[snapshot - 1];
    uint32_t *chain = malloc((p->nnodes + 1) * sizeof *chain);
    if (!chain) {
        out->failed = true;
        return;
    }
    for (size_t n = 1; n < p->nnodes; n++) {
        if (self[n].bytes <= 0)
            continue;
        size_t depth = 0;
        for (uint32_t k = (uint32_t)n; k != 0; k = p->nodes[k].parent)
            chain[depth++] = k;
        while (depth--) {
            put_frame(out, p, p->nodes[chain[depth]].frame);
            hm_buf_puts(out, depth ? ";" : " ");
        }
        hm_buf_printf(out, "%lld\n", (long long)self[n].bytes);
    }
    free(chain);
}

bool hm_report_folded(const hm_profile *p, int snapshot, const char *path, char *err, size_t errlen)
{
    hm_buf out = {0};
    hm_render_folded(p, snapshot, &out);
    bool ok = hm_buf_write_file(&out, path, err, errlen);
    hm_buf_free(&out);
    return ok;
}
