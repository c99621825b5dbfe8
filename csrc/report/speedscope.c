/*
 * speedscope.c - the speedscope export (speedscope's JSON file
 * format, https://www.speedscope.app/file-format-schema.json).
 *
 * Owns: one "sampled" profile in bytes per export: every call-tree node with
 * bytes of its own in the snapshot is a sample (its stack, root first) whose
 * weight is those bytes; frames are shared by (function, file, line).
 * Must never: emit a frame index that is not in shared.frames, or program
 * text that is not escaped (hm_buf_json escapes quotes, controls and '<').
 */
#include "report/report.h"

#include <stdlib.h>

void hm_render_speedscope(const hm_profile *p, int snapshot, hm_buf *out)
{
    const hm_value *self = p->self[snapshot - 1];
    uint32_t *chain = malloc((p->nnodes + 1) * sizeof *chain);
    if (!chain) {
        out->failed = true;
        return;
    }
    hm_buf name = {0};
    if (snapshot == HM_SNAP_ALLOCATED)
        hm_buf_puts(&name, "heapmark: everything allocated");
    else
        hm_buf_printf(&name, "heapmark: memory at the %s", hm_snapshot_name(snapshot));
    hm_buf_puts(&name, hm_profile_is_exact(p) ? " (exact)" : " (estimated from samples)");
    hm_buf_puts(&name, " - ");
    hm_buf_puts(&name, hm_profile_meta(p, "command"));

    hm_buf_puts(out, "{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\", "
                     "\"exporter\": \"heapmark " HM_VERSION "\", \"name\": ");
    hm_buf_json(out, name.data ? name.data : "");
    hm_buf_puts(out, ", \"activeProfileIndex\": 0,\n\"shared\": {\"frames\": [");
    /* Frame ids are dense and (function, file, line) is unique among them,
     * so a frame's index is its id. */
    for (size_t f = 0; f < p->nframes; f++) {
        const hm_pframe *fr = &p->frames[f];
        hm_buf_puts(out, f ? ",\n{\"name\": " : "\n{\"name\": ");
        hm_buf_json(out, fr->function);
        if (!fr->pseudo) {
            hm_buf_puts(out, ", \"file\": ");
            hm_buf_json(out, fr->file);
            hm_buf_printf(out, ", \"line\": %d", fr->line);
        }
        hm_buf_puts(out, "}");
    }
    hm_buf_puts(out, "]},\n\"profiles\": [{\"type\": \"sampled\", \"name\": ");
    hm_buf_json(out, name.data ? name.data : "");
    hm_buf_printf(out,
                  ", \"unit\": \"bytes\", \"startValue\": 0, \"endValue\": %lld,\n"
                  "\"samples\": [",
                  (long long)p->total[snapshot - 1][0].bytes);
    size_t nsamples = 0;
    for (size_t n = 1; n < p->nnodes; n++) {
        if (self[n].bytes <= 0)
            continue;
        size_t depth = 0;
        for (uint32_t k = (uint32_t)n; k != 0; k = p->nodes[k].parent)
            chain[depth++] = p->nodes[k].frame;
        hm_buf_puts(out, nsamples++ ? ",\n[" : "\n[");
        while (depth--)
            hm_buf_printf(out, depth ? "%u," : "%u", chain[depth]);
        hm_buf_puts(out, "]");
    }
    hm_buf_puts(out, "],\n\"weights\": [");
    size_t written = 0;
    for (size_t n = 1; n < p->nnodes; n++) {
        if (self[n].bytes <= 0)
            continue;
        if (written)
            hm_buf_puts(out, written % 16 ? ", " : ",\n");
        hm_buf_printf(out, "%lld", (long long)self[n].bytes);
        written++;
    }
    hm_buf_puts(out, "]}]}\n");
    hm_buf_free(&name);
    free(chain);
}
