/*
 * call_tree.c - frames and nodes, interned in hash maps (hashmap.c).
 *
 * Owns: the frame and node arrays (ownmem, doubled when full) and their
 * indexes.  Ids are dense and never reused, so node_values.c can index by node.
 * Must never: allocate from the tracked heap, or be touched without the
 * recorder lock.
 */
#include "hotpath/call_tree.h"
#include "common/hashmap.h"
#include "common/ownmem.h"
#include "hotpath/node_values.h"

static hm_frame *frames;
static uint32_t frame_count;
static size_t frame_cap;
static hm_map frame_index; /* (code << 32 | line) -> frame */

static hm_node *nodes;
static uint32_t node_count;
static size_t node_cap;
static hm_map node_index; /* (parent << 32 | frame) + 1 -> node */

bool hm_tree_init(void)
{
    if (node_count)
        return true;
    if (!hm_own_grow((void **)&nodes, &node_cap, 0, sizeof *nodes, 1, 4096))
        return false;
    nodes[0] = (hm_node){HM_NONE, HM_NONE};
    node_count = 1;
    return hm_snap_reserve((uint32_t)node_cap);
}

uint32_t hm_frame_intern(uint32_t code, int32_t line)
{
    uint64_t key = ((uint64_t)code << 32) | (uint32_t)line;
    uint32_t id = hm_map_get(&frame_index, key);
    if (id != UINT32_MAX)
        return id;
    if (!hm_own_grow((void **)&frames, &frame_cap, frame_count, sizeof *frames,
                     (size_t)frame_count + 1, 4096))
        return HM_NONE;
    id = frame_count;
    if (!hm_map_put(&frame_index, key, id))
        return HM_NONE;
    frames[frame_count++] = (hm_frame){code, line};
    return id;
}

uint32_t hm_tree_child(uint32_t parent, uint32_t frame)
{
    /* +1 keeps the key non-zero for (root, frame 0). */
    uint64_t key = (((uint64_t)parent << 32) | frame) + 1;
    uint32_t id = hm_map_get(&node_index, key);
    if (id != UINT32_MAX)
        return id;
    if (!hm_own_grow((void **)&nodes, &node_cap, node_count, sizeof *nodes, (size_t)node_count + 1,
                     4096) ||
        !hm_snap_reserve((uint32_t)node_cap))
        return HM_NONE;
    id = node_count;
    if (!hm_map_put(&node_index, key, id))
        return HM_NONE;
    nodes[node_count++] = (hm_node){parent, frame};
    return id;
}

uint32_t hm_frame_count(void)
{
    return frame_count;
}
const hm_frame *hm_frame_get(uint32_t id)
{
    return &frames[id];
}
uint32_t hm_node_count(void)
{
    return node_count;
}
const hm_node *hm_node_get(uint32_t id)
{
    return &nodes[id];
}
