/*
 * folded.c - folded ("collapsed") stacks.
 *
 * Owns: one line per node with bytes of its own: frames root first joined
 * by ';', a space, the bytes as an integer.  Read by flamegraph.pl, inferno
 * and speedscope.
 * Must never: emit a ';' or a newline inside a frame (they would split it).
 */
#include "report/report.h"

#include <stdlib.h>

/* Every frame's label, made once: a profile has thousands of frames and
 * its folded lines repeat them millions of times (deep import stacks). */
typedef struct {
    size_t off, len;
} label_span;

static label_span *frame_labels(const hm_profile *p, hm_buf *text)
{
    label_span *spans = malloc((p->nframes ? p->nframes : 1) * sizeof *spans);
    if (!spans)
        return NULL;
    for (size_t f = 0; f < p->nframes; f++) {
        size_t off = text->len;
        hm_frame_label(text, p, (uint32_t)f, false);
        for (size_t i = off; i < text->len; i++)
            if (text->data[i] == ';' || text->data[i] == '\n' || text->data[i] == '\r')
                text->data[i] = ',';
        spans[f] = (label_span){off, text->len - off};
    }
    if (text->failed) {
        free(spans);
        return NULL;
    }
    return spans;
}

void hm_render_folded(const hm_profile *p, int snapshot, hm_buf *out)
{
    const hm_value *self = p->self[snapshot - 1];
    hm_buf text = {0};
    label_span *labels = frame_labels(p, &text);
    uint32_t *chain = malloc((p->nnodes + 1) * sizeof *chain);
    if (!chain || !labels) {
        out->failed = true;
        goto done;
    }
    for (size_t n = 1; n < p->nnodes; n++) {
        if (self[n].bytes <= 0)
            continue;
        size_t depth = 0;
        for (uint32_t k = (uint32_t)n; k != 0; k = p->nodes[k].parent)
            chain[depth++] = k;
        while (depth--) {
            const label_span *l = &labels[p->nodes[chain[depth]].frame];
            hm_buf_putn(out, text.data + l->off, l->len);
            hm_buf_putn(out, depth ? ";" : " ", 1);
        }
        hm_buf_printf(out, "%lld\n", (long long)self[n].bytes);
    }
done:
    free(chain);
    free(labels);
    hm_buf_free(&text);
}

bool hm_report_folded(const hm_profile *p, int snapshot, const char *path, char *err, size_t errlen)
{
    hm_buf out = {0};
    hm_render_folded(p, snapshot, &out);
    bool ok = hm_buf_write_file(&out, path, err, errlen);
    hm_buf_free(&out);
    return ok;
}
