/*
 * hmearly - a preloaded library whose constructor starts a thread, before
 * any profiler's constructor may have run (LD_PRELOAD constructors run last
 * library first).  The thread sleeps until hmearly_allocate(n) asks it to
 * malloc n bytes and keep them; the program calls that through ctypes.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t asked = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static size_t wanted, kept_bytes;
static int started_in_constructor;

static void *early_thread(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!wanted)
            pthread_cond_wait(&asked, &lock);
        char *p = malloc(wanted);
        if (p) {
            memset(p, 1, wanted);
            kept_bytes += malloc_usable_size(p);
        }
        void *scratch = malloc(wanted / 2);
        free(scratch);
        wanted = 0;
        pthread_cond_signal(&done);
    }
    return NULL;
}

__attribute__((constructor)) static void start_early_thread(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, early_thread, NULL) == 0) {
        pthread_detach(t);
        started_in_constructor = 1;
    }
}

/* Has the early thread malloc n bytes (kept); returns all bytes it keeps. */
size_t hmearly_allocate(size_t n)
{
    if (!started_in_constructor)
        return 0;
    pthread_mutex_lock(&lock);
    wanted = n;
    pthread_cond_signal(&asked);
    while (wanted)
        pthread_cond_wait(&done, &lock);
    size_t total = kept_bytes;
    pthread_mutex_unlock(&lock);
    return total;
}
