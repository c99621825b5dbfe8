/*
 * test_node_values.c - the per-node peak bookkeeping (hotpath/node_values.c)
 * against a model that copies every node's value at each new peak.
 *
 * totals.c is not linked: the test plays its part, raising peak_moved at a
 * peak moment as totals.c does, and defines the hm_totals it reads.
 */
#include "check.h"
#include "hotpath/node_values.h"
#include "hotpath/totals.h"

#include <string.h>

hm_totals_t hm_totals;

#define NODES 300
#define EVENTS 200000

static int64_t model_now[NODES], model_count[NODES], model_peak[NODES], model_peak_count[NODES];
static int64_t model_allocated[NODES];

static void check_against_model(void)
{
    for (uint32_t n = 0; n < NODES; n++) {
        CHECK_EQ_I64(hm_snap_now(n).bytes, model_now[n]);
        CHECK_EQ_I64(hm_snap_now(n).count, model_count[n]);
        CHECK_EQ_I64(hm_snap_at_peak(n).bytes, model_peak[n]);
        CHECK_EQ_I64(hm_snap_at_peak(n).count, model_peak_count[n]);
        CHECK_EQ_I64(hm_snap_allocated(n).bytes, model_allocated[n]);
    }
}

static void random_events(void)
{
    CHECK(hm_snap_reserve(NODES));
    int64_t total = 0, peak = 0;
    for (int i = 0; i < EVENTS; i++) {
        uint32_t node = (uint32_t)(check_random() % NODES);
        int64_t bytes = (int64_t)(check_random() % 5000) + 1;
        if (check_random() % 2 && model_now[node] >= bytes) {
            hm_snap_free(node, bytes, 1);
            model_now[node] -= bytes;
            model_count[node] -= 1;
            total -= bytes;
        } else {
            hm_snap_alloc(node, bytes, 1);
            model_now[node] += bytes;
            model_count[node] += 1;
            model_allocated[node] += bytes;
            total += bytes;
        }
        if (total > peak) {
            /* A peak moment, after the change (as totals.c sees it). */
            peak = total;
            __atomic_store_n(&hm_totals.peak_moved, 1, __ATOMIC_RELEASE);
            memcpy(model_peak, model_now, sizeof model_now);
            memcpy(model_peak_count, model_count, sizeof model_count);
        }
        if (i % 20000 == 0)
            check_against_model();
    }
    check_against_model();
    int64_t peak_sum = 0;
    for (uint32_t n = 0; n < NODES; n++)
        peak_sum += hm_snap_at_peak(n).bytes;
    CHECK_EQ_I64(peak_sum, peak);
}

static void beyond_capacity_is_zero(void)
{
    CHECK_EQ_I64(hm_snap_now(1u << 30).bytes, 0);
    CHECK_EQ_I64(hm_snap_at_peak(1u << 30).bytes, 0);
}

static void forget_allocated(void)
{
    hm_snap_forget_allocated();
    for (uint32_t n = 0; n < NODES; n++) {
        CHECK_EQ_I64(hm_snap_allocated(n).bytes, 0);
        CHECK_EQ_I64(hm_snap_now(n).bytes, model_now[n]);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    random_events();
    beyond_capacity_is_zero();
    forget_allocated();
    return check_summary(argv[0]);
}
