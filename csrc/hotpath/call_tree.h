/*
 * call_tree.h - the call tree: frames (function, file, line) and the nodes
 * that chain them from the root.
 *
 * Owns: frame ids (a code descriptor from stack_walk.c plus a line) and node ids
 * (parent node plus frame); node 0 is the root and has no frame.
 * Must never: be used without the recorder lock, or hold Python objects (a
 * frame refers to a code descriptor, copied out of the code object).
 */
#ifndef HM_CALLTREE_H
#define HM_CALLTREE_H

#include "common/common.h"

typedef struct {
    uint32_t code; /* code descriptor id (stack_walk.h) */
    int32_t line;
} hm_frame;

typedef struct {
    uint32_t parent;
    uint32_t frame;
} hm_node;

bool hm_tree_init(void);
uint32_t hm_frame_intern(uint32_t code, int32_t line);   /* HM_NONE on OOM */
uint32_t hm_tree_child(uint32_t parent, uint32_t frame); /* HM_NONE on OOM */

uint32_t hm_frame_count(void);
const hm_frame *hm_frame_get(uint32_t id);
uint32_t hm_node_count(void);
const hm_node *hm_node_get(uint32_t id);

#endif
