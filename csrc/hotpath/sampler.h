/*
 * sampler.h - which allocations are recorded, and what each one stands for.
 *
 * Owns: the mean sampling interval, the per-thread byte countdown and the
 * weights that make sampled sums unbiased estimates.
 * Must never: take a lock or walk a stack; hm_sample_hit is on every
 * allocation's path and must stay a subtraction and a compare.
 *
 * Byte-based Poisson sampling: every byte allocated is, independently, a
 * sample point with probability 1/R.  An allocation of s bytes is recorded
 * when it contains at least one sample point, which happens with probability
 * p(s) = 1 - exp(-s/R); a recorded allocation then stands for s/p(s) bytes
 * and 1/p(s) allocations, so sums over recorded allocations are unbiased.
 * The countdown implements this: it is drawn from Exp(mean R), each
 * allocation subtracts its size, and the allocation that takes it below zero
 * is recorded.  Allocations of R bytes or more are always recorded at their
 * true size (p = 1) and leave the countdown alone.  R = 1 records everything.
 */
#ifndef HM_SAMPLER_H
#define HM_SAMPLER_H

#include "hotpath/threads.h"

extern uint64_t hm_sample_rate;
/* The size from which every allocation is recorded: hm_sample_rate while
 * recording, else UINT64_MAX (so the fast path needs no test of the state:
 * a thread that is not recording settles into a countdown that never ends,
 * see hm_sampler_idle). */
extern uint64_t hm_sample_limit;

/* restartable: an in-process start, after which idle threads must wake at
 * the next start (sampler.c). */
void hm_sampler_configure(uint64_t rate, uint64_t seed, bool restartable);
/* Recording starts or stops (recorder lock held). */
void hm_sampler_enable(bool on);
/* This thread hit the sampler while not recording: no more hits. */
void hm_sampler_idle(void);

/* Fast path: true when the allocation must go to hm_sampler_settle. */
static inline HM_FAST_PATH bool hm_sample_hit(size_t size)
{
    if (size >= hm_sample_limit)
        return true;
    hm_tls.countdown -= (int64_t)size;
    return HM_UNLIKELY(hm_tls.countdown < 0);
}

/* Slow path after a hit: false if, after seeding a new thread's countdown,
 * the allocation turns out not to be sampled; otherwise draws the next
 * countdown.  A recorded block's weight is hm_sampler_weight(its size). */
bool hm_sampler_settle(size_t size);

/* The bytes and allocations a recorded block of `size` bytes stands for. */
void hm_sampler_weight(uint64_t size, int64_t *bytes, int64_t *count);

#endif
