/*
 * threads.c - per-thread records.
 *
 * Owns: hm_tls (zero-initialised by the loader before any code runs, so the
 * hooks can use it from the first allocation of the process) and the free
 * list of struct hm_thread, recycled when a thread started through
 * pthread_create ends (see malloc_hooks.c: the ending thread keeps its pointer for
 * its thread-local destructors, so a record may briefly serve two threads;
 * everything in it is used under the recorder lock only).
 * Must never: use pthread keys or malloc (a key's storage may itself be
 * malloc'ed, which would re-enter the hooks while the recorder lock is held).
 */
#include "hotpath/threads.h"
#include "common/ownmem.h"

#include <string.h>

HM_TLS hm_tls_t hm_tls;

static struct hm_thread *free_threads;

struct hm_thread *hm_thread_current(void)
{
    hm_tls_t *t = &hm_tls;
    if (HM_LIKELY(t->thread != NULL))
        return t->thread;
    struct hm_thread *th = free_threads;
    if (th) {
        free_threads = th->next_free;
        memset(th, 0, sizeof *th);
    } else {
        th = hm_own_bump(sizeof *th);
        if (!th)
            return NULL;
    }
    t->thread = th;
    return th;
}

void hm_thread_release(struct hm_thread *th)
{
    th->next_free = free_threads;
    free_threads = th;
}
