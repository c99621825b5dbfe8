/*
 * check.h - the C unit tests' harness: checks that count, a line per failure.
 *
 * Each test file is one program: a main() that calls its test functions and
 * ends with `return check_summary(argv[0]);`, which prints "N checks passed"
 * or the number that failed and exits non-zero then.  Tests draw their
 * inputs from check_random() with a fixed seed, so a failure repeats.
 */
#ifndef HM_CHECK_H
#define HM_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

static unsigned check_count, check_failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        check_count++;                                                               \
        if (!(cond)) {                                                               \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_EQ_I64(a, b)                                                                    \
    do {                                                                                      \
        int64_t check_a = (int64_t)(a), check_b = (int64_t)(b);                               \
        check_count++;                                                                        \
        if (check_a != check_b) {                                                             \
            check_failures++;                                                                 \
            fprintf(stderr, "%s:%d: %s == %s failed: %" PRId64 " != %" PRId64 "\n", __FILE__, \
                    __LINE__, #a, #b, check_a, check_b);                                      \
        }                                                                                     \
    } while (0)

static uint64_t check_rng = 0x9E3779B97F4A7C15ULL;

/* xorshift64*: the tests' inputs, the same on every run. */
static inline uint64_t check_random(void)
{
    check_rng ^= check_rng >> 12;
    check_rng ^= check_rng << 25;
    check_rng ^= check_rng >> 27;
    return check_rng * 0x2545F4914F6CDD1DULL;
}

static inline int check_summary(const char *program)
{
    if (check_failures) {
        fprintf(stderr, "%s: %u of %u checks failed\n", program, check_failures, check_count);
        return 1;
    }
    printf("%s: %u checks passed\n", program, check_count);
    return 0;
}

#endif
