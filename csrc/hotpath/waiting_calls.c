/*
 * waiting_calls.c - the slots of waiting Python threads (see
 * waiting_calls.h).
 *
 * Owns: a fixed array of slots, claimed by a thread on its first GIL
 * release (its index kept in hm_tls) and freed when it ends.
 * Must never: take the recorder lock on the entering or leaving side (they
 * run around every GIL release of an extension call).
 *
 * Why the frames stay still: a thread in a slot has released the GIL and
 * runs no bytecode until hm_waiting_leave.  The borrower (a native thread,
 * under the recorder lock) sets `reader` and then checks that the slot
 * still holds the same thread state; the leaving thread clears the state
 * and then waits while `reader` is set.  Both orderings are sequentially
 * consistent, so either the borrower sees the state cleared and walks
 * nothing, or the leaver sees the reader and waits for it (Dekker's
 * handshake).
 */
#include "hotpath/waiting_calls.h"
#include "hotpath/threads.h"

#define SLOTS 64

typedef struct {
    void *tstate;   /* set while the thread waits */
    uint64_t since; /* when it began waiting: a counter */
    int reader;     /* a borrower reads the thread's frames */
    int taken;      /* the slot belongs to a thread */
} slot;

static slot slots[SLOTS];
static uint64_t clock_counter;
static uint64_t session_floor; /* marks at or below it are from an earlier start */

void hm_waiting_new_session(void)
{
    __atomic_store_n(&session_floor, __atomic_load_n(&clock_counter, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
}

static int own_slot(void)
{
    hm_tls_t *t = &hm_tls;
    if (HM_LIKELY(t->waiting_slot))
        return t->waiting_slot - 1;
    for (int i = 0; i < SLOTS; i++) {
        int free_slot = 0;
        if (__atomic_compare_exchange_n(&slots[i].taken, &free_slot, 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            t->waiting_slot = (uint8_t)(i + 1);
            return i;
        }
    }
    return -1; /* more than 64 threads wait at once: this one is not lent */
}

void hm_waiting_enter(void *tstate)
{
    int i = own_slot();
    if (i < 0)
        return;
    __atomic_store_n(&slots[i].since, __atomic_add_fetch(&clock_counter, 1, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&slots[i].tstate, tstate, __ATOMIC_SEQ_CST);
}

void hm_waiting_leave(void)
{
    int i = hm_tls.waiting_slot - 1;
    if (i < 0)
        return;
    __atomic_store_n(&slots[i].tstate, NULL, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&slots[i].reader, __ATOMIC_SEQ_CST))
        __builtin_ia32_pause();
}

void hm_waiting_thread_exit(void)
{
    int i = hm_tls.waiting_slot - 1;
    if (i < 0)
        return;
    hm_waiting_leave();
    hm_tls.waiting_slot = 0;
    __atomic_store_n(&slots[i].taken, 0, __ATOMIC_RELEASE);
}

void hm_waiting_after_fork(void)
{
    int own = hm_tls.waiting_slot - 1;
    for (int i = 0; i < SLOTS; i++) {
        slots[i].tstate = NULL;
        slots[i].reader = 0;
        slots[i].taken = i == own;
    }
}

bool hm_waiting_borrow(hm_waiting_loan *loan)
{
    int best = -1;
    uint64_t best_since = __atomic_load_n(&session_floor, __ATOMIC_RELAXED);
    for (int i = 0; i < SLOTS; i++) {
        if (!__atomic_load_n(&slots[i].tstate, __ATOMIC_ACQUIRE))
            continue;
        uint64_t since = __atomic_load_n(&slots[i].since, __ATOMIC_RELAXED);
        if (since > best_since) {
            best = i;
            best_since = since;
        }
    }
    if (best < 0)
        return false;
    __atomic_store_n(&slots[best].reader, 1, __ATOMIC_SEQ_CST);
    void *tstate = __atomic_load_n(&slots[best].tstate, __ATOMIC_SEQ_CST);
    if (!tstate) {
        __atomic_store_n(&slots[best].reader, 0, __ATOMIC_SEQ_CST);
        return false;
    }
    *loan = (hm_waiting_loan){best, tstate};
    return true;
}

void hm_waiting_return(const hm_waiting_loan *loan)
{
    __atomic_store_n(&slots[loan->slot].reader, 0, __ATOMIC_SEQ_CST);
}
