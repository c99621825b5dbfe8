/*
 * allocators.h - libraries that bring allocators of their own (pyarrow's
 * jemalloc or mimalloc pool, polars' jemalloc), as the profile records them.
 *
 * Owns: what heapmark run did to ARROW_DEFAULT_MEMORY_POOL (HEAPMARK_ALLOCATORS,
 * read at start-up), the pool the process's environment names when a profile
 * is written, and which of those libraries the process has loaded.  The meta
 * keys: arrow_memory_pool, allocators, own_allocators (docs/profile-format.md).
 * Must never: run inside an allocation hook (it walks the loaded objects
 * under the loader's lock), or change the program's environment.
 */
#ifndef HM_ALLOCATORS_H
#define HM_ALLOCATORS_H

#include "common/common.h"

/* At start-up, before the engine's variables are removed; value is
 * HEAPMARK_ALLOCATORS ("set", "kept", "caller") or NULL (in-process). */
void hm_allocators_configure(const char *value);
/* That value as it was given ("" if none): a followed exec'd child gets it. */
const char *hm_allocators_run_did(void);

typedef struct {
    char arrow_pool[32]; /* ARROW_DEFAULT_MEMORY_POOL now ("" if unset) */
    char allocators[8];  /* "set", "kept", "caller", or "" */
    char loaded[32];     /* "pyarrow", "polars", "pyarrow,polars" or "" */
} hm_allocators_info;

/* What the profile records, now: reads the environment and the loaded
 * objects (dl_iterate_phdr). */
void hm_allocators_describe(hm_allocators_info *out);

#endif
