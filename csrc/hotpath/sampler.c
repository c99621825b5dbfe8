/*
 * sampler.c - Poisson byte sampling (see sampler.h for the argument).
 *
 * Owns: the random draws (xorshift64* per thread, seeded from the run's seed
 * and the thread's TLS address) and the weight formula.
 * Must never: allocate, lock, or touch Python.
 */
#include "hotpath/sampler.h"

#include <math.h>

uint64_t hm_sample_rate = 1;
uint64_t hm_sample_limit = UINT64_MAX;
static uint64_t run_seed;
static uint64_t thread_counter;
/* Bumped by each configuration: a thread whose countdown was drawn for an
 * earlier one (an earlier in-process start, maybe at another rate) draws
 * afresh at its next hit. */
static uint32_t sampler_epoch;
static bool may_restart;

void hm_sampler_configure(uint64_t rate, uint64_t seed, bool restartable)
{
    may_restart |= restartable;
    hm_sample_rate = rate ? rate : 1;
    run_seed = seed;
    thread_counter = 0;
    __atomic_add_fetch(&sampler_epoch, 1, __ATOMIC_RELAXED);
}

void hm_sampler_enable(bool on)
{
    if (on) {
        /* The starting thread may have gone idle before: start it afresh.
         * (Other threads that existed before the start, started by library
         * constructors if at all, stay idle.) */
        hm_tls.countdown = 0;
        hm_tls.rng = 0;
    }
    __atomic_store_n(&hm_sample_limit, on ? hm_sample_rate : UINT64_MAX, __ATOMIC_RELAXED);
}

void hm_sampler_idle(void)
{
    /* Tracking in-process, a thread reaches a hook while not recording only
     * (or before a start) through a hook's address kept after a stop: rare,
     * so it may take this
     * path at every call, and it must start afresh at the next start. */
    if (may_restart) {
        hm_tls.countdown = 0;
        hm_tls.rng = 0;
        return;
    }
    hm_tls.countdown = INT64_MAX;
}

static uint64_t next_random(hm_tls_t *t)
{
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void seed_thread(hm_tls_t *t)
{
    /* Threads are numbered in the order they first allocate, so a fixed run
     * seed (HEAPMARK_SEED, used by the tests) gives a repeatable sequence for
     * a single-threaded program. */
    uint64_t n = __atomic_add_fetch(&thread_counter, 1, __ATOMIC_RELAXED);
    t->sampler_epoch = __atomic_load_n(&sampler_epoch, __ATOMIC_RELAXED);
    uint64_t s = run_seed ^ (n * 0x9E3779B97F4A7C15ULL);
    if (run_seed == 0)
        s ^= (uint64_t)(uintptr_t)t ^ ((uint64_t)(uintptr_t)&s << 17);
    t->rng = s ? s : 0x853c49e6748fea9bULL;
}

static int64_t draw_countdown(hm_tls_t *t)
{
    /* 53 random bits -> u in (0, 1]; -ln(u) * R is Exp(mean R). */
    double u = ((double)(next_random(t) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double d = -log(u) * (double)hm_sample_rate;
    return d > 4e18 ? (int64_t)4e18 : (int64_t)d;
}

bool hm_sampler_settle(size_t size)
{
    hm_tls_t *t = &hm_tls;
    if (size >= hm_sample_rate)
        return true;
    if (HM_UNLIKELY(t->rng == 0 ||
                    t->sampler_epoch != __atomic_load_n(&sampler_epoch, __ATOMIC_RELAXED))) {
        /* First allocation of this thread: start a real countdown. */
        seed_thread(t);
        t->countdown = draw_countdown(t) - (int64_t)size;
        if (t->countdown >= 0)
            return false;
    }
    t->countdown = draw_countdown(t);
    return true;
}

void hm_sampler_weight(uint64_t size, int64_t *bytes, int64_t *count)
{
    if (size >= hm_sample_rate) {
        *bytes = (int64_t)size;
        *count = 1;
        return;
    }
    double p = -expm1(-(double)size / (double)hm_sample_rate);
    *bytes = (int64_t)llround((double)size / p);
    *count = (int64_t)llround(1.0 / p);
}
