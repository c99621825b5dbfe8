"""Ground truth for in-process tracking, the same work under either tool.

usage: in_process.py OUT MODE DIR
  MODE run:     no tracking call (the test runs this under heapmark run)
  MODE exact / sampled: the work inside heapmark.track(DIR, ...)

Before the start: blocks the span frees (never counted by the span), and a
Python thread that waits; during the span: hmnative is imported (a dlopen
the engine must follow), then a native malloc, a numpy array, floats, the
old thread's bytearray and a malloc with the GIL released, all held.
"""
import sys
import threading

import numpy as np
from truth import block, here, write

MB = 1 << 20
FLOATS = 200_000

old_array = np.ones(60 * MB // 8)
old_objects = [float(i) for i in range(300_000)]
go, done = threading.Event(), threading.Event()
kept, lines = [], {}


def waiting_thread():
    go.wait()
    kept.append(bytearray(30 * MB)); lines["old_thread"] = here()
    done.set()


thread = threading.Thread(target=waiting_thread)
thread.start()


def work():
    global old_array, old_objects
    old_array = old_objects = None
    import hmnative as n

    native = n.alloc("malloc", 100 * MB); lines["native"] = here()
    array = np.zeros(40 * MB // 8); lines["numpy"] = here()
    floats = [float(i) for i in range(FLOATS)]; lines["floats"] = here()
    go.set()
    done.wait()
    nogil = n.alloc_nogil(20 * MB); lines["nogil"] = here()
    peak = {
        lines["native"]: n.usable(native),
        lines["numpy"]: array.nbytes,
        lines["floats"]: block(sys.getsizeof(1.0)) * FLOATS + sys.getsizeof(floats),
        lines["old_thread"]: sys.getsizeof(kept[0]),
        lines["nogil"]: n.usable(nogil),
    }
    return peak, (native, array, floats, nogil)


def main(out, mode, directory):
    figures = {}
    if mode == "run":
        peak, held = work()
    else:
        import heapmark

        with heapmark.track(directory, exact=mode == "exact", seed=7) as t:
            peak, held = work()
        figures = {"peak_bytes": t.peak_bytes, "end_bytes": t.end_bytes, "profile": t.profile,
                   "top": t.top(5)}
    thread.join()
    write(out, peak=peak, lines=lines, figures=figures)


main(*sys.argv[1:4])
