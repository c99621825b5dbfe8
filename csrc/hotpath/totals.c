/*
 * totals.c - the slow part of peak detection (see totals.h).
 *
 * Owns: raising the peak and stamping it, and the alarm's threshold test
 * (what the alarm does is the run's: out_of_memory.c).
 * Must never: lock or allocate; it runs inside every hook that grows memory.
 */
#include "hotpath/totals.h"

#include "common/elf_symbols.h"

#include <dlfcn.h>
#include <time.h>

hm_totals_t hm_totals;
hm_alarm_t hm_alarm = {INT64_MAX, NULL, NULL};

/* libc's clock_gettime, looked up in libc itself once the run starts: the
 * global symbol may be a sanitizer's interceptor, unusable this early. */
static int (*libc_clock_gettime)(clockid_t, struct timespec *);

void hm_totals_start_clock(void)
{
    void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    if (libc)
        libc_clock_gettime =
            (int (*)(clockid_t, struct timespec *))hm_lookup(libc, "clock_gettime");
}

static HM_FAST_PATH int64_t coarse_now_ns(void)
{
    struct timespec ts;
    if (!libc_clock_gettime || libc_clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

HM_FAST_PATH static void stamp_peak(void)
{
    hm_totals.peak_pyarena = __atomic_load_n(&hm_totals.pyarena, __ATOMIC_RELAXED);
    hm_totals.peak_pylive = hm_totals.pylive;
    __atomic_store_n(&hm_totals.peak_moved, 1, __ATOMIC_RELEASE);
}

HM_FAST_PATH void hm_totals_refresh_attention(void)
{
    int64_t peak = __atomic_load_n(&hm_totals.peak, __ATOMIC_RELAXED);
    int64_t threshold = __atomic_load_n(&hm_alarm.threshold, __ATOMIC_RELAXED);
    __atomic_store_n(&hm_totals.attention, peak < threshold ? peak : threshold, __ATOMIC_RELAXED);
}

HM_FAST_PATH void hm_totals_raise_peak(int64_t now)
{
    int64_t peak = __atomic_load_n(&hm_totals.peak, __ATOMIC_RELAXED);
    while (now > peak) {
        if (__atomic_compare_exchange_n(&hm_totals.peak, &peak, now, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            stamp_peak();
            hm_totals.peak_time_ns = coarse_now_ns();
            hm_totals_refresh_attention();
            break;
        }
    }
}

HM_FAST_PATH void hm_totals_check_budget(int64_t now, int64_t delta)
{
    if (HM_UNLIKELY(delta > 0 && now > __atomic_load_n(&hm_alarm.threshold, __ATOMIC_RELAXED))) {
        void (*crossed)(int64_t, int64_t) = __atomic_load_n(&hm_alarm.crossed, __ATOMIC_ACQUIRE);
        if (crossed)
            crossed(now, delta);
    }
}

HM_FAST_PATH void hm_totals_attend(int64_t now, int64_t delta)
{
    hm_totals_raise_peak(now);
    hm_totals_check_budget(now, delta);
}

HM_FAST_PATH void hm_totals_restart_peak(void)
{
    hm_totals.peak = __atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED);
    stamp_peak();
    hm_totals.peak_time_ns = coarse_now_ns();
    hm_totals_refresh_attention();
}

void hm_totals_clear(void)
{
    __atomic_store_n(&hm_totals.tracked, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&hm_totals.pyarena, 0, __ATOMIC_RELAXED);
    hm_totals.pylive = 0;
    hm_totals.epoch = 0;
    hm_totals_restart_peak();
}

void hm_totals_new_pylive_peak(void)
{
    stamp_peak();
}
