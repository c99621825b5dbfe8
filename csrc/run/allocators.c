/*
 * allocators.c - libraries with allocators of their own (see allocators.h).
 *
 * pyarrow allocates its buffers from a pool: jemalloc or mimalloc linked into
 * libarrow, unless ARROW_DEFAULT_MEMORY_POOL=system points it at malloc (which
 * heapmark run does unless told --keep-allocators).  polars links jemalloc in
 * statically and has no such switch.  heapmark sees those allocators only
 * through their anonymous mmaps: at arena granularity.  Which of them a
 * process loaded is read from the loaded objects' names when a profile is
 * written, so that the reports say so only where it matters.
 *
 * Owns: the value of HEAPMARK_ALLOCATORS this process was started with, and
 * the names by which those libraries are recognised.
 * Must never: run inside an allocation hook, or set or remove a variable of
 * the program's environment (heapmark run sets ARROW_DEFAULT_MEMORY_POOL).
 */
#include "run/allocators.h"

#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARROW_POOL_VARIABLE "ARROW_DEFAULT_MEMORY_POOL"

static char what_run_did[8];

void hm_allocators_configure(const char *value)
{
    snprintf(what_run_did, sizeof what_run_did, "%s", value ? value : "");
}

const char *hm_allocators_run_did(void)
{
    return what_run_did;
}

enum { LOADED_ARROW = 1, LOADED_POLARS = 2 };

static int visit_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    int *loaded = data;
    /* pyarrow's libarrow.so.NNNN; polars' _polars_runtime*.so (polars.abi3.so
     * in older releases). */
    if (strncmp(base, "libarrow.so", 11) == 0)
        *loaded |= LOADED_ARROW;
    else if (strncmp(base, "_polars_runtime", 15) == 0 || strncmp(base, "polars.", 7) == 0)
        *loaded |= LOADED_POLARS;
    return 0;
}

void hm_allocators_describe(hm_allocators_info *out)
{
    memset(out, 0, sizeof *out);
    const char *pool = getenv(ARROW_POOL_VARIABLE);
    snprintf(out->arrow_pool, sizeof out->arrow_pool, "%s", pool ? pool : "");
    snprintf(out->allocators, sizeof out->allocators, "%s", what_run_did);
    int loaded = 0;
    dl_iterate_phdr(visit_object, &loaded);
    snprintf(out->loaded, sizeof out->loaded, "%s%s%s", loaded & LOADED_ARROW ? "pyarrow" : "",
             loaded == (LOADED_ARROW | LOADED_POLARS) ? "," : "",
             loaded & LOADED_POLARS ? "polars" : "");
}
