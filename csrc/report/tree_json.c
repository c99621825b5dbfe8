/*
 * tree_json.c - the JSON export: the whole call tree with every
 * snapshot, for programs that want more than a flamegraph's view.
 *
 * Owns: the "heapmark-tree" JSON document (schema in docs/exports.md):
 * run metadata, processes, snapshots with their exact totals, frames, and
 * nodes with parent, self and total [bytes, count] per snapshot.
 * Must never: change a value (self values are the profile's, totals are
 * their subtree sums), or emit program text unescaped (hm_buf_json).
 */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

/* A metadata value as JSON: numbers for the keys the reader checked are
 * numbers, strings for the rest. */
static void meta_value(hm_buf *out, const char *key, const char *value)
{
    static const char *const numeric[] = {HM_STORE_NUMERIC_META};
    for (size_t k = 0; k < HM_ARRAY_LEN(numeric); k++) {
        if (strcmp(key, numeric[k]) != 0)
            continue;
        char *end;
        long long i = strtoll(value, &end, 10);
        if (*value && !*end) {
            hm_buf_printf(out, "%lld", i);
        } else {
            double d = strtod(value, &end);
            hm_buf_printf(out, "%.17g", *value && !*end ? d : 0.0);
        }
        return;
    }
    hm_buf_json(out, value);
}

/* The snapshots the profile has (job-peak only in a run of several). */
static int snapshots_of(const hm_profile *p)
{
    return hm_profile_has_snapshot(p, HM_SNAP_JOB_PEAK) ? HM_SNAP_COUNT : HM_SNAP_JOB_PEAK - 1;
}

static void values(hm_buf *out, const hm_profile *p, hm_value *const by_snapshot[HM_SNAP_COUNT],
                   size_t node)
{
    hm_buf_puts(out, "{");
    for (int s = 0; s < snapshots_of(p); s++)
        hm_buf_printf(out, "%s\"%s\": [%lld, %lld]", s ? ", " : "", hm_snapshot_name(s + 1),
                      (long long)by_snapshot[s][node].bytes, (long long)by_snapshot[s][node].count);
    hm_buf_puts(out, "}");
}

void hm_render_tree_json(const hm_profile *p, hm_buf *out)
{
    hm_buf_puts(out, "{\"format\": \"heapmark-tree\", \"format_version\": 1, "
                     "\"heapmark_version\": \"" HM_VERSION "\", \"profile\": ");
    hm_buf_json(out, p->path);
    hm_buf_printf(out, ",\n\"estimated\": %s, \"sample_rate\": %lld,\n\"meta\": {",
                  hm_profile_is_exact(p) ? "false" : "true",
                  (long long)hm_profile_meta_int(p, "sample_rate"));
    for (size_t i = 0; i < p->nmeta; i++) {
        hm_buf_puts(out, i ? ", " : "");
        hm_buf_json(out, p->meta[i].key);
        hm_buf_puts(out, ": ");
        meta_value(out, p->meta[i].key, p->meta[i].value);
    }
    hm_buf_puts(out, "},\n\"processes\": ");
    hm_json_processes(out, p);
    hm_buf_puts(out, ",\n\"snapshots\": [");
    for (int s = 0; s < snapshots_of(p); s++)
        hm_buf_printf(out,
                      "%s{\"id\": %d, \"name\": \"%s\", \"total_bytes\": %lld, "
                      "\"tree_bytes\": %lld, \"tree_count\": %lld}",
                      s ? ", " : "", s + 1, hm_snapshot_name(s + 1),
                      (long long)p->snapshot_total[s], (long long)p->total[s][0].bytes,
                      (long long)p->total[s][0].count);
    hm_buf_puts(out, "],\n\"frames\": [");
    for (size_t f = 0; f < p->nframes; f++) {
        const hm_pframe *fr = &p->frames[f];
        hm_buf_printf(out, "%s{\"id\": %zu, \"function\": ", f ? ",\n" : "\n", f);
        hm_buf_json(out, fr->function);
        hm_buf_puts(out, ", \"file\": ");
        hm_buf_json(out, fr->file);
        hm_buf_printf(out, ", \"line\": %d, \"source\": ", fr->line);
        hm_buf_json(out, fr->source);
        hm_buf_printf(out, ", \"pseudo\": %s}", fr->pseudo ? "true" : "false");
    }
    hm_buf_puts(out, "],\n\"nodes\": [");
    for (size_t n = 0; n < p->nnodes; n++) {
        const hm_pnode *node = &p->nodes[n];
        hm_buf_printf(out, "%s{\"id\": %zu, ", n ? ",\n" : "\n", n);
        if (n == 0)
            hm_buf_puts(out, "\"parent\": null, \"frame\": null");
        else
            hm_buf_printf(out, "\"parent\": %u, \"frame\": %u", node->parent, node->frame);
        hm_buf_printf(out, ", \"depth\": %u, \"self\": ", node->depth);
        values(out, p, p->self, n);
        hm_buf_puts(out, ", \"total\": ");
        values(out, p, p->total, n);
        hm_buf_puts(out, "}");
    }
    hm_buf_puts(out, "]}\n");
}
