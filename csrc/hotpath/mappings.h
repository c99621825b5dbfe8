/*
 * mappings.h - anonymous memory mappings the program made with mmap.
 *
 * Owns: the exact set of tracked address ranges, so that munmap (including a
 * partial unmap or one spanning several mappings, or file mappings heapmark
 * never counted) subtracts exactly the tracked bytes, and each piece is
 * taken off the call-tree node that mapped it.
 * Must never: be changed without the recorder lock.
 */
#ifndef HM_MAPPINGS_H
#define HM_MAPPINGS_H

#include "common/common.h"

bool hm_maps_add(uintptr_t start, size_t len, uint32_t node);

/* Called for each tracked piece removed: its node, its bytes, and whether it
 * was the last piece of its mapping (so the allocation count drops). */
typedef void (*hm_maps_removed_fn)(uint32_t node, int64_t bytes, bool last_piece);

/* Removes [start, start + len) and returns the tracked bytes it covered. */
int64_t hm_maps_remove(uintptr_t start, size_t len, hm_maps_removed_fn removed);

/* Gives every mapping that has no node (made before recording) to node. */
void hm_maps_adopt(uint32_t node);
/* Under the lock: forgets every range, for another start in the process. */
void hm_maps_clear(void);
/* Under the lock: the number of tracked ranges, and a copy of up to cap of
 * them (start, bytes, node), in address order. */
size_t hm_maps_count(void);
size_t hm_maps_copy(uintptr_t *start, uint64_t *bytes, uint32_t *node, size_t cap);

#endif
