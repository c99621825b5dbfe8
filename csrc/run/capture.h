/*
 * capture.h - a consistent copy of the engine's tables, to write a profile
 * while the program goes on allocating.
 *
 * Owns: copying frames, code descriptors, nodes and per-node values (at the
 * peak, now, allocated) in one go, under the recorder lock, so that the
 * SQLite writing that follows holds no lock and reads nothing that moves.
 * Must never: be taken without the recorder lock, or allocate without
 * hm_tls.guard (the copies come from malloc and are not the program's).
 */
#ifndef HM_CAPTURE_H
#define HM_CAPTURE_H

#include "hotpath/call_tree.h"
#include "hotpath/stack_walk.h"
#include "hotpath/node_values.h"
#include "run/kind_walks.h"
#include "store/schema.h"

typedef struct hm_capture {
    hm_frame *frames;
    uint32_t nframes;
    hm_code *codes; /* names point into ownmem, which is never freed */
    uint32_t ncodes;
    hm_node *nodes;
    uint32_t nnodes;
    hm_amount (*values)[HM_SNAP_COUNT]; /* [node][peak, now, allocated, job peak] */
    uint32_t pymalloc_free_frame;
    hm_kind_walk *kind_walks[2]; /* at the peak, at the end; NULL where none ran */
} hm_capture;

bool hm_capture_take(hm_capture *c);
void hm_capture_release(hm_capture *c);

#endif
