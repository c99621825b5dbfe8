/*
 * test_sampler.c - the byte sampler (hotpath/sampler.c): the weight of a
 * recorded block, and that the weights make the estimate of the bytes
 * allocated unbiased, for blocks much smaller than the rate, near it and
 * above it.  Seeded: the same draws on every run.
 *
 * threads.c is not linked (it brings the thread hooks): the test defines the
 * thread state the sampler keeps its countdown in.
 */
#include "check.h"
#include "hotpath/sampler.h"
#include "hotpath/threads.h"

#include <math.h>

HM_TLS hm_tls_t hm_tls;

#define RATE 65536

static void weights(void)
{
    static const uint64_t sizes[] = {1, 16, 512, 8192, 40000, RATE - 1};
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        int64_t bytes, count;
        hm_sampler_weight(sizes[i], &bytes, &count);
        double p = -expm1(-(double)sizes[i] / RATE);
        CHECK_EQ_I64(bytes, llround((double)sizes[i] / p));
        CHECK_EQ_I64(count, llround(1.0 / p));
    }
    int64_t bytes, count;
    hm_sampler_weight(RATE, &bytes, &count); /* recorded at its size, always */
    CHECK_EQ_I64(bytes, RATE);
    CHECK_EQ_I64(count, 1);
    hm_sampler_weight(10 * RATE, &bytes, &count);
    CHECK_EQ_I64(bytes, 10 * RATE);
}

/* Allocates n blocks of size; the estimate must be within 4 standard errors
 * of the truth (a fixed seed: this either always passes or always fails). */
static void unbiased(uint64_t size, long n)
{
    double estimate = 0;
    long sampled = 0;
    for (long i = 0; i < n; i++) {
        if (hm_sample_hit(size) && hm_sampler_settle(size)) {
            int64_t bytes, count;
            hm_sampler_weight(size, &bytes, &count);
            estimate += (double)bytes;
            sampled++;
        }
    }
    double truth = (double)size * (double)n;
    double p = size >= RATE ? 1.0 : -expm1(-(double)size / RATE);
    double w = (double)size / p;
    double standard_error = sqrt((double)n * w * w * p * (1 - p));
    if (p == 1.0) {
        CHECK_EQ_I64(sampled, n);
        CHECK_EQ_I64((int64_t)estimate, (int64_t)truth);
    } else {
        CHECK(sampled > 0);
        CHECK(fabs(estimate - truth) <= 4 * standard_error);
        if (fabs(estimate - truth) > 4 * standard_error)
            fprintf(stderr, "  size %llu: estimate %.0f, truth %.0f, standard error %.0f\n",
                    (unsigned long long)size, estimate, truth, standard_error);
        /* And not trivially: the sampler records about n * p blocks. */
        double expected = (double)n * p;
        CHECK(fabs((double)sampled - expected) <= 4 * sqrt(expected * (1 - p)) + 1);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    hm_sampler_configure(RATE, 7, false);
    hm_sampler_enable(true);
    weights();
    unbiased(16, 20000000);
    unbiased(512, 2000000);
    unbiased(8192, 500000);
    unbiased(RATE / 2, 200000);
    unbiased(RATE, 10000);
    unbiased(5 * RATE, 10000);
    return check_summary(argv[0]);
}
