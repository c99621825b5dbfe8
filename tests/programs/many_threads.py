"""Ground truth: many threads allocating and freeing at once.

16 Python threads each make 200,000 mallocs with the GIL released (so truly
at the same time) and keep every 100th; a thread heapmark did not see start
and a thread-local destructor allocate and keep known blocks; Python threads
build and drop lists of objects meanwhile.  At exit a daemon Python thread and
a native thread are still allocating.  argv: truth.json [--daemons]
"""
import sys
import threading

import hmnative as n
from truth import block, here, write

THREADS = 16
COUNT = 200_000
KEEP_EVERY = 100
kept = [0] * THREADS
garbage_done = threading.Event()


def churner(i):
    kept[i] = n.churn(COUNT, 64 + 16 * i, KEEP_EVERY)


# Not here() inside the threads: on 3.9 and 3.10 the first call of a function
# makes the frame CPython keeps for its next calls, at the calling line.
CHURN_LINE = churner.__code__.co_firstlineno + 1


def python_garbage():
    # Python objects made and freed by several threads between GIL switches.
    for _ in range(50):
        junk = [str(i) * 3 for i in range(2000)]
        del junk


def daemon_allocating():
    while True:
        junk = [bytes(100) for _ in range(100)]
        del junk


def main(out, daemons):
    threads = [threading.Thread(target=churner, args=(i,)) for i in range(THREADS)]
    threads += [threading.Thread(target=python_garbage) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A thread started through pthread_create looked up with dlsym on libc's
    # handle: heapmark's dlsym hands out its hook, so the line is known.
    looked_up = n.alloc_in_native_thread(3_000_000, True); looked_up_line = here()
    n.thread_with_tls_destructor(2_000_000); tls_line = here()
    if daemons:
        threading.Thread(target=daemon_allocating, daemon=True).start()
        n.start_allocating_forever()
    # The churn line also made the int each churn() returned (kept in `kept`).
    churn_line = sum(kept) + sum(block(sys.getsizeof(k)) for k in kept)
    end = {CHURN_LINE: churn_line, tls_line: n.tls_kept_bytes(),
           looked_up_line: n.usable(looked_up)}
    # churn()'s argument tuple: one per call, freed into CPython's tuple
    # free list, which keeps the block allocated.  A call that found the free
    # list empty allocated a new one at the churn line: how many did depends
    # on how many of the 16 calls overlapped, which the scheduler decides.
    args_tuple = block(sys.getsizeof((1, 2, 3)))
    write(out, end=end, args_tuple=args_tuple,
          lines={"churn": CHURN_LINE, "tls": tls_line, "looked_up": looked_up_line})


main(sys.argv[1], "--daemons" in sys.argv)
