/*
 * capture.c - copies of the engine's tables (see capture.h).
 *
 * Owns: the copy; O(nodes + frames + codes) memcpy-like work under the lock,
 * a few milliseconds for a hundred thousand nodes.
 * Must never: hold pointers into tables that can be remapped when they grow.
 */
#include "run/capture.h"
#include "run/job.h"

#include <stdlib.h>
#include <string.h>

bool hm_capture_take(hm_capture *c)
{
    memset(c, 0, sizeof *c);
    c->nframes = hm_frame_count();
    c->ncodes = hm_code_count();
    c->nnodes = hm_node_count();
    c->frames = malloc((c->nframes + 1) * sizeof *c->frames);
    c->codes = malloc((c->ncodes + 1) * sizeof *c->codes);
    c->nodes = malloc((c->nnodes + 1) * sizeof *c->nodes);
    c->values = malloc((c->nnodes + 1) * sizeof *c->values);
    if (!c->frames || !c->codes || !c->nodes || !c->values) {
        hm_capture_release(c);
        return false;
    }
    for (uint32_t i = 0; i < c->nframes; i++)
        c->frames[i] = *hm_frame_get(i);
    for (uint32_t i = 0; i < c->ncodes; i++)
        c->codes[i] = *hm_code_get(i);
    for (uint32_t i = 0; i < c->nnodes; i++) {
        c->nodes[i] = *hm_node_get(i);
        c->values[i][HM_SNAP_PEAK - 1] = hm_snap_at_peak(i);
        c->values[i][HM_SNAP_END - 1] = hm_snap_now(i);
        c->values[i][HM_SNAP_ALLOCATED - 1] = hm_snap_allocated(i);
        c->values[i][HM_SNAP_JOB_PEAK - 1] = hm_job_candidate_value(i);
    }
    c->pymalloc_free_frame = hm_pseudo_frame(HM_PSEUDO_PYMALLOC_FREE);
    hm_kind_walks_get(&c->kind_walks[0], &c->kind_walks[1]);
    return true;
}

void hm_capture_release(hm_capture *c)
{
    free(c->frames);
    free(c->codes);
    free(c->nodes);
    free(c->values);
    hm_kind_walk_release(c->kind_walks[0]);
    hm_kind_walk_release(c->kind_walks[1]);
    memset(c, 0, sizeof *c);
}
